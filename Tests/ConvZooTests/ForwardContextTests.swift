import ConvZoo
import Foundation
import XCTest

/// What a forward pass needs to know is the calling thread's, not the process's: two models
/// run on two threads at once as each runs alone, and an input a layer cannot take is an error
/// the caller catches.
final class ForwardContextTests: XCTestCase {
    /// A random batch for `model`.
    func batch(_ model: ZooModel, images: Int, seed: UInt64) -> Tensor {
        var rng = Xoshiro256(seed: seed)
        return Tensor.randomNormal([images] + model.input, using: &rng)
    }

    /// Everything one model computes for `x`: planned, eager in eval, eager with gradients, summary MACs.
    static func outputs(_ model: ZooModel, _ x: Tensor) throws -> [[Float]] {
        let planned = try model.forward(x).scalars
        let eager = try GradMode.withoutGrad { try model.module(Variable(x)) }.value.scalars
        let recorded = try model.module(Variable(x))
        XCTAssertTrue(recorded.requiresGrad, "grad mode is on in this thread while the other thread runs without it")
        let macs = try model.module.summary(input: model.input).macs
        return [planned, eager, recorded.value.scalars, [Float(macs)]]
    }

    /// Two different models, each run on its own thread at the same time (inference plans,
    /// eager passes with grad mode on and off, a layer summary), give exactly the outputs each
    /// gives on one thread alone.
    func testTwoModelsOnTwoThreadsMatchTheirSingleThreadedOutputs() throws {
        GlobalRandom.seed(7)
        let models = [try Zoo.load("resnet20", input: [3, 32, 32]), try Zoo.load("mobilenet_v2", classes: 10, input: [3, 64, 64])]
        let inputs = models.enumerated().map { batch($1, images: 3, seed: UInt64($0)) }

        let alone = try (0..<2).map { try Self.outputs(models[$0], inputs[$0]) }

        let together = ThreadResults(count: 2)
        let threads = (0..<2).map { index in
            Thread {
                together.set(index, Result { try (0..<3).map { _ in try Self.outputs(models[index], inputs[index]) } })
                together.done.signal()
            }
        }
        threads.forEach { $0.start() }
        for _ in threads { together.done.wait() }

        for index in 0..<2 {
            for (run, result) in try XCTUnwrap(together.results[index]).get().enumerated() {
                XCTAssertEqual(result, alone[index], "\(models[index].name), run \(run) on a thread of its own")
            }
        }
        // Negative control: the two models' outputs are not the same numbers.
        XCTAssertNotEqual(alone[0][0].prefix(10), alone[1][0].prefix(10))
    }

    /// A CIFAR ResNet handed a batch of the wrong size throws from `ZooModel.forward`, and its
    /// module handed one channel where it takes three throws `ShapeError` naming the layer.
    func testAWronglyShapedInputToACIFARResNetThrows() throws {
        let model = try Zoo.load("resnet20", input: [3, 32, 32])
        XCTAssertThrowsError(try model.forward(Tensor(zeros: [2, 1, 32, 32]))) { error in
            XCTAssertTrue("\(error)".contains("[N, 3, 32, 32]"), "\(error)")
        }
        XCTAssertThrowsError(try model.module(Variable(Tensor(zeros: [2, 1, 32, 32])))) { error in
            XCTAssertEqual((error as? ShapeError)?.path, "conv1", "\(error)")
            XCTAssertTrue("\(error)".contains("expects 3 channels, not 1"), "\(error)")
        }
        // The same model takes the right shape afterwards: nothing was left half-set.
        XCTAssertEqual(try model.forward(Tensor(zeros: [2, 3, 32, 32])).shape, [2, 10])
    }

    /// NASNet-A Mobile's cells cannot line up their inputs at 35×35: from `ZooModel.forward`
    /// of a wrong batch and from the module itself, a thrown error, not a crash.
    func testAWronglyShapedInputToNASNetThrows() throws {
        let model = try Zoo.load("nasnetamobile", classes: 4, input: [3, 64, 64])
        XCTAssertThrowsError(try model.forward(Tensor(zeros: [1, 3, 35, 35]))) { error in
            XCTAssertTrue("\(error)".contains("[N, 3, 64, 64]"), "\(error)")
        }
        for recording in [false, true] {
            let run = { try model.module(Variable(Tensor(zeros: [1, 3, 35, 35]))) }
            XCTAssertThrowsError(try (recording ? GradMode.withGrad(run) : GradMode.withoutGrad(run))) { error in
                XCTAssertEqual((error as? ShapeError)?.path, "cell_0", "\(error)")
                XCTAssertTrue("\(error)".contains("4×4 and 5×5"), "\(error)")
            }
        }
        XCTAssertEqual(try model.forward(Tensor(zeros: [1, 3, 64, 64])).shape, [1, 4])
    }
}

/// What several threads computed, each in its own slot.
final class ThreadResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var results: [Result<[[[Float]]], Error>?]
    let done = DispatchSemaphore(value: 0)

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<[[[Float]]], Error>) {
        lock.lock()
        defer { lock.unlock() }
        results[index] = result
    }
}
