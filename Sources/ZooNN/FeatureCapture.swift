@_spi(Engine) import ZooTensor

/// The outputs of chosen modules during one forward pass, noted as each module returns (a
/// forward hook on the module graph: the model is neither copied nor changed).
final class FeatureCapture: LayerObserver {
    /// The path of each module to note, by identity.
    let paths: [ObjectIdentifier: String]
    /// Each noted module's output at its last call in the pass.
    var outputs: [String: Variable] = [:]

    init(_ paths: [ObjectIdentifier: String]) { self.paths = paths }

    /// Notes `output` when `module` is one of the noted ones, and returns what the pass goes
    /// on with. With grad mode on the output keeps its gradient after `backward`; when nothing
    /// before it needed one, it becomes a leaf that records the rest of the pass.
    func note(_ module: Module, input: [Int], output: Variable) -> Variable {
        guard let path = paths[ObjectIdentifier(module)] else { return output }
        var noted = output
        if GradMode.isEnabled {
            if output.requiresGrad { output.retainsGrad = true } else { noted = Variable(output.value, requiresGrad: true) }
        }
        outputs[path] = noted
        return noted
    }
}

/// One forward pass with the outputs of chosen layers.
public struct FeaturePass {
    /// The model's own output.
    public var output: Variable
    /// The output of each asked-for module path (its last call in the pass). With grad mode on,
    /// each keeps its gradient (`grad`) when `backward` runs from the output.
    public var features: [String: Variable]
}

extension Module {
    /// Runs `input` through the model and also returns the outputs of the modules at `paths`
    /// (dotted, as `summary` prints them; "" is the model itself). Inference fusion is off in
    /// this pass, so each output is exactly what the layer-by-layer forward computes there.
    /// Modes (training or eval, grad mode) are the caller's.
    /// - Throws: `ZooError` naming a path that is no module (with the closest ones), or a
    ///   module that the pass did not reach; `ShapeError` when a layer cannot take its input.
    public func forward(_ input: Variable, capturing paths: [String]) throws -> FeaturePass {
        let modules = Dictionary(namedModules().map { ($0.name, $0.module) }, uniquingKeysWith: { first, _ in first })
        var targets: [ObjectIdentifier: String] = [:]
        for path in paths {
            guard let module = modules[path] else { throw ZooError(unknownModuleSentence(path)) }
            // One module may be asked for under one path only.
            if targets[ObjectIdentifier(module)] == nil { targets[ObjectIdentifier(module)] = path }
        }
        let capture = FeatureCapture(targets)
        let output = try ForwardContext.observing(capture) { try self(input) }
        var features: [String: Variable] = [:]
        for path in paths {
            let module = modules[path]!
            guard let noted = capture.outputs[targets[ObjectIdentifier(module)]!] else {
                throw ZooError("layer '\(path)' is not reached by a forward pass of this model in \(isTraining ? "training" : "eval") mode")
            }
            features[path] = noted
        }
        return FeaturePass(output: output, features: features)
    }

    /// "no layer 'X' in this model; the closest are 'a', 'b', 'c'".
    public func unknownModuleSentence(_ path: String) -> String {
        let names = namedModules().map(\.name).filter { !$0.isEmpty }
        let scored: [(name: String, distance: Int)] = names.map { ($0, Self.editDistance($0, path)) }
        let closest = scored.sorted { a, b in a.distance != b.distance ? a.distance < b.distance : a.name < b.name }.prefix(3)
        let list = closest.map { "'" + $0.name + "'" }.joined(separator: ", ")
        return "no layer '\(path)' in this model; the closest module paths are \(list) ('zoo summary' lists them all)"
    }

    /// Levenshtein distance between two strings.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in 1...b.count {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}
