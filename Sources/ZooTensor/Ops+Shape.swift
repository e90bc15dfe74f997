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
    return PlanTrace.note(.concat(axis: axis), inputs, Variable.record(y, inputs) { dy in
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
    })
}

/// The same elements under another shape (one dimension may be -1).
public func reshape(_ input: Variable, _ shape: [Int]) -> Variable {
    let original = input.shape
    return PlanTrace.note(.reshape, [input], Variable.record(input.value.reshaped(shape), [input]) { dy in [dy.reshaped(original)] })
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

/// The margins `pad2d` adds to each side of an [N, C, H, W] tensor; a negative margin crops.
public struct Margins: Equatable, CustomStringConvertible {
    public var top: Int, left: Int, bottom: Int, right: Int

    public init(top: Int = 0, left: Int = 0, bottom: Int = 0, right: Int = 0) {
        (self.top, self.left, self.bottom, self.right) = (top, left, bottom, right)
    }

    /// TensorFlow's "SAME" padding of a `kernel`×`kernel` window moving by `stride` over
    /// `height`×`width`: the output is ⌈size / stride⌉ and the odd pixel of padding goes to
    /// the bottom and the right.
    public static func same(height: Int, width: Int, kernel: Int, stride: Int) -> Margins {
        func total(_ size: Int) -> Int { max(((size + stride - 1) / stride - 1) * stride + kernel - size, 0) }
        let (h, w) = (total(height), total(width))
        return Margins(top: h / 2, left: w / 2, bottom: h - h / 2, right: w - w / 2)
    }

    public var description: String { "top \(top), left \(left), bottom \(bottom), right \(right)" }
}

/// Adds `margins` of `value` around each [H, W] plane of an [N, C, H, W] input; negative
/// margins remove rows and columns instead (PyTorch's `F.pad` with a constant).
public func pad2d(_ input: Variable, _ margins: Margins, value: Float = 0) -> Variable {
    let shape = input.shape
    precondition(shape.count == 4, "pad2d expects an [N, C, H, W] input, got \(shape)")
    let (planes, height, width) = (shape[0] * shape[1], shape[2], shape[3])
    let (outHeight, outWidth) = (height + margins.top + margins.bottom, width + margins.left + margins.right)
    precondition(outHeight > 0 && outWidth > 0, "margins (\(margins)) leave nothing of a \(height)×\(width) input")
    // The input rows and columns that survive, and where they land.
    func surviving(_ size: Int, _ out: Int, _ before: Int) -> Range<Int> {
        let first = max(0, -before)
        return first..<max(first, min(size, out - before))
    }
    let rows = surviving(height, outHeight, margins.top), columns = surviving(width, outWidth, margins.left)
    let outShape = [shape[0], shape[1], outHeight, outWidth]
    let outputRows = (rows.lowerBound + margins.top)..<(rows.upperBound + margins.top)
    let outputColumns = (columns.lowerBound + margins.left)..<(columns.upperBound + margins.left)
    let x = input.value
    let y = Tensor(uninitialized: outShape) { out in
        x.withUnsafeBufferPointer { xb in
            parallelFor(planes, minimumPerThread: max(1, 16_384 / max(1, outHeight * outWidth))) { plane in
                place(xb.baseAddress! + plane * height * width, width: width, shift: (-margins.top, -margins.left),
                      into: out.baseAddress! + plane * outHeight * outWidth, height: outHeight, width: outWidth,
                      rows: outputRows, columns: outputColumns, fill: value)
            }
        }
    }
    return PlanTrace.note(.pad(margins, value: value), [input], Variable.record(y, [input]) { dy in
        [Tensor(uninitialized: shape) { grad in
            dy.withUnsafeBufferPointer { db in
                parallelFor(planes, minimumPerThread: max(1, 16_384 / max(1, height * width))) { plane in
                    place(db.baseAddress! + plane * outHeight * outWidth, width: outWidth, shift: (margins.top, margins.left),
                          into: grad.baseAddress! + plane * height * width, height: height, width: width,
                          rows: rows, columns: columns, fill: 0)
                }
            }
        }]
    })
}

/// Writes a `height`×`width` plane, each element once: its block `rows`×`columns` from `source`
/// (row r, column c of the plane is the source's row r + shift.row, column c + shift.column),
/// `fill` everywhere else.
private func place(_ source: UnsafePointer<Float>, width sourceWidth: Int, shift: (row: Int, column: Int),
                   into target: UnsafeMutablePointer<Float>, height: Int, width: Int,
                   rows: Range<Int>, columns: Range<Int>, fill: Float) {
    let copies = !rows.isEmpty && !columns.isEmpty
    for row in 0..<height {
        let line = target + row * width
        guard copies, rows.contains(row) else {
            line.update(repeating: fill, count: width)
            continue
        }
        line.update(repeating: fill, count: columns.lowerBound)
        (line + columns.lowerBound).update(from: source + (row + shift.row) * sourceWidth + columns.lowerBound + shift.column,
                                          count: columns.count)
        (line + columns.upperBound).update(repeating: fill, count: width - columns.upperBound)
    }
}
