import Foundation

/// Mean cross-entropy of logits [N, C] against class indices, as PyTorch's
/// `cross_entropy(..., label_smoothing: ε)`: the target distribution puts 1 − ε + ε/C on the
/// labelled class and ε/C on every other class.
public func crossEntropy(_ logits: Variable, targets: [Int], labelSmoothing: Float = 0) -> Variable {
    precondition(logits.value.rank == 2, "cross-entropy expects logits [N, C], got shape \(logits.shape)")
    let (n, c) = (logits.shape[0], logits.shape[1])
    precondition(targets.count == n, "cross-entropy got \(targets.count) targets for \(n) rows of logits")
    precondition(targets.allSatisfy { $0 >= 0 && $0 < c }, "cross-entropy target outside 0..<\(c)")
    precondition(labelSmoothing >= 0 && labelSmoothing <= 1, "label smoothing must lie in [0, 1], got \(labelSmoothing)")
    let logProbabilities = softmaxValues(logits.value, n, c, 1, log: true)
    let off = labelSmoothing / Float(c), on = 1 - labelSmoothing + off
    var loss: Float = 0
    for row in 0..<n {
        for k in 0..<c { loss -= (k == targets[row] ? on : off) * logProbabilities.scalars[row * c + k] }
    }
    loss /= Float(n)
    return Variable.record(Tensor(loss), [logits]) { dy in
        // d/dlogits = (softmax − target distribution) / N
        let g = dy.scalar / Float(n)
        return [Tensor(uninitialized: [n, c]) { out in
            for row in 0..<n {
                for k in 0..<c {
                    let i = row * c + k
                    out[i] = g * (expf(logProbabilities.scalars[i]) - (k == targets[row] ? on : off))
                }
            }
        }]
    }
}

/// Mean squared error between two tensors of one shape.
public func meanSquaredError(_ input: Variable, _ target: Variable) -> Variable {
    precondition(input.shape == target.shape, "mean squared error of shapes \(input.shape) and \(target.shape)")
    let difference = input.value - target.value
    let count = Float(max(difference.count, 1))
    let loss = difference.scalars.reduce(0) { $0 + $1 * $1 } / count
    return Variable.record(Tensor(loss), [input, target]) { dy in
        let g = difference * (2 * dy.scalar / count)
        return [g, target.requiresGrad ? g * -1 : nil]
    }
}
