import ArgumentParser
import Foundation
import ZooModels
import ZooNN
import ZooTensor

extension Zoo {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time a model: median milliseconds per batch, images per second and GFLOP/s (2 × MACs / time).")
        @Option(help: "The model (see 'zoo list').") var model: String
        @Option(help: "Images per batch.") var batch = 1
        @Option(help: "Input size CxHxW (default: the model's).") var input: String?
        @Flag(help: "Time a training step (forward, backward, SGD update) instead of inference.") var train = false
        @Option(help: "Timed iterations after one warm-up.") var iters = 10
        @Option(help: "Threads for the kernels and OpenBLAS.") var threads: Int?
        @Flag(help: "Print one JSON object.") var json = false

        func run() {
            installErrorHandlers()
            let entry = lookUp(model)
            if batch < 1 { fail("--batch must be at least 1, got \(batch)") }
            if iters < 1 { fail("--iters must be at least 1, got \(iters)") }
            if let threads { if threads < 1 { fail("--threads must be at least 1, got \(threads)") }; Threads.count = threads }
            var shape = entry.defaultInput
            if let input {
                let parts = input.lowercased().split(separator: "x").compactMap { Int($0) }
                guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else { fail("--input must be CxHxW, e.g. 3x224x224; got '\(input)'") }
                shape = parts
            }
            if let problem = entry.inputProblem(shape) { fail("\(entry.name) cannot take this input: \(problem)") }
            GlobalRandom.seed(1)
            let network = entry.build(classCount: entry.defaultClassCount, input: shape)
            ShapeCheck.name(network)
            let macs = GlobalRandom.shapesOnly { network.summary(input: shape).macs } * batch
            var rng = Xoshiro256(seed: 2)
            let x = Variable(Tensor.randomNormal([batch] + shape, using: &rng))
            let labels = (0..<batch).map { $0 % entry.defaultClassCount }
            let optimizer = SGD(network.namedParameters().map(\.variable), learningRate: 1e-4, momentum: 0.9)
            if train { network.train() } else { network.eval() }
            func step() {
                if train {
                    optimizer.zeroGrad()
                    crossEntropy(network(x), targets: labels).backward()
                    optimizer.step()
                } else {
                    _ = GradMode.withoutGrad { network(x) }
                }
            }
            step()
            var times: [Double] = []
            for _ in 0..<iters {
                let start = DispatchTime.now().uptimeNanoseconds
                step()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            let median = times.sorted()[times.count / 2]
            let flops = Double(macs) * 2 * (train ? 3 : 1)
            let result: [String: Any] = ["ms_per_batch": median, "images_per_second": Double(batch) / median * 1000,
                                         "gflops": flops / median / 1e6]
            if json {
                print(String(decoding: try! JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(String(format: "%@ %@ batch %d, %@, %d threads: %.2f ms/batch, %.1f images/s, %.1f GFLOP/s (median of %d)",
                             entry.name, train ? "training" : "inference", batch, shape.map(String.init).joined(separator: "×"),
                             Threads.count, median, Double(batch) / median * 1000, flops / median / 1e6, iters))
            }
        }
    }
}
