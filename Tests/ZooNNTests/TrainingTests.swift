import XCTest
import ZooNN
import ZooTensor

/// A small CNN must be able to memorise a small fixed data set: every piece of the
/// forward and backward path has to be right for that to happen in 200 steps.
final class TrainingTests: XCTestCase {
    func testSmallCNNReachesFullTrainingAccuracyOn64Samples() throws {
        GlobalRandom.seed(2024)
        var data = Xoshiro256(seed: 11)
        let images = Tensor.randomNormal([64, 1, 12, 12], using: &data)
        let labels = (0..<64).map { _ in Int(data.next() % 4) }
        let net = Sequential([
            Conv2d(1, 8, kernel: 3, padding: 1), BatchNorm(8), ReLU(), MaxPool2d(2),
            Conv2d(8, 16, kernel: 3, padding: 1), BatchNorm(16), ReLU(), MaxPool2d(2),
            Flatten(), Linear(16 * 3 * 3, 4),
        ])
        let optimizer = Adam(net.namedParameters().map(\.variable), learningRate: 0.01)
        var accuracy: Float = 0
        var steps = 0
        while steps < 200 && accuracy < 1 {
            net.train()
            optimizer.zeroGrad()
            let loss = crossEntropy(try net(Variable(images)), targets: labels)
            XCTAssert(loss.value.scalar.isFinite)
            loss.backward()
            optimizer.step()
            steps += 1
            net.eval()
            let logits = try GradMode.withoutGrad { try net(Variable(images)) }.value
            let predictions = (0..<64).map { row in (0..<4).max { logits.scalars[row * 4 + $0] < logits.scalars[row * 4 + $1] }! }
            accuracy = Float(zip(predictions, labels).filter { $0 == $1 }.count) / 64
        }
        XCTAssertEqual(accuracy, 1, "training accuracy after \(steps) steps")
        print("small CNN: 100% training accuracy after \(steps) steps")
    }
}
