/// y = x ⋆ weight + bias.   x [N, C_in, H, W], weight [C_out, C_in/groups, kH, kW] → [N, C_out, OH, OW]
public func conv2d(_ input: Variable, weight: Variable, bias: Variable? = nil,
                   stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                   dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Variable {
    let g = ConvGeometry(input: input.shape, weight: weight.shape, stride: stride, padding: padding,
                         dilation: dilation, groups: groups)
    let x = input.value, w = weight.value
    let y = ConvKernels.forward(x, weight: w, bias: bias?.value, g)
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    let output = Variable.record(y, inputs) { dy in
        let dx = input.requiresGrad ? ConvKernels.backwardInput(dy, weight: w, g) : nil
        let dw = weight.requiresGrad ? weight.gradient(from: ConvKernels.backwardWeightSums(x, gradOutput: dy, g)) : nil
        let db = bias?.requiresGrad == true ? bias!.gradient(fromSums: ConvKernels.channelSums(dy)) : nil
        return bias == nil ? [dx, dw] : [dx, dw, db]
    }
    return PlanTrace.note(.conv2d(weight: w, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups),
                          [input], output)
}

/// conv2d for inference, with no autograd record: the bias and an optional ReLU are applied
/// in the pass that finishes each output (used with BatchNorm folded into `weight` and `bias`).
/// With `accumulate`, y = relu?(conv + bias + accumulate): a residual block's join in the same pass.
/// A non-zero `weightsTag` (OneDNN.newWeightsTag()) promises that `weight` never changes.
@_spi(Engine) public func conv2dInference(_ input: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
                            dilation: (Int, Int), groups: Int, relu: Bool, accumulate: Tensor? = nil,
                            weightsTag: UInt64 = 0) -> Tensor {
    let g = ConvGeometry(input: input.shape, weight: weight.shape, stride: stride, padding: padding, dilation: dilation, groups: groups)
    return ConvKernels.forward(input, weight: weight, bias: bias, g, relu: relu, accumulate: accumulate, weightsTag: weightsTag,
                               wholeBatch: true)
}

/// The transpose (adjoint) of conv2d, as PyTorch's conv_transpose2d.
/// x [N, C_in, H, W], weight [C_in, C_out/groups, kH, kW] → [N, C_out, OH, OW] with
/// O = (I − 1)·S − 2P + D·(K − 1) + output_padding + 1.
public func convTranspose2d(_ input: Variable, weight: Variable, bias: Variable? = nil,
                            stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                            outputPadding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1),
                            groups: Int = 1) -> Variable {
    precondition(input.value.rank == 4 && weight.value.rank == 4 && input.shape[1] == weight.shape[0],
                 "conv_transpose2d input \(input.shape) does not match weight \(weight.shape)")
    precondition(outputPadding.0 < max(stride.0, dilation.0) && outputPadding.1 < max(stride.1, dilation.1),
                 "output padding \(outputPadding) must be smaller than stride \(stride) or dilation \(dilation)")
    let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
    let (kh, kw) = (weight.shape[2], weight.shape[3])
    let outHeight = (h - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + outputPadding.0 + 1
    let outWidth = (w - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + outputPadding.1 + 1
    precondition(outHeight > 0 && outWidth > 0, "conv_transpose2d output size is not positive for input \(input.shape)")
    // The forward convolution this one transposes maps [N, C_out, OH, OW] to the input's shape.
    let g = ConvGeometry(input: [n, weight.shape[1] * groups, outHeight, outWidth], weight: weight.shape,
                         stride: stride, padding: padding, dilation: dilation, groups: groups)
    precondition(g.outHeight == h && g.outWidth == w, "conv_transpose2d geometry mismatch for input \(input.shape)")
    let x = input.value, wt = weight.value
    var y = ConvKernels.backwardInput(x, weight: wt, g)
    if let bias {
        precondition(bias.shape == [g.inChannels], "conv_transpose2d bias \(bias.shape) for \(g.inChannels) channels")
        y.withUnsafeMutableBufferPointer {
            ConvKernels.epilogue($0.baseAddress!, bias.value, relu: false, images: n, channels: g.inChannels, plane: outHeight * outWidth, serial: false)
        }
    }
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Variable.record(y, inputs) { dy in
        let dx = input.requiresGrad ? ConvKernels.forward(dy, weight: wt, bias: nil, g) : nil
        let dw = weight.requiresGrad ? weight.gradient(from: ConvKernels.backwardWeightSums(dy, gradOutput: x, g)) : nil
        let db = bias?.requiresGrad == true ? bias!.gradient(fromSums: ConvKernels.channelSums(dy)) : nil
        return bias == nil ? [dx, dw] : [dx, dw, db]
    }
}

/// y = x · Wᵀ + b.   x [N, in], weight [out, in], bias [out] → [N, out]
/// The products run one group of `BatchSums.groupSize` rows at a time, so that a share of the
/// batch computes its rows as the whole batch does.
public func linear(_ input: Variable, weight: Variable, bias: Variable? = nil) -> Variable {
    precondition(input.value.rank == 2 && weight.value.rank == 2 && input.shape[1] == weight.shape[1],
                 "linear input \(input.shape) does not match weight \(weight.shape)")
    let (n, inFeatures, outFeatures) = (input.shape[0], input.shape[1], weight.shape[0])
    let x = input.value, w = weight.value
    var y = Tensor(zeros: [n, outFeatures])
    if let bias {
        precondition(bias.shape == [outFeatures], "linear bias \(bias.shape) for \(outFeatures) outputs")
        y.withUnsafeMutableBufferPointer { yb in
            bias.value.withUnsafeBufferPointer { bb in
                for r in 0..<n { for o in 0..<outFeatures { yb[r * outFeatures + o] = bb[o] } }
            }
        }
    }
    rowGroupProducts(&y, x, w, transposeB: true, beta: bias == nil ? 0 : 1)
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    let output = Variable.record(y, inputs) { dy in
        var dx: Tensor?, dw: Tensor?
        if input.requiresGrad {
            dx = Tensor(zeros: [n, inFeatures])
            rowGroupProducts(&dx!, dy, w, transposeB: false, beta: 0)
        }
        if weight.requiresGrad {
            // dyᵀ·x one group of images at a time, the groups added in double (`BatchSums`).
            let sums = dy.withUnsafeBufferPointer { dyb in
                x.withUnsafeBufferPointer { xb in
                    BatchSums.overGroups(batch: n, count: outFeatures * inFeatures) { first, images, sum in
                        // Blocks of 64 output rows, each on one thread (shapes independent of the threads).
                        let block = 64
                        parallelFor((outFeatures + block - 1) / block) { job in
                            let row = job * block
                            sgemm(transposeA: true, transposeB: false, m: min(block, outFeatures - row), n: inFeatures, k: images,
                                  a: dyb.baseAddress! + first * outFeatures + row, lda: outFeatures,
                                  b: xb.baseAddress! + first * inFeatures, ldb: inFeatures, beta: 0, c: sum + row * inFeatures,
                                  ldc: inFeatures, serial: true)
                        }
                    }
                }
            }
            dw = weight.gradient(from: sums)
        }
        let db = bias?.requiresGrad == true ? bias!.gradient(fromSums: ConvKernels.channelSums(dy)) : nil
        return bias == nil ? [dx, dw] : [dx, dw, db]
    }
    return PlanTrace.note(.linear(weight: weight.value, bias: bias?.value), [input], output)
}

/// c = a · op(b) + beta · c for a [N, k], one group of `BatchSums.groupSize` rows and one block of
/// 256 columns at a time, each product on one thread: the products' shapes depend neither on
/// the batch size nor on the number of threads.
private func rowGroupProducts(_ c: inout Tensor, _ a: Tensor, _ b: Tensor, transposeB: Bool, beta: Float) {
    let (k, n) = (a.shape[1], c.shape[1])
    precondition(c.shape[0] == a.shape[0] && (transposeB ? b.shape == [n, k] : b.shape == [k, n]),
                 "product of \(a.shape) and \(b.shape) into \(c.shape)")
    let block = 256, blocks = (n + block - 1) / block
    var groups: [(first: Int, rows: Int)] = []
    BatchSums.forEachGroup(batch: a.shape[0]) { groups.append(($0, $1)) }
    c.withUnsafeMutableBufferPointer { cb in
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                let (cp, ap, bp) = (cb.baseAddress!, ab.baseAddress!, bb.baseAddress!)
                parallelFor(groups.count * blocks) { job in
                    let (group, column) = (groups[job / blocks], job % blocks * block)
                    sgemm(transposeA: false, transposeB: transposeB, m: group.rows, n: min(block, n - column), k: k,
                          a: ap + group.first * k, lda: k, b: transposeB ? bp + column * k : bp + column, ldb: b.shape[1],
                          beta: beta, c: cp + group.first * n + column, ldc: n, serial: true)
                }
            }
        }
    }
}

/// C = A · B for rank-2 A [m, k] and B [k, n].
public func matmul(_ a: Variable, _ b: Variable) -> Variable {
    precondition(a.value.rank == 2 && b.value.rank == 2 && a.shape[1] == b.shape[0],
                 "matmul of shapes \(a.shape) and \(b.shape)")
    let av = a.value, bv = b.value
    var c = Tensor(zeros: [a.shape[0], b.shape[1]])
    matmulInto(&c, av, bv, transposeA: false, transposeB: false, beta: 0)
    return Variable.record(c, [a, b]) { dc in
        var da: Tensor?, db: Tensor?
        if a.requiresGrad { da = Tensor(zeros: av.shape); matmulInto(&da!, dc, bv, transposeA: false, transposeB: true, beta: 0) }
        if b.requiresGrad { db = Tensor(zeros: bv.shape); matmulInto(&db!, av, dc, transposeA: true, transposeB: false, beta: 0) }
        return [da, db]
    }
}

/// c = op(a) · op(b) + beta · c through sgemm.
func matmulInto(_ c: inout Tensor, _ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, beta: Float) {
    let m = transposeA ? a.shape[1] : a.shape[0]
    let k = transposeA ? a.shape[0] : a.shape[1]
    let n = transposeB ? b.shape[0] : b.shape[1]
    precondition(c.shape == [m, n], "matmul result shape \(c.shape), expected \([m, n])")
    c.withUnsafeMutableBufferPointer { cb in
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                      a: ab.baseAddress!, lda: a.shape[1], b: bb.baseAddress!, ldb: b.shape[1],
                      beta: beta, c: cb.baseAddress!, ldc: n)
            }
        }
    }
}
