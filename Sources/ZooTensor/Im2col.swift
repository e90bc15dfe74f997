import Dispatch

extension ConvGeometry {
    /// Writes the patches of images [first, first+count) for channel group `group` into
    /// `columns`, a [patchSize, count·R·OW] row-major matrix for the output rows `rows`
    /// (R of them; all OH rows by default).
    func im2col(_ input: UnsafePointer<Float>, first: Int, count: Int, group: Int,
                into columns: UnsafeMutablePointer<Float>, serial: Bool = false, rows: Range<Int>? = nil) {
        let (yStart, yEnd) = (rows?.lowerBound ?? 0, rows?.upperBound ?? outHeight)
        let band = (yEnd - yStart) * outWidth
        let ld = count * band
        let (kh, kw, oh, ow, w, h) = (kernelHeight, kernelWidth, yEnd, outWidth, width, height)
        let (sh, sw, ph, pw, dh, dw) = (strideHeight, strideWidth, padHeight, padWidth, dilationHeight, dilationWidth)
        parallelFor(count * groupInChannels, minimumPerThread: serial ? Int.max : 1) { job in
            let (b, c) = job.quotientAndRemainder(dividingBy: groupInChannels)
            let plane = input + ((first + b) * inChannels + group * groupInChannels + c) * inPlane
            for i in 0..<kh {
                for j in 0..<kw {
                    var row = columns + ((c * kh + i) * kw + j) * ld + b * band - yStart * ow
                    // Output columns whose input column ow·sw − pw + j·dw lies inside [0, W).
                    let offset = j * dw - pw
                    let lo = offset >= 0 ? 0 : min(ow, (-offset + sw - 1) / sw)
                    let hi = max(lo, min(ow, w - offset > 0 ? (w - offset - 1) / sw + 1 : 0))
                    if sh == 1 && sw == 1 && ow == w {
                        // "Same"-width, stride 1 (every 3×3 conv of a ResNet): the rows whose
                        // input row exists are one shifted copy of the plane, then the few
                        // columns that wrapped into a neighbouring row are zeroed. One long
                        // copy instead of a short one per row: im2col was 17–23% of a
                        // ResNet-20 or LeNet-5 training step.
                        // (`row` points at output row 0; rows before yStart are not written.)
                        let yLo = min(oh, max(yStart, ph - i * dh)), yHi = min(oh, max(yLo, h + ph - i * dh))
                        let n = (yHi - yLo) * w
                        if yLo > yStart { (row + yStart * ow).update(repeating: 0, count: (yLo - yStart) * ow) }
                        if yHi < oh { (row + yHi * ow).update(repeating: 0, count: (oh - yHi) * ow) }
                        if n > 0 {
                            let target = row + yLo * ow, source = plane + (yLo - ph + i * dh) * w + offset
                            let kLo = min(n, max(0, -offset)), kHi = max(kLo, min(n, n - offset))
                            if kLo > 0 { target.update(repeating: 0, count: kLo) }
                            (target + kLo).update(from: source + kLo, count: kHi - kLo)
                            if kHi < n { (target + kHi).update(repeating: 0, count: n - kHi) }
                            if lo > 0 || hi < ow {
                                for r in 0..<(yHi - yLo) {
                                    let line = target + r * ow
                                    for x in 0..<lo { line[x] = 0 }
                                    for x in hi..<ow { line[x] = 0 }
                                }
                            }
                        }
                        continue
                    }
                    // Plain loops rather than memcpy/memset: rows are short (7 to 112
                    // values), where the calls cost more than the copying.
                    row += yStart * ow
                    for y in yStart..<oh {
                        let iy = y * sh - ph + i * dh
                        if iy < 0 || iy >= h {
                            for x in 0..<ow { row[x] = 0 }
                        } else {
                            let source = plane + iy * w + offset
                            for x in 0..<lo { row[x] = 0 }
                            if sw == 1 {
                                for x in lo..<hi { row[x] = source[x] }
                            } else {
                                for x in lo..<hi { row[x] = source[x * sw] }
                            }
                            for x in hi..<ow { row[x] = 0 }
                        }
                        row += ow
                    }
                }
            }
        }
    }

    /// Scatters `columns` back onto images [first, first+count) of `output` (channel group
    /// `group`), summing overlapping patches. Overwrites those channel planes.
    func col2im(_ columns: UnsafePointer<Float>, first: Int, count: Int, group: Int,
                into output: UnsafeMutablePointer<Float>, serial: Bool = false) {
        let ld = count * outPlane
        let (kh, kw, oh, ow, w, h) = (kernelHeight, kernelWidth, outHeight, outWidth, width, height)
        let (sh, sw, ph, pw, dh, dw) = (strideHeight, strideWidth, padHeight, padWidth, dilationHeight, dilationWidth)
        parallelFor(count * groupInChannels, minimumPerThread: serial ? Int.max : 1) { job in
            let (b, c) = job.quotientAndRemainder(dividingBy: groupInChannels)
            let plane = output + ((first + b) * inChannels + group * groupInChannels + c) * inPlane
            for i in 0..<inPlane { plane[i] = 0 }
            for i in 0..<kh {
                for j in 0..<kw {
                    var row = columns + ((c * kh + i) * kw + j) * ld + b * outPlane
                    let offset = j * dw - pw
                    let lo = offset >= 0 ? 0 : min(ow, (-offset + sw - 1) / sw)
                    let hi = max(lo, min(ow, w - offset > 0 ? (w - offset - 1) / sw + 1 : 0))
                    for y in 0..<oh {
                        let iy = y * sh - ph + i * dh
                        if iy >= 0 && iy < h {
                            let target = plane + iy * w + offset
                            if sw == 1 {
                                for x in lo..<hi { target[x] += row[x] }
                            } else {
                                for x in lo..<hi { target[x * sw] += row[x] }
                            }
                        }
                        row += ow
                    }
                }
            }
        }
    }
}
