import XCTest
@_spi(Kernels) import ZooTensor

/// Every primitive a training step runs computes the same bits on one thread as on two and on
/// three: outputs, input gradients, running statistics and the parameters' exact gradient sums.
/// Whatever the kernel (oneDNN's, on whichever ISA it picks, or ConvZoo's own), a run with
/// `ZOO_THREADS=1` then trains the weights a run with 2 threads trains, and so does each process
/// of a data-parallel job (BatchSumsTests: shares of a batch).
final class ThreadCountTests: XCTestCase {
    var threads = 0

    override func setUp() { threads = Threads.count }
    override func tearDown() { Threads.count = threads }

    /// One primitive: input shape, parameter shapes, and the op on (input, parameters), which
    /// returns its output and any other values it computes (batch norm's running statistics).
    struct Case {
        var name: String
        var input: [Int]
        var parameters: [[Int]] = []
        var op: (Variable, [Variable]) -> (output: Variable, other: [Float])

        init(name: String, input: [Int], parameters: [[Int]] = [], other op: @escaping (Variable, [Variable]) -> (Variable, [Float])) {
            (self.name, self.input, self.parameters) = (name, input, parameters)
            self.op = { x, p in let (y, other) = op(x, p); return (y, other) }
        }

        init(name: String, input: [Int], parameters: [[Int]] = [], _ op: @escaping (Variable, [Variable]) -> Variable) {
            self.init(name: name, input: input, parameters: parameters, other: { x, p in (op(x, p), []) })
        }
    }

    /// Forward and backward of the case on `threads` threads, with fixed random input, parameters
    /// and output gradient: the output and other values, the input gradient, then each parameter's
    /// rounded exact sum.
    func run(_ c: Case, threads: Int) -> [[Float]] {
        Threads.count = threads
        var rng = Xoshiro256(seed: 17)
        let input = Variable(Tensor.randomNormal(c.input, using: &rng), requiresGrad: true)
        let parameters = c.parameters.map { shape in
            let p = Variable(Tensor.randomNormal(shape, std: 0.1, using: &rng), requiresGrad: true)
            p.keepsExactGradient = true
            return p
        }
        let (y, other) = c.op(input, parameters)
        y.backward(Tensor.randomNormal(y.shape, using: &rng))
        return [y.value.scalars + other, input.grad!.scalars] + parameters.map { $0.exactGradient!.map(Float.init) }
    }

    /// The number of differing values per result, for each thread count against one thread.
    func differences(_ c: Case) -> [Int: [Int]] {
        let one = run(c, threads: 1)
        var result: [Int: [Int]] = [:]
        for threads in [2, 3] {
            let other = run(c, threads: threads)
            result[threads] = zip(one, other).map { a, b in zip(a, b).filter { $0 != $1 }.count }
        }
        return result
    }

    func check(_ cases: [Case], file: StaticString = #filePath, line: UInt = #line) {
        for c in cases {
            for (threads, counts) in differences(c).sorted(by: { $0.key < $1.key }) where counts.contains(where: { $0 > 0 }) {
                XCTFail("\(c.name): \(threads) threads against 1 differ in \(counts) values "
                        + "(output, input gradient, then each parameter's gradient)", file: file, line: line)
            }
        }
    }

    /// conv2d with the given geometry, weights [C_out, C_in/groups, k, k] (and a bias).
    func convolution(_ name: String, batch: Int, _ inChannels: Int, _ outChannels: Int, size: Int, kernel: Int,
                     stride: Int = 1, padding: Int = 0, groups: Int = 1, bias: Bool = false) -> Case {
        Case(name: "\(name): conv \(inChannels)→\(outChannels) \(kernel)×\(kernel)/\(stride) at \(size)², batch \(batch)",
             input: [batch, inChannels, size, size],
             parameters: [[outChannels, inChannels / groups, kernel, kernel]] + (bias ? [[outChannels]] : [])) { x, p in
            conv2d(x, weight: p[0], bias: p.count > 1 ? p[1] : nil, stride: (stride, stride), padding: (padding, padding), groups: groups)
        }
    }

    /// The convolutions of ResNet-20 on Fashion-MNIST (28×28) and LeNet-5, at batch 32 (two groups
    /// of `BatchSums.groupSize`) and 128 (the recipes' batch).
    func testConvolutionsOfSmallModels() {
        var cases: [Case] = []
        for batch in [32, 128] {
            cases += [
                convolution("resnet20 stem", batch: batch, 1, 16, size: 28, kernel: 3, padding: 1),
                convolution("resnet20 stage 1", batch: batch, 16, 16, size: 28, kernel: 3, padding: 1),
                convolution("resnet20 stage 2 entry", batch: batch, 16, 32, size: 28, kernel: 3, stride: 2, padding: 1),
                convolution("resnet20 stage 2", batch: batch, 32, 32, size: 14, kernel: 3, padding: 1),
                convolution("resnet20 stage 3 entry", batch: batch, 32, 64, size: 14, kernel: 3, stride: 2, padding: 1),
                convolution("resnet20 stage 3", batch: batch, 64, 64, size: 7, kernel: 3, padding: 1),
                convolution("resnet20 projection", batch: batch, 16, 32, size: 28, kernel: 1, stride: 2),
                convolution("lenet5 c1", batch: batch, 1, 6, size: 28, kernel: 5, padding: 2, bias: true),
                convolution("lenet5 c3", batch: batch, 6, 16, size: 14, kernel: 5, bias: true),
            ]
        }
        check(cases)
    }

    /// Convolutions of ImageNet-size models at batch 16 (one group): ResNet-18's, a depthwise one
    /// (MobileNet) and a grouped one (ResNeXt), smaller planes than at 224² to keep the test short.
    func testConvolutionsOfImageNetModels() {
        check([
            convolution("resnet18 stem", batch: 16, 3, 64, size: 64, kernel: 7, stride: 2, padding: 3),
            convolution("resnet18 layer1", batch: 16, 64, 64, size: 28, kernel: 3, padding: 1),
            convolution("resnet18 layer2 entry", batch: 16, 64, 128, size: 28, kernel: 3, stride: 2, padding: 1),
            convolution("resnet18 downsample", batch: 16, 64, 128, size: 28, kernel: 1, stride: 2),
            convolution("resnet18 layer4", batch: 16, 512, 512, size: 7, kernel: 3, padding: 1),
            convolution("bottleneck 1×1", batch: 16, 256, 64, size: 14, kernel: 1),
            convolution("depthwise", batch: 16, 32, 32, size: 28, kernel: 3, padding: 1, groups: 32),
            convolution("grouped", batch: 16, 128, 128, size: 14, kernel: 3, padding: 1, groups: 32),
            convolution("resnet18 layer1", batch: 32, 64, 64, size: 28, kernel: 3, padding: 1),
        ])
    }

    /// Fully connected layers, batch norm (its running statistics too), pooling and the loss.
    func testOtherTrainingPrimitives() {
        var cases: [Case] = []
        for batch in [32, 128] {
            cases += [
                Case(name: "linear 400→120, batch \(batch)", input: [batch, 400], parameters: [[120, 400], [120]]) { x, p in
                    linear(x, weight: p[0], bias: p[1])
                },
                Case(name: "linear 512→1000, batch \(batch)", input: [batch, 512], parameters: [[1000, 512], [1000]]) { x, p in
                    linear(x, weight: p[0], bias: p[1])
                },
                Case(name: "max pool 3×3/2, batch \(batch)", input: [batch, 16, 28, 28]) { x, _ in
                    maxPool2d(x, kernel: (3, 3), stride: (2, 2), padding: (1, 1))
                },
                Case(name: "average pool 2×2, batch \(batch)", input: [batch, 6, 28, 28]) { x, _ in avgPool2d(x, kernel: (2, 2)) },
                Case(name: "global average pool, batch \(batch)", input: [batch, 64, 7, 7]) { x, _ in
                    adaptiveAvgPool2d(x, outputSize: (1, 1))
                },
                Case(name: "cross entropy, batch \(batch)", input: [batch, 10]) { x, _ in
                    crossEntropy(x, targets: (0..<batch).map { $0 % 10 })
                },
            ]
            for shape in [[batch, 16, 28, 28], [batch, 64, 7, 7], [batch, 120]] {
                let channels = shape[1]
                cases.append(Case(name: "batch norm \(shape)", input: shape, parameters: [[channels], [channels]], other: { x, p in
                    var mean = Tensor(zeros: [channels]), variance = Tensor(zeros: [channels], value: 1)
                    let y = batchNorm(x, weight: p[0], bias: p[1], runningMean: &mean, runningVar: &variance, training: true)
                    return (y, mean.scalars + variance.scalars)
                }))
            }
        }
        check(cases)
    }

    /// Negative control: a sum whose order follows the thread count (each thread's share of the
    /// batch summed in float, the shares then added) differs between one and two threads, and
    /// the check says so.
    func testThreadDependentSumsAreCaught() {
        let perThread = Case(name: "per-thread sums", input: [128, 4096], other: { x, _ in
            let values = x.value.scalars, columns = x.shape[1]
            var total = [Float](repeating: 0, count: columns)
            let threads = Threads.count
            for t in 0..<threads {
                var part = [Float](repeating: 0, count: columns)
                for row in (128 * t / threads)..<(128 * (t + 1) / threads) {
                    for j in 0..<columns { part[j] += values[row * columns + j] }
                }
                for j in 0..<columns { total[j] += part[j] }
            }
            return (x, total)
        })
        let counts = differences(perThread)
        XCTAssertGreaterThan(counts[2]![0], 0, "one and two threads sum in other orders")
    }
}
