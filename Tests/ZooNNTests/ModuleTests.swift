import XCTest
import ZooNN
import ZooTensor

final class ModuleTests: XCTestCase {
    /// A torchvision-style BasicBlock built from the shared containers.
    func basicBlock(_ inChannels: Int, _ outChannels: Int, stride: Int) -> Residual {
        let shortcut = stride == 1 && inChannels == outChannels ? nil : Sequential([
            Conv2d(inChannels, outChannels, kernel: 1, stride: stride, bias: false), BatchNorm(outChannels),
        ])
        return Residual(body: [
            ("conv1", Conv2d(inChannels, outChannels, kernel: 3, stride: stride, padding: 1, bias: false)),
            ("bn1", BatchNorm(outChannels)), ("relu", ReLU()),
            ("conv2", Conv2d(outChannels, outChannels, kernel: 3, padding: 1, bias: false)),
            ("bn2", BatchNorm(outChannels)),
        ], shortcut: shortcut, after: ReLU())
    }

    func testNamesFollowPyTorchStateDictKeys() throws {
        let net = Sequential(named: [("layer1", Sequential([basicBlock(4, 8, stride: 2), basicBlock(8, 8, stride: 1)]))])
        let keys = net.stateEntries().map(\.key)
        XCTAssertEqual(Array(keys.prefix(8)), [
            "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.0.bn1.running_mean",
            "layer1.0.bn1.running_var", "layer1.0.bn1.num_batches_tracked", "layer1.0.conv2.weight", "layer1.0.bn2.weight",
        ])
        XCTAssertTrue(keys.contains("layer1.0.downsample.0.weight"))
        XCTAssertTrue(keys.contains("layer1.0.downsample.1.running_var"))
        XCTAssertFalse(keys.contains { $0.hasPrefix("layer1.1.downsample") })
        XCTAssertEqual(net.namedParameters().count, 6 + 3 + 6)
        XCTAssertEqual(net.parameterCount, (4 * 8 * 9 + 16 + 8 * 8 * 9 + 16 + 4 * 8 + 16) + 2 * (8 * 8 * 9 + 16))
        XCTAssertNotNil(net.module(at: "layer1.0.downsample.1") as? BatchNorm)
    }

    func testResidualBlockForwardAndTrainEvalModes() throws {
        GlobalRandom.seed(1)
        let block = basicBlock(3, 3, stride: 1)
        let x = Variable(Tensor.randomNormal([2, 3, 5, 5], using: &GlobalRandom.generator))
        let bn = block.child("bn1") as! BatchNorm
        _ = try block(x)
        XCTAssertEqual(bn.batchesTracked.value.scalar, 1)
        XCTAssertNotEqual(bn.runningMean.value.scalars, [0, 0, 0])
        block.eval()
        XCTAssertFalse(bn.isTraining)
        let before = bn.runningMean.value
        let a = try block(x).value, b = try block(x).value
        XCTAssertEqual(a, b, "eval mode is deterministic")
        XCTAssertEqual(bn.runningMean.value, before, "eval mode leaves running statistics alone")
    }

    func testConcatJoinsBranchesOnChannels() throws {
        let block = Concat([("branch1", Conv2d(3, 2, kernel: 1)), ("branch2", Conv2d(3, 5, kernel: 3, padding: 1))])
        let y = try block(Variable(Tensor(zeros: [1, 3, 4, 4])))
        XCTAssertEqual(y.shape, [1, 7, 4, 4])
        XCTAssertEqual(block.stateEntries().map(\.key), ["branch1.weight", "branch1.bias", "branch2.weight", "branch2.bias"])
    }

    func testFreezeStopsGradients() throws {
        let net = Sequential([Linear(3, 4), ReLU(), Linear(4, 2)])
        net.child("0")!.freeze()
        let loss = crossEntropy(try net(Variable(Tensor(shape: [1, 3], scalars: [1, 2, 3]))), targets: [1])
        loss.backward()
        XCTAssertNil((net.child("0") as! Linear).weight.grad)
        XCTAssertNotNil((net.child("2") as! Linear).weight.grad)
    }

    func testSeedRepeatsInitialisationAndDropout() {
        func run() throws -> Tensor {
            GlobalRandom.seed(42)
            let net = Sequential([Conv2d(1, 4, kernel: 3), Dropout(0.5, channels: true), Flatten(), Linear(4 * 4 * 4, 3), Dropout(0.3)])
            return try net(Variable(Tensor(zeros: [2, 1, 6, 6], value: 1))).value
        }
        XCTAssertEqual(try run(), try run())
        GlobalRandom.seed(43)
        let other = Sequential([Conv2d(1, 4, kernel: 3)])
        GlobalRandom.seed(42)
        XCTAssertNotEqual(other.stateEntries()[0].tensor, Sequential([Conv2d(1, 4, kernel: 3)]).stateEntries()[0].tensor)
    }

    func testInitialisersHaveTheirVariance() {
        var rng = Xoshiro256(seed: 5)
        let shape = [256, 128, 3, 3]
        let normal = Init.kaimingNormal(shape, mode: .fanOut, using: &rng)
        let variance = normal.scalars.reduce(0) { $0 + $1 * $1 } / Float(normal.count)
        XCTAssertEqual(variance, 2 / Float(256 * 9), accuracy: 2 / Float(256 * 9) * 0.02)
        let xavier = Init.xavierUniform([300, 200], using: &rng)
        XCTAssertEqual(xavier.scalars.max()!, (6 / Float(500)).squareRoot(), accuracy: 1e-3)
        XCTAssertLessThanOrEqual(xavier.scalars.max()!, (6 / Float(500)).squareRoot())
        let conv = Conv2d(16, 8, kernel: 3)
        XCTAssertLessThanOrEqual(conv.weight.value.maxAbs, 1 / Float(16 * 9).squareRoot())
        XCTAssertGreaterThan(conv.weight.value.maxAbs, 0.9 / Float(16 * 9).squareRoot())
    }
}
