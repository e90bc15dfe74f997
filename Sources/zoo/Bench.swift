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
        @Flag(help: "Run inference eagerly, layer by layer, instead of through a compiled inference plan.") var eager = false
        @Flag(help: "Print each step of the inference plan with its median time and GFLOP/s.") var profile = false
        @Option(name: .customLong("bucket-mb"), help: "Under mpirun with --train: gradient bucket size in MB.") var bucketMB = 25.0

        func run() {
            let entry = lookUp(model)
            if batch < 1 { fail("--batch must be at least 1, got \(batch)") }
            if iters < 1 { fail("--iters must be at least 1, got \(iters)") }
            if let threads { if threads < 1 { fail("--threads must be at least 1, got \(threads)") }; Threads.count = threads }
            let shape = inputShape(input, default: entry.defaultInput)
            if let epoch { return runEpoch(entry, data: epoch) }
            if train, let group = joinTrainingGroup(), group.size > 1 { return runDataParallel(entry, group: group, shape: shape) }
            if let problem = entry.inputProblem(shape) { fail("\(entry.name) cannot take this input: \(problem)") }
            GlobalRandom.seed(1)
            let network = orFail { try entry.build(classCount: entry.defaultClassCount, input: shape) }
            let macs = orFail { try GlobalRandom.shapesOnly { try network.summary(input: shape).macs } } * batch
            var rng = Xoshiro256(seed: 2)
            let x = Variable(Tensor.randomNormal([batch] + shape, using: &rng))
            let labels = (0..<batch).map { $0 % entry.defaultClassCount }
            let optimizer = SGD(network.namedParameters().map(\.variable), learningRate: 1e-4, momentum: 0.9)
            if train { network.train() } else { network.eval() }
            var plan: InferencePlan?
            var path = train ? "eager" : "plan"
            if !train && !eager {
                do {
                    plan = try InferencePlan(network, inputShape: [batch] + shape)
                } catch {
                    warn("no inference plan for \(entry.name): \(error); running eagerly")
                    path = "eager (no plan)"
                }
            } else if eager {
                path = "eager"
            }
            var stepTimes: [[Double]] = []
            func step() throws {
                if train {
                    optimizer.zeroGrad()
                    try crossEntropy(network(x), targets: labels).backward()
                    optimizer.step()
                } else if let plan {
                    if profile { stepTimes.append(plan.runTimed(x.value).stepMilliseconds) } else { _ = plan.run(x.value) }
                } else {
                    _ = try GradMode.withoutGrad { try network(x) }
                }
            }
            orFail { try step() }
            stepTimes = []
            var times: [Double] = []
            for _ in 0..<iters {
                let start = DispatchTime.now().uptimeNanoseconds
                orFail { try step() }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            if let plan, profile { printProfile(plan, stepTimes) }
            let median = times.sorted()[times.count / 2]
            let flops = Double(macs) * 2 * (train ? 3 : 1)
            let result: [String: Any] = ["ms_per_batch": median, "images_per_second": Double(batch) / median * 1000,
                                         "gflops": flops / median / 1e6, "convolutions": convolutionEngine,
                                         "path": path, "plan_build_ms": plan?.buildMilliseconds ?? 0]
            if json {
                printJSON(result)
            } else {
                let engine = plan.map { String(format: "inference plan built in %.0f ms", $0.buildMilliseconds) } ?? "\(path); convolutions: \(convolutionEngine)"
                print(String(format: "%@ %@ batch %d, %@, %d threads: %.2f ms/batch, %.1f images/s, %.1f GFLOP/s (median of %d; %@)",
                             entry.name, train ? "training" : "inference", batch, shape.map(String.init).joined(separator: "×"),
                             Threads.count, median, Double(batch) / median * 1000, flops / median / 1e6, iters, engine))
            }
        }

        /// Training steps data-parallel under mpirun: `--batch` images per process, the gradients
        /// summed over the processes (see `Trainer.step`). Process 0 prints the medians: the step,
        /// images/s per process and in all, and the step's collectives (summing the gradients,
        /// broadcasting buffers): how long they ran on the communication thread, how long the
        /// training thread waited for them, and so how much of them the backward pass hid.
        func runDataParallel(_ entry: ModelEntry, group: MPIGroup, shape: [Int]) {
            if let problem = entry.inputProblem(shape) { fail("\(entry.name) cannot take this input: \(problem)") }
            GlobalRandom.seed(1)
            let network = orFail { try entry.build(classCount: entry.defaultClassCount, input: shape) }
            var configuration = TrainingConfiguration()
            configuration.batchSize = batch * group.size
            configuration.learningRate = 1e-4
            let placeholder = ImageDataset(name: "random images", shape: shape, pixels: [UInt8](repeating: 0, count: shape.reduce(1, *)),
                                           labels: [0], classNames: (0..<entry.defaultClassCount).map { "class \($0)" })
            var options = DataParallelOptions()
            options.bucketBytes = Int(bucketMB * 1_048_576)
            let trainer = Trainer(model: network, configuration: configuration, train: placeholder, test: placeholder,
                                  mean: [Float](repeating: 0, count: shape[0]), std: [Float](repeating: 1, count: shape[0]),
                                  group: group, dataParallel: options)
            var rng = Xoshiro256(seed: 2 &+ UInt64(group.rank))
            let images = Tensor.randomNormal([batch] + shape, using: &rng)
            let step = Batch(images: images, labels: (0..<batch).map { ($0 + group.rank) % entry.defaultClassCount }, globalCount: batch * group.size, globalOffset: batch * group.rank)
            network.train()
            var times: [Double] = [], collectives: [Double] = [], waits: [Double] = []
            for iteration in 0...iters {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = orFail { try trainer.step(step) }
                guard iteration > 0 else { continue }  // the first step warms up
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                collectives.append(trainer.lastStepCommunication.collectives * 1000)
                waits.append(trainer.lastStepCommunication.wait * 1000)
            }
            func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            let (ms, busy, waited) = (median(times), median(collectives), median(waits))
            let hidden = busy > 0 ? max(0, 1 - waited / busy) : 0
            let result: [String: Any] = ["ms_per_step": ms, "processes": group.size, "batch_per_process": batch,
                                         "images_per_second_per_process": Double(batch) / ms * 1000,
                                         "images_per_second": Double(batch * group.size) / ms * 1000,
                                         "collectives_ms": busy, "wait_ms": waited, "wait_share": waited / ms, "hidden_share": hidden,
                                         "threads": Threads.count, "rank": group.rank]
            orFail { try group.finish() }
            trainingGroup = nil
            guard group.rank == 0 else { return }
            if json {
                printJSON(result)
            } else {
                print(String(format: "%@ data-parallel training, %d processes × batch %d, %d threads each: %.1f ms/step, %.1f images/s per process, %.1f in all; collectives %.1f ms/step, %.1f ms of it waited for (%.1f%% of the step, %.0f%% hidden by the backward pass) (medians of %d)",
                             entry.name, group.size, batch, Threads.count, ms, Double(batch) / ms * 1000, Double(batch * group.size) / ms * 1000,
                             busy, waited, waited / ms * 100, hidden * 100, iters))
            }
        }

        /// One epoch of training: the data set is loaded first (not timed), a few batches warm
        /// up, then every batch of a shuffled pass is timed as one span.
        func runEpoch(_ entry: ModelEntry, data: String) {
            let train = orFail { try Zoo.datasets(data, for: entry.name, validationSplit: 0.1).train }
            if let problem = entry.inputProblem(train.shape) { fail("\(entry.name) cannot take \(data)'s images: \(problem)") }
            GlobalRandom.seed(1)
            let network = orFail { try entry.build(classCount: max(entry.defaultClassCount, train.classCount), input: train.shape) }
            let macs = orFail { try GlobalRandom.shapesOnly { try network.summary(input: train.shape).macs } }
            let optimizer = SGD(network.namedParameters().map(\.variable), learningRate: 0.01, momentum: 0.9)
            let (mean, std) = train.channelStatistics()
            network.train()
            func step(_ batch: Batch) throws {
                optimizer.zeroGrad()
                try crossEntropy(network(Variable(batch.images)), targets: batch.labels).backward()
                optimizer.step()
            }
            for batch in DataLoader(train, batchSize: batch, seed: 1, mean: mean, std: std).prefix(3) { orFail { try step(batch) } }
            let start = DispatchTime.now().uptimeNanoseconds
            var batches = 0
            for batch in DataLoader(train, batchSize: batch, seed: 2, mean: mean, std: std) { orFail { try step(batch) }; batches += 1 }
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

/// Each plan step's median time, share and GFLOP/s, slowest first.
func printProfile(_ plan: InferencePlan, _ runs: [[Double]]) {
    let steps = plan.steps, macs = plan.stepMACs
    let medians = steps.indices.map { i in runs.map { $0[i] }.sorted()[runs.count / 2] }
    let total = medians.reduce(0, +)
    print(String(format: "%d steps, %.2f ms in all (sum of per-step medians), arena %.1f MB, weights %.1f MB",
                 steps.count, total, Double(plan.arenaBytes) / 1e6, Double(plan.weightBytes) / 1e6))
    // Convolutions by kernel size: the rate their kernels reach over the whole network.
    var kinds: [String: (macs: Double, ms: Double, count: Int)] = [:]
    for i in steps.indices where steps[i].hasPrefix("conv ") {
        let kernel = String(steps[i].dropFirst(5).prefix { $0 != "/" }) + (steps[i].contains("grouped") ? " grouped" : "")
        kinds[kernel, default: (0, 0, 0)].macs += macs[i]
        kinds[kernel, default: (0, 0, 0)].ms += medians[i]
        kinds[kernel, default: (0, 0, 0)].count += 1
    }
    for (kernel, total) in kinds.sorted(by: { $0.value.ms > $1.value.ms }) {
        print(String(format: "conv %@: %d steps, %.2f ms, %.1f GFLOP/s", kernel, total.count, total.ms, 2 * total.macs / total.ms / 1e6))
    }
    for i in steps.indices.sorted(by: { medians[$0] > medians[$1] }) {
        let rate = macs[i] > 0 ? String(format: "%6.1f GFLOP/s", 2 * macs[i] / medians[i] / 1e6) : String(repeating: " ", count: 14)
        print(String(format: "%4d %8.3f ms %5.1f%% %@  %@", i, medians[i], 100 * medians[i] / total, rate, steps[i]))
    }
}

/// Which convolution path runs: oneDNN (for convolutions of ≥ 32 M MACs) or im2col + OpenBLAS.
var convolutionEngine: String {
    OneDNN.isAvailable && OneDNN.isEnabled ? "oneDNN for grouped convolutions and above \(OneDNN.minimumMACs) MACs, else im2col + OpenBLAS" : "im2col + OpenBLAS"
}
