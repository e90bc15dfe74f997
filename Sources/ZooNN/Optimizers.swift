import Foundation
import ZooTensor

/// Updates parameters from their gradients. Frozen parameters (requiresGrad false) and
/// parameters without a gradient are skipped, as in PyTorch.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    var parameters: [Variable] { get }
    func step()
    /// The optimizer's state (momentum buffers, moments, step counts) by name, for checkpoints.
    func stateTensors() -> [(name: String, tensor: Tensor)]
    /// Restores state written by `stateTensors`; entries absent from `state` start fresh.
    /// Throws if an entry does not fit its parameter (another model's or a damaged checkpoint).
    func loadState(_ state: [String: Tensor]) throws
}

extension Optimizer {
    /// `state[name]` if present, checked to have parameter `index`'s shape and finite values.
    func stateTensor(_ state: [String: Tensor], _ name: String, for index: Int) throws -> Tensor? {
        guard let tensor = state[name] else { return nil }
        guard tensor.shape == parameters[index].shape else {
            throw ZooError("optimizer state '\(name)' has shape \(tensor.shape), but parameter \(index) has shape \(parameters[index].shape)")
        }
        guard tensor.scalars.allSatisfy({ $0.isFinite }) else { throw ZooError("optimizer state '\(name)' holds a NaN or infinite value") }
        return tensor
    }
}

extension Optimizer {
    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { (p.grad, p.exactGradient) = (nil, nil) } }

    /// Calls update(index, p, g) for each parameter that has a gradient and is trainable.
    func forEachTrainable(_ update: (Int, Variable, Tensor) -> Void) {
        for (index, p) in parameters.enumerated() where p.requiresGrad {
            guard let grad = p.grad else { continue }
            precondition(grad.shape == p.shape, "gradient \(grad.shape) for parameter \(p.shape)")
            update(index, p, grad)
        }
    }
}

/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight
/// decay, with PyTorch's update: d = g + λp; b = μb + (1 − τ)d (b = d at first);
/// d = d + μb (Nesterov) or b; p −= η·d.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    public let parameters: [Variable]
    public private(set) var momentumBuffers: [Tensor?]

    public init(_ parameters: [Variable], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum needs momentum > 0 and no dampening")
        self.parameters = parameters
        self.learningRate = learningRate
        (self.momentum, self.dampening, self.weightDecay, self.nesterov) = (momentum, dampening, weightDecay, nesterov)
        momentumBuffers = Array(repeating: nil, count: parameters.count)
    }

    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        momentumBuffers.enumerated().compactMap { index, buffer in buffer.map { ("momentum.\(index)", $0) } }
    }

    public func loadState(_ state: [String: Tensor]) throws {
        var buffers = momentumBuffers
        for index in parameters.indices { buffers[index] = try stateTensor(state, "momentum.\(index)", for: index) }
        momentumBuffers = buffers
    }

    public func step() {
        let (lr, mu, tau, wd) = (learningRate, momentum, dampening, weightDecay)
        forEachTrainable { index, p, g in
            var d = g
            if wd != 0 { d = d.zipMap(p.value) { $0 + wd * $1 } }
            if mu != 0 {
                if var buffer = momentumBuffers[index] {
                    momentumBuffers[index] = nil
                    buffer = buffer.zipMap(d) { mu * $0 + (1 - tau) * $1 }
                    momentumBuffers[index] = buffer
                } else {
                    momentumBuffers[index] = d
                }
                let buffer = momentumBuffers[index]!
                d = nesterov ? d.zipMap(buffer) { $0 + mu * $1 } : buffer
            }
            p.value = p.value.zipMap(d) { $0 - lr * $1 }
        }
    }
}

/// Adam (Kingma & Ba 2015) with PyTorch's update, and with `decoupledWeightDecay` AdamW
/// (Loshchilov & Hutter 2019): p ← p·(1 − ηλ) before the Adam step instead of g ← g + λp.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float, decoupledWeightDecay: Bool
    public let parameters: [Variable]
    public private(set) var steps: [Int]
    public private(set) var firstMoments: [Tensor?], secondMoments: [Tensor?]

    public init(_ parameters: [Variable], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                eps: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        (beta1, beta2) = betas
        (self.eps, self.weightDecay, self.decoupledWeightDecay) = (eps, weightDecay, decoupledWeightDecay)
        steps = Array(repeating: 0, count: parameters.count)
        firstMoments = Array(repeating: nil, count: parameters.count)
        secondMoments = Array(repeating: nil, count: parameters.count)
    }

    /// AdamW with PyTorch's default weight decay 0.01.
    public static func adamW(_ parameters: [Variable], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                             eps: Float = 1e-8, weightDecay: Float = 1e-2) -> Adam {
        Adam(parameters, learningRate: learningRate, betas: betas, eps: eps, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        parameters.indices.flatMap { index -> [(name: String, tensor: Tensor)] in
            guard let m = firstMoments[index], let v = secondMoments[index] else { return [] }
            return [("exp_avg.\(index)", m), ("exp_avg_sq.\(index)", v), ("step.\(index)", Tensor(Float(steps[index])))]
        }
    }

    public func loadState(_ state: [String: Tensor]) throws {
        var (first, second, counts) = (firstMoments, secondMoments, steps)
        for index in parameters.indices {
            first[index] = try stateTensor(state, "exp_avg.\(index)", for: index)
            second[index] = try stateTensor(state, "exp_avg_sq.\(index)", for: index)
            guard (first[index] == nil) == (second[index] == nil) else {
                throw ZooError("optimizer state for parameter \(index) has only one of exp_avg and exp_avg_sq")
            }
            if let v = second[index], v.scalars.contains(where: { $0 < 0 }) {
                throw ZooError("optimizer state 'exp_avg_sq.\(index)' has a negative value")
            }
            guard let step = state["step.\(index)"] else { counts[index] = 0; continue }
            guard step.scalars.count == 1, let value = step.scalars.first, value.isFinite, value >= 0, value < 1e9, value == value.rounded() else {
                throw ZooError("optimizer state 'step.\(index)' is not a step count")
            }
            counts[index] = Int(value)
        }
        (firstMoments, secondMoments, steps) = (first, second, counts)
    }

    public func step() {
        let (lr, b1, b2, eps, wd) = (learningRate, beta1, beta2, eps, weightDecay)
        forEachTrainable { index, p, gradient in
            var g = gradient
            if decoupledWeightDecay {
                if wd != 0 { p.value = p.value.map { $0 * (1 - lr * wd) } }
            } else if wd != 0 {
                g = g.zipMap(p.value) { $0 + wd * $1 }
            }
            steps[index] += 1
            let m = (firstMoments[index] ?? Tensor(zeros: p.shape)).zipMap(g) { b1 * $0 + (1 - b1) * $1 }
            let v = (secondMoments[index] ?? Tensor(zeros: p.shape)).zipMap(g) { b2 * $0 + (1 - b2) * $1 * $1 }
            firstMoments[index] = m
            secondMoments[index] = v
            let t = Float(steps[index])
            let correction1 = 1 - powf(b1, t)
            let correction2Root = (1 - powf(b2, t)).squareRoot()
            let stepSize = lr / correction1
            var updated = p.value
            for i in 0..<updated.count {
                let denominator = v.scalars[i].squareRoot() / correction2Root + eps
                updated.scalars[i] -= stepSize * m.scalars[i] / denominator
            }
            p.value = updated
        }
    }
}
