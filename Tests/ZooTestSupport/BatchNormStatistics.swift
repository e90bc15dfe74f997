import ZooNN
import ZooTensor

/// Random batch-norm parameters and statistics for every BatchNorm in `module`: γ ~ N(gamma),
/// β and μ ~ N(0, spread²), σ² = |N(0, 0.2²)| + varianceFloor.
public func randomiseBatchNorms(_ module: Module, gamma: (mean: Float, std: Float), spread: Float, varianceFloor: Float,
                                _ rng: inout Xoshiro256) {
    for (_, module) in module.namedModules() {
        guard let bn = module as? BatchNorm else { continue }
        let c = bn.channels
        bn.weight.value = Tensor.randomNormal([c], mean: gamma.mean, std: gamma.std, using: &rng)
        bn.bias.value = Tensor.randomNormal([c], std: spread, using: &rng)
        bn.runningMean.value = Tensor.randomNormal([c], std: spread, using: &rng)
        bn.runningVar.value = Tensor.randomNormal([c], std: 0.2, using: &rng).map { abs($0) + varianceFloor }
    }
}
