import CBLAS
import Dispatch

@_spi(Kernels) public enum ConvKernels {
    /// y = conv(x, weight) + bias [+ accumulate], then max(y, 0) when `relu`.
    /// x [N, C_in, H, W] → y [N, C_out, OH, OW]; `accumulate` has y's shape (a residual
    /// block's skip input). `weightsTag` ≠ 0 promises the weights never change under it
    /// (oneDNN then keeps them in its kernel's layout). oneDNN runs the batch in pieces whose
    /// results do not depend on the thread count (`OneDNN.imagesPerPiece`), or with `wholeBatch`
    /// in one call on all the threads (inference).
    public static func forward(_ input: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry, relu: Bool = false,
                               accumulate: Tensor? = nil, weightsTag: UInt64 = 0, wholeBatch: Bool = false) -> Tensor {
        precondition(input.shape == g.inputShape && weight.shape == g.weightShape,
                     "conv2d input \(input.shape) and weight \(weight.shape) do not match")
        if let bias { precondition(bias.shape == [g.outChannels], "conv2d bias \(bias.shape) for \(g.outChannels) output channels") }
        if let accumulate {
            precondition(accumulate.shape == g.outputShape, "conv2d sum input \(accumulate.shape), expected \(g.outputShape)")
            return forward(input, weight: weight, bias: bias, g, relu: relu, adding: accumulate, weightsTag: weightsTag,
                           wholeBatch: wholeBatch)
        }
        let (cog, cig, plane, opl) = (g.groupOutChannels, g.groupInChannels, g.inPlane, g.outPlane)
        return Tensor(uninitialized: g.outputShape) { out in
            let y = out.baseAddress!
            var epilogueDone = false
            input.withUnsafeBufferPointer { xb in
                weight.withUnsafeBufferPointer { wb in
                    let x = xb.baseAddress!, w = wb.baseAddress!
                    if withOptionalPointer(bias, {
                        OneDNN.forward(g, x, w, $0, y, accumulate: false, relu: relu, weightsTag: weightsTag, wholeBatch: wholeBatch)
                    }) {
                        epilogueDone = true
                    } else if g.imageParallelThreads > 0 {
                        // Each thread: whole images, serial products, and the bias/ReLU pass
                        // while the image's output is still in its cache.
                        forEachImage(g, needsColumns: !g.isPointwise) { _, n, columns in
                            for grp in 0..<g.groups {
                                var b = x + (n * g.inChannels + grp * cig) * plane
                                if !g.isPointwise {
                                    g.im2col(x, first: n, count: 1, group: grp, into: columns, serial: true)
                                    b = UnsafePointer(columns)
                                }
                                sgemm(transposeA: false, transposeB: false, m: cog, n: opl, k: g.patchSize,
                                      a: w + grp * cog * g.patchSize, lda: g.patchSize, b: b, ldb: opl,
                                      beta: 0, c: y + (n * g.outChannels + grp * cog) * opl, ldc: opl, serial: true)
                            }
                            epilogue(y + n * g.outChannels * opl, bias, relu: relu, images: 1, channels: g.outChannels, plane: opl, serial: true)
                        }
                        epilogueDone = true
                    } else if g.isPointwise {
                        for n in 0..<g.batch {
                            for grp in 0..<g.groups {
                                sgemm(transposeA: false, transposeB: false, m: cog, n: plane, k: cig,
                                      a: w + grp * cog * cig, lda: cig,
                                      b: x + (n * g.inChannels + grp * cig) * plane, ldb: plane,
                                      beta: 0, c: y + (n * g.outChannels + grp * cog) * opl, ldc: opl)
                            }
                        }
                    } else if g.patchSize * opl > ConvGeometry.bandThreshold {
                        // One image's columns would not fit in cache (VGG's first layers: 115 MB
                        // at 224×224): bands of output rows, each band's columns about 4 MiB,
                        // multiplied straight into that band of the output.
                        let rowsPerBand = max(1, ConvGeometry.bandValues / (g.patchSize * g.outWidth))
                        Workspace.shared.withBuffer(g.patchSize * rowsPerBand * g.outWidth) { columns in
                            for n in 0..<g.batch {
                                for grp in 0..<g.groups {
                                    for y0 in stride(from: 0, to: g.outHeight, by: rowsPerBand) {
                                        let y1 = min(g.outHeight, y0 + rowsPerBand), width = (y1 - y0) * g.outWidth
                                        g.im2col(x, first: n, count: 1, group: grp, into: columns, rows: y0..<y1)
                                        sgemm(transposeA: false, transposeB: false, m: cog, n: width, k: g.patchSize,
                                              a: w + grp * cog * g.patchSize, lda: g.patchSize, b: columns, ldb: width,
                                              beta: 0, c: y + (n * g.outChannels + grp * cog) * opl + y0 * g.outWidth, ldc: opl)
                                    }
                                }
                            }
                        }
                    } else {
                        forEachChunk(g) { first, count, grp, columns, product in
                            let ld = count * opl
                            g.im2col(x, first: first, count: count, group: grp, into: columns)
                            if count == 1 {
                                // One image: the product is already the output plane block.
                                sgemm(transposeA: false, transposeB: false, m: cog, n: ld, k: g.patchSize,
                                      a: w + grp * cog * g.patchSize, lda: g.patchSize, b: columns, ldb: ld,
                                      beta: 0, c: y + (first * g.outChannels + grp * cog) * opl, ldc: opl)
                                return
                            }
                            sgemm(transposeA: false, transposeB: false, m: cog, n: ld, k: g.patchSize,
                                  a: w + grp * cog * g.patchSize, lda: g.patchSize, b: columns, ldb: ld, beta: 0, c: product, ldc: ld)
                            // [cog, count, OH·OW] → y[first + b, grp·cog + o]
                            parallelFor(count * cog) { job in
                                let (b, o) = job.quotientAndRemainder(dividingBy: cog)
                                (y + ((first + b) * g.outChannels + grp * cog + o) * opl).update(from: product + o * ld + b * opl, count: opl)
                            }
                        }
                    }
                }
            }
            if !epilogueDone { epilogue(y, bias, relu: relu, images: g.batch, channels: g.outChannels, plane: opl, serial: false) }
        }
    }

    /// y = relu?(conv(x) + bias + skip): oneDNN's sum post-op where it fuses well, otherwise the
    /// convolution and then one in-place pass for the sum and the ReLU.
    static func forward(_ input: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry, relu: Bool, adding skip: Tensor,
                        weightsTag: UInt64, wholeBatch: Bool) -> Tensor {
        if OneDNN.fusesSum(g) {
            var fused = false
            let y = Tensor(uninitialized: g.outputShape) { out in
                skip.withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
                input.withUnsafeBufferPointer { xb in
                    weight.withUnsafeBufferPointer { wb in
                        fused = withOptionalPointer(bias) {
                            OneDNN.forward(g, xb.baseAddress!, wb.baseAddress!, $0, out.baseAddress!, accumulate: true, relu: relu,
                                           weightsTag: weightsTag, wholeBatch: wholeBatch)
                        }
                    }
                }
            }
            if fused { return y }
        }
        var y = forward(input, weight: weight, bias: bias, g, weightsTag: weightsTag, wholeBatch: wholeBatch)
        y.withUnsafeMutableBufferPointer { yb in
            skip.withUnsafeBufferPointer { sb in
                let (p, a) = (yb.baseAddress!, sb.baseAddress!)
                parallelRanges(yb.count) { range in
                    for i in range { p[i] += a[i] }
                    if relu { reluLoop(p, p, range) }
                }
            }
        }
        return y
    }

    /// dx = conv2d's input gradient for the output gradient dy.
    public static func backwardInput(_ gradOutput: Tensor, weight: Tensor, _ g: ConvGeometry) -> Tensor {
        precondition(gradOutput.shape == g.outputShape, "conv2d output gradient \(gradOutput.shape), expected \(g.outputShape)")
        let (cog, cig, plane, opl) = (g.groupOutChannels, g.groupInChannels, g.inPlane, g.outPlane)
        return Tensor(uninitialized: g.inputShape) { out in
            let dx = out.baseAddress!
            gradOutput.withUnsafeBufferPointer { dyb in
                weight.withUnsafeBufferPointer { wb in
                    let dy = dyb.baseAddress!, w = wb.baseAddress!
                    if OneDNN.backwardData(g, dy, w, dx) { return }
                    if g.isPointwise {
                        for n in 0..<g.batch {
                            for grp in 0..<g.groups {
                                sgemm(transposeA: true, transposeB: false, m: cig, n: plane, k: cog,
                                      a: w + grp * cog * cig, lda: cig,
                                      b: dy + (n * g.outChannels + grp * cog) * opl, ldb: opl,
                                      beta: 0, c: dx + (n * g.inChannels + grp * cig) * plane, ldc: plane)
                            }
                        }
                        return
                    }
                    if g.imageParallelThreads > 0 {
                        forEachImage(g) { _, n, columns in
                            for grp in 0..<g.groups {
                                sgemm(transposeA: true, transposeB: false, m: g.patchSize, n: opl, k: cog,
                                      a: w + grp * cog * g.patchSize, lda: g.patchSize,
                                      b: dy + (n * g.outChannels + grp * cog) * opl, ldb: opl,
                                      beta: 0, c: columns, ldc: opl, serial: true)
                                g.col2im(columns, first: n, count: 1, group: grp, into: dx, serial: true)
                            }
                        }
                        return
                    }
                    forEachChunk(g) { first, count, grp, columns, gathered in
                        let ld = count * opl
                        gatherGroup(dy, into: gathered, first: first, count: count, group: grp, g)
                        sgemm(transposeA: true, transposeB: false, m: g.patchSize, n: ld, k: cog,
                              a: w + grp * cog * g.patchSize, lda: g.patchSize, b: gathered, ldb: ld, beta: 0, c: columns, ldc: ld)
                        g.col2im(columns, first: first, count: count, group: grp, into: dx)
                    }
                }
            }
        }
    }

    /// dW = Σ_n dy_n · patches(x_n)ᵀ, rounded from `backwardWeightSums`.
    public static func backwardWeight(_ input: Tensor, gradOutput: Tensor, _ g: ConvGeometry) -> Tensor {
        Tensor(shape: g.weightShape, scalars: backwardWeightSums(input, gradOutput: gradOutput, g).floats)
    }

    /// dW = Σ_n dy_n · patches(x_n)ᵀ as double sums of float pieces (`BatchSums`): through oneDNN
    /// one call per piece of `OneDNN.imagesPerPiece` images, otherwise one per group of images. A
    /// share of the batch made of whole groups gives its part of the same sums.
    public static func backwardWeightSums(_ input: Tensor, gradOutput: Tensor, _ g: ConvGeometry) -> BatchSums.GroupSums {
        precondition(gradOutput.shape == g.outputShape, "conv2d output gradient \(gradOutput.shape), expected \(g.outputShape)")
        let (inImage, outImage) = (g.inChannels * g.inPlane, g.outChannels * g.outPlane)
        return input.withUnsafeBufferPointer { xb in
            gradOutput.withUnsafeBufferPointer { dyb in
                if let sums = OneDNN.backwardWeightSums(g, xb.baseAddress!, dyb.baseAddress!) { return sums }
                return BatchSums.overGroups(batch: g.batch, count: g.weightShape.reduce(1, *)) { first, images, dw in
                    var part = g
                    part.batch = images
                    backwardWeight(xb.baseAddress! + first * inImage, dyb.baseAddress! + first * outImage, into: dw, part)
                }
            }
        }
    }

    /// dW for the images of `g` at x and dy, into the zeroed dw, by ConvZoo's own kernels.
    static func backwardWeight(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let (cog, cig, plane, opl) = (g.groupOutChannels, g.groupInChannels, g.inPlane, g.outPlane)
        if g.isPointwise || g.imageParallelThreads > 0 {
            // Each image's dW on its own (the threads take whole images), then added in image
            // order: the same sums whatever the number of threads (`BatchSums`).
            let size = g.weightShape.reduce(1, *)
            Workspace.shared.withBuffer(g.batch * size) { perImage in
                let body: (Int, Int, UnsafeMutablePointer<Float>) -> Void = { _, n, columns in
                    for grp in 0..<g.groups {
                        var b = x + (n * g.inChannels + grp * cig) * plane
                        if !g.isPointwise {
                            g.im2col(x, first: n, count: 1, group: grp, into: columns, serial: true)
                            b = UnsafePointer(columns)
                        }
                        sgemm(transposeA: false, transposeB: true, m: cog, n: g.patchSize, k: opl,
                              a: dy + (n * g.outChannels + grp * cog) * opl, lda: opl, b: b, ldb: opl,
                              beta: 0, c: perImage + n * size + grp * cog * g.patchSize, ldc: g.patchSize, serial: true)
                    }
                }
                if g.imageParallelThreads > 0 {
                    forEachImage(g, needsColumns: !g.isPointwise, body)
                } else {
                    Workspace.shared.withBuffer(1) { unused in for n in 0..<g.batch { body(0, n, unused) } }
                }
                parallelRanges(size) { range in
                    for n in 0..<g.batch {
                        let p = perImage + n * size
                        for i in range { dw[i] += p[i] }
                    }
                }
            }
            return
        }
        forEachChunk(g) { first, count, grp, columns, gathered in
            let ld = count * opl
            g.im2col(x, first: first, count: count, group: grp, into: columns)
            gatherGroup(dy, into: gathered, first: first, count: count, group: grp, g)
            sgemm(transposeA: false, transposeB: true, m: cog, n: g.patchSize, k: ld, a: gathered, lda: ld, b: columns, ldb: ld,
                  beta: 1, c: dw + grp * cog * g.patchSize, ldc: g.patchSize)
        }
    }

    /// Calls body(first, count, group, columns, scratch) for each chunk of images and channel
    /// group, with a column buffer [patchSize, count·OH·OW] and a scratch [C_out/groups, count·OH·OW].
    static func forEachChunk(_ g: ConvGeometry, _ body: (Int, Int, Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let chunk = g.chunkSize
        Workspace.shared.withBuffer(g.patchSize * chunk * g.outPlane) { columns in
            Workspace.shared.withBuffer(g.groupOutChannels * chunk * g.outPlane) { scratch in
                for first in stride(from: 0, to: g.batch, by: chunk) {
                    let count = min(chunk, g.batch - first)
                    for group in 0..<g.groups { body(first, count, group, columns, scratch) }
                }
            }
        }
    }

    /// Calls body(thread, image, columns) for every image, the images split into contiguous
    /// blocks over `imageParallelThreads` threads, each with its own [patchSize, OH·OW] buffer.
    static func forEachImage(_ g: ConvGeometry, needsColumns: Bool = true, _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        let threads = g.imageParallelThreads
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            Workspace.shared.withBuffer(needsColumns ? g.patchSize * g.outPlane : 1) { columns in
                for n in (g.batch * t / threads)..<(g.batch * (t + 1) / threads) { body(t, n, columns) }
            }
        }
    }

    /// dy[n, grp·cog + o, :] for n in the chunk → gathered [cog, count·OH·OW].
    static func gatherGroup(_ dy: UnsafePointer<Float>, into gathered: UnsafeMutablePointer<Float>,
                            first: Int, count: Int, group: Int, _ g: ConvGeometry) {
        let (cog, opl) = (g.groupOutChannels, g.outPlane)
        let ld = count * opl
        parallelFor(count * cog) { job in
            let (b, o) = job.quotientAndRemainder(dividingBy: cog)
            (gathered + o * ld + b * opl).update(from: dy + ((first + b) * g.outChannels + group * cog + o) * opl, count: opl)
        }
    }

    /// Sums of dy over batch and space, per channel (a bias gradient): each image's plane in
    /// float, the images in double (`BatchSums`).
    public static func channelSums(_ t: Tensor) -> [Double] {
        precondition(t.rank >= 2, "channel sum of shape \(t.shape)")
        return ZooTensor.channelSums(t, n: t.shape[0], c: t.shape[1], plane: t.shape.dropFirst(2).reduce(1, *), minus: nil)
    }

    /// y += bias per channel, then y = max(y, 0) when `relu`, over [images, channels, plane].
    static func epilogue(_ y: UnsafeMutablePointer<Float>, _ bias: Tensor?, relu: Bool, images: Int, channels: Int, plane: Int,
                         serial: Bool) {
        if bias == nil && !relu { return }
        let values = bias?.scalars
        parallelFor(images * channels, minimumPerThread: serial ? Int.max : max(1, 4096 / max(1, plane))) { job in
            let p = y + job * plane
            if let value = values?[job % channels] { for i in 0..<plane { p[i] += value } }
            if relu { reluLoop(p, p, 0..<plane) }
        }
    }
}

/// body(the tensor's base address), or body(nil) without a tensor.
func withOptionalPointer<R>(_ t: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let t else { return body(nil) }
    return t.withUnsafeBufferPointer { body($0.baseAddress!) }
}
