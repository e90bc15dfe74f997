import ZooTensor

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

/// Records each leaf module's output during a forward pass.
enum SummaryTrace {
    nonisolated(unsafe) static var rows: [ObjectIdentifier: [(shape: [Int], macs: Int)]]?
}

extension Module {
    /// Runs one image of shape [C, H, W] through the model in eval mode without recording
    /// gradients, and lists every leaf layer with its output shape, parameters and MACs.
    /// A conv's parameters are (K·K·C_in/groups + 1)·C_out; its MACs K·K·C_in/groups·C_out·OH·OW.
    public func summary(input: [Int]) -> ModelSummary {
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        ShapeCheck.name(self)
        SummaryTrace.rows = [:]
        defer { SummaryTrace.rows = nil }
        _ = GradMode.withoutGrad { self(Variable(Tensor(zeros: [1] + input))) }
        var layers: [LayerSummary] = []
        for (name, module) in namedModules() where module.children.isEmpty {
            for call in SummaryTrace.rows?[ObjectIdentifier(module)] ?? [] {
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

    /// Calls `forward`, noting the output when a summary is being traced.
    func traced(_ input: Variable) -> Variable {
        if ShapeCheck.probe?.problem != nil { return input }
        if let problem = inputProblem(input.shape) {
            ShapeCheck.fail(self, input: input.shape, problem)
            return input
        }
        var output = forward(input)
        if let capture = FeatureCapture.current { output = capture.note(self, output) }
        if SummaryTrace.rows != nil && children.isEmpty {
            SummaryTrace.rows![ObjectIdentifier(self), default: []].append((output.shape, macs(input: input.shape, output: output.shape)))
        }
        return output
    }
}
