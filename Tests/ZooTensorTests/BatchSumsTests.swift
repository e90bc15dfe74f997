import Foundation
import XCTest
@_spi(Kernels) import ZooTensor

/// A share of a batch, as a data-parallel process computes it, gives bit for bit the whole batch's
/// outputs and input gradients, and parameter gradients whose double sums add up to the whole
/// batch's (`BatchSums`). The shares run on one thread, as each of two processes on two cores
/// does, and the whole batch on one and on two. (Synchronised batch norm: SyncBatchNormTests.)
final class BatchSumsTests: XCTestCase {
    var threads = 0

    override func setUp() { threads = Threads.count }
    override func tearDown() { Threads.count = threads }

    /// Rows [from, to) of an [N, …] tensor.
    func rows(_ t: Tensor, _ from: Int, _ to: Int) -> Tensor {
        let size = t.count / t.shape[0]
        return Tensor(shape: [to - from] + t.shape.dropFirst(), scalars: Array(t.scalars[from * size ..< to * size]))
    }

    struct Pass { var y: [Float], dx: [Float], sums: [[Double]] }

    /// Forward and backward of `op` on x with output gradient dy; the parameters' exact sums.
    func pass(_ x: Tensor, _ dy: (Tensor) -> Tensor, parameters: [Tensor], _ op: (Variable, [Variable]) -> Variable) -> Pass {
        let input = Variable(x, requiresGrad: true)
        let params = parameters.map { Variable($0, requiresGrad: true) }
        for p in params { p.keepsExactGradient = true }
        let y = op(input, params)
        y.backward(dy(y.value))
        return Pass(y: y.value.scalars, dx: input.grad!.scalars, sums: params.map { $0.exactGradient! })
    }

    /// The whole batch against shares [0, cut) and [cut, N).
    /// How many values of the whole batch's outputs, input gradients and rounded parameter sums
    /// differ from the shares'.
    func checkShares(_ name: String, input: [Int], cut: Int, parameters: [Tensor], seed: UInt64 = 3,
                     _ op: @escaping (Variable, [Variable]) -> Variable, file: StaticString = #filePath, line: UInt = #line) {
        for threads in [1, 2] {
            let differing = sharesDiffer(input: input, cut: cut, parameters: parameters, seed: seed, wholeThreads: threads, op)
            XCTAssertEqual(differing, [0, 0] + parameters.map { _ in 0 }, "\(name), the whole batch on \(threads) threads: "
                           + "outputs, input gradients, then each parameter's gradients", file: file, line: line)
        }
    }

    func sharesDiffer(input: [Int], cut: Int, parameters: [Tensor], seed: UInt64, wholeThreads: Int,
                      _ op: @escaping (Variable, [Variable]) -> Variable) -> [Int] {
        var rng = Xoshiro256(seed: seed)
        let x = Tensor.randomNormal(input, using: &rng)
        // dy is a fixed function of the output's position, so that shares get their rows of it.
        var dyRNG = Xoshiro256(seed: seed + 1)
        var wholeDy: Tensor?
        Threads.count = wholeThreads
        let whole = pass(x, { y in
            let t = Tensor.randomNormal(y.shape, using: &dyRNG); wholeDy = t; return t
        }, parameters: parameters, op)
        Threads.count = 1
        let n = input[0]
        let shares = [(0, cut), (cut, n)].map { part in
            pass(rows(x, part.0, part.1), { _ in self.rows(wholeDy!, part.0, part.1) }, parameters: parameters, op)
        }
        func differing(_ a: [Float], _ b: [Float]) -> Int { zip(a, b).filter { $0 != $1 }.count }
        return [differing(shares[0].y + shares[1].y, whole.y), differing(shares[0].dx + shares[1].dx, whole.dx)]
            + whole.sums.indices.map { k in
                differing(zip(shares[0].sums[k], shares[1].sums[k]).map { Float($0 + $1) }, whole.sums[k].map(Float.init))
            }
    }

    func testConvolutionsAndLinearLayers() {
        var rng = Xoshiro256(seed: 9)
        // ResNet-20's first convolution on Fashion-MNIST (ConvZoo's own kernels: 113 k MACs per image).
        checkShares("conv 1→16 3×3", input: [32, 1, 28, 28], cut: 16,
                    parameters: [Tensor.randomNormal([16, 1, 3, 3], using: &rng), Tensor.randomNormal([16], using: &rng)]) { x, p in
            conv2d(x, weight: p[0], bias: p[1], padding: (1, 1))
        }
        // A stride-2 stage entry (oneDNN where it is installed: 903 k MACs per image).
        checkShares("conv 16→32 3×3/2", input: [32, 16, 28, 28], cut: 16,
                    parameters: [Tensor.randomNormal([32, 16, 3, 3], using: &rng)]) { x, p in
            conv2d(x, weight: p[0], stride: (2, 2), padding: (1, 1))
        }
        checkShares("linear 400→120", input: [32, 400], cut: 16,
                    parameters: [Tensor.randomNormal([120, 400], using: &rng), Tensor.randomNormal([120], using: &rng)]) { x, p in
            linear(x, weight: p[0], bias: p[1])
        }
        // Wider than one block of columns.
        checkShares("linear 300→600", input: [24, 300], cut: 16, parameters: [Tensor.randomNormal([600, 300], using: &rng)]) { x, p in
            linear(x, weight: p[0])
        }
    }

    /// Negative control: shares that are not whole groups (12 + 20 images in groups of 16) sum
    /// the weight gradients in other pieces, and the rounded sums differ.
    func testSharesOfPartGroupsDiffer() {
        var rng = Xoshiro256(seed: 4)
        let weight = Tensor.randomNormal([32, 16, 3, 3], using: &rng)
        let differing = sharesDiffer(input: [32, 16, 28, 28], cut: 12, parameters: [weight], seed: 3, wholeThreads: 1) { x, p in
            conv2d(x, weight: p[0], stride: (2, 2), padding: (1, 1))
        }
        XCTAssertEqual(differing[0], 0, "each image's output does not depend on the groups")
        XCTAssertGreaterThan(differing[2], 0, "weight gradients summed in other pieces")
    }

    /// Dropout on a share draws the whole batch's masks for its images and leaves the generator
    /// where the whole batch does; without the share's place it draws the first images' masks.
    func testDropoutOnASharesDrawsTheWholeBatchsMasks() {
        var rng = Xoshiro256(seed: 11)
        let x = Tensor.randomNormal([12, 3, 4, 4], using: &rng)
        func run(_ rows: (Int, Int), share: (first: Int, global: Int)?, channels: Bool) -> ([Float], UInt64) {
            var generator = Xoshiro256(seed: 5)
            let input = Variable(self.rows(x, rows.0, rows.1))
            let y = BatchShare.with(share) {
                channels ? channelDropout(input, probability: 0.5, training: true, using: &generator)
                         : dropout(input, probability: 0.5, training: true, using: &generator)
            }
            return (y.value.scalars, generator.next())
        }
        for channels in [false, true] {
            let whole = run((0, 12), share: nil, channels: channels)
            let first = run((0, 5), share: (0, 12), channels: channels), second = run((5, 12), share: (5, 12), channels: channels)
            XCTAssertEqual(first.0 + second.0, whole.0, "channels: \(channels)")
            XCTAssertEqual([first.1, second.1], [whole.1, whole.1], "the generator ends where the whole batch leaves it")
            let alone = run((5, 12), share: nil, channels: channels)
            XCTAssertNotEqual(alone.0, second.0, "negative control: a share that does not say where it sits")
        }
    }
}
