import CZooInference
import Foundation
import ZooNN
@_spi(Engine) import ZooTensor

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
