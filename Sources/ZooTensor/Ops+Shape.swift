/// Joins inputs along the channel axis 1: [N, C_i, …] → [N, Σ C_i, …].
public func concat(_ inputs: [Variable], axis: Int = 1) -> Variable {
    precondition(!inputs.isEmpty, "concat of no inputs")
    let first = inputs[0].shape
    for input in inputs {
        precondition(input.shape.count == first.count && axis < first.count
                        && zip(input.shape, first).enumerated().allSatisfy { $0.offset == axis || $0.element.0 == $0.element.1 },
                     "cannot concatenate shapes \(first) and \(input.shape) along axis \(axis)")
    }
    let outer = first[..<axis].reduce(1, *)
    let inner = first[(axis + 1)...].reduce(1, *)
    let sizes = inputs.map { $0.shape[axis] }
    let total = sizes.reduce(0, +)
    var shape = first
    shape[axis] = total
    let values = inputs.map(\.value)
    let y = Tensor(uninitialized: shape) { out in
        var offset = 0
        for (value, size) in zip(values, sizes) {
            value.withUnsafeBufferPointer { vb in
                for o in 0..<outer {
                    (out.baseAddress! + (o * total + offset) * inner)
                        .update(from: vb.baseAddress! + o * size * inner, count: size * inner)
                }
            }
            offset += size
        }
    }
    return Variable.record(y, inputs) { dy in
        var grads: [Tensor?] = []
        var offset = 0
        for (input, size) in zip(inputs, sizes) {
            if input.requiresGrad {
                grads.append(Tensor(uninitialized: input.shape) { out in
                    dy.withUnsafeBufferPointer { db in
                        for o in 0..<outer {
                            (out.baseAddress! + o * size * inner)
                                .update(from: db.baseAddress! + (o * total + offset) * inner, count: size * inner)
                        }
                    }
                })
            } else {
                grads.append(nil)
            }
            offset += size
        }
        return grads
    }
}

/// The same elements under another shape (one dimension may be -1).
public func reshape(_ input: Variable, _ shape: [Int]) -> Variable {
    let original = input.shape
    return Variable.record(input.value.reshaped(shape), [input]) { dy in [dy.reshaped(original)] }
}

/// [N, …] → [N, Π …].
public func flatten(_ input: Variable) -> Variable {
    reshape(input, [input.shape.first ?? 1, -1])
}

/// Sum of all elements, as a scalar.
public func sum(_ input: Variable) -> Variable {
    let shape = input.shape
    return Variable.record(Tensor(input.value.sum), [input]) { dy in [Tensor(zeros: shape, value: dy.scalar)] }
}

/// Mean of all elements, as a scalar.
public func mean(_ input: Variable) -> Variable {
    scale(sum(input), by: 1 / Float(max(input.value.count, 1)))
}
