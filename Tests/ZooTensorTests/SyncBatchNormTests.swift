import XCTest
@_spi(Kernels) import ZooTensor

/// Synchronised batch norm computes, on each process's share of a batch, what batch norm
/// computes on the whole batch, bit for bit (the weight and bias gradients as double sums that
/// add up to the whole batch's, see `BatchSums`). Two "processes" are simulated in one: each call of the
/// cross-replica sum adds the other share's value of the same call from the previous round,
/// so after as many rounds as there are calls both shares see the whole batch's sums.
final class SyncBatchNormTests: XCTestCase {
    struct Result { var y: Tensor, dx: Tensor, dgamma: [Double], dbeta: [Double], mean: Tensor, variance: Tensor }

    func run(_ x: Tensor, _ dy: Tensor, gamma: Tensor, beta: Tensor, sum: ((inout [Double]) -> Void)?) -> Result {
        let input = Variable(x, requiresGrad: true)
        let (weight, bias) = (Variable(gamma, requiresGrad: true), Variable(beta, requiresGrad: true))
        (weight.keepsExactGradient, bias.keepsExactGradient) = (true, true)
        var mean = Tensor(zeros: [gamma.count]), variance = Tensor(zeros: [gamma.count], value: 1)
        let y = batchNorm(input, weight: weight, bias: bias, runningMean: &mean, runningVar: &variance, training: true, crossReplicaSum: sum)
        y.backward(dy)
        return Result(y: y.value, dx: input.grad!, dgamma: weight.exactGradient!, dbeta: bias.exactGradient!, mean: mean, variance: variance)
    }

    /// Rows [from, to) of an [N, …] tensor.
    func rows(_ t: Tensor, _ from: Int, _ to: Int) -> Tensor {
        let size = t.count / t.shape[0]
        return Tensor(shape: [to - from] + t.shape.dropFirst(), scalars: Array(t.scalars[from * size ..< to * size]))
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max()! }

    func testSharesOfABatchGiveTheWholeBatchsResult() {
        var rng = Xoshiro256(seed: 5)
        let x = Tensor.randomNormal([5, 3, 4, 4], mean: 0.5, std: 2, using: &rng), dy = Tensor.randomNormal([5, 3, 4, 4], using: &rng)
        let gamma = Tensor.randomNormal([3], mean: 1, std: 0.2, using: &rng), beta = Tensor.randomNormal([3], using: &rng)
        let whole = run(x, dy, gamma: gamma, beta: beta, sum: nil)
        // Uneven shares: 2 and 3 images.
        let cut = 2
        var calls: [[[Double]]] = [[], []]
        var results: [Result] = []
        for _ in 0..<4 {
            var next: [[[Double]]] = [[], []]
            results = (0..<2).map { share in
                let part = share == 0 ? (0, cut) : (cut, 5)
                return run(rows(x, part.0, part.1), rows(dy, part.0, part.1), gamma: gamma, beta: beta) { values in
                    let k = next[share].count
                    next[share].append(values)
                    if k < calls[1 - share].count { values = zip(values, calls[1 - share][k]).map(+) }
                }
            }
            calls = next
        }
        XCTAssertEqual(calls[0].count, 3, "two sums in the forward pass, one in the backward")
        XCTAssertEqual(results[0].y.scalars + results[1].y.scalars, whole.y.scalars)
        XCTAssertEqual(results[0].dx.scalars + results[1].dx.scalars, whole.dx.scalars)
        func rounded(_ a: [Double], _ b: [Double]) -> [Float] { zip(a, b).map { Float($0 + $1) } }
        XCTAssertEqual(rounded(results[0].dgamma, results[1].dgamma), whole.dgamma.map(Float.init))
        XCTAssertEqual(rounded(results[0].dbeta, results[1].dbeta), whole.dbeta.map(Float.init))
        for share in results {
            XCTAssertEqual(share.mean, whole.mean)
            XCTAssertEqual(share.variance, whole.variance, "unbiased with the whole batch's count")
        }
        let bound: Float = 1e-5
        // Negative control: each share on its own statistics is far off.
        let alone = run(rows(x, 0, cut), rows(dy, 0, cut), gamma: gamma, beta: beta, sum: nil)
        XCTAssertGreaterThan(maxDifference(alone.y.scalars, Array(whole.y.scalars.prefix(alone.y.count))), 100 * bound)
        XCTAssertGreaterThan(maxDifference(alone.dx.scalars, Array(whole.dx.scalars.prefix(alone.dx.count))), 100 * bound)
    }
}
