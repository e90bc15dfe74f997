import XCTest
import ResNet
import ZooNN
@_spi(Testing) @_spi(Engine) import ZooTensor
import ZooTestSupport

/// Inference fusion (BatchNorm folded into the convolution, the residual join and ReLU in
/// its output pass, oneDNN's kept weights) against the same blocks run unfused.
final class InferenceFusionTests: XCTestCase {
    /// Non-trivial batch-norm statistics and affine parameters, so the folding has work to do.
    func randomise(_ block: Module, _ rng: inout Xoshiro256) throws {
        randomiseBatchNorms(block, gamma: (1, 0.3), spread: 0.3, varianceFloor: 0.5, &rng)
    }

    func unfused(_ block: Module, _ x: Tensor) throws -> Tensor {
        // Recording gradients turns fusion off; the input needs no gradient.
        try block(Variable(x)).value
    }

    func check(_ block: Module, input shape: [Int], _ label: String) throws {
        var rng = Xoshiro256(seed: 5)
        heInitialise(block)
        try randomise(block, &rng)
        block.eval()
        let x = Tensor.randomNormal(shape, using: &rng)
        let expected = try unfused(block, x)
        // Every convolution may go to oneDNN, however small.
        try ForwardContext.withConvolutionPaths({ $0.oneDNNMinimumMACs = 0 }) {
            for path in ["oneDNN", "im2col", "oneDNN again"] {
                let fused = try ForwardContext.withConvolutionPaths({ $0.oneDNN = path != "im2col" }) {
                    try GradMode.withoutGrad { try block(Variable(x)).value }
                }
                XCTAssertNil(closeness(fused, expected, "\(label), \(path)"))
            }
            // New statistics: the folded weights (and oneDNN's kept copy of them) must follow.
            try randomise(block, &rng)
            let changed = try unfused(block, x)
            XCTAssertGreaterThan(try maxDifference(changed, expected), 1e-2, "\(label): the new statistics changed nothing")
            XCTAssertNil(closeness(try GradMode.withoutGrad { try block(Variable(x)).value }, changed, "\(label), after new statistics"))
        }
    }

    func maxDifference(_ a: Tensor, _ b: Tensor) throws -> Float {
        zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
    }


    /// The basic block's join follows a 3×3 convolution (oneDNN adds the skip in its pass).
    func testBasicBlockFusesTheJoin() throws {
        try check(basicBlock(8, 16, stride: 2), input: [2, 8, 10, 10], "basic block with projection")
        try check(basicBlock(16, 16), input: [2, 16, 6, 6], "basic block, identity skip")
    }

    /// The bottleneck's join follows a 1×1 convolution (the sum is a separate pass).
    func testBottleneckFusesTheJoin() throws {
        try check(bottleneck(16, width: 8, stride: 2), input: [2, 16, 9, 9], "bottleneck with projection")
        try check(bottleneck(32, width: 8), input: [1, 32, 5, 5], "bottleneck, identity skip")
    }
}
