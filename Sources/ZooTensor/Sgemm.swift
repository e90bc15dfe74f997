import CBLAS
import Dispatch

/// C = alpha · op(A) · op(B) + beta · C, row-major, through OpenBLAS, split over
/// `Threads.count` threads: by rows of C, by columns of C, or — when C is small and the
/// shared dimension long (a weight gradient) — by slices of k whose partial products are summed.
/// `serial` keeps it on the calling thread (for callers that parallelise over images).
@inlinable
@_spi(Kernels) public func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, serial: Bool = false) {
    if m == 0 || n == 0 { return }
    let threads = serial ? 1 : min(Threads.count, max(1, (m * n * k) / (1 << 18)))
    // Element (row, col) of op(A) and op(B).
    func aAt(_ row: Int, _ col: Int) -> UnsafePointer<Float> { transposeA ? a + col * lda + row : a + row * lda + col }
    func bAt(_ row: Int, _ col: Int) -> UnsafePointer<Float> { transposeB ? b + col * ldb + row : b + row * ldb + col }
    func single(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ beta: Float,
                _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    if m == 1 || n == 1 {
        // A matrix–vector product (a fully connected layer at batch 1): sgemm would first pack
        // the whole matrix (half of AlexNet's batch-1 time); sgemv streams it once. The output
        // vector is split over the threads.
        let length = m == 1 ? n : m
        let parts = serial ? 1 : min(Threads.count, max(1, length * k / (1 << 16)))
        func part(_ start: Int, _ end: Int) {
            if end <= start { return }
            if m == 1 {
                // c[0, j] = Σ_l op(A)[0, l] · op(B)[l, j], j in start..<end
                let x = a, incX = Int32(transposeA ? lda : 1)
                if transposeB {  // B is [n, k]: rows start..<end
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(end - start), Int32(k), alpha, b + start * ldb, Int32(ldb),
                                x, incX, beta, c + start, 1)
                } else {         // B is [k, n]: columns start..<end
                    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(end - start), alpha, b + start, Int32(ldb),
                                x, incX, beta, c + start, 1)
                }
            } else {
                // c[i, 0] = Σ_l op(A)[i, l] · op(B)[l, 0], i in start..<end
                let x = b, incX = Int32(transposeB ? 1 : ldb)
                if transposeA {  // A is [k, m]: columns start..<end
                    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(end - start), alpha, a + start, Int32(lda),
                                x, incX, beta, c + start * ldc, Int32(ldc))
                } else {         // A is [m, k]: rows start..<end
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(end - start), Int32(k), alpha, a + start * lda, Int32(lda),
                                x, incX, beta, c + start * ldc, Int32(ldc))
                }
            }
        }
        if parts <= 1 || length < 2 * parts {
            part(0, length)
        } else {
            DispatchQueue.concurrentPerform(iterations: parts) { t in part(length * t / parts, length * (t + 1) / parts) }
        }
    } else if threads <= 1 {
        single(m, n, k, a, b, beta, c, ldc)
    } else if n >= 64 * threads && n >= m {
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let start = (n * t / threads) & ~15, end = t == threads - 1 ? n : (n * (t + 1) / threads) & ~15
            if end > start { single(m, end - start, k, aAt(0, 0), bAt(0, start), beta, c + start, ldc) }
        }
    } else if m >= 16 * threads {
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let start = m * t / threads, end = m * (t + 1) / threads
            if end > start { single(end - start, n, k, aAt(start, 0), bAt(0, 0), beta, c + start * ldc, ldc) }
        }
    } else if k >= 256 * threads {
        // Partial products over slices of k, summed into C.
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: threads * m * n)
        defer { partials.deallocate() }
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let start = k * t / threads, end = k * (t + 1) / threads
            single(m, n, end - start, aAt(0, start), bAt(start, 0), 0, partials + t * m * n, n)
        }
        for row in 0..<m {
            let target = c + row * ldc
            for col in 0..<n {
                var total: Float = 0
                for t in 0..<threads { total += partials[t * m * n + row * n + col] }
                target[col] = beta == 0 ? total : beta * target[col] + total
            }
        }
    } else {
        single(m, n, k, a, b, beta, c, ldc)
    }
}
