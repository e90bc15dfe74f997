import Foundation
import ZooTensor

/// Weight initialisers, with PyTorch's definitions of fan and gain.
public enum Init {
    public enum FanMode { case fanIn, fanOut }

    /// (fan_in, fan_out) of a weight [out, in, k…]: in·Πk and out·Πk.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fan of a weight needs at least 2 dimensions, got \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// The gain of a nonlinearity: √2 for ReLU, √(2 / (1 + a²)) for leaky ReLU of slope a.
    public static func gain(leakySlope a: Float = 0) -> Float { (2 / (1 + a * a)).squareRoot() }

    /// He et al. 2015: N(0, gain² / fan).
    public static func kaimingNormal(_ shape: [Int], mode: FanMode = .fanIn, leakySlope: Float = 0,
                                     using rng: inout Xoshiro256) -> Tensor {
        let fan = Float(mode == .fanIn ? fans(shape).fanIn : fans(shape).fanOut)
        return .randomNormal(shape, std: gain(leakySlope: leakySlope) / fan.squareRoot(), using: &rng)
    }

    /// He et al. 2015: U(−b, b) with b = gain · √(3 / fan).
    public static func kaimingUniform(_ shape: [Int], mode: FanMode = .fanIn, leakySlope: Float = 0,
                                      using rng: inout Xoshiro256) -> Tensor {
        let fan = Float(mode == .fanIn ? fans(shape).fanIn : fans(shape).fanOut)
        let bound = gain(leakySlope: leakySlope) * (3 / fan).squareRoot()
        return .randomUniform(shape, low: -bound, high: bound, using: &rng)
    }

    /// Glorot & Bengio 2010: U(−b, b) with b = gain · √(6 / (fan_in + fan_out)).
    public static func xavierUniform(_ shape: [Int], gain: Float = 1, using rng: inout Xoshiro256) -> Tensor {
        let (fanIn, fanOut) = fans(shape)
        let bound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
        return .randomUniform(shape, low: -bound, high: bound, using: &rng)
    }

    /// Glorot & Bengio 2010: N(0, gain² · 2 / (fan_in + fan_out)).
    public static func xavierNormal(_ shape: [Int], gain: Float = 1, using rng: inout Xoshiro256) -> Tensor {
        let (fanIn, fanOut) = fans(shape)
        return .randomNormal(shape, std: gain * (2 / Float(fanIn + fanOut)).squareRoot(), using: &rng)
    }

    /// N(0, std²) truncated to ±`bound`·std by redrawing. (PyTorch's `trunc_normal_(a:, b:)`
    /// takes absolute bounds: pass `bound: b / std`.)
    public static func truncatedNormal(_ shape: [Int], std: Float, bound: Float = 2, using rng: inout Xoshiro256) -> Tensor {
        var t = Tensor(zeros: shape)
        if GlobalRandom.shapesOnly { return t }
        for i in 0..<t.count {
            var v: Float
            repeat { v = rng.nextNormal() } while abs(v) > bound
            t.scalars[i] = std * v
        }
        return t
    }

    public static func constant(_ shape: [Int], _ value: Float) -> Tensor { Tensor(zeros: shape, value: value) }

    /// PyTorch's default for Conv and Linear: weight kaiming_uniform(a = √5), i.e.
    /// U(−1/√fan_in, 1/√fan_in), and bias U(−1/√fan_in, 1/√fan_in).
    public static func pytorchDefault(weight shape: [Int], using rng: inout Xoshiro256) -> (weight: Tensor, biasBound: Float) {
        let weight = kaimingUniform(shape, leakySlope: Float(5).squareRoot(), using: &rng)
        return (weight, 1 / Float(fans(shape).fanIn).squareRoot())
    }
}

extension Module {
    /// Re-draws the parameters of this module's convolutions and linear layers with PyTorch's
    /// default initialisation (a fresh classifier head, say).
    public func resetParameters(using rng: inout Xoshiro256) {
        for (_, module) in namedModules() {
            let weight = (module as? Conv2d)?.weight ?? (module as? Linear)?.weight
            let bias = (module as? Conv2d)?.bias ?? (module as? Linear)?.bias
            guard let weight else { continue }
            let (w, bound) = Init.pytorchDefault(weight: weight.shape, using: &rng)
            weight.value = w
            bias?.value = .randomUniform(bias!.shape, low: -bound, high: bound, using: &rng)
        }
    }

    public func resetParameters() { resetParameters(using: &GlobalRandom.generator) }
}
