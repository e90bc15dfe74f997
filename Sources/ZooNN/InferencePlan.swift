import CZooDNNL
import Foundation
import ZooTensor

/// Why a model has no inference plan (it then runs eagerly).
public struct PlanRefusal: Error, CustomStringConvertible {
    public let description: String
}

/// A model compiled for inference at one input shape and thread count: the eval-mode forward
/// pass traced once, fused (BatchNorm and scalings folded into convolutions; ReLU, ReLU6,
/// sigmoid and residual sums applied as the convolution writes its output), and handed to
/// oneDNN as a fixed list of primitives over blocked-layout tensors in one arena (see
/// zoo_plan.h). Running it allocates nothing but the output tensor.
///
/// A plan holds its own copy of the weights: after a parameter or buffer of the model changes,
/// `isCurrent(for:)` is false and the plan must be compiled again.
public final class InferencePlan {
    private let handle: OpaquePointer
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let threads: Int
    /// Wall time of `compile`, tracing included.
    public let buildMilliseconds: Double
    private let stateKey: [Int]

    /// Traces `model` (in evaluation mode) on one image and compiles it for `inputShape`
    /// ([N, C, H, W]); throws `PlanRefusal` when an operation has no plan step or oneDNN is missing.
    public init(_ model: Module, inputShape: [Int], threads: Int = Threads.count) throws {
        (handle, outputShape, stateKey, buildMilliseconds) = try Self.compile(model, inputShape, threads, trace: nil)
        (self.inputShape, self.threads) = (inputShape, threads)
    }

    /// A plan with a deliberate mistake, for tests that show the checks catch one.
    @_spi(Testing) public init(_ model: Module, inputShape: [Int], fault: Fault) throws {
        (handle, outputShape, stateKey, buildMilliseconds) = try Self.compile(model, inputShape, Threads.count, trace: nil, fault: fault)
        (self.inputShape, self.threads) = (inputShape, Threads.count)
    }

    /// With a trace of the same model and weights on one image of this size (a trace does not
    /// depend on the batch size).
    init(_ model: Module, inputShape: [Int], threads: Int, trace: PlanGraph) throws {
        (handle, outputShape, stateKey, buildMilliseconds) = try Self.compile(model, inputShape, threads, trace: trace)
        (self.inputShape, self.threads) = (inputShape, threads)
    }

    private static func compile(_ model: Module, _ inputShape: [Int], _ threads: Int, trace: PlanGraph?, fault: Fault = .none) throws
        -> (OpaquePointer, [Int], [Int], Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        guard inputShape.count == 4, inputShape.allSatisfy({ $0 > 0 }) else {
            throw PlanRefusal(description: "a plan takes an [N, C, H, W] input, not \(inputShape)")
        }
        guard !model.isTraining else { throw PlanRefusal(description: "a plan is for a model in evaluation mode") }
        guard OneDNN.isAvailable, let plan = zoo_plan_create() else {
            throw PlanRefusal(description: "oneDNN (libdnnl.so.2) is not available")
        }
        var owned = true
        defer { if owned { zoo_plan_destroy(plan) } }
        zoo_plan_set_fault(plan, fault.rawValue)
        let image = [1] + Array(inputShape.dropFirst())
        let graph = try trace ?? PlanGraph(tracing: model, image: image)
        var lowering = PlanLowering(graph: graph, batch: inputShape[0], image: image, plan: plan)
        let output = try lowering.emit()
        guard zoo_plan_finalize(plan, 0, Int32(output.tensor), Int32(threads)) == 0 else {
            throw PlanRefusal(description: String(cString: zoo_plan_error(plan)))
        }
        owned = false
        return (plan, output.shape, stateKey(model), Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }

    deinit { zoo_plan_destroy(handle) }

    /// A deliberate mistake in a plan, for tests that show the checks catch one (see zoo_plan.h).
    @_spi(Testing) public enum Fault: Int32 { case none = 0, droppedResidualSum = 1, plainLayoutIntoPooling = 2 }

    /// Whether plans run their own kernels where oneDNN 2.6 has no fast one (Winograd 3×3
    /// convolutions, fully connected layers over packed weights, gathered windows for a
    /// convolution with no blocked kernel): on a CPU with AVX2 and FMA, unless
    /// ZOO_PLAN_OWN_KERNELS=0. Step descriptions name the kernel that runs.
    public static var ownKernels: Bool { zoo_plan_own_kernels() != 0 }

    /// Whether the model's parameters and buffers are those the plan was compiled from.
    public func isCurrent(for model: Module) -> Bool { InferencePlan.stateKey(model) == stateKey }

    static func stateKey(_ model: Module) -> [Int] {
        model.namedParameters().map { $0.variable.version } + model.namedBuffers().map { $0.buffer.version }
            + [ObjectIdentifier(model).hashValue]
    }

    /// The model's output for `input` (of `inputShape`).
    public func run(_ input: Tensor) -> Tensor { run(input, timing: nil) }

    /// As `run`, and each step's wall time in milliseconds.
    public func runTimed(_ input: Tensor) -> (output: Tensor, stepMilliseconds: [Double]) {
        var times = [Double](repeating: 0, count: steps.count)
        let output = run(input, timing: &times)
        return (output, times)
    }

    private func run(_ input: Tensor, timing: UnsafeMutablePointer<[Double]>?) -> Tensor {
        precondition(input.shape == inputShape, "a plan for \(inputShape) was given an input of shape \(input.shape)")
        var status: Int32 = 0
        let output = Tensor(uninitialized: outputShape) { out in
            input.withUnsafeBufferPointer { inb in
                if let timing {
                    status = timing.pointee.withUnsafeMutableBufferPointer {
                        zoo_plan_run_timed(handle, inb.baseAddress!, out.baseAddress!, $0.baseAddress!)
                    }
                } else {
                    status = zoo_plan_run(handle, inb.baseAddress!, out.baseAddress!)
                }
            }
        }
        // Every primitive was created and checked by finalize; a failure here is a bug.
        precondition(status == 0, "inference plan: \(String(cString: zoo_plan_error(handle)))")
        return output
    }

    /// One line per step: what it computes and oneDNN's kernel for it.
    public var steps: [String] {
        (0..<Int(zoo_plan_steps(handle))).map { String(cString: zoo_plan_step_description(handle, Int32($0))) }
    }

    /// Multiply-accumulates per step (convolutions and linear layers).
    public var stepMACs: [Double] { (0..<Int(zoo_plan_steps(handle))).map { zoo_plan_step_macs(handle, Int32($0)) } }

    /// Bytes of the activation arena and scratchpad.
    public var arenaBytes: Int { zoo_plan_arena_bytes(handle) }
    /// Bytes of the weights in the kernels' layouts.
    public var weightBytes: Int { zoo_plan_weight_bytes(handle) }
}

/// The traced operations of one forward pass as a graph: value 0 is the input, node i makes
/// value i + 1.
struct PlanGraph {
    struct Node {
        let op: TracedOp
        let inputs: [Int]
        let shape: [Int]
    }
    var nodes: [Node] = []
    var output = 0
    var uses: [Int] = []

    init(tracing model: Module, image: [Int]) throws {
        let tracer = PlanTracer()
        let input = Variable(Tensor(zeros: image))
        let result: Variable = try GradMode.withoutGrad { try PlanTrace.recording(tracer) { try model(input) } }
        var values = [ObjectIdentifier(input): 0]
        for step in tracer.steps {
            let inputs = try step.inputs.map { variable -> Int in
                guard let value = values[ObjectIdentifier(variable)] else {
                    throw PlanRefusal(description: "\(step.op.name) reads a value made by an operation plans do not know")
                }
                return value
            }
            nodes.append(Node(op: step.op, inputs: inputs, shape: step.output.shape))
            values[ObjectIdentifier(step.output)] = nodes.count
        }
        guard let output = values[ObjectIdentifier(result)] else {
            throw PlanRefusal(description: "the model's output is made by an operation plans do not know")
        }
        self.output = output
        uses = [Int](repeating: 0, count: nodes.count + 1)
        for node in nodes { for value in node.inputs { uses[value] += 1 } }
        uses[output] += 1
    }

    /// The one node that reads `value`, when exactly one does and it is not the output.
    func soleConsumer(of value: Int) -> Int? {
        guard uses[value] == 1, value != output else { return nil }
        return nodes.indices.first { nodes[$0].inputs.contains(value) }
    }
}

extension TracedOp {
    var name: String {
        switch self {
        case .conv2d: "conv2d"
        case .linear: "linear"
        case .batchNorm: "batch norm"
        case .channelAffine: "channel affine"
        case .relu: "relu"
        case .relu6: "relu6"
        case .sigmoid: "sigmoid"
        case .scale: "scale"
        case .add: "add"
        case .mul: "mul"
        case .concat: "concat"
        case .reshape: "reshape"
        case .maxPool: "max pool"
        case .avgPool: "average pool"
        case .adaptiveAvgPool: "adaptive average pool"
        case .pad: "pad2d"
        }
    }

    /// The activation code of zoo_plan.h, for an op that is one.
    var activation: Int32? {
        switch self {
        case .relu: Int32(ZOO_ACT_RELU)
        case .relu6: Int32(ZOO_ACT_RELU6)
        case .sigmoid: Int32(ZOO_ACT_SIGMOID)
        default: nil
        }
    }
}

/// Turns a traced graph into plan steps, fusing into a convolution or linear layer what
/// follows it when its output has no other reader: a BatchNorm or a scaling (folded into the
/// weights), a residual addition (a sum post-op) and an activation (an eltwise post-op).
struct PlanLowering {
    let graph: PlanGraph
    let batch: Int
    let image: [Int]
    let plan: OpaquePointer
    private var tensors: [Int: Int32] = [:]
    /// Values that are another value under a no-op reshape.
    private var aliases: [Int: Int] = [:]

    init(graph: PlanGraph, batch: Int, image: [Int], plan: OpaquePointer) {
        (self.graph, self.batch, self.image, self.plan) = (graph, batch, image, plan)
    }

    private enum Step {
        case conv(src: Int, dst: Int, shape: zoo_conv_shape, weight: [Float], bias: [Float]?, sum: Int?, act: Int32)
        case linear(src: Int, dst: Int, weight: [Float], bias: [Float]?, act: Int32)
        case pool(src: Int, dst: Int, kind: Int32, kernel: [Int32], stride: [Int32], begin: [Int32], end: [Int32])
        case activation(src: Int, dst: Int, act: Int32)
        case binary(a: Int, b: Int, dst: Int, kind: Int32, sum: Int?, act: Int32)
        case concat(srcs: [Int], dst: Int)
        case batchNorm(src: Int, dst: Int, mean: [Float], variance: [Float], gamma: [Float], beta: [Float], eps: Float, act: Int32)
        case flatten(src: Int, dst: Int)
        case pad(src: Int, dst: Int, margins: [Int32], value: Float)
    }

    /// The shape of a value at the plan's batch size (the trace ran on one image).
    private func shape(_ value: Int) -> [Int] {
        let traced = value == 0 ? image : graph.nodes[value - 1].shape
        return [batch] + traced.dropFirst()
    }

    private func resolved(_ value: Int) -> Int { aliases[value].map(resolved) ?? value }

    /// Lowers every node; returns the output's plan tensor and shape.
    mutating func emit() throws -> (tensor: Int, shape: [Int]) {
        _ = try tensor(0)
        var steps: [(position: Int, step: Step)] = []
        var covered = [Bool](repeating: false, count: graph.nodes.count)
        for index in graph.nodes.indices where !covered[index] {
            let node = graph.nodes[index]
            var last = index
            /// Covers the sole reader of the current output when `accept` takes it.
            func absorb(_ accept: (TracedOp, PlanGraph.Node) -> Bool) -> Bool {
                guard let next = graph.soleConsumer(of: last + 1), !covered[next], accept(graph.nodes[next].op, graph.nodes[next]) else { return false }
                covered[next] = true
                last = next
                return true
            }
            func activationAfter() -> Int32 {
                var act = Int32(ZOO_ACT_NONE)
                _ = absorb { op, _ in
                    guard let a = op.activation else { return false }
                    act = a
                    return true
                }
                return act
            }
            let src = node.inputs.first.map(resolved) ?? 0
            let step: Step
            switch node.op {
            case .conv2d(let weight, let bias, let stride, let padding, let dilation, let groups):
                var w = weight.scalars.map(Double.init)
                var b = bias.map { $0.scalars.map(Double.init) }
                var act = Int32(ZOO_ACT_NONE)
                var sum: Int?
                while absorb({ op, next in
                    switch op {
                    case .batchNorm(let mean, let variance, let gamma, let beta, let eps, let relu) where act == ZOO_ACT_NONE && sum == nil:
                        foldBatchNorm(weight: &w, bias: &b, mean: mean, variance: variance, gamma: gamma, beta: beta, eps: eps)
                        if relu { act = Int32(ZOO_ACT_RELU) }
                        return true
                    case .scale(let factor) where act == ZOO_ACT_NONE && sum == nil:
                        w = w.map { $0 * Double(factor) }
                        b = b.map { $0.map { $0 * Double(factor) } }
                        return true
                    case .add where act == ZOO_ACT_NONE && sum == nil && next.inputs[0] != next.inputs[1]
                                 && shape(next.inputs[0]) == shape(next.inputs[1]):
                        sum = resolved(next.inputs[0] == last + 1 ? next.inputs[1] : next.inputs[0])
                        return true
                    default:
                        guard act == ZOO_ACT_NONE, let a = op.activation else { return false }
                        act = a
                        return true
                    }
                }) {}
                let x = shape(src), y = shape(last + 1)
                let k = weight.shape
                func i(_ v: Int) -> Int32 { Int32(v) }
                let geometry = zoo_conv_shape(batch: i(x[0]), in_channels: i(x[1]), height: i(x[2]), width: i(x[3]),
                                              out_channels: i(k[0]), kernel_h: i(k[2]), kernel_w: i(k[3]),
                                              stride_h: i(stride.0), stride_w: i(stride.1), pad_h: i(padding.0), pad_w: i(padding.1),
                                              dilation_h: i(dilation.0), dilation_w: i(dilation.1), groups: i(groups),
                                              out_h: i(y[2]), out_w: i(y[3]))
                step = .conv(src: src, dst: last + 1, shape: geometry, weight: w.map(Float.init), bias: b?.map(Float.init),
                             sum: sum, act: act)
            case .linear(let weight, let bias):
                let act = activationAfter()
                step = .linear(src: src, dst: last + 1, weight: weight.scalars, bias: bias?.scalars, act: act)
            case .batchNorm(let mean, let variance, let gamma, let beta, let eps, let relu):
                let act = relu ? Int32(ZOO_ACT_RELU) : activationAfter()
                step = .batchNorm(src: src, dst: last + 1, mean: mean.scalars, variance: variance.scalars, gamma: gamma.scalars,
                                  beta: beta.scalars, eps: eps, act: act)
            case .channelAffine(let scale, let shift):
                let act = activationAfter()
                step = .batchNorm(src: src, dst: last + 1, mean: scale.map { _ in 0 }, variance: scale.map { _ in 1 },
                                  gamma: scale, beta: shift, eps: 0, act: act)
            case .relu, .relu6, .sigmoid:
                step = .activation(src: src, dst: index + 1, act: node.op.activation!)
            case .add, .mul:
                var (a, b) = (resolved(node.inputs[0]), resolved(node.inputs[1]))
                if shape(a) != shape(index + 1) { swap(&a, &b) }
                let sb = shape(b), sa = shape(a)
                guard sa == shape(index + 1), sb == sa || (sb.count == 4 && sb[0] == sa[0] && sb[1] == sa[1] && sb[2] == 1 && sb[3] == 1) else {
                    throw PlanRefusal(description: "\(node.op.name) of \(sa) and \(sb) broadcasts in a way plans do not")
                }
                let kind = Int32(node.op.name == "add" ? ZOO_BINARY_ADD : ZOO_BINARY_MUL)
                // An SE block's scaling, then the residual sum: one pass.
                var sum: Int?
                if kind == ZOO_BINARY_MUL {
                    _ = absorb { op, next in
                        guard case .add = op, next.inputs[0] != next.inputs[1], shape(next.inputs[0]) == shape(next.inputs[1]) else { return false }
                        sum = resolved(next.inputs[0] == last + 1 ? next.inputs[1] : next.inputs[0])
                        return true
                    }
                }
                let act = activationAfter()
                step = .binary(a: a, b: b, dst: last + 1, kind: kind, sum: sum, act: act)
            case .concat(let axis):
                guard axis == 1, shape(index + 1).count == 4 else {
                    throw PlanRefusal(description: "concat along axis \(axis) of rank-\(shape(index + 1).count) values")
                }
                step = .concat(srcs: node.inputs.map(resolved), dst: index + 1)
            case .reshape:
                let x = shape(src), y = shape(index + 1)
                if x == y || (x.count == 2 && y.count == 2) && x == y {
                    aliases[index + 1] = src
                    continue
                }
                guard x.count == 4, y == [x[0], x[1] * x[2] * x[3]] else {
                    throw PlanRefusal(description: "a reshape from \(x) to \(y)")
                }
                step = .flatten(src: src, dst: index + 1)
            case .maxPool(let kernel, let stride, let padding), .avgPool(let kernel, let stride, let padding, _):
                let x = shape(src), y = shape(index + 1)
                let end = [(y[2] - 1) * stride.0 + kernel.0 - x[2] - padding.0, (y[3] - 1) * stride.1 + kernel.1 - x[3] - padding.1]
                var kind = Int32(ZOO_POOL_MAX)
                if case .avgPool(_, _, _, let includePad) = node.op {
                    kind = Int32(includePad ? ZOO_POOL_AVG_INCLUDE_PAD : ZOO_POOL_AVG_EXCLUDE_PAD)
                    if includePad && (end[0] > padding.0 || end[1] > padding.1) {
                        throw PlanRefusal(description: "an average pool in ceil mode that counts padding")
                    }
                }
                step = .pool(src: src, dst: index + 1, kind: kind, kernel: [Int32(kernel.0), Int32(kernel.1)],
                             stride: [Int32(stride.0), Int32(stride.1)], begin: [Int32(padding.0), Int32(padding.1)],
                             end: end.map { Int32(max($0, 0)) })
            case .adaptiveAvgPool:
                let x = shape(src), y = shape(index + 1)
                guard x[2] % y[2] == 0, x[3] % y[3] == 0 else {
                    throw PlanRefusal(description: "an adaptive average pool from \(x[2])×\(x[3]) to \(y[2])×\(y[3])")
                }
                let kernel = [Int32(x[2] / y[2]), Int32(x[3] / y[3])]
                step = .pool(src: src, dst: index + 1, kind: Int32(ZOO_POOL_AVG_EXCLUDE_PAD), kernel: kernel, stride: kernel,
                             begin: [0, 0], end: [0, 0])
            case .pad(let margins, let value):
                step = .pad(src: src, dst: index + 1, margins: [margins.top, margins.left, margins.bottom, margins.right].map { Int32($0) },
                            value: value)
            case .scale:
                throw PlanRefusal(description: "\(node.op.name) on its own has no plan step")
            }
            steps.append((last, step))
        }
        for (_, step) in steps.sorted(by: { $0.position < $1.position }) { try emit(step) }
        let output = resolved(graph.output)
        guard output != 0 else { throw PlanRefusal(description: "the model returns its input") }
        return try (Int(tensor(output)), shape(output))
    }

    private mutating func tensor(_ value: Int) throws -> Int32 {
        if let id = tensors[value] { return id }
        let s = shape(value)
        guard s.count == 4 || s.count == 2, s.allSatisfy({ $0 > 0 && $0 <= Int(Int32.max) }) else {
            throw PlanRefusal(description: "a value of shape \(s)")
        }
        let id = s.count == 4 ? zoo_plan_tensor(plan, 4, Int32(s[0]), Int32(s[1]), Int32(s[2]), Int32(s[3]))
                              : zoo_plan_tensor(plan, 2, Int32(s[0]), Int32(s[1]), 1, 1)
        try check(id)
        tensors[value] = id
        return id
    }

    private func check(_ status: Int32) throws {
        if status < 0 { throw PlanRefusal(description: String(cString: zoo_plan_error(plan))) }
    }

    private mutating func emit(_ step: Step) throws {
        switch step {
        case .conv(let src, let dst, var shape, let weight, let bias, let sum, let act):
            let (s, d, m) = try (tensor(src), tensor(dst), sum.map { try tensor($0) } ?? -1)
            try check(weight.withUnsafeBufferPointer { w in
                withOptionalPointer(bias) { zoo_plan_conv(plan, s, d, &shape, w.baseAddress!, $0, m, act) }
            })
        case .linear(let src, let dst, let weight, let bias, let act):
            let (s, d) = try (tensor(src), tensor(dst))
            try check(weight.withUnsafeBufferPointer { w in
                withOptionalPointer(bias) { zoo_plan_linear(plan, s, d, w.baseAddress!, $0, act) }
            })
        case .pool(let src, let dst, let kind, let kernel, let stride, let begin, let end):
            try check(zoo_plan_pool(plan, try tensor(src), try tensor(dst), kind, kernel, stride, begin, end))
        case .activation(let src, let dst, let act):
            try check(zoo_plan_activation(plan, try tensor(src), try tensor(dst), act))
        case .binary(let a, let b, let dst, let kind, let sum, let act):
            let m = try sum.map { try tensor($0) } ?? -1
            try check(zoo_plan_binary(plan, try tensor(a), try tensor(b), try tensor(dst), kind, m, act))
        case .concat(let srcs, let dst):
            let ids = try srcs.map { try tensor($0) }
            try check(zoo_plan_concat(plan, ids, Int32(ids.count), try tensor(dst)))
        case .batchNorm(let src, let dst, let mean, let variance, let gamma, let beta, let eps, let act):
            try check(zoo_plan_batchnorm(plan, try tensor(src), try tensor(dst), mean, variance, gamma, beta, eps, act))
        case .flatten(let src, let dst):
            try check(zoo_plan_flatten(plan, try tensor(src), try tensor(dst)))
        case .pad(let src, let dst, let margins, let value):
            try check(zoo_plan_pad(plan, try tensor(src), try tensor(dst), margins, value))
        }
    }
}

private func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// A module's evaluation-mode forward pass through compiled plans: one per input shape and
/// thread count, compiled on first use and again after the weights change, and eager
/// execution where the planner refuses the model (or when `usesPlans` is off).
public final class PlannedInference {
    public let module: Module
    /// Off: every call runs eagerly, layer by layer.
    public var usesPlans: Bool
    /// Why the last call ran eagerly (nil when it ran a plan).
    public private(set) var eagerReason: String?
    private var plans: [(key: [Int], plan: InferencePlan)] = []
    private var refusals: [[Int]: String] = [:]
    /// The last trace, for plans of other batch sizes: (image shape, weights' state, graph).
    private var trace: (image: [Int], state: [Int], graph: PlanGraph)?
    /// Plans kept at once (a classifier's full batches and its last, shorter one, say).
    private let capacity = 4

    public init(_ module: Module, usesPlans: Bool = true) {
        self.module = module
        self.usesPlans = usesPlans
    }

    /// The plan for inputs of `shape` at the current thread count, compiled if need be.
    public func plan(for shape: [Int]) throws -> InferencePlan {
        let key = shape + [Threads.count]
        if let index = plans.firstIndex(where: { $0.key == key }) {
            if plans[index].plan.isCurrent(for: module) { return plans[index].plan }
            plans.remove(at: index)
        }
        if let refusal = refusals[key] { throw PlanRefusal(description: refusal) }
        do {
            let image = [1] + shape.dropFirst(), state = InferencePlan.stateKey(module)
            if trace?.image != image || trace?.state != state {
                trace = nil
                module.eval()
                trace = try (image, state, PlanGraph(tracing: module, image: image))
            }
            let plan = try InferencePlan(module, inputShape: shape, threads: Threads.count, trace: trace!.graph)
            plans.append((key, plan))
            if plans.count > capacity { plans.removeFirst() }
            return plan
        } catch let refusal as PlanRefusal {
            // The graph does not change with the weights: a refusal stands for this shape.
            refusals[key] = refusal.description
            throw refusal
        }
    }

    /// The input shapes of the plans kept now, oldest first.
    public var compiledShapes: [[Int]] { plans.map(\.plan.inputShape) }

    /// A current plan for a batch of up to twice `shape`'s images of the same size: a short last
    /// batch runs through it, padded with zeros, rather than paying for a plan of its own.
    private func largerPlan(for shape: [Int]) -> InferencePlan? {
        plans.lazy.map(\.plan).first {
            Array($0.inputShape.dropFirst()) == Array(shape.dropFirst()) && $0.inputShape[0] > shape[0]
                && $0.inputShape[0] <= 2 * shape[0] && $0.threads == Threads.count && $0.isCurrent(for: module)
        }
    }

    /// The module's output for `input` in evaluation mode, without recording gradients.
    /// - Throws: `ShapeError` when a layer cannot take its input.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        module.eval()
        if usesPlans && input.rank == 4 {
            if !plans.contains(where: { $0.key == input.shape + [Threads.count] }), let larger = largerPlan(for: input.shape) {
                var padded = Tensor(zeros: larger.inputShape)
                padded.withUnsafeMutableBufferPointer { p in
                    input.withUnsafeBufferPointer { p.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
                }
                let output = larger.run(padded)
                let rows = output.count / larger.inputShape[0] * input.shape[0]
                eagerReason = nil
                return Tensor(shape: [input.shape[0]] + output.shape.dropFirst(), scalars: Array(output.scalars.prefix(rows)))
            }
            do {
                let output = try plan(for: input.shape).run(input)
                eagerReason = nil
                return output
            } catch let error as ShapeError {
                throw error
            } catch {
                eagerReason = "\(error)"
            }
        } else {
            eagerReason = usesPlans ? "a plan takes [N, C, H, W] inputs" : "plans are switched off"
        }
        return try GradMode.withoutGrad { try module(Variable(input)) }.value
    }
}
