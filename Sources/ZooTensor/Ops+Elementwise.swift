import Foundation

/// An elementwise op y = f(x) whose derivative is written in terms of x and y.
@inlinable
func unary(_ input: Variable, _ f: (Float) -> Float, derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Variable {
    let x = input.value
    let y = x.map(f)
    return Variable.record(y, [input]) { dy in
        [Tensor(uninitialized: x.shape) { out in
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeBufferPointer { yb in
                    dy.withUnsafeBufferPointer { gb in
                        for i in 0..<out.count { out[i] = gb[i] * derivative(xb[i], yb[i]) }
                    }
                }
            }
        }]
    }
}

/// max(x, 0). Its own loops rather than `unary`'s closures: ReLU follows nearly every
/// convolution, and the closure calls kept the loops from vectorising.
public func relu(_ x: Variable) -> Variable {
    let y = Tensor(uninitialized: x.shape) { out in
        x.value.withUnsafeBufferPointer { xb in
            let (source, target) = (xb.baseAddress!, out.baseAddress!)
            parallelRanges(xb.count) { range in reluLoop(source, target, range) }
        }
    }
    return PlanTrace.note(.relu, [x], Variable.record(y, [x]) { dy in
        [Tensor(uninitialized: y.shape) { out in
            y.withUnsafeBufferPointer { yb in
                dy.withUnsafeBufferPointer { gb in
                    let (output, gradient, target) = (yb.baseAddress!, gb.baseAddress!, out.baseAddress!)
                    parallelRanges(yb.count) { range in reluGradientLoop(output, gradient, target, range) }
                }
            }
        }]
    })
}

/// min(max(x, 0), 6) (MobileNet's ReLU6); the gradient passes where 0 < x < 6, as PyTorch's
/// hardtanh backward.
public func relu6(_ x: Variable) -> Variable {
    PlanTrace.note(.relu6, [x], unary(x, { Swift.min(Swift.max($0, 0), 6) }, derivative: { x, _ in x > 0 && x < 6 ? 1 : 0 }))
}

public func sigmoid(_ x: Variable) -> Variable {
    PlanTrace.note(.sigmoid, [x], unary(x, { 1 / (1 + expf(-$0)) }, derivative: { _, y in y * (1 - y) }))
}

public func tanh(_ x: Variable) -> Variable {
    unary(x, { Foundation.tanhf($0) }, derivative: { _, y in 1 - y * y })
}

/// SiLU / Swish: x · σ(x).
public func silu(_ x: Variable) -> Variable {
    unary(x, { $0 / (1 + expf(-$0)) }, derivative: { x, _ in
        let s = 1 / (1 + expf(-x))
        return s * (1 + x * (1 - s))
    })
}

/// x · factor.
public func scale(_ x: Variable, by factor: Float) -> Variable {
    PlanTrace.note(.scale(factor), [x], unary(x, { $0 * factor }, derivative: { _, _ in factor }))
}

/// The axis decomposition [outer, axis, inner] of a shape.
func axisSplit(_ shape: [Int], _ axis: Int) -> (outer: Int, size: Int, inner: Int) {
    precondition(axis >= 0 && axis < shape.count, "axis \(axis) out of range for shape \(shape)")
    return (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
}

/// Softmax along `axis` (the class axis 1 by default).
public func softmax(_ input: Variable, axis: Int = 1) -> Variable {
    let (outer, size, inner) = axisSplit(input.shape, axis)
    let y = softmaxValues(input.value, outer, size, inner, log: false)
    return Variable.record(y, [input]) { dy in
        // dx = y · (dy − Σ dy·y)
        var dx = dy
        for o in 0..<outer {
            for i in 0..<inner {
                var dot: Float = 0
                for k in 0..<size { let j = (o * size + k) * inner + i; dot += dy.scalars[j] * y.scalars[j] }
                for k in 0..<size { let j = (o * size + k) * inner + i; dx.scalars[j] = y.scalars[j] * (dy.scalars[j] - dot) }
            }
        }
        return [dx]
    }
}

/// log-softmax along `axis`, computed stably (x − max − log Σ exp(x − max)).
public func logSoftmax(_ input: Variable, axis: Int = 1) -> Variable {
    let (outer, size, inner) = axisSplit(input.shape, axis)
    let y = softmaxValues(input.value, outer, size, inner, log: true)
    return Variable.record(y, [input]) { dy in
        // dx = dy − softmax · Σ dy
        var dx = dy
        for o in 0..<outer {
            for i in 0..<inner {
                var total: Float = 0
                for k in 0..<size { total += dy.scalars[(o * size + k) * inner + i] }
                for k in 0..<size { let j = (o * size + k) * inner + i; dx.scalars[j] = dy.scalars[j] - expf(y.scalars[j]) * total }
            }
        }
        return [dx]
    }
}

func softmaxValues(_ x: Tensor, _ outer: Int, _ size: Int, _ inner: Int, log: Bool) -> Tensor {
    var y = x
    for o in 0..<outer {
        for i in 0..<inner {
            var top = -Float.infinity
            for k in 0..<size { top = max(top, x.scalars[(o * size + k) * inner + i]) }
            var total: Float = 0
            for k in 0..<size { total += expf(x.scalars[(o * size + k) * inner + i] - top) }
            let logTotal = logf(total)
            for k in 0..<size {
                let j = (o * size + k) * inner + i
                y.scalars[j] = log ? x.scalars[j] - top - logTotal : expf(x.scalars[j] - top) / total
            }
        }
    }
    return y
}

/// Inverted dropout: zero each element with probability p, scale the rest by 1/(1 − p).
/// Identity when not training or p = 0.
public func dropout(_ input: Variable, probability p: Float, training: Bool, using rng: inout Xoshiro256) -> Variable {
    maskedDropout(input, probability: p, training: training, groupSize: 1, using: &rng)
}

/// Channel dropout (PyTorch's Dropout2d): zero whole [H, W] planes of an NCHW input.
public func channelDropout(_ input: Variable, probability p: Float, training: Bool, using rng: inout Xoshiro256) -> Variable {
    precondition(input.value.rank >= 3, "channel dropout expects [N, C, …], got shape \(input.shape)")
    return maskedDropout(input, probability: p, training: training, groupSize: input.shape.dropFirst(2).reduce(1, *), using: &rng)
}

func maskedDropout(_ input: Variable, probability p: Float, training: Bool, groupSize: Int, using rng: inout Xoshiro256) -> Variable {
    precondition(p >= 0 && p <= 1, "dropout probability must lie in [0, 1], got \(p)")
    guard training && p > 0 else { return input }
    let keep: Float = p >= 1 ? 0 : 1 / (1 - p)
    var mask = [Float](repeating: 0, count: input.value.count / max(groupSize, 1))
    // A share of a global batch draws the masks the whole batch draws for its images, and leaves
    // the generator where the whole batch leaves it.
    let images = input.shape.first ?? 1
    let share = BatchShare.current.flatMap { $0.global >= $0.first + images && images > 0 ? $0 : nil }
    let perImage = mask.count / max(images, 1)
    if let share { for _ in 0..<(share.first * perImage) { _ = rng.next() } }
    for i in 0..<mask.count { mask[i] = rng.nextUniform() < p ? 0 : keep }
    if let share { for _ in 0..<((share.global - share.first - images) * perImage) { _ = rng.next() } }
    let apply: (Tensor) -> Tensor = { t in
        Tensor(uninitialized: t.shape) { out in
            t.withUnsafeBufferPointer { tb in
                for i in 0..<out.count { out[i] = tb[i] * mask[i / groupSize] }
            }
        }
    }
    return Variable.record(apply(input.value), [input]) { dy in [apply(dy)] }
}

/// y[i] = x[i] > 0 ? x[i] : 0 over `range`, eight lanes at a time (the scalar loop with its
/// comparison did not vectorise: 7% of a LeNet-5 training epoch).
@inline(__always)
func reluLoop(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
    var i = range.lowerBound
    let zero = SIMD8<Float>(repeating: 0)
    let (source, target) = (UnsafeRawPointer(x), UnsafeMutableRawPointer(y))
    while i + 8 <= range.upperBound {
        let v = source.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        target.storeBytes(of: v.replacing(with: zero, where: .!(v .> zero)), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < range.upperBound { y[i] = x[i] > 0 ? x[i] : 0; i += 1 }
}

/// dx[i] = y[i] > 0 ? dy[i] : 0 over `range`, eight lanes at a time.
@inline(__always)
func reluGradientLoop(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
    var i = range.lowerBound
    let zero = SIMD8<Float>(repeating: 0)
    let (output, gradient, target) = (UnsafeRawPointer(y), UnsafeRawPointer(dy), UnsafeMutableRawPointer(dx))
    while i + 8 <= range.upperBound {
        let v = output.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let g = gradient.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        target.storeBytes(of: g.replacing(with: zero, where: .!(v .> zero)), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < range.upperBound { dx[i] = y[i] > 0 ? dy[i] : 0; i += 1 }
}
