import XCTest
@_spi(Kernels) import ZooTensor

/// The sgemm wrapper against a naive triple loop, on every path it chooses: matrix–vector
/// (m = 1 or n = 1), split by rows, by columns, by slices of k, and single-threaded; every
/// combination of transposes, leading dimensions wider than the matrices, alpha and beta.
final class SgemmTests: XCTestCase {
    func testEveryPathMatchesTheNaiveProduct() {
        var rng = Xoshiro256(seed: 5)
        let shapes = [(1, 300, 700), (1, 5, 3), (400, 1, 600), (7, 1, 2), (1, 1, 50), (3, 2000, 40), (300, 20, 30),
                      (8, 9, 4000), (17, 13, 11)]
        for threads in [1, 2] {
            Threads.count = threads
            defer { Threads.count = 2 }
            for (m, n, k) in shapes {
                for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                    for (alpha, beta) in [(Float(1), Float(0)), (Float(0.5), Float(2))] {
                        let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1
                        let a = Tensor.randomNormal([(ta ? k : m) * lda], using: &rng).scalars
                        let b = Tensor.randomNormal([(tb ? n : k) * ldb], using: &rng).scalars
                        var c = Tensor.randomNormal([m * ldc], using: &rng).scalars
                        var expected = c
                        for i in 0..<m {
                            for j in 0..<n {
                                var sum: Double = 0
                                for l in 0..<k {
                                    sum += Double(ta ? a[l * lda + i] : a[i * lda + l]) * Double(tb ? b[j * ldb + l] : b[l * ldb + j])
                                }
                                expected[i * ldc + j] = Float(Double(alpha) * sum + Double(beta) * Double(c[i * ldc + j]))
                            }
                        }
                        a.withUnsafeBufferPointer { ab in
                            b.withUnsafeBufferPointer { bb in
                                c.withUnsafeMutableBufferPointer { cb in
                                    sgemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: alpha, a: ab.baseAddress!, lda: lda,
                                          b: bb.baseAddress!, ldb: ldb, beta: beta, c: cb.baseAddress!, ldc: ldc)
                                }
                            }
                        }
                        var worst: Float = 0
                        for i in 0..<m { for j in 0..<n { worst = max(worst, abs(c[i * ldc + j] - expected[i * ldc + j])) } }
                        XCTAssertLessThan(worst, 1e-3 * Float(k).squareRoot(), "m \(m) n \(n) k \(k) ta \(ta) tb \(tb) α \(alpha) β \(beta), \(threads) threads")
                        // The padding columns of C (j ≥ n) are never written.
                        for i in 0..<m where ldc > n { XCTAssertEqual(c[i * ldc + n], expected[i * ldc + n]) }
                    }
                }
            }
        }
    }
}
