import XCTest
import ZooTensor

/// Central-difference gradient checks of every op, with a negative control: an op whose
/// backward is deliberately wrong must fail the same checker.
final class GradientCheckTests: XCTestCase {
    struct Mismatch: CustomStringConvertible {
        var input: Int, index: Int, analytic: Double, numeric: Double
        var description: String { "input \(input)[\(index)]: analytic \(analytic), numeric \(numeric)" }
    }

    /// Compares the analytic gradient of L = Σ f(inputs) ⊙ r (r fixed, random) with
    /// (L(x + ε) − L(x − ε)) / 2ε at up to `samples` positions of each input.
    /// Returns the mismatches beyond atol + rtol·|numeric|.
    static func check(_ inputs: [Tensor], epsilon: Float = 1e-3, atol: Double = 2e-3, rtol: Double = 1e-2,
                      samples: Int = 40, _ f: ([Variable]) -> Variable) -> [Mismatch] {
        var rng = Xoshiro256(seed: 99)
        let variables = inputs.map { Variable($0, requiresGrad: true) }
        let output = f(variables)
        let weights = Tensor.randomNormal(output.shape, using: &rng)
        output.backward(weights)
        func objective(_ values: [Tensor]) -> Double {
            let y = GradMode.withoutGrad { f(values.map { Variable($0) }) }.value
            var total = 0.0
            for i in 0..<y.count { total += Double(y.scalars[i]) * Double(weights.scalars[i]) }
            return total
        }
        var mismatches: [Mismatch] = []
        for (k, input) in inputs.enumerated() {
            let analytic = variables[k].grad ?? Tensor(zeros: input.shape)
            let stride = max(1, input.count / samples)
            for index in Swift.stride(from: 0, to: input.count, by: stride) {
                var plus = inputs, minus = inputs
                plus[k].scalars[index] += epsilon
                minus[k].scalars[index] -= epsilon
                let numeric = (objective(plus) - objective(minus)) / (2 * Double(epsilon))
                let value = Double(analytic.scalars[index])
                if abs(value - numeric) > atol + rtol * abs(numeric) {
                    mismatches.append(Mismatch(input: k, index: index, analytic: value, numeric: numeric))
                }
            }
        }
        return mismatches
    }

    func assertGradients(_ name: String, _ inputs: [Tensor], epsilon: Float = 1e-3,
                         file: StaticString = #filePath, line: UInt = #line, _ f: @escaping ([Variable]) -> Variable) {
        let mismatches = Self.check(inputs, epsilon: epsilon, f)
        XCTAssert(mismatches.isEmpty, "\(name): \(mismatches.prefix(3))", file: file, line: line)
    }

    var rng = Xoshiro256(seed: 7)
    func random(_ shape: [Int], scale: Float = 1) -> Tensor { Tensor.randomNormal(shape, std: scale, using: &rng) }
    /// Distinct, well-separated values (no ties, nothing within ε of a kink).
    func spaced(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        var values = (0..<n).map { Float($0) * 0.05 - Float(n) * 0.025 + 0.0125 }
        values.shuffle(using: &rng)
        return Tensor(shape: shape, scalars: values)
    }

    // MARK: negative control

    /// y = x², with a backward that returns 2.2·x·dy instead of 2·x·dy.
    func wrongSquare(_ x: Variable) -> Variable {
        let value = x.value
        return Variable.record(value.map { $0 * $0 }, [x]) { dy in [dy.zipMap(value) { 2.2 * $0 * $1 }] }
    }

    func rightSquare(_ x: Variable) -> Variable {
        let value = x.value
        return Variable.record(value.map { $0 * $0 }, [x]) { dy in [dy.zipMap(value) { 2 * $0 * $1 }] }
    }

    func testCheckerFailsOnAWrongGradient() {
        let x = random([3, 4])
        XCTAssertTrue(Self.check([x]) { self.rightSquare($0[0]) }.isEmpty, "the checker rejects a correct gradient")
        XCTAssertFalse(Self.check([x]) { self.wrongSquare($0[0]) }.isEmpty, "the checker accepts a wrong gradient")
        // A gradient that ignores one input entirely is caught too.
        XCTAssertFalse(Self.check([x, random([3, 4])]) { v in
            Variable.record(v[0].value.zipMap(v[1].value, *), v) { dy in [dy.zipMap(v[1].value, *), nil] }
        }.isEmpty)
    }

    // MARK: ops

    func testMatmulAndLinear() {
        assertGradients("matmul", [random([3, 5]), random([5, 4])]) { matmul($0[0], $0[1]) }
        assertGradients("linear", [random([3, 5]), random([4, 5]), random([4])]) { linear($0[0], weight: $0[1], bias: $0[2]) }
    }

    func testConv2d() {
        let cases: [(input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int)] = [
            ([2, 3, 6, 6], [4, 3, 3, 3], (1, 1), (1, 1), (1, 1), 1),
            ([1, 4, 7, 6], [6, 2, 3, 2], (2, 1), (0, 1), (1, 1), 2),
            ([1, 2, 8, 8], [3, 2, 3, 3], (1, 2), (2, 2), (2, 2), 1),
            ([2, 4, 5, 5], [4, 1, 3, 3], (1, 1), (1, 1), (1, 1), 4),
            ([2, 3, 4, 5], [5, 3, 1, 1], (1, 1), (0, 0), (1, 1), 1),
        ]
        for c in cases {
            assertGradients("conv2d \(c.input) \(c.weight)", [random(c.input), random(c.weight, scale: 0.5), random([c.weight[0]])]) {
                conv2d($0[0], weight: $0[1], bias: $0[2], stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
            }
        }
    }

    func testConvTranspose2d() {
        assertGradients("conv_transpose2d", [random([2, 4, 3, 3]), random([4, 3, 3, 3], scale: 0.5), random([6])]) {
            convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), outputPadding: (1, 1), groups: 2)
        }
    }

    func testPooling() {
        let x = spaced([2, 2, 7, 7])
        assertGradients("max pool ceil", [x]) { maxPool2d($0[0], kernel: (3, 3), stride: (2, 2), ceilMode: true) }
        assertGradients("max pool padded", [x]) { maxPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }
        assertGradients("min pool", [x]) { minPool2d($0[0], kernel: (2, 2), stride: (2, 2), ceilMode: true) }
        assertGradients("avg pool", [x]) { avgPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true) }
        assertGradients("avg pool excluding pad", [x]) {
            avgPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1), countIncludePad: false)
        }
        assertGradients("adaptive avg pool", [x]) { adaptiveAvgPool2d($0[0], outputSize: (3, 2)) }
        assertGradients("global avg pool", [x]) { adaptiveAvgPool2d($0[0], outputSize: (1, 1)) }
    }

    func testBatchNorm() {
        for training in [true, false] {
            assertGradients("batch norm training \(training)", [random([3, 4, 3, 3], scale: 2), random([4]), random([4])]) { v in
                var mean = Tensor(shape: [4], scalars: [0.1, -0.2, 0.3, 0])
                var variance = Tensor(shape: [4], scalars: [1, 0.5, 2, 1.5])
                return batchNorm(v[0], weight: v[1], bias: v[2], runningMean: &mean, runningVar: &variance, training: training)
            }
        }
        assertGradients("batch norm 1d", [random([6, 5])]) { v in
            var mean = Tensor(zeros: [5]), variance = Tensor(zeros: [5], value: 1)
            return batchNorm(v[0], weight: nil, bias: nil, runningMean: &mean, runningVar: &variance, training: true)
        }
    }

    func testActivations() {
        let x = spaced([2, 3, 4, 4])
        assertGradients("relu", [x]) { relu($0[0]) }
        assertGradients("sigmoid", [x]) { sigmoid($0[0]) }
        assertGradients("tanh", [x]) { tanh($0[0]) }
        assertGradients("silu", [x]) { silu($0[0]) }
        assertGradients("softmax", [random([4, 6])]) { softmax($0[0]) }
        assertGradients("softmax axis 1 of 4-D", [random([2, 3, 2, 2])]) { softmax($0[0], axis: 1) }
        assertGradients("log softmax", [random([4, 6])]) { logSoftmax($0[0]) }
        assertGradients("scale", [x]) { scale($0[0], by: -1.5) }
    }

    func testDropout() {
        assertGradients("dropout", [random([4, 10])]) { v in
            var generator = Xoshiro256(seed: 3)
            return dropout(v[0], probability: 0.3, training: true, using: &generator)
        }
        assertGradients("channel dropout", [random([3, 4, 2, 2])]) { v in
            var generator = Xoshiro256(seed: 3)
            return channelDropout(v[0], probability: 0.5, training: true, using: &generator)
        }
    }

    func testBroadcastAddMulConcatReshape() {
        assertGradients("add same shape", [random([2, 3]), random([2, 3])]) { $0[0] + $0[1] }
        assertGradients("add channel bias", [random([2, 3, 4, 4]), random([1, 3, 1, 1])]) { $0[0] + $0[1] }
        assertGradients("add row", [random([4, 5]), random([5])]) { $0[0] + $0[1] }
        assertGradients("mul SE scale", [random([2, 3, 4, 4]), random([2, 3, 1, 1])]) { $0[0] * $0[1] }
        assertGradients("mul outer", [random([2, 1, 3]), random([1, 4, 1])]) { $0[0] * $0[1] }
        assertGradients("concat", [random([2, 3, 2, 2]), random([2, 1, 2, 2]), random([2, 2, 2, 2])]) { concat($0) }
        assertGradients("reshape", [random([2, 3, 2, 2])]) { flatten($0[0]) * reshape($0[0], [2, 12]) }
        assertGradients("sum and mean", [random([3, 4])]) { sum($0[0]) + mean($0[0]) }
    }

    func testLocalResponseNorm() {
        assertGradients("lrn odd", [random([2, 7, 3, 3], scale: 3)]) { localResponseNorm($0[0], size: 5, alpha: 1e-2, beta: 0.75, k: 2) }
        assertGradients("lrn even", [random([1, 6, 2, 2], scale: 2)]) { localResponseNorm($0[0], size: 4, alpha: 0.1, beta: 0.5, k: 1) }
    }

    func testLosses() {
        assertGradients("cross entropy", [random([5, 4])]) { crossEntropy($0[0], targets: [0, 3, 1, 1, 2]) }
        assertGradients("cross entropy smoothed", [random([5, 4])]) { crossEntropy($0[0], targets: [0, 3, 1, 1, 2], labelSmoothing: 0.1) }
        assertGradients("mse", [random([3, 4]), random([3, 4])]) { meanSquaredError($0[0], $0[1]) }
    }

    /// A value used twice (a skip connection) receives the sum of both gradients.
    func testFanOutAccumulates() {
        assertGradients("skip", [random([2, 3, 4, 4]), random([3, 3, 3, 3], scale: 0.3)]) { v in
            let body = relu(conv2d(v[0], weight: v[1], padding: (1, 1)))
            return add(body, v[0]) * v[0]
        }
        let x = Variable(Tensor(shape: [2], scalars: [1, 2]), requiresGrad: true)
        let y = sum(add(x, x) * x)  // 2x², gradient 4x
        y.backward()
        XCTAssertEqual(x.grad?.scalars, [4, 8])
    }

    func testNoGradModeRecordsNothing() {
        let w = Variable(random([2, 2]), requiresGrad: true)
        let y = GradMode.withoutGrad { matmul(w, w) }
        XCTAssertFalse(y.requiresGrad)
        y.backward()
        XCTAssertNil(w.grad)
        XCTAssertTrue(GradMode.isEnabled)
    }
}
