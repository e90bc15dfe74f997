/// A node of the autograd graph: a tensor value, and how to send a gradient back to the
/// variables it was computed from.
///
/// Leaves (inputs, parameters) have no backward function; when `requiresGrad` is set
/// their `grad` accumulates across `backward` calls until cleared. A variable used by
/// several operations (a skip connection's input) receives the sum of their gradients.
public final class Variable {
    public var value: Tensor { didSet { version &+= 1 } }
    /// Counts assignments to `value` (in place or whole), so that caches derived from it —
    /// the BatchNorm-folded weights of inference — know when they are stale.
    public private(set) var version = 0
    public var grad: Tensor?
    /// Whether operations also keep this parameter's gradient as the double sums it was rounded
    /// from, in `exactGradient` (data-parallel training sets it; see `BatchSums`).
    public var keepsExactGradient = false
    /// The gradient before rounding to `grad`'s floats, accumulated like `grad` when
    /// `keepsExactGradient`; the consumer clears it. Data-parallel training adds these over the
    /// processes and rounds once, so that N processes round as one does.
    public var exactGradient: [Double]?
    /// Whether gradients flow to this variable. Clearing it on a parameter freezes it.
    public var requiresGrad: Bool
    /// Whether `backward` keeps this variable's gradient in `grad` although it is computed
    /// from others (PyTorch's `retain_grad`): Grad-CAM needs d logit / d activation.
    public var retainsGrad = false
    @usableFromInline let inputs: [Variable]
    @usableFromInline let backwardFunction: ((Tensor) -> [Tensor?])?

    /// A leaf variable.
    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.inputs = []
        self.backwardFunction = nil
    }

    @usableFromInline
    init(value: Tensor, inputs: [Variable], backward: @escaping (Tensor) -> [Tensor?]) {
        self.value = value
        self.requiresGrad = true
        self.inputs = inputs
        self.backwardFunction = backward
    }

    public var shape: [Int] { value.shape }

    /// `sums` rounded to a gradient for this variable; the sums themselves are added to
    /// `exactGradient` when `keepsExactGradient`. For the backward functions of operations.
    public func gradient(fromSums sums: [Double]) -> Tensor {
        keepExact(sums)
        return Tensor(shape: shape, scalars: sums.map(Float.init))
    }

    /// The same for sums over groups of images (`BatchSums.overGroups`).
    @_spi(Kernels) public func gradient(from sums: BatchSums.GroupSums) -> Tensor {
        switch sums {
        case .several(let values): return gradient(fromSums: values)
        case .one(let values):
            if keepsExactGradient { keepExact(values.map(Double.init)) }
            return Tensor(shape: shape, scalars: values)
        }
    }

    private func keepExact(_ sums: [Double]) {
        precondition(sums.count == value.count, "\(sums.count) sums for a gradient of shape \(shape)")
        guard keepsExactGradient else { return }
        if exactGradient == nil { exactGradient = sums } else { for i in sums.indices { exactGradient![i] += sums[i] } }
    }

    /// The result of an operation on `inputs`. The backward function, given the gradient
    /// of the result, returns one gradient per input (nil where an input needs none); it
    /// is kept only when grad mode is on and some input requires a gradient.
    @inlinable
    public static func record(_ value: Tensor, _ inputs: [Variable],
                              backward: @escaping (Tensor) -> [Tensor?]) -> Variable {
        if GradMode.isEnabled && inputs.contains(where: \.requiresGrad) {
            return Variable(value: value, inputs: inputs, backward: backward)
        }
        return Variable(value)
    }

    /// Reverse-mode differentiation from this variable. `seed` is the gradient of the
    /// final objective with respect to this value (ones for a scalar loss). `leafReady` is
    /// called with each leaf (a parameter) as soon as its gradient is complete, while the rest
    /// of the pass goes on: data-parallel training starts sending gradients from there.
    public func backward(_ seed: Tensor? = nil, leafReady: ((Variable) -> Void)? = nil) {
        guard requiresGrad else { return }
        let seed = seed ?? Tensor(zeros: shape, value: 1)
        precondition(seed.shape == shape, "gradient of shape \(seed.shape) for a value of shape \(shape)")

        // Topological order by iterative depth-first search.
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            stack.append((node, true))
            for input in node.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }

        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        for node in order.reversed() {
            guard let gradient = pending.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            if node.retainsGrad && node.backwardFunction != nil {
                if node.grad == nil { node.grad = gradient } else { node.grad!.add(gradient) }
            }
            guard let backwardFunction = node.backwardFunction else {
                if node.grad == nil { node.grad = gradient } else { node.grad!.add(gradient) }
                leafReady?(node)
                continue
            }
            let inputGrads = backwardFunction(gradient)
            precondition(inputGrads.count == node.inputs.count, "backward returned the wrong number of gradients")
            for (input, inputGrad) in zip(node.inputs, inputGrads) where input.requiresGrad {
                guard let inputGrad else { continue }
                precondition(inputGrad.shape == input.shape,
                             "backward gave a gradient of shape \(inputGrad.shape) for an input of shape \(input.shape)")
                let key = ObjectIdentifier(input)
                if pending[key] == nil { pending[key] = inputGrad } else { pending[key]!.add(inputGrad) }
            }
        }
    }
}

