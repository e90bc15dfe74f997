import ZooTensor

/// A non-trainable tensor a module keeps in its state (BatchNorm's running statistics).
public final class Buffer {
    public var value: Tensor { didSet { version &+= 1 } }
    /// Counts assignments to `value` (see Variable.version).
    public private(set) var version = 0
    /// Stored as an integer in PyTorch's state_dict (`num_batches_tracked` is int64).
    public let isInteger: Bool

    public init(_ value: Tensor, isInteger: Bool = false) {
        self.value = value
        self.isInteger = isInteger
    }
}

/// The base of every layer and network.
///
/// A module owns parameters and buffers under names, and child modules under names; the
/// dotted path to a tensor (`layer1.0.conv1.weight`, `bn1.running_mean`) is its key in a
/// weight file, in the order PyTorch's `state_dict` uses: own parameters, own buffers,
/// then each child in registration order.
open class Module {
    public private(set) var children: [(name: String, module: Module)] = []
    public private(set) var parameters: [(name: String, variable: Variable)] = []
    public private(set) var buffers: [(name: String, buffer: Buffer)] = []
    public private(set) var isTraining = true

    public init() {}

    /// Adds `module` as the child `name` and returns it.
    @discardableResult
    public func register<M: Module>(_ name: String, _ module: M) -> M {
        precondition(!name.isEmpty && !name.contains("."), "module name '\(name)' must be non-empty and contain no dot")
        precondition(child(name) == nil, "module name '\(name)' is registered twice")
        children.append((name, module))
        return module
    }

    /// Adds a trainable parameter `name` holding `value`.
    @discardableResult
    public func registerParameter(_ name: String, _ value: Tensor) -> Variable {
        precondition(!parameters.contains { $0.name == name }, "parameter '\(name)' is registered twice")
        let variable = Variable(value, requiresGrad: true)
        parameters.append((name, variable))
        return variable
    }

    /// Registers an existing variable as the parameter `name` (layers keep typed references).
    public func adoptParameter(_ name: String, _ variable: Variable) {
        precondition(!parameters.contains { $0.name == name }, "parameter '\(name)' is registered twice")
        parameters.append((name, variable))
    }

    public func adoptBuffer(_ name: String, _ buffer: Buffer) {
        precondition(!buffers.contains { $0.name == name }, "buffer '\(name)' is registered twice")
        buffers.append((name, buffer))
    }

    @discardableResult
    public func registerBuffer(_ name: String, _ value: Tensor, isInteger: Bool = false) -> Buffer {
        precondition(!buffers.contains { $0.name == name }, "buffer '\(name)' is registered twice")
        let buffer = Buffer(value, isInteger: isInteger)
        buffers.append((name, buffer))
        return buffer
    }

    /// Replaces the child `name` (a new classifier head, say).
    public func replace(_ name: String, with module: Module) {
        guard let index = children.firstIndex(where: { $0.name == name }) else {
            preconditionFailure("no child module '\(name)' to replace")
        }
        children[index].module = module
    }

    public func child(_ name: String) -> Module? { children.first { $0.name == name }?.module }

    /// The module at a dotted path ("layer1.0"), or nil.
    public func module(at path: String) -> Module? {
        var current: Module = self
        for part in path.split(separator: ".") {
            guard let next = current.child(String(part)) else { return nil }
            current = next
        }
        return current
    }

    /// Computes the module's output. Subclasses override this.
    /// - Throws: `ShapeError` when a layer on the way cannot take its input.
    open func forward(_ input: Variable) throws -> Variable {
        preconditionFailure("\(type(of: self)) does not implement forward")
    }

    /// The module's output for `input`, after checking that this layer can take it.
    /// - Throws: `ShapeError` naming the first layer that cannot take its input, by its path
    ///   from this module.
    public func callAsFunction(_ input: Variable) throws -> Variable { try observed(input) }

    /// Why this layer cannot take an input of `shape`, or nil when it can. Layers with
    /// shape rules override this; it is checked before every call.
    open func inputProblem(_ shape: [Int]) -> String? { nil }

    /// Training mode (dropout active, batch statistics) for this module and its children.
    public func train(_ on: Bool = true) {
        isTraining = on
        for (_, child) in children { child.train(on) }
    }

    /// Evaluation mode: dropout off, running statistics.
    public func eval() { train(false) }

    /// Every parameter below this module, with its dotted name.
    public func namedParameters(prefix: String = "") -> [(name: String, variable: Variable)] {
        var result = parameters.map { (prefix + $0.name, $0.variable) }
        for (name, child) in children { result += child.namedParameters(prefix: prefix + name + ".") }
        return result
    }

    public func namedBuffers(prefix: String = "") -> [(name: String, buffer: Buffer)] {
        var result = buffers.map { (prefix + $0.name, $0.buffer) }
        for (name, child) in children { result += child.namedBuffers(prefix: prefix + name + ".") }
        return result
    }

    /// Every module below this one (itself first), with its dotted path.
    public func namedModules(prefix: String = "") -> [(name: String, module: Module)] {
        var result: [(String, Module)] = [(prefix, self)]
        for (name, child) in children {
            result += child.namedModules(prefix: prefix.isEmpty ? name : prefix + "." + name)
        }
        return result
    }

    /// Parameters and buffers by key, in PyTorch's state_dict order.
    public func stateEntries(prefix: String = "") -> [(key: String, tensor: Tensor, isInteger: Bool)] {
        var result: [(String, Tensor, Bool)] = parameters.map { (prefix + $0.name, $0.variable.value, false) }
        result += buffers.map { (prefix + $0.name, $0.buffer.value, $0.buffer.isInteger) }
        for (name, child) in children { result += child.stateEntries(prefix: prefix + name + ".") }
        return result
    }

    /// The number of parameter elements (trainable or frozen).
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.variable.value.count } }

    /// Frozen parameters receive no gradient and no optimizer update.
    public func freeze() { for (_, p) in namedParameters() { p.requiresGrad = false } }
    public func unfreeze() { for (_, p) in namedParameters() { p.requiresGrad = true } }
}
