import CBLAS
import CZooMemory
import Dispatch
import Foundation

/// How many threads ConvZoo's kernels use.
///
/// OpenBLAS itself always runs single-threaded: its worker threads spin-wait between calls
/// and fought the kernels' own threads for the cores (a quarter of a ResNet-20 training step
/// went to sched_yield). Instead `sgemm` splits each product into independent blocks, one per
/// thread, and every other kernel parallelises its own loop, so nothing oversubscribes.
public enum Threads {
    nonisolated(unsafe) private static var current: Int = {
        let configured = Int(openblas_get_num_threads())
        openblas_set_num_threads(1)
        // Set here, before the first kernel runs: every kernel asks for the thread count.
        // A perf profile of a ResNet-20 training step had 5% of its time in page faults
        // and page zeroing from activations coming and going through mmap.
        zoo_keep_freed_memory()
        if let text = ProcessInfo.processInfo.environment["ZOO_THREADS"], let n = Int(text), n > 0 { return n }
        return max(1, min(configured, ProcessInfo.processInfo.activeProcessorCount))
    }()

    public static var count: Int {
        get { current }
        set { current = max(1, newValue) }
    }
}

/// Runs `body(i)` for i in 0..<iterations, spread over `Threads.count` threads in
/// contiguous blocks. `body` must write disjoint memory for distinct i.
@inlinable
@_spi(Kernels) public func parallelFor(_ iterations: Int, minimumPerThread: Int = 1, _ body: (Int) -> Void) {
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

/// Runs `body` on contiguous ranges covering 0..<count, one per thread, when each thread
/// gets at least `minimumPerThread` elements (elementwise loops: the body's own loop vectorises).
@inlinable
@_spi(Kernels) public func parallelRanges(_ count: Int, minimumPerThread: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
    let threads = min(Threads.count, max(1, count / max(1, minimumPerThread)))
    if threads <= 1 {
        body(0..<count)
        return
    }
    DispatchQueue.concurrentPerform(iterations: threads) { t in body((count * t / threads)..<(count * (t + 1) / threads)) }
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
