import CBLAS
import Foundation

/// How many threads ConvZoo's kernels and OpenBLAS use.
///
/// Each kernel parallelises in one place only: either its own loop over batch × channel
/// (`parallelFor`), or OpenBLAS inside one large sgemm, never both at once.
public enum Threads {
    nonisolated(unsafe) private static var current: Int = {
        if let text = ProcessInfo.processInfo.environment["ZOO_THREADS"], let n = Int(text), n > 0 {
            openblas_set_num_threads(Int32(n))
            return n
        }
        return Int(openblas_get_num_threads())
    }()

    public static var count: Int {
        get { current }
        set {
            current = max(1, newValue)
            openblas_set_num_threads(Int32(current))
        }
    }
}

/// Runs `body(i)` for i in 0..<iterations, spread over `Threads.count` threads in
/// contiguous blocks. `body` must write disjoint memory for distinct i.
@inlinable
public func parallelFor(_ iterations: Int, minimumPerThread: Int = 1, _ body: (Int) -> Void) {
    let threads = min(Threads.count, max(1, iterations / max(1, minimumPerThread)))
    if threads <= 1 {
        for i in 0..<iterations { body(i) }
        return
    }
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        let start = iterations * t / threads
        let end = iterations * (t + 1) / threads
        for i in start..<end { body(i) }
    }
}

/// A reusable scratch buffer pool, so convolution's im2col columns are not allocated
/// (and page-faulted) anew on every call.
final class Workspace: @unchecked Sendable {
    static let shared = Workspace()
    private let lock = NSLock()
    private var free: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []

    func withBuffer<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let buffer = take(max(count, 1))
        defer { give(buffer) }
        return body(buffer.pointer)
    }

    private func take(_ count: Int) -> (pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        lock.lock(); defer { lock.unlock() }
        if let i = free.indices.filter({ free[$0].capacity >= count })
            .min(by: { free[$0].capacity < free[$1].capacity }) {
            return free.remove(at: i)
        }
        if let i = free.indices.max(by: { free[$0].capacity < free[$1].capacity }) {
            free.remove(at: i).pointer.deallocate()
        }
        return (UnsafeMutablePointer<Float>.allocate(capacity: count), count)
    }

    private func give(_ buffer: (pointer: UnsafeMutablePointer<Float>, capacity: Int)) {
        lock.lock(); defer { lock.unlock() }
        free.append(buffer)
        if free.count > 4 {
            let smallest = free.indices.min(by: { free[$0].capacity < free[$1].capacity })!
            free.remove(at: smallest).pointer.deallocate()
        }
    }
}

/// C = alpha · op(A) · op(B) + beta · C, row-major, through OpenBLAS.
@inlinable
public func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
