@_spi(Engine) import ZooTensor

/// One row of a model summary: a leaf layer, its output shape, parameters and
/// multiply-accumulates for one input of the given size.
public struct LayerSummary: Equatable {
    public var name: String
    public var kind: String
    public var outputShape: [Int]
    public var parameters: Int
    public var macs: Int
}

public struct ModelSummary {
    public var inputShape: [Int]
    public var layers: [LayerSummary]
    /// Every parameter of the model, counted once (layers not reached count too).
    public var parameters: Int
    public var macs: Int { layers.reduce(0) { $0 + $1.macs } }
}

/// Sees each layer of a forward pass, and may hand on another output (a forward hook).
protocol LayerObserver: ForwardObserver {
    func note(_ module: Module, input: [Int], output: Variable) -> Variable
}

/// Records each leaf module's output shape and multiply-accumulates during a forward pass.
final class SummaryTrace: LayerObserver {
    var rows: [ObjectIdentifier: [(shape: [Int], macs: Int)]] = [:]

    func note(_ module: Module, input: [Int], output: Variable) -> Variable {
        if module.children.isEmpty {
            rows[ObjectIdentifier(module), default: []].append((output.shape, module.macs(input: input, output: output.shape)))
        }
        return output
    }
}

extension Module {
    /// Runs one image of shape [C, H, W] through the model in eval mode without recording
    /// gradients, and lists every leaf layer with its output shape, parameters and MACs.
    /// A conv's parameters are (K·K·C_in/groups + 1)·C_out; its MACs K·K·C_in/groups·C_out·OH·OW.
    /// - Throws: `ShapeError` when a layer cannot take its input.
    public func summary(input: [Int]) throws -> ModelSummary {
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        let trace = SummaryTrace()
        _ = try ForwardContext.observing(trace) { try GradMode.withoutGrad { try self(Variable(Tensor(zeros: [1] + input))) } }
        var layers: [LayerSummary] = []
        for (name, module) in namedModules() where module.children.isEmpty {
            for call in trace.rows[ObjectIdentifier(module)] ?? [] {
                layers.append(LayerSummary(name: name, kind: module.kindName, outputShape: Array(call.shape.dropFirst()),
                                           parameters: module.parameters.reduce(0) { $0 + $1.variable.value.count },
                                           macs: call.macs))
            }
        }
        return ModelSummary(inputShape: input, layers: layers, parameters: parameterCount)
    }

    /// The layer's kind as printed in summaries ("Conv2d", "ReLU").
    public var kindName: String {
        if let lambda = self as? Lambda { return lambda.kind }
        if let pool = self as? Pool2d {
            switch pool.kind {
            case .max: return "MaxPool2d"
            case .min: return "MinPool2d"
            case .average: return "AvgPool2d"
            }
        }
        if let norm = self as? BatchNorm { return norm.appliesReLU ? "BatchNorm+ReLU" : "BatchNorm" }
        if self is Dropout { return (self as! Dropout).channels ? "Dropout2d" : "Dropout" }
        return String(describing: type(of: self))
    }

    /// Multiply-accumulates of this leaf for one call.
    func macs(input: [Int], output: [Int]) -> Int {
        switch self {
        case let conv as Conv2d:
            // Each output element is a dot product of C_in/groups·kH·kW terms.
            return output.reduce(1, *) * conv.weight.shape.dropFirst().reduce(1, *)
        case let conv as ConvTranspose2d:
            // Each input element meets C_out/groups·kH·kW weights.
            return input.reduce(1, *) * conv.weight.shape.dropFirst().reduce(1, *)
        case let fc as Linear:
            return output.dropLast().reduce(1, *) * fc.inFeatures * fc.outFeatures
        default:
            return 0
        }
    }

    /// Checks the input, calls `forward` and shows the output to this thread's observer. A
    /// `ShapeError` leaving here names its layer's path as seen from this module.
    func observed(_ input: Variable) throws -> Variable {
        do {
            try checkInput(input.shape)
            let output = try forward(input)
            guard let observer = ForwardContext.current.observer as? LayerObserver else { return output }
            return observer.note(self, input: input.shape, output: output)
        } catch let error as ShapeError {
            throw children.isEmpty ? error : error.named(from: self)
        }
    }

    /// Throws `ShapeError` when this layer cannot take an input of `shape`.
    func checkInput(_ shape: [Int]) throws {
        if let problem = inputProblem(shape) { throw ShapeError(self, input: shape, problem) }
    }

    /// The `ShapeError` of this module for an input of `input` with `problem`, for a module
    /// whose own wiring meets the problem (branches whose sizes do not line up, say).
    public func shapeProblem(_ input: [Int], _ problem: String) -> ShapeError { ShapeError(self, input: input, problem) }
}
