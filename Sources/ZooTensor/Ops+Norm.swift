import Foundation

/// Batch normalisation over the channel axis 1 of an [N, C] or [N, C, H, W] input.
///
/// Training: normalise by the batch mean and (biased) variance, and move the running
/// statistics toward them by `momentum` (the running variance takes the unbiased batch
/// variance, as PyTorch does). Evaluation: normalise by the running statistics.
///
/// With `crossReplicaSum` (synchronised batch norm in data-parallel training) the batch is
/// the union of every process's batch: the function sums an array of per-channel sums over
/// the processes in place, and the statistics, and in the backward pass Σ dy and Σ dy·x̂,
/// are those of the whole batch; the weight and bias gradients stay this process's share.
public func batchNorm(_ input: Variable, weight: Variable?, bias: Variable?,
                      runningMean: inout Tensor, runningVar: inout Tensor,
                      training: Bool, momentum: Float = 0.1, eps: Float = 1e-5,
                      crossReplicaSum: ((inout [Double]) -> Void)? = nil) -> Variable {
    let shape = input.shape
    precondition(shape.count >= 2, "batch norm expects [N, C, …], got shape \(shape)")
    let (n, c) = (shape[0], shape[1])
    let plane = shape.dropFirst(2).reduce(1, *)
    let m = n * plane
    precondition(runningMean.shape == [c] && runningVar.shape == [c],
                 "batch norm running statistics \(runningMean.shape), \(runningVar.shape) for \(c) channels")
    if let weight { precondition(weight.shape == [c], "batch norm weight \(weight.shape) for \(c) channels") }
    if let bias { precondition(bias.shape == [c], "batch norm bias \(bias.shape) for \(c) channels") }
    let x = input.value
    var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
    let replicas = training ? crossReplicaSum : nil
    /// The values per channel in the whole batch (all processes' with `replicas`).
    var count = m
    if let replicas {
        var sums = channelSums(x, n: n, c: c, plane: plane, minus: nil) + [Double(m)]
        replicas(&sums)
        count = Int(sums[c])
        precondition(count > 1, "batch norm in training needs more than one value per channel, got \(count) across the processes")
        let mu = sums.prefix(c).map { $0 / Double(count) }
        var squares = channelSums(x, n: n, c: c, plane: plane, minus: mu.map(Float.init))
        replicas(&squares)
        for ch in 0..<c {
            let variance = squares[ch] / Double(count)
            mean[ch] = Float(mu[ch])
            invStd[ch] = Float(1 / (variance + Double(eps)).squareRoot())
            runningMean.scalars[ch] = (1 - momentum) * runningMean.scalars[ch] + momentum * mean[ch]
            runningVar.scalars[ch] = (1 - momentum) * runningVar.scalars[ch] + momentum * Float(variance) * Float(count) / Float(count - 1)
        }
    } else if training {
        precondition(m > 1, "batch norm in training needs more than one value per channel, got input \(shape)")
        var batchVar = [Float](repeating: 0, count: c)
        x.withUnsafeBufferPointer { xb in
            mean.withUnsafeMutableBufferPointer { mb in
                invStd.withUnsafeMutableBufferPointer { sb in
                  batchVar.withUnsafeMutableBufferPointer { vb in
                    parallelFor(c) { ch in
                        // Float sums over each plane in SIMD lanes, Double across planes.
                        var sum = 0.0
                        for b in 0..<n { sum += Double(laneSum(xb.baseAddress! + (b * c + ch) * plane, plane)) }
                        let mu = sum / Double(m)
                        var sq = 0.0
                        for b in 0..<n { sq += Double(laneSumOfSquares(xb.baseAddress! + (b * c + ch) * plane, plane, minus: Float(mu))) }
                        let variance = sq / Double(m)
                        mb[ch] = Float(mu)
                        sb[ch] = Float(1 / (variance + Double(eps)).squareRoot())
                        vb[ch] = Float(variance)
                    }
                  }
                }
            }
        }
        for ch in 0..<c {
            let variance = batchVar[ch]
            runningMean.scalars[ch] = (1 - momentum) * runningMean.scalars[ch] + momentum * mean[ch]
            runningVar.scalars[ch] = (1 - momentum) * runningVar.scalars[ch] + momentum * variance * Float(m) / Float(m - 1)
        }
    } else {
        for ch in 0..<c {
            mean[ch] = runningMean.scalars[ch]
            invStd[ch] = 1 / (runningVar.scalars[ch] + eps).squareRoot()
        }
    }
    let gamma = weight?.value.scalars ?? [Float](repeating: 1, count: c)
    let beta = bias?.value.scalars ?? [Float](repeating: 0, count: c)
    let (scale, shift) = normalisationAffine(gamma: gamma, beta: beta, mean: mean, invStd: invStd)
    let y = affinePerChannel(x, scale: scale, shift: shift, relu: false)
    let inputs = [input] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
    return Variable.record(y, inputs) { dy in
        // Per channel: Σ dy and Σ dy·x̂, each image's plane in float, the images in double (`BatchSums`).
        var sumDy = [Double](repeating: 0, count: c), sumDyXhat = [Double](repeating: 0, count: c)
        x.withUnsafeBufferPointer { xb in
            dy.withUnsafeBufferPointer { db in
                sumDy.withUnsafeMutableBufferPointer { s1 in
                    sumDyXhat.withUnsafeMutableBufferPointer { s2 in
                        parallelFor(c) { ch in
                            var a = 0.0, b2 = 0.0
                            for b in 0..<n {
                                let off = (b * c + ch) * plane
                                let (g, gx) = laneSums(db.baseAddress! + off, xb.baseAddress! + off, plane, minus: mean[ch])
                                a += Double(g)
                                b2 += Double(gx)
                            }
                            s1[ch] = a; s2[ch] = b2 * Double(invStd[ch])
                        }
                    }
                }
            }
        }
        // The whole batch's sums normalise dx (summed over the processes before rounding); the
        // weight and bias keep this process's share.
        var batchSums = sumDy + sumDyXhat
        if let replicas { replicas(&batchSums) }
        let batchDy = batchSums.prefix(c).map(Float.init), batchDyXhat = batchSums.suffix(c).map(Float.init)
        var dx: Tensor?
        if input.requiresGrad {
            dx = Tensor(uninitialized: shape) { out in
                x.withUnsafeBufferPointer { xb in
                    dy.withUnsafeBufferPointer { db in
                        parallelFor(n * c, minimumPerThread: 8) { job in
                            let ch = job % c
                            let k = gamma[ch] * invStd[ch]
                            let off = job * plane
                            if training {
                                let meanDy = batchDy[ch] / Float(count), meanDyXhat = batchDyXhat[ch] / Float(count)
                                let (mu, s) = (mean[ch], invStd[ch])
                                let (src, grad, dst) = (xb.baseAddress! + off, db.baseAddress! + off, out.baseAddress! + off)
                                for i in 0..<plane { dst[i] = k * (grad[i] - meanDy - (src[i] - mu) * s * meanDyXhat) }
                            } else {
                                for i in 0..<plane { out[off + i] = k * db[off + i] }
                            }
                        }
                    }
                }
            }
        }
        var grads: [Tensor?] = [dx]
        if let weight { grads.append(weight.gradient(fromSums: sumDyXhat)) }
        if let bias { grads.append(bias.gradient(fromSums: sumDy)) }
        return grads
    }
}

/// Per channel of [N, C, plane] values: Σ x, or Σ (x − minus[c])² — Float sums over each plane
/// in SIMD lanes, Double across planes, as `batchNorm` computes its statistics.
func channelSums(_ x: Tensor, n: Int, c: Int, plane: Int, minus: [Float]?) -> [Double] {
    var sums = [Double](repeating: 0, count: c)
    x.withUnsafeBufferPointer { xb in
        sums.withUnsafeMutableBufferPointer { out in
            parallelFor(c) { ch in
                var sum = 0.0
                for b in 0..<n {
                    let p = xb.baseAddress! + (b * c + ch) * plane
                    sum += Double(minus.map { laneSumOfSquares(p, plane, minus: $0[ch]) } ?? laneSum(p, plane))
                }
                out[ch] = sum
            }
        }
    }
    return sums
}

/// Batch normalisation with the running statistics (evaluation), and an optional ReLU, in one
/// pass and with no autograd record: the same arithmetic as `batchNorm`'s evaluation path.
@_spi(Engine) public func batchNormInference(_ input: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                               eps: Float, relu: Bool) -> Tensor {
    let shape = input.shape
    precondition(shape.count >= 2 && runningMean.shape == [shape[1]] && runningVar.shape == [shape[1]],
                 "batch norm of \(shape) with running statistics \(runningMean.shape), \(runningVar.shape)")
    let c = shape[1]
    let (scale, shift) = normalisationAffine(gamma: weight?.scalars ?? [Float](repeating: 1, count: c),
                                             beta: bias?.scalars ?? [Float](repeating: 0, count: c), mean: runningMean.scalars,
                                             invStd: runningVar.scalars.map { 1 / ($0 + eps).squareRoot() })
    return affinePerChannel(input, scale: scale, shift: shift, relu: relu)
}

/// Per channel, y = x·scale + shift with scale = γ·invStd and shift = β − μ·scale.
func normalisationAffine(gamma: [Float], beta: [Float], mean: [Float], invStd: [Float]) -> (scale: [Float], shift: [Float]) {
    let scale = zip(gamma, invStd).map { $0 * $1 }
    return (scale, (0..<scale.count).map { beta[$0] - mean[$0] * scale[$0] })
}

/// y = x·scale[c] + shift[c] over the channels (axis 1) of `x`, then max(y, 0) when `relu`.
func affinePerChannel(_ x: Tensor, scale: [Float], shift: [Float], relu: Bool) -> Tensor {
    let (n, c) = (x.shape[0], x.shape[1])
    let plane = x.shape.dropFirst(2).reduce(1, *)
    return Tensor(uninitialized: x.shape) { out in
        x.withUnsafeBufferPointer { xb in
            parallelFor(n * c, minimumPerThread: max(1, 4096 / max(1, plane))) { job in
                let (k, b) = (scale[job % c], shift[job % c])
                let src = xb.baseAddress! + job * plane, dst = out.baseAddress! + job * plane
                for i in 0..<plane { dst[i] = src[i] * k + b }
                if relu { reluLoop(dst, dst, 0..<plane) }
            }
        }
    }
}

/// Σ p[i], i < count, in 8 float lanes: a scalar float sum cannot be vectorised (its order of
/// additions is fixed), and these sums over whole feature maps dominate batch norm's time.
@inline(__always)
func laneSum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
    var lanes = SIMD8<Float>(repeating: 0)
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 8 <= count { lanes += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self); i += 8 }
    var total = lanes.sum()
    while i < count { total += p[i]; i += 1 }
    return total
}

/// Σ (p[i] − mean)², in 8 float lanes.
@inline(__always)
func laneSumOfSquares(_ p: UnsafePointer<Float>, _ count: Int, minus mean: Float) -> Float {
    var lanes = SIMD8<Float>(repeating: 0)
    let center = SIMD8<Float>(repeating: mean)
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 8 <= count {
        let d = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - center
        lanes += d * d
        i += 8
    }
    var total = lanes.sum()
    while i < count { let d = p[i] - mean; total += d * d; i += 1 }
    return total
}

/// (Σ g[i], Σ g[i]·(x[i] − mean)), in 8 float lanes.
@inline(__always)
func laneSums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int, minus mean: Float) -> (Float, Float) {
    var sums = SIMD8<Float>(repeating: 0), products = SIMD8<Float>(repeating: 0)
    let center = SIMD8<Float>(repeating: mean)
    var i = 0
    let (rawG, rawX) = (UnsafeRawPointer(g), UnsafeRawPointer(x))
    while i + 8 <= count {
        let gradient = rawG.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        sums += gradient
        products += gradient * (rawX.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - center)
        i += 8
    }
    var (a, b) = (sums.sum(), products.sum())
    while i < count { a += g[i]; b += g[i] * (x[i] - mean); i += 1 }
    return (a, b)
}

/// Local response normalisation across channels (Krizhevsky et al. 2012), as PyTorch:
/// y_c = x_c / (k + α/n · Σ_{c′ ∈ [c − ⌊n/2⌋, c + ⌊(n−1)/2⌋]} x_{c′}²)^β.
public func localResponseNorm(_ input: Variable, size: Int, alpha: Float = 1e-4, beta: Float = 0.75,
                              k: Float = 1) -> Variable {
    let shape = input.shape
    precondition(shape.count >= 3, "local response norm expects [N, C, …], got shape \(shape)")
    precondition(size > 0, "local response norm size must be positive, got \(size)")
    let (n, c) = (shape[0], shape[1])
    let plane = shape.dropFirst(2).reduce(1, *)
    let before = size / 2, after = (size - 1) / 2
    let x = input.value
    // scale[c] = k + α/n · Σ window x², per position.
    var scale = Tensor(zeros: shape)
    scale.withUnsafeMutableBufferPointer { sb in
        x.withUnsafeBufferPointer { xb in
            parallelFor(n * c, minimumPerThread: 8) { job in
                let (b, ch) = job.quotientAndRemainder(dividingBy: c)
                let dst = sb.baseAddress! + job * plane
                for i in 0..<plane { dst[i] = 0 }
                for other in max(0, ch - before)...min(c - 1, ch + after) {
                    let src = xb.baseAddress! + (b * c + other) * plane
                    for i in 0..<plane { dst[i] += src[i] * src[i] }
                }
                for i in 0..<plane { dst[i] = k + alpha / Float(size) * dst[i] }
            }
        }
    }
    let y = x.zipMap(scale) { $0 * powf($1, -beta) }
    return Variable.record(y, [input]) { dy in
        // dx_j = dy_j·s_j^−β − (2αβ/n)·x_j·Σ_{c : j ∈ window(c)} dy_c·x_c·s_c^(−β−1)
        let t = Tensor(uninitialized: shape) { out in
            for i in 0..<out.count { out[i] = dy.scalars[i] * x.scalars[i] * powf(scale.scalars[i], -beta - 1) }
        }
        let dx = Tensor(uninitialized: shape) { out in
            t.withUnsafeBufferPointer { tb in
                parallelFor(n * c, minimumPerThread: 8) { job in
                    let (b, ch) = job.quotientAndRemainder(dividingBy: c)
                    let off = job * plane
                    for i in 0..<plane { out[off + i] = 0 }
                    for other in max(0, ch - after)...min(c - 1, ch + before) {
                        let src = tb.baseAddress! + (b * c + other) * plane
                        for i in 0..<plane { out[off + i] += src[i] }
                    }
                    let factor = 2 * alpha * beta / Float(size)
                    for i in 0..<plane {
                        out[off + i] = dy.scalars[off + i] * powf(scale.scalars[off + i], -beta)
                            - factor * x.scalars[off + i] * out[off + i]
                    }
                }
            }
        }
        return [dx]
    }
}
