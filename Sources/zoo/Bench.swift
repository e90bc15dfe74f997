import ArgumentParser
import ConvZoo
import Foundation

extension ZooCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time a model: median milliseconds per batch, images per second and GFLOP/s (2 × MACs / time).")
        @Option(help: "The model (see 'zoo list').") var model: String
        @Option(help: "Images per batch.") var batch = 1
        @Option(help: "Input size CxHxW (default: the model's).") var input: String?
        @Flag(help: "Time a training step (forward, backward, SGD update) instead of inference.") var train = false
        @Option(help: "Timed iterations after one warm-up.") var iters = 10
        @Option(help: "Threads for the kernels and OpenBLAS.") var threads: Int?
        @Option(help: "Time one training epoch over this data set instead (see 'zoo train --data'): shuffled batches, SGD with momentum, no augmentation or evaluation.")
        var epoch: String?
        @Flag(help: "Print one JSON object.") var json = false

        func run() {
            installErrorHandlers()
            let entry = lookUp(model)
            if batch < 1 { fail("--batch must be at least 1, got \(batch)") }
            if iters < 1 { fail("--iters must be at least 1, got \(iters)") }
            if let threads { if threads < 1 { fail("--threads must be at least 1, got \(threads)") }; Threads.count = threads }
            let shape = inputShape(input, default: entry.defaultInput)
            if let epoch { return runEpoch(entry, data: epoch) }
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
                                         "gflops": flops / median / 1e6, "convolutions": convolutionEngine]
            if json {
                printJSON(result)
            } else {
                print(String(format: "%@ %@ batch %d, %@, %d threads: %.2f ms/batch, %.1f images/s, %.1f GFLOP/s (median of %d; convolutions: %@)",
                             entry.name, train ? "training" : "inference", batch, shape.map(String.init).joined(separator: "×"),
                             Threads.count, median, Double(batch) / median * 1000, flops / median / 1e6, iters, convolutionEngine))
            }
        }

        /// One epoch of training: the data set is loaded first (not timed), a few batches warm
        /// up, then every batch of a shuffled pass is timed as one span.
        func runEpoch(_ entry: ModelEntry, data: String) {
            let train = orFail { try Zoo.datasets(data, for: entry.name, validationSplit: 0.1).train }
            if let problem = entry.inputProblem(train.shape) { fail("\(entry.name) cannot take \(data)'s images: \(problem)") }
            GlobalRandom.seed(1)
            let network = entry.build(classCount: max(entry.defaultClassCount, train.classCount), input: train.shape)
            let macs = GlobalRandom.shapesOnly { network.summary(input: train.shape).macs }
            let optimizer = SGD(network.namedParameters().map(\.variable), learningRate: 0.01, momentum: 0.9)
            let (mean, std) = train.channelStatistics()
            network.train()
            func step(_ batch: Batch) {
                optimizer.zeroGrad()
                crossEntropy(network(Variable(batch.images)), targets: batch.labels).backward()
                optimizer.step()
            }
            for batch in DataLoader(train, batchSize: batch, seed: 1, mean: mean, std: std).prefix(3) { step(batch) }
            let start = DispatchTime.now().uptimeNanoseconds
            var batches = 0
            for batch in DataLoader(train, batchSize: batch, seed: 2, mean: mean, std: std) { step(batch); batches += 1 }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let result: [String: Any] = ["seconds_per_epoch": seconds, "ms_per_batch": seconds * 1000 / Double(batches),
                                         "convolutions": convolutionEngine,
                                         "images_per_second": Double(train.count) / seconds,
                                         "gflops": Double(macs) * 6 * Double(train.count) / seconds / 1e9]
            if json {
                printJSON(result)
            } else {
                print(String(format: "%@ training epoch over %@ (%d images, batch %d), %d threads: %.2f s, %.0f images/s",
                             entry.name, train.name, train.count, batch, Threads.count, seconds, Double(train.count) / seconds))
            }
        }

    }
}

/// Which convolution path runs: oneDNN (for convolutions of ≥ 32 M MACs) or im2col + OpenBLAS.
var convolutionEngine: String {
    OneDNN.isAvailable && OneDNN.isEnabled ? "oneDNN for grouped convolutions and above \(OneDNN.minimumMACs) MACs, else im2col + OpenBLAS" : "im2col + OpenBLAS"
}
