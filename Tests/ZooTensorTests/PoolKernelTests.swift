import XCTest
@_spi(Kernels) import ZooTensor

/// The 2×2, stride-2 pooling kernel's vector path (eight outputs at a time) against a plain
/// loop over each window with PyTorch's rule (the first maximum wins a tie, a NaN wins).
final class PoolKernelTests: XCTestCase {
    func testTwoByTwoVectorPathMatchesWindowLoop() {
        // Width 37: 18 outputs per row = two groups of eight and a last group overlapping
        // them; 9, 11, 15: four-wide groups (4, 5, 7 outputs); 7: scalar only; 16: exact.
        // Odd widths and heights leave a last column and row out, as PyTorch does.
        for width in [37, 9, 11, 15, 7, 16] { checkTwoByTwo(width: width) }
    }

    func checkTwoByTwo(width: Int) {
        var rng = Xoshiro256(seed: 11)
        let height = 7, planeSize = height * width
        var x = Tensor.randomNormal([2, 3, height, width], using: &rng)
        x.withUnsafeMutableBufferPointer { p in
            for i in stride(from: 0, to: p.count - 1, by: 5) { p[i] = p[i + 1] }   // ties
            for i in [40, 100, 101, 160] { p[i] = .nan }
        }
        let g = PoolGeometry(input: x.shape, kernel: (2, 2), stride: (2, 2), padding: (0, 0), ceilMode: false)
        for minimum in [false, true] {
            let (y, indices) = PoolKernels.extremum(x, g, minimum: minimum)
            let (valuesOnly, none) = PoolKernels.extremum(x, g, minimum: minimum, withIndices: false)
            XCTAssertTrue(none.isEmpty)
            let xs = x.scalars, ys = y.scalars, vs = valuesOnly.scalars
            for plane in 0..<6 {
                for oy in 0..<g.outHeight {
                    for ox in 0..<g.outWidth {
                        var best = xs[plane * planeSize + 2 * oy * width + 2 * ox], bestIndex = 2 * oy * width + 2 * ox
                        for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                            let i = (2 * oy + dy) * width + 2 * ox + dx, v = xs[plane * planeSize + i]
                            if (minimum ? v < best : v > best) || v.isNaN { (best, bestIndex) = (v, i) }
                        }
                        let o = (plane * g.outHeight + oy) * g.outWidth + ox
                        let where_ = "width \(width) plane \(plane) (\(oy), \(ox)) minimum \(minimum)"
                        XCTAssertEqual(Int(indices[o]), bestIndex, where_)
                        XCTAssertTrue(ys[o] == best || (ys[o].isNaN && best.isNaN), "\(where_): \(ys[o]) vs \(best)")
                        XCTAssertTrue(vs[o] == best || (vs[o].isNaN && best.isNaN), "\(where_) without indices")
                    }
                }
            }
        }
    }

    /// Without indices, windows inside the row go eight at a time (strides 1 and 2); the
    /// values must equal the indexed path's (the scalar window loop) everywhere, NaNs included.
    func testEightWideWindowsMatchTheWindowLoop() {
        var rng = Xoshiro256(seed: 12)
        var x = Tensor.randomNormal([2, 2, 13, 61], using: &rng)
        x.withUnsafeMutableBufferPointer { p in
            for i in stride(from: 3, to: p.count, by: 7) { p[i] = p[i - 1] }   // ties
            for i in [70, 71, 500, 1400, 2000] { p[i] = .nan }
        }
        let configs: [(k: Int, s: Int, p: Int, ceil: Bool)] = [(3, 2, 1, false), (3, 1, 1, false), (2, 1, 0, false),
                                                                (5, 2, 2, false), (3, 2, 0, true), (4, 2, 1, false), (3, 3, 1, false)]
        for c in configs {
            let g = PoolGeometry(input: x.shape, kernel: (c.k, c.k), stride: (c.s, c.s), padding: (c.p, c.p), ceilMode: c.ceil)
            for minimum in [false, true] {
                let reference = PoolKernels.extremum(x, g, minimum: minimum, withIndices: true).0.scalars
                let fast = PoolKernels.extremum(x, g, minimum: minimum, withIndices: false).0.scalars
                XCTAssertEqual(reference.count, fast.count)
                let mismatches = zip(reference, fast).filter { !($0 == $1 || ($0.isNaN && $1.isNaN)) }.count
                XCTAssertEqual(mismatches, 0, "kernel \(c.k) stride \(c.s) padding \(c.p) ceil \(c.ceil) minimum \(minimum)")
            }
        }
    }
}
