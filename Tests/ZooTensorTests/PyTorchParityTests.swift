import Foundation
import XCTest
@_spi(Testing) @_spi(Engine) @_spi(Kernels) import ZooTensor
import ZooTestSupport

/// Forward values and gradients against PyTorch, from fixtures written by
/// Tools/make_op_fixtures.py.
final class PyTorchParityTests: XCTestCase {
    func leaf(_ t: Tensor) -> Variable { Variable(t, requiresGrad: true) }

    func testConv2dMatchesPyTorch() throws {
        // The fixtures are small: let oneDNN take them all.
        try ForwardContext.withConvolutionPaths({ $0.oneDNNMinimumMACs = 0 }) {
            try checkConv2dFixtures(path: OneDNN.isAvailable ? "oneDNN" : "im2col")
        }
    }

    /// The same fixtures through ConvZoo's own im2col + sgemm path (taken when oneDNN is missing).
    func testIm2colConv2dMatchesPyTorch() throws {
        try ForwardContext.withConvolutionPaths({ $0.oneDNN = false }) { try checkConv2dFixtures(path: "im2col") }
    }

    /// oneDNN must be the path taken where its library is installed (CI sets
    /// ZOO_REQUIRE_ONEDNN=1), so that a missing package cannot silently slow every convolution.
    func testOneDNNRunsTheConvolutionsWhenInstalled() throws {
        if ProcessInfo.processInfo.environment["ZOO_REQUIRE_ONEDNN"] != "1" && !OneDNN.isAvailable {
            throw XCTSkip("libdnnl.so.2 is not installed; set ZOO_REQUIRE_ONEDNN=1 to make this a failure")
        }
        XCTAssertTrue(OneDNN.isAvailable, "libdnnl.so.2 did not load")
        var rng = Xoshiro256(seed: 7)
        let x = leaf(Tensor.randomNormal([2, 8, 9, 9], using: &rng)), w = leaf(Tensor.randomNormal([4, 8, 3, 3], using: &rng))
        ForwardContext.withConvolutionPaths({ $0.oneDNNMinimumMACs = 0 }) {
            let y = conv2d(x, weight: w, padding: (1, 1))
            y.backward(Tensor(zeros: y.shape, value: 1))
        }
        let g = ConvGeometry(input: [2, 8, 9, 9], weight: [4, 8, 3, 3], stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1)
        for kind in 0..<3 { XCTAssertFalse(OneDNN.implementation(g, kind: kind).isEmpty, "no oneDNN primitive of kind \(kind) ran") }
    }

    func checkConv2dFixtures(path: String) throws {
        let names = Fixtures.names("ops", prefix: "conv2d_")
        XCTAssertGreaterThanOrEqual(names.count, 9)
        for fixture in names {
            let name = "\(fixture) (\(path))"
            let (f, config) = try Fixtures.load("ops", fixture)
            let x = leaf(try f.require("x")), w = leaf(try f.require("weight"))
            let b = config.bool("bias") ? leaf(try f.require("bias")) : nil
            let y = conv2d(x, weight: w, bias: b, stride: config.pair("stride"), padding: config.pair("padding"),
                           dilation: config.pair("dilation"), groups: config.int("groups"))
            XCTAssertNil(closeness(y.value, try f.require("out"), name))
            y.backward(try f.require("grad_out"))
            XCTAssertNil(closeness(x.grad, try f.require("grad_x"), "\(name) grad_x"))
            XCTAssertNil(closeness(w.grad, try f.require("grad_weight"), "\(name) grad_weight"))
            if let b { XCTAssertNil(closeness(b.grad, try f.require("grad_bias"), "\(name) grad_bias")) }
            if path == "oneDNN" {
                // The values above came from oneDNN, not from the fallback.
                let g = ConvGeometry(input: x.shape, weight: w.shape, stride: config.pair("stride"), padding: config.pair("padding"),
                                     dilation: config.pair("dilation"), groups: config.int("groups"))
                for kind in 0..<3 { XCTAssertFalse(OneDNN.implementation(g, kind: kind).isEmpty, "\(name): oneDNN did not run kind \(kind)") }
            }
        }
    }

    /// The forward pass's other path on the same fixtures: bands of one or two output rows (the
    /// path of VGG-size feature maps), on one thread.
    func testBandedConvolutionMatchesPyTorch() throws {
        let threads = Threads.count
        defer { Threads.count = threads }
        Threads.count = 1
        for rows in [1, 2] {
            for name in Fixtures.names("ops", prefix: "conv2d_") {
                let (f, config) = try Fixtures.load("ops", name)
                let x = try f.require("x"), w = try f.require("weight")
                let g = ConvGeometry(input: x.shape, weight: w.shape, stride: config.pair("stride"), padding: config.pair("padding"),
                                     dilation: config.pair("dilation"), groups: config.int("groups"))
                let bands: (inout ConvolutionPaths) -> Void = {
                    ($0.oneDNN, $0.bandThreshold, $0.bandValues) = (false, 0, rows * w.shape[1] * w.shape[2] * w.shape[3] * g.outWidth)
                }
                let y = ForwardContext.withConvolutionPaths(bands) {
                    GradMode.withoutGrad {
                        conv2d(Variable(x), weight: Variable(w), bias: config.bool("bias") ? Variable(try! f.require("bias")) : nil,
                               stride: config.pair("stride"), padding: config.pair("padding"), dilation: config.pair("dilation"),
                               groups: config.int("groups"))
                    }
                }
                XCTAssertNil(closeness(y.value, try f.require("out"), "\(name), bands of \(rows) output rows"))
            }
        }
    }

    func testConvTranspose2dMatchesPyTorch() throws {
        let names = Fixtures.names("ops", prefix: "conv_transpose2d_")
        XCTAssertGreaterThanOrEqual(names.count, 3)
        for name in names {
            let (f, config) = try Fixtures.load("ops", name)
            let x = leaf(try f.require("x")), w = leaf(try f.require("weight"))
            let b = config.bool("bias") ? leaf(try f.require("bias")) : nil
            let y = convTranspose2d(x, weight: w, bias: b, stride: config.pair("stride"), padding: config.pair("padding"),
                                    outputPadding: config.pair("output_padding"), dilation: config.pair("dilation"),
                                    groups: config.int("groups"))
            XCTAssertNil(closeness(y.value, try f.require("out"), name))
            y.backward(try f.require("grad_out"))
            XCTAssertNil(closeness(x.grad, try f.require("grad_x"), "\(name) grad_x"))
            XCTAssertNil(closeness(w.grad, try f.require("grad_weight"), "\(name) grad_weight"))
            if let b { XCTAssertNil(closeness(b.grad, try f.require("grad_bias"), "\(name) grad_bias")) }
        }
    }

    func testPoolingMatchesPyTorch() throws {
        let names = Fixtures.names("ops", prefix: "pool_")
        XCTAssertGreaterThanOrEqual(names.count, 12)
        for name in names {
            let (f, config) = try Fixtures.load("ops", name)
            let x = leaf(try f.require("x"))
            let (kernel, stride, padding) = (config.pair("kernel"), config.pair("stride"), config.pair("padding"))
            let ceil = config.bool("ceil_mode")
            let y: Variable
            switch config["op"] as? String {
            case "max_pool2d": y = maxPool2d(x, kernel: kernel, stride: stride, padding: padding, ceilMode: ceil)
            case "min_pool2d": y = minPool2d(x, kernel: kernel, stride: stride, padding: padding, ceilMode: ceil)
            case "avg_pool2d":
                y = avgPool2d(x, kernel: kernel, stride: stride, padding: padding, ceilMode: ceil,
                              countIncludePad: config.bool("count_include_pad"))
            default: XCTFail("\(name): unknown op \(String(describing: config["op"]))"); continue
            }
            XCTAssertNil(closeness(y.value, try f.require("out"), name))
            y.backward(try f.require("grad_out"))
            XCTAssertNil(closeness(x.grad, try f.require("grad_x"), "\(name) grad_x"))
        }
        for name in Fixtures.names("ops", prefix: "adaptive_avg_pool_") {
            let (f, config) = try Fixtures.load("ops", name)
            let x = leaf(try f.require("x"))
            let y = adaptiveAvgPool2d(x, outputSize: config.pair("output_size"))
            XCTAssertNil(closeness(y.value, try f.require("out"), name))
            y.backward(try f.require("grad_out"))
            XCTAssertNil(closeness(x.grad, try f.require("grad_x"), "\(name) grad_x"))
        }
    }

    func testPad2dMatchesPyTorch() throws {
        let names = Fixtures.names("ops", prefix: "pad_")
        XCTAssertGreaterThanOrEqual(names.count, 5)
        for name in names {
            let (f, config) = try Fixtures.load("ops", name)
            let x = leaf(try f.require("x"))
            let given = (config["margins"] as? [Int]) ?? []
            XCTAssertEqual(given.count, 4, name)
            guard given.count == 4 else { continue }
            let margins = Margins(top: given[0], left: given[1], bottom: given[2], right: given[3])
            if let same = config["same"] as? [Int] {
                // TensorFlow's SAME margins for this window, as the fixture script computes them.
                XCTAssertEqual(Margins.same(height: x.shape[2], width: x.shape[3], kernel: same[0], stride: same[1]), margins, name)
            }
            let y = pad2d(x, margins, value: config.float("value"))
            XCTAssertNil(closeness(y.value, try f.require("out"), name))
            y.backward(try f.require("grad_out"))
            XCTAssertNil(closeness(x.grad, try f.require("grad_x"), "\(name) grad_x"))
        }
    }

    func testBatchNormMatchesPyTorch() throws {
        let names = Fixtures.names("ops", prefix: "batchnorm")
        XCTAssertGreaterThanOrEqual(names.count, 4)
        for name in names {
            let (f, config) = try Fixtures.load("ops", name)
            let x = leaf(try f.require("x")), w = leaf(try f.require("weight")), b = leaf(try f.require("bias"))
            var mean = try f.require("running_mean_before"), variance = try f.require("running_var_before")
            let y = batchNorm(x, weight: w, bias: b, runningMean: &mean, runningVar: &variance,
                              training: config.bool("training"), momentum: config.float("momentum"), eps: config.float("eps"))
            XCTAssertNil(closeness(y.value, try f.require("out"), name))
            XCTAssertNil(closeness(mean, try f.require("running_mean_after"), "\(name) running_mean"))
            XCTAssertNil(closeness(variance, try f.require("running_var_after"), "\(name) running_var"))
            y.backward(try f.require("grad_out"))
            XCTAssertNil(closeness(x.grad, try f.require("grad_x"), "\(name) grad_x"))
            XCTAssertNil(closeness(w.grad, try f.require("grad_weight"), "\(name) grad_weight"))
            XCTAssertNil(closeness(b.grad, try f.require("grad_bias"), "\(name) grad_bias"))
        }
    }

    func testActivationsMatchPyTorch() throws {
        let ops: [String: (Variable) -> Variable] = [
            "unary_relu": relu, "unary_relu6": relu6, "unary_sigmoid": sigmoid, "unary_tanh": tanh, "unary_silu": silu,
            "softmax_0": { softmax($0) }, "softmax_1": { softmax($0) },
            "log_softmax_0": { logSoftmax($0) }, "log_softmax_1": { logSoftmax($0) },
        ]
        for (name, op) in ops.sorted(by: { $0.key < $1.key }) {
            let (f, _) = try Fixtures.load("ops", name)
            let x = leaf(try f.require("x"))
            let y = op(x)
            XCTAssertNil(closeness(y.value, try f.require("out"), name))
            y.backward(try f.require("grad_out"))
            XCTAssertNil(closeness(x.grad, try f.require("grad_x"), "\(name) grad_x"))
        }
    }

    func testLocalResponseNormMatchesPyTorch() throws {
        for name in Fixtures.names("ops", prefix: "lrn_") {
            let (f, config) = try Fixtures.load("ops", name)
            let x = leaf(try f.require("x"))
            let y = localResponseNorm(x, size: config.int("size"), alpha: config.float("alpha"),
                                      beta: config.float("beta"), k: config.float("k"))
            XCTAssertNil(closeness(y.value, try f.require("out"), name))
            y.backward(try f.require("grad_out"))
            XCTAssertNil(closeness(x.grad, try f.require("grad_x"), "\(name) grad_x"))
        }
    }

    func testBroadcastingMatchesPyTorch() throws {
        let names = Fixtures.names("ops", prefix: "add_broadcast_") + Fixtures.names("ops", prefix: "mul_broadcast_")
        XCTAssertEqual(names.count, 8)
        for name in names {
            let (f, config) = try Fixtures.load("ops", name)
            let a = leaf(try f.require("a")), b = leaf(try f.require("b"))
            let y = config["op"] as? String == "add" ? a + b : a * b
            XCTAssertNil(closeness(y.value, try f.require("out"), name))
            y.backward(try f.require("grad_out"))
            XCTAssertNil(closeness(a.grad, try f.require("grad_a"), "\(name) grad_a"))
            XCTAssertNil(closeness(b.grad, try f.require("grad_b"), "\(name) grad_b"))
        }
    }

    func testLossesAndLinearMatchPyTorch() throws {
        for name in Fixtures.names("ops", prefix: "cross_entropy_") {
            let (f, config) = try Fixtures.load("ops", name)
            let logits = leaf(try f.require("logits"))
            let targets = try f.require("target").scalars.map { Int($0) }
            let loss = crossEntropy(logits, targets: targets, labelSmoothing: config.float("label_smoothing"))
            XCTAssertNil(closeness(loss.value, try f.require("out"), name))
            loss.backward()
            XCTAssertNil(closeness(logits.grad, try f.require("grad_logits"), "\(name) grad"))
        }
        let (m, _) = try Fixtures.load("ops", "mse")
        let input = leaf(try m.require("input"))
        let loss = meanSquaredError(input, Variable(try m.require("target")))
        XCTAssertNil(closeness(loss.value, try m.require("out"), "mse"))
        loss.backward()
        XCTAssertNil(closeness(input.grad, try m.require("grad_input"), "mse grad"))

        let (l, _) = try Fixtures.load("ops", "linear_0")
        let x = leaf(try l.require("x")), w = leaf(try l.require("weight")), b = leaf(try l.require("bias"))
        let y = linear(x, weight: w, bias: b)
        XCTAssertNil(closeness(y.value, try l.require("out"), "linear"))
        y.backward(try l.require("grad_out"))
        XCTAssertNil(closeness(x.grad, try l.require("grad_x"), "linear grad_x"))
        XCTAssertNil(closeness(w.grad, try l.require("grad_weight"), "linear grad_weight"))
        XCTAssertNil(closeness(b.grad, try l.require("grad_bias"), "linear grad_bias"))
    }
}
