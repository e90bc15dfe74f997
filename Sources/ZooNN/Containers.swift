import ZooTensor

/// Modules applied in order. Children are named "0", "1", … unless names are given
/// (torchvision's `features.0.weight`, or DenseNet's `features.conv0.weight`).
public final class Sequential: Module {
    public init(_ modules: [Module]) {
        super.init()
        for (index, module) in modules.enumerated() { register(String(index), module) }
    }

    public init(named modules: [(String, Module)]) {
        super.init()
        for (name, module) in modules { register(name, module) }
    }

    public func append(_ module: Module, name: String? = nil) {
        register(name ?? String(children.count), module)
    }

    public override func forward(_ input: Variable) throws -> Variable {
        if InferenceFusion.applies(to: self) { return try InferenceFusion.run(children.map(\.module), input) }
        return try children.reduce(input) { try $1.module($0) }
    }
}

/// y = after(body(x) + shortcut(x)): a residual block. The body's steps are registered
/// under their own names directly in this module (`conv1`, `bn1`, …), the shortcut under
/// `shortcutName` (torchvision: `downsample`); no shortcut means identity.
public final class Residual: Module {
    let bodyNames: [String]
    let shortcutName: String?
    let after: Module?

    public init(body: [(String, Module)], shortcut: Module? = nil, shortcutName: String = "downsample",
                after: Module? = nil) {
        bodyNames = body.map(\.0)
        self.shortcutName = shortcut == nil ? nil : shortcutName
        self.after = after
        super.init()
        for (name, module) in body { register(name, module) }
        if let shortcut { register(shortcutName, shortcut) }
    }

    /// The body's modules, in order.
    public var bodyModules: [Module] { bodyNames.map { child($0)! } }

    public override func forward(_ input: Variable) throws -> Variable {
        let reluAfter = (after as? Lambda)?.kind == "ReLU"
        if InferenceFusion.applies(to: self), after == nil || reluAfter {
            // The skip first, then the body's last convolution adds it (and the ReLU) as it
            // writes; InferenceFusion.run adds it separately when the body does not end in a
            // Conv2d → BatchNorm it can fold.
            let skip = try shortcutName.map { try child($0)!(input) } ?? input
            return try InferenceFusion.run(bodyModules, input, join: (skip, reluAfter))
        }
        let body = InferenceFusion.applies(to: self)
            ? try InferenceFusion.run(bodyModules, input) : try bodyNames.reduce(input) { try child($1)!($0) }
        let skip = try shortcutName.map { try child($0)!(input) } ?? input
        guard body.shape == skip.shape else {
            throw shapeProblem(input.shape, "its body gives \(body.shape.dropFirst().map(String.init).joined(separator: "×")) "
                + "but its shortcut \(skip.shape.dropFirst().map(String.init).joined(separator: "×"))")
        }
        let joined = add(body, skip)
        return try after.map { try $0(joined) } ?? joined
    }
}

/// Parallel branches on one input, joined along channels (an Inception block, a dense layer's
/// growth).
public final class Concat: Module {
    public init(_ branches: [(String, Module)]) {
        super.init()
        for (name, module) in branches { register(name, module) }
    }

    public override func forward(_ input: Variable) throws -> Variable {
        let outputs = try children.map { try $0.module(input) }
        if let first = outputs.first, let other = outputs.first(where: { $0.shape.count != first.shape.count || $0.shape.count < 2
                                                                           || $0.shape[0] != first.shape[0] || $0.shape[2...] != first.shape[2...] }) {
            throw shapeProblem(input.shape, "its branches give \(first.shape.dropFirst(2).map(String.init).joined(separator: "×")) and "
                + "\(other.shape.dropFirst(2).map(String.init).joined(separator: "×")), which cannot be joined along channels")
        }
        return concat(outputs)
    }
}

/// Passes its input through.
public final class Identity: Module {
    public override func forward(_ input: Variable) throws -> Variable { input }
}
