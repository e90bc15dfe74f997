/// Xoshiro256** (Blackman & Vigna, 2018), seeded through SplitMix64.
///
/// The one random source of ConvZoo: initialisers, dropout masks, shuffling and
/// augmentation all draw from a generator of this type, so a run with a seed repeats
/// exactly. Draws happen on one thread, in program order.
public struct Xoshiro256: RandomNumberGenerator, Equatable, Codable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// Restores a generator from `state` (a checkpoint's RNG state).
    public init(state: [UInt64]) {
        precondition(state.count == 4, "Xoshiro256 state has 4 words, not \(state.count)")
        self.state = (state[0], state[1], state[2], state[3])
    }

    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1), 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Standard normal, by the Box–Muller transform.
    public mutating func nextNormal() -> Float {
        var u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    public static func == (a: Xoshiro256, b: Xoshiro256) -> Bool { a.stateWords == b.stateWords }

    public init(from decoder: Decoder) throws {
        self.init(state: try [UInt64](from: decoder))
    }

    public func encode(to encoder: Encoder) throws { try stateWords.encode(to: encoder) }
}

extension Tensor {
    /// Samples from N(mean, std²), two values per Box–Muller draw.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                                    using rng: inout Xoshiro256) -> Tensor {
        var t = Tensor(zeros: shape)
        if GlobalRandom.shapesOnly { return t }
        t.withUnsafeMutableBufferPointer { out in
            var i = 0
            while i < out.count {
                var u1 = Float(rng.next() >> 40) * (1.0 / 16_777_216.0)
                if u1 < 1e-30 { u1 = 1e-30 }
                let u2 = Float(rng.next() >> 40) * (1.0 / 16_777_216.0)
                let radius = (-2 * logf(u1)).squareRoot(), angle = 2 * Float.pi * u2
                out[i] = mean + std * radius * cosf(angle)
                if i + 1 < out.count { out[i + 1] = mean + std * radius * sinf(angle) }
                i += 2
            }
        }
        return t
    }

    /// Samples from U(low, high).
    public static func randomUniform(_ shape: [Int], low: Float, high: Float,
                                     using rng: inout Xoshiro256) -> Tensor {
        var t = Tensor(zeros: shape)
        if GlobalRandom.shapesOnly { return t }
        t.withUnsafeMutableBufferPointer { out in
            for i in 0..<out.count { out[i] = low + (high - low) * rng.nextUniform() }
        }
        return t
    }
}

import Foundation

@usableFromInline func _log(_ x: Double) -> Double { Foundation.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Foundation.cos(x) }

/// The process-wide generator that initialisers and dropout draw from unless given one,
/// as `torch.manual_seed` sets PyTorch's. `GlobalRandom.seed(42)` makes a run repeat.
public enum GlobalRandom {
    nonisolated(unsafe) public static var generator = Xoshiro256(seed: 0)
    /// While set on this thread, random tensors come out as zeros and draw nothing (see `shapesOnly(_:)`).
    public static var shapesOnly: Bool { ForwardContext.current.shapesOnly }

    public static func seed(_ seed: UInt64) { generator = Xoshiro256(seed: seed) }

    /// Runs `body` with random initialisation skipped: models built inside have zero
    /// weights of the right shapes (for counting parameters or tracing shapes), fast.
    public static func shapesOnly<R>(_ body: () throws -> R) rethrows -> R {
        try ForwardContext.with(\.shapesOnly, true, body)
    }
}
