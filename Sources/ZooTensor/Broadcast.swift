/// NumPy broadcasting of two shapes, right-aligned: each dimension pair is equal or one is 1.
public struct Broadcast {
    public let shape: [Int]
    /// Element strides of each operand in the broadcast shape (0 along broadcast dimensions).
    let stridesA: [Int], stridesB: [Int]

    public init(_ a: [Int], _ b: [Int]) {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        var shape = [Int](repeating: 1, count: rank)
        for d in 0..<rank {
            precondition(pa[d] == pb[d] || pa[d] == 1 || pb[d] == 1,
                         "shapes \(a) and \(b) cannot be broadcast together")
            shape[d] = pa[d] == 1 ? pb[d] : pa[d]
        }
        self.shape = shape
        stridesA = Broadcast.strides(pa)
        stridesB = Broadcast.strides(pb)
    }

    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: shape.count)
        var step = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = shape[d] == 1 ? 0 : step
            step *= shape[d]
        }
        return strides
    }

    /// Calls body(outOffset, aOffset, bOffset) for runs along the last dimension: the run
    /// covers `shape.last` outputs with operand steps `stridesA.last`, `stridesB.last`.
    func forEachRow(_ body: (Int, Int, Int) -> Void) {
        let rank = shape.count
        if rank == 0 { body(0, 0, 0); return }
        let rows = shape.dropLast().reduce(1, *)
        var index = [Int](repeating: 0, count: rank - 1)
        var offA = 0, offB = 0
        for row in 0..<rows {
            body(row * shape[rank - 1], offA, offB)
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                offA += stridesA[d]; offB += stridesB[d]
                if index[d] < shape[d] { break }
                offA -= stridesA[d] * shape[d]; offB -= stridesB[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// out[i] = f(a[·], b[·]) over the broadcast shape.
    func apply(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        let width = shape.last ?? 1
        let sa = stridesA.last ?? 0, sb = stridesB.last ?? 0
        return Tensor(uninitialized: shape) { out in
            a.withUnsafeBufferPointer { ab in
                b.withUnsafeBufferPointer { bb in
                    forEachRow { o, pa, pb in
                        for i in 0..<width { out[o + i] = f(ab[pa + i * sa], bb[pb + i * sb]) }
                    }
                }
            }
        }
    }

    /// Sums g (of the broadcast shape) back onto the shape of operand A (or B), scaled
    /// elementwise by `factor` (the other operand, for mul) when given.
    func reduce(_ g: Tensor, toA: Bool, original: [Int], factor: Tensor? = nil) -> Tensor {
        var result = Tensor(zeros: original)
        let width = shape.last ?? 1
        let sTarget = (toA ? stridesA : stridesB).last ?? 0
        let sOther = (toA ? stridesB : stridesA).last ?? 0
        result.withUnsafeMutableBufferPointer { rb in
            g.withUnsafeBufferPointer { gb in
                (factor ?? Tensor(1)).withUnsafeBufferPointer { fb in
                    forEachRow { o, pa, pb in
                        let (pt, po) = toA ? (pa, pb) : (pb, pa)
                        if factor != nil {
                            for i in 0..<width { rb[pt + i * sTarget] += gb[o + i] * fb[po + i * sOther] }
                        } else {
                            for i in 0..<width { rb[pt + i * sTarget] += gb[o + i] }
                        }
                    }
                }
            }
        }
        return result
    }
}

/// a + b with broadcasting (a residual join, or a per-channel bias).
public func add(_ a: Variable, _ b: Variable) -> Variable {
    PlanTrace.note(.add, [a, b], broadcastAdd(a, b))
}

private func broadcastAdd(_ a: Variable, _ b: Variable) -> Variable {
    if a.shape == b.shape {
        return Variable.record(a.value + b.value, [a, b]) { dy in [dy, dy] }
    }
    let plan = Broadcast(a.shape, b.shape)
    let (sa, sb) = (a.shape, b.shape)
    return Variable.record(plan.apply(a.value, b.value, +), [a, b]) { dy in
        [a.requiresGrad ? plan.reduce(dy, toA: true, original: sa) : nil,
         b.requiresGrad ? plan.reduce(dy, toA: false, original: sb) : nil]
    }
}

/// a · b elementwise with broadcasting (an SE block's channel scaling).
public func mul(_ a: Variable, _ b: Variable) -> Variable {
    let plan = Broadcast(a.shape, b.shape)
    let (av, bv) = (a.value, b.value)
    return PlanTrace.note(.mul, [a, b], Variable.record(plan.apply(av, bv, *), [a, b]) { dy in
        [a.requiresGrad ? plan.reduce(dy, toA: true, original: av.shape, factor: bv) : nil,
         b.requiresGrad ? plan.reduce(dy, toA: false, original: bv.shape, factor: av) : nil]
    })
}

/// x · scale_c + shift_c for each channel c of an [N, C, …] input (a fixed per-channel
/// normalisation).
@_spi(Engine) public func channelAffine(_ x: Variable, scale: [Float], shift: [Float]) -> Variable {
    precondition(x.shape.count >= 2 && scale.count == x.shape[1] && shift.count == x.shape[1],
                 "channelAffine of \(scale.count) channels for an input of shape \(x.shape)")
    let shape = [1, scale.count] + Array(repeating: 1, count: x.shape.count - 2)
    let y = PlanTrace.paused {
        x * Variable(Tensor(shape: shape, scalars: scale)) + Variable(Tensor(shape: shape, scalars: shift))
    }
    return PlanTrace.note(.channelAffine(scale: scale, shift: shift), [x], y)
}

public func + (a: Variable, b: Variable) -> Variable { add(a, b) }
public func * (a: Variable, b: Variable) -> Variable { mul(a, b) }
