#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Watches the layers of a forward pass (a model summary, a capture of chosen layers' outputs).
/// ZooNN's observers refine this with the call they get; ZooTensor only carries one.
@_spi(Engine) public protocol ForwardObserver: AnyObject {}

/// What the forward passes of one thread need to know besides their input: whether operations
/// record the graph, who traces them, who watches the layers, which share of a data-parallel
/// batch this process holds and how synchronised batch norm sums over the processes.
///
/// Each thread has its own context, as PyTorch's grad mode is per thread: two models run on
/// two threads of one process without seeing each other's settings. A setting holds for the
/// `body` of the call that makes it and is restored when that call returns or throws; nothing
/// stays set behind a caller's back.
@_spi(Engine) public final class ForwardContext {
    /// Whether operations record the graph for `backward` (see `GradMode`).
    public internal(set) var recordsGradients = true
    /// The inference-plan tracer that operations note themselves to (see `PlanTrace`).
    public internal(set) var tracer: PlanTracer?
    /// The observer of this thread's layers, if any.
    public internal(set) var observer: ForwardObserver?
    /// Images [first, first + N) of a global batch of `global` (see `BatchShare`).
    public internal(set) var batchShare: (first: Int, global: Int)?
    /// Synchronised batch norm: sums per-channel values over the data-parallel processes in place.
    public internal(set) var crossReplicaSum: ((inout [Double]) -> Void)?
    /// Whether random initialisation is skipped (see `GlobalRandom.shapesOnly(_:)`).
    public internal(set) var shapesOnly = false
    /// Which kernels compute convolutions (tests pin one path).
    var convolutionPaths = ConvolutionPaths()

    private init() {}

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            #if canImport(Darwin)
            Unmanaged<ForwardContext>.fromOpaque(pointer).release()
            #else
            if let pointer { Unmanaged<ForwardContext>.fromOpaque(pointer).release() }
            #endif
        }
        precondition(status == 0, "pthread_key_create failed")
        return key
    }()

    /// The calling thread's context.
    public static var current: ForwardContext {
        if let pointer = pthread_getspecific(key) { return Unmanaged<ForwardContext>.fromOpaque(pointer).takeUnretainedValue() }
        let context = ForwardContext()
        pthread_setspecific(key, Unmanaged.passRetained(context).toOpaque())
        return context
    }

    /// Runs `body` with the setting at `path` changed to `value` on this thread, then restores it.
    static func with<Value, R>(_ path: ReferenceWritableKeyPath<ForwardContext, Value>, _ value: Value,
                               _ body: () throws -> R) rethrows -> R {
        let context = current
        let previous = context[keyPath: path]
        context[keyPath: path] = value
        defer { context[keyPath: path] = previous }
        return try body()
    }

    /// Runs `body` with `observer` watching this thread's layers (one observer at a time: an
    /// outer one is set aside until `body` returns).
    public static func observing<R>(_ observer: ForwardObserver, _ body: () throws -> R) rethrows -> R {
        try with(\.observer, observer, body)
    }

    /// Runs `body` with batch norm in training summing its statistics over data-parallel
    /// processes through `sum` (nil: this process's batch alone).
    public static func synchronisingBatchNorm<R>(_ sum: ((inout [Double]) -> Void)?, _ body: () throws -> R) rethrows -> R {
        try with(\.crossReplicaSum, sum, body)
    }
}

/// Which kernels compute a convolution on a thread. The defaults are the measured choices;
/// tests change them for the body of `ForwardContext.withConvolutionPaths` to check each path.
@_spi(Testing) public struct ConvolutionPaths {
    /// Whether oneDNN may run convolutions.
    public var oneDNN = true
    /// Multiply-accumulates per image below which a convolution stays on ConvZoo's own path.
    public var oneDNNMinimumMACs = OneDNN.defaultMinimumMACs
    /// Column values per image above which ConvZoo's forward pass works in bands of output rows.
    public var bandThreshold = 2 << 20
    /// About how many column values one band holds (4 MiB: it stays in the shared cache).
    public var bandValues = 1 << 20
}

extension ForwardContext {
    /// Runs `body` with this thread's convolution paths changed by `change`.
    @_spi(Testing) public static func withConvolutionPaths<R>(_ change: (inout ConvolutionPaths) -> Void,
                                                           _ body: () throws -> R) rethrows -> R {
        var paths = current.convolutionPaths
        change(&paths)
        return try with(\.convolutionPaths, paths, body)
    }
}

/// Whether operations record the graph. `GradMode.withoutGrad { … }` is inference mode.
public enum GradMode {
    public static var isEnabled: Bool { ForwardContext.current.recordsGradients }

    /// Runs `body` with recording off; nothing inside keeps a backward function.
    public static func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
        try ForwardContext.with(\.recordsGradients, false, body)
    }

    /// Runs `body` with recording on (gradients inside an inference-mode caller).
    public static func withGrad<R>(_ body: () throws -> R) rethrows -> R {
        try ForwardContext.with(\.recordsGradients, true, body)
    }
}

/// Where this process's images sit in the step's global batch in data-parallel training: images
/// [first, first + N) of `global`, N being the local batch (set by the trainer around the forward
/// pass; nil in one process). Random draws per image (dropout's masks) then come out as the whole
/// batch draws them for these images, and the generator ends where the whole batch leaves it.
public enum BatchShare {
    public static var current: (first: Int, global: Int)? { ForwardContext.current.batchShare }

    /// Runs `body` with this thread's forward passes holding `share` of the global batch.
    public static func with<R>(_ share: (first: Int, global: Int)?, _ body: () throws -> R) rethrows -> R {
        try ForwardContext.with(\.batchShare, share, body)
    }
}
