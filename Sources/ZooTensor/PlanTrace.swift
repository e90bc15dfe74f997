/// One operation as an inference-plan tracer sees it: what it computes, with its constants.
@_spi(Engine) public enum TracedOp {
    case conv2d(weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int)
    case linear(weight: Tensor, bias: Tensor?)
    /// Evaluation-mode batch normalisation with its running statistics, then a ReLU when `relu`.
    case batchNorm(mean: Tensor, variance: Tensor, weight: Tensor, bias: Tensor, eps: Float, relu: Bool)
    /// x · scale_c + shift_c per channel.
    case channelAffine(scale: [Float], shift: [Float])
    case relu, relu6, sigmoid
    case scale(Float)
    case add, mul
    case concat(axis: Int)
    case reshape
    case maxPool(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int))
    case avgPool(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), countIncludePad: Bool)
    case adaptiveAvgPool
    case pad(Margins, value: Float)
}

/// Records the operations of one forward pass, in order (see `PlanTrace`).
@_spi(Engine) public final class PlanTracer {
    public private(set) var steps: [(op: TracedOp, inputs: [Variable], output: Variable)] = []
    public init() {}

    @usableFromInline func append(_ op: TracedOp, _ inputs: [Variable], _ output: Variable) { steps.append((op, inputs, output)) }
}

/// While a tracer records (`PlanTrace.recording`), every operation that an inference plan can compile notes itself there
/// (the planner in ZooNN traces a model's eager forward pass this way). An operation that does
/// not note itself leaves an output the tracer has never seen, and the planner refuses any
/// step that reads it: a model built from unknown operations falls back to eager execution.
@_spi(Engine) public enum PlanTrace {
    /// The tracer recording this thread's operations, if any.
    public static var tracer: PlanTracer? { ForwardContext.current.tracer }

    /// Runs `body` with `tracer` noting this thread's operations.
    public static func recording<R>(_ tracer: PlanTracer, _ body: () throws -> R) rethrows -> R {
        try ForwardContext.with(\.tracer, tracer, body)
    }

    /// Returns `output`, after noting that `op` made it from `inputs` when tracing.
    @inlinable @discardableResult
    public static func note(_ op: @autoclosure () -> TracedOp, _ inputs: [Variable], _ output: Variable) -> Variable {
        if let tracer { tracer.append(op(), inputs, output) }
        return output
    }

    /// Runs `body` without noting its operations (an operation built from others notes itself once).
    public static func paused<R>(_ body: () throws -> R) rethrows -> R {
        try ForwardContext.with(\.tracer, PlanTracer?.none, body)
    }
}
