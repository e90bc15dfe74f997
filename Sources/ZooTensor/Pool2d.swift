/// Window sizes of a 2-D pooling: input [N, C, H, W] → output [N, C, OH, OW], with PyTorch's
/// rule O = ⌊ or ⌈ (I + 2P − K) / S ⌉ + 1, a ceil-mode window kept only if it starts inside
/// the input or its left padding.
@_spi(Kernels) public struct PoolGeometry: Equatable {
    public var batch, channels, height, width: Int
    public var kernelHeight, kernelWidth, strideHeight, strideWidth, padHeight, padWidth: Int
    public var ceilMode: Bool
    public var outHeight, outWidth: Int

    public init(input: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), ceilMode: Bool) {
        precondition(input.count == 4, "pooling expects an NCHW input, got shape \(input)")
        precondition(kernel.0 > 0 && kernel.1 > 0 && stride.0 > 0 && stride.1 > 0, "invalid pooling kernel \(kernel) or stride \(stride)")
        precondition(padding.0 * 2 <= kernel.0 && padding.1 * 2 <= kernel.1,
                     "pooling padding \(padding) must be at most half the kernel \(kernel)")
        (batch, channels, height, width) = (input[0], input[1], input[2], input[3])
        (kernelHeight, kernelWidth) = kernel
        (strideHeight, strideWidth) = stride
        (padHeight, padWidth) = padding
        self.ceilMode = ceilMode
        outHeight = PoolGeometry.outputSize(height, kernel.0, stride.0, padding.0, ceilMode)
        outWidth = PoolGeometry.outputSize(width, kernel.1, stride.1, padding.1, ceilMode)
        precondition(outHeight > 0 && outWidth > 0,
                     "pooling input \(input) is too small for kernel \(kernel) with padding \(padding)")
    }

    public static func outputSize(_ input: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ ceilMode: Bool) -> Int {
        let span = input + 2 * padding - kernel
        if span < 0 { return 0 }
        var size = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
        if ceilMode && (size - 1) * stride >= input + padding { size -= 1 }
        return size
    }

    public var inputShape: [Int] { [batch, channels, height, width] }
    public var outputShape: [Int] { [batch, channels, outHeight, outWidth] }
}

@_spi(Kernels) public enum PoolKernels {
    /// Max (or, with `minimum`, min) pooling: the extremum of every window, and each one's flat
    /// index in its input plane when `withIndices` (the backward pass needs them; inference
    /// does not, and skips them).
    public static func extremum(_ input: Tensor, _ g: PoolGeometry, minimum: Bool = false,
                                withIndices: Bool = true) -> (Tensor, [Int32]) {
        precondition(input.shape == g.inputShape, "pooling input \(input.shape), expected \(g.inputShape)")
        let outPlane = g.outHeight * g.outWidth, inPlane = g.height * g.width
        var indices = [Int32](repeating: 0, count: withIndices ? g.batch * g.channels * outPlane : 0)
        let output = Tensor(uninitialized: g.outputShape) { out in
            input.withUnsafeBufferPointer { xb in
                indices.withUnsafeMutableBufferPointer { ib in
                    let x = xb.baseAddress!, y = out.baseAddress!, idx = withIndices ? ib.baseAddress : nil
                    let twoByTwo = g.kernelHeight == 2 && g.kernelWidth == 2 && g.strideHeight == 2 && g.strideWidth == 2
                        && g.padHeight == 0 && g.padWidth == 0 && 2 * g.outHeight <= g.height && 2 * g.outWidth <= g.width
                    parallelFor(g.batch * g.channels, minimumPerThread: 4) { plane in
                        let src = x + plane * inPlane
                        if twoByTwo {
                            twoByTwoPlane(src, y + plane * outPlane, idx.map { $0 + plane * outPlane }, g, minimum: minimum)
                            return
                        }
                        for oy in 0..<g.outHeight {
                            let y0 = max(oy * g.strideHeight - g.padHeight, 0)
                            let y1 = min(oy * g.strideHeight - g.padHeight + g.kernelHeight, g.height)
                            // Without indices, the windows inside the row go eight at a time.
                            let (vectorStart, vectorEnd) = idx == nil
                                ? valuesEightWide(src, y + plane * outPlane + oy * g.outWidth, rows: y0..<y1, g, minimum: minimum)
                                : (0, 0)
                            for ox in 0..<g.outWidth where ox < vectorStart || ox >= vectorEnd {
                                let x0 = max(ox * g.strideWidth - g.padWidth, 0)
                                let x1 = min(ox * g.strideWidth - g.padWidth + g.kernelWidth, g.width)
                                var best = minimum ? Float.infinity : -Float.infinity
                                let o = plane * outPlane + oy * g.outWidth + ox
                                if let idx {
                                    var bestIndex = y0 * g.width + x0
                                    for iy in y0..<y1 {
                                        for ix in x0..<x1 {
                                            PoolKernels.consider(src[iy * g.width + ix], iy * g.width + ix, &best, &bestIndex, minimum: minimum)
                                        }
                                    }
                                    idx[o] = Int32(bestIndex)
                                } else {
                                    for iy in y0..<y1 {
                                        let row = src + iy * g.width
                                        for ix in x0..<x1 { PoolKernels.consider(row[ix], &best, minimum: minimum) }
                                    }
                                }
                                y[o] = best
                            }
                        }
                    }
                }
            }
        }
        return (output, indices)
    }

    /// The common 2×2, stride-2 window (LeNet, VGG, AlexNet's classifier input) over one
    /// plane, eight outputs at a time (four for rows of 4 to 7): the two input rows are loaded
    /// sixteen values at a time and split into even and odd columns. Ties and NaNs resolve as
    /// in `consider`.
    static func twoByTwoPlane(_ src: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ idx: UnsafeMutablePointer<Int32>?,
                              _ g: PoolGeometry, minimum: Bool) {
        let (w, ow) = (g.width, g.outWidth)
        let vectorEnd = (ow / 8) * 8
        let lanes = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14)
        @inline(__always) func pick(_ best: inout SIMD8<Float>, _ bestIndex: inout SIMD8<Int32>, _ v: SIMD8<Float>, _ index: SIMD8<Int32>) {
            let take = (minimum ? v .< best : v .> best) .| (v .!= v)
            best.replace(with: v, where: take)
            bestIndex.replace(with: index, where: take)
        }
        // The same steps four lanes wide. (One generic version over both widths was tried:
        // it was not specialised, and pooling went from 4% to 33% of a LeNet-5 epoch.)
        let lanes4 = SIMD4<Int32>(0, 2, 4, 6)
        @inline(__always) func pick4(_ best: inout SIMD4<Float>, _ bestIndex: inout SIMD4<Int32>, _ v: SIMD4<Float>, _ index: SIMD4<Int32>) {
            let take = (minimum ? v .< best : v .> best) .| (v .!= v)
            best.replace(with: v, where: take)
            bestIndex.replace(with: index, where: take)
        }
        for oy in 0..<g.outHeight {
            let top = src + 2 * oy * w, bottom = top + w, out = y + oy * ow
            var ox = 0
            if ow >= 4 && ow < 8 {
                // Short rows (LeNet's 10 → 5): four outputs at 0 and four ending at OW; the
                // overlap is written twice with the same values.
                for start in [0, ow - 4] {
                    let t = UnsafeRawPointer(top + 2 * start).loadUnaligned(as: SIMD8<Float>.self)
                    let b = UnsafeRawPointer(bottom + 2 * start).loadUnaligned(as: SIMD8<Float>.self)
                    let base = Int32(2 * oy * w + 2 * start)
                    var best = t.evenHalf, bestIndex = lanes4 &+ base
                    pick4(&best, &bestIndex, t.oddHalf, lanes4 &+ (base + 1))
                    pick4(&best, &bestIndex, b.evenHalf, lanes4 &+ (base + Int32(w)))
                    pick4(&best, &bestIndex, b.oddHalf, lanes4 &+ (base + Int32(w) + 1))
                    UnsafeMutableRawPointer(out + start).storeBytes(of: best, as: SIMD4<Float>.self)
                    if let idx { UnsafeMutableRawPointer(idx + oy * ow + start).storeBytes(of: bestIndex, as: SIMD4<Int32>.self) }
                }
                continue
            }
            while ox < vectorEnd || (ox < ow && ow >= 8) {
                // A last group that would pass OW ends at OW instead (overlapping the one before).
                if ox >= vectorEnd { ox = ow - 8 }
                // Columns 2·ox … 2·ox + 15, all below 2·OW ≤ W.
                let t = UnsafeRawPointer(top + 2 * ox).loadUnaligned(as: SIMD16<Float>.self)
                let b = UnsafeRawPointer(bottom + 2 * ox).loadUnaligned(as: SIMD16<Float>.self)
                let base = Int32(2 * oy * w + 2 * ox)
                var best = t.evenHalf, bestIndex = lanes &+ base
                pick(&best, &bestIndex, t.oddHalf, lanes &+ (base + 1))
                pick(&best, &bestIndex, b.evenHalf, lanes &+ (base + Int32(w)))
                pick(&best, &bestIndex, b.oddHalf, lanes &+ (base + Int32(w) + 1))
                UnsafeMutableRawPointer(out + ox).storeBytes(of: best, as: SIMD8<Float>.self)
                if let idx { UnsafeMutableRawPointer(idx + oy * ow + ox).storeBytes(of: bestIndex, as: SIMD8<Int32>.self) }
                if ox + 8 >= ow { ox = ow; break }
                ox += 8
            }
            while ox < ow {
                let a = 2 * ox, b = 2 * ox + 1
                var best = top[a], bestIndex = 2 * oy * w + a
                PoolKernels.consider(top[b], 2 * oy * w + b, &best, &bestIndex, minimum: minimum)
                PoolKernels.consider(bottom[a], (2 * oy + 1) * w + a, &best, &bestIndex, minimum: minimum)
                PoolKernels.consider(bottom[b], (2 * oy + 1) * w + b, &best, &bestIndex, minimum: minimum)
                out[ox] = best
                idx?[oy * ow + ox] = Int32(bestIndex)
                ox += 1
            }
        }
    }

    /// For one output row of a stride-1 or stride-2 window, the outputs whose windows lie
    /// inside the input row, eight at a time (stride 2: sixteen inputs loaded and split into
    /// even and odd columns). Writes outputs [start, end) of `out` and returns that range;
    /// (0, 0) when the stride is neither.
    static func valuesEightWide(_ src: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Range<Int>,
                                _ g: PoolGeometry, minimum: Bool) -> (Int, Int) {
        let (s, p, k, w) = (g.strideWidth, g.padWidth, g.kernelWidth, g.width)
        guard s == 1 || s == 2, !rows.isEmpty else { return (0, 0) }
        let start = (p + s - 1) / s                      // first ox with ox·s − p ≥ 0
        // The last input column a load touches, relative to the first window's start.
        let lastRead = s == 1 ? k + 6 : ((k - 1) & ~1) + 15
        var ox = start
        while ox + 8 <= g.outWidth && ox * s - p + lastRead < w && (ox + 7) * s - p + k <= w {
            var best = SIMD8<Float>(repeating: minimum ? .infinity : -.infinity)
            let x0 = ox * s - p
            for iy in rows {
                let row = src + iy * w + x0
                for kx in 0..<k {
                    let v: SIMD8<Float>
                    if s == 1 {
                        v = UnsafeRawPointer(row + kx).loadUnaligned(as: SIMD8<Float>.self)
                    } else {
                        let pair = UnsafeRawPointer(row + (kx & ~1)).loadUnaligned(as: SIMD16<Float>.self)
                        v = kx & 1 == 0 ? pair.evenHalf : pair.oddHalf
                    }
                    best.replace(with: v, where: (minimum ? v .< best : v .> best) .| (v .!= v))
                }
            }
            UnsafeMutableRawPointer(out + ox).storeBytes(of: best, as: SIMD8<Float>.self)
            ox += 8
        }
        return (start, ox)
    }

    /// `consider` without the index.
    @inline(__always)
    static func consider(_ v: Float, _ best: inout Float, minimum: Bool) {
        let take = (minimum ? v < best : v > best) != v.isNaN
        best = take ? v : best
    }

    /// PyTorch's rule, `if v > best || isnan(v)` (a NaN wins, the last one), written without
    /// a short-circuit so that it compiles to selects rather than unpredictable branches.
    @inline(__always)
    static func consider(_ v: Float, _ index: Int, _ best: inout Float, _ bestIndex: inout Int, minimum: Bool) {
        let take = (minimum ? v < best : v > best) != v.isNaN
        best = take ? v : best
        bestIndex = take ? index : bestIndex
    }

    public static func extremumBackward(_ gradOutput: Tensor, indices: [Int32], _ g: PoolGeometry) -> Tensor {
        let outPlane = g.outHeight * g.outWidth, inPlane = g.height * g.width
        var gradInput = Tensor(zeros: g.inputShape)
        gradInput.withUnsafeMutableBufferPointer { dxb in
            gradOutput.withUnsafeBufferPointer { dyb in
                indices.withUnsafeBufferPointer { ib in
                    let dx = dxb.baseAddress!, dy = dyb.baseAddress!, idx = ib.baseAddress!
                    parallelFor(g.batch * g.channels, minimumPerThread: 4) { plane in
                        for o in 0..<outPlane {
                            dx[plane * inPlane + Int(idx[plane * outPlane + o])] += dy[plane * outPlane + o]
                        }
                    }
                }
            }
        }
        return gradInput
    }

    /// The averaging window of output (oy, ox): its clipped bounds and its divisor.
    @inline(__always)
    static func averageWindow(_ g: PoolGeometry, _ oy: Int, _ ox: Int, countIncludePad: Bool)
        -> (y0: Int, y1: Int, x0: Int, x1: Int, divisor: Float) {
        var y0 = oy * g.strideHeight - g.padHeight, x0 = ox * g.strideWidth - g.padWidth
        var y1 = min(y0 + g.kernelHeight, g.height + g.padHeight)
        var x1 = min(x0 + g.kernelWidth, g.width + g.padWidth)
        let padded = (y1 - y0) * (x1 - x0)
        y0 = max(y0, 0); x0 = max(x0, 0); y1 = min(y1, g.height); x1 = min(x1, g.width)
        let divisor = countIncludePad ? padded : (y1 - y0) * (x1 - x0)
        return (y0, y1, x0, x1, Float(max(divisor, 1)))
    }

    public static func average(_ input: Tensor, _ g: PoolGeometry, countIncludePad: Bool = true) -> Tensor {
        precondition(input.shape == g.inputShape, "pooling input \(input.shape), expected \(g.inputShape)")
        let outPlane = g.outHeight * g.outWidth, inPlane = g.height * g.width
        return Tensor(uninitialized: g.outputShape) { out in
            input.withUnsafeBufferPointer { xb in
                let x = xb.baseAddress!, y = out.baseAddress!
                parallelFor(g.batch * g.channels, minimumPerThread: 4) { plane in
                    let src = x + plane * inPlane
                    for oy in 0..<g.outHeight {
                        for ox in 0..<g.outWidth {
                            let w = averageWindow(g, oy, ox, countIncludePad: countIncludePad)
                            var sum: Float = 0
                            for iy in w.y0..<max(w.y0, w.y1) {
                                for ix in w.x0..<max(w.x0, w.x1) { sum += src[iy * g.width + ix] }
                            }
                            y[plane * outPlane + oy * g.outWidth + ox] = sum / w.divisor
                        }
                    }
                }
            }
        }
    }

    public static func averageBackward(_ gradOutput: Tensor, _ g: PoolGeometry, countIncludePad: Bool = true) -> Tensor {
        let outPlane = g.outHeight * g.outWidth, inPlane = g.height * g.width
        var gradInput = Tensor(zeros: g.inputShape)
        gradInput.withUnsafeMutableBufferPointer { dxb in
            gradOutput.withUnsafeBufferPointer { dyb in
                let dx = dxb.baseAddress!, dy = dyb.baseAddress!
                parallelFor(g.batch * g.channels, minimumPerThread: 4) { plane in
                    let dst = dx + plane * inPlane
                    for oy in 0..<g.outHeight {
                        for ox in 0..<g.outWidth {
                            let w = averageWindow(g, oy, ox, countIncludePad: countIncludePad)
                            let share = dy[plane * outPlane + oy * g.outWidth + ox] / w.divisor
                            for iy in w.y0..<max(w.y0, w.y1) {
                                for ix in w.x0..<max(w.x0, w.x1) { dst[iy * g.width + ix] += share }
                            }
                        }
                    }
                }
            }
        }
        return gradInput
    }

    /// Adaptive average pooling: output cell i covers input [⌊i·I/O⌋, ⌈(i+1)·I/O⌉).
    public static func adaptiveAverage(_ input: Tensor, outputSize: (Int, Int)) -> Tensor {
        precondition(input.rank == 4, "adaptive pooling expects an NCHW input, got shape \(input.shape)")
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (oh, ow) = outputSize
        precondition(oh > 0 && ow > 0 && h > 0 && w > 0, "adaptive pooling of \(input.shape) to \(outputSize)")
        return Tensor(uninitialized: [n, c, oh, ow]) { out in
            input.withUnsafeBufferPointer { xb in
                let x = xb.baseAddress!, y = out.baseAddress!
                parallelFor(n * c, minimumPerThread: 4) { plane in
                    let src = x + plane * h * w
                    for oy in 0..<oh {
                        let y0 = oy * h / oh, y1 = ((oy + 1) * h + oh - 1) / oh
                        for ox in 0..<ow {
                            let x0 = ox * w / ow, x1 = ((ox + 1) * w + ow - 1) / ow
                            var sum: Float = 0
                            for iy in y0..<y1 { for ix in x0..<x1 { sum += src[iy * w + ix] } }
                            y[(plane * oh + oy) * ow + ox] = sum / Float((y1 - y0) * (x1 - x0))
                        }
                    }
                }
            }
        }
    }

    public static func adaptiveAverageBackward(_ gradOutput: Tensor, inputShape: [Int]) -> Tensor {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (oh, ow) = (gradOutput.shape[2], gradOutput.shape[3])
        var gradInput = Tensor(zeros: inputShape)
        gradInput.withUnsafeMutableBufferPointer { dxb in
            gradOutput.withUnsafeBufferPointer { dyb in
                let dx = dxb.baseAddress!, dy = dyb.baseAddress!
                parallelFor(n * c, minimumPerThread: 4) { plane in
                    let dst = dx + plane * h * w
                    for oy in 0..<oh {
                        let y0 = oy * h / oh, y1 = ((oy + 1) * h + oh - 1) / oh
                        for ox in 0..<ow {
                            let x0 = ox * w / ow, x1 = ((ox + 1) * w + ow - 1) / ow
                            let share = dy[(plane * oh + oy) * ow + ox] / Float((y1 - y0) * (x1 - x0))
                            for iy in y0..<y1 { for ix in x0..<x1 { dst[iy * w + ix] += share } }
                        }
                    }
                }
            }
        }
        return gradInput
    }
}
