import CZooInference
import Foundation
import ZooNN
@_spi(Engine) @_spi(Kernels) import ZooTensor

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
