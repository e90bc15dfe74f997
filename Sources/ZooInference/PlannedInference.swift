import CZooInference
import Foundation
import ZooNN
import ZooTensor

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
