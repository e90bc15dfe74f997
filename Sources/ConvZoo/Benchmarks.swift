import Foundation
@_spi(Kernels) import ZooTensor

/// Timings of a registry model on random inputs, as `zoo bench` takes them: one warm-up, then
/// the median of timed iterations. The model is built with seed 1 and the inputs drawn with
/// seed 2, so two runs time the same arithmetic.
public enum Benchmark {
    /// What one timed case measured.
    public struct Timing {
        /// Median milliseconds per batch (or per training step).
        public var milliseconds: Double
        /// Images per batch.
        public var images: Int
        /// Floating-point operations per batch: 2 × multiply-accumulates forward, three times that
        /// for a training step (forward, and backward for the inputs and for the weights).
        public var flops: Double
        /// How the network ran: "plan", "eager", "eager (no plan)".
        public var path: String
        /// The inference plan timed, if one was.
        public var plan: InferencePlan?
        /// With a profile: each timed iteration's milliseconds per plan step.
        public var stepMilliseconds: [[Double]] = []

        public var imagesPerSecond: Double { Double(images) / milliseconds * 1000 }
        public var gflops: Double { flops / milliseconds / 1e6 }
    }

    /// Times inference of `batch` images of `input` [C, H, W] (the model's own when nil) with
    /// `classes` classes (the model's own when nil): through a compiled plan, or eagerly when
    /// `eager` or when no plan can be built (`planRefused` is told why). With `profile`, each
    /// plan step is timed too.
    public static func inference(_ entry: ModelEntry, batch: Int, input: [Int]? = nil, iterations: Int, classes: Int? = nil,
                                 eager: Bool = false, profile: Bool = false, planRefused: (Error) -> Void = { _ in }) throws -> Timing {
        let (network, x, macs) = try setUp(entry, batch: batch, input: input, classes: classes)
        network.eval()
        var timing = Timing(milliseconds: 0, images: batch, flops: 2 * Double(macs), path: eager ? "eager" : "plan")
        if !eager {
            do {
                timing.plan = try InferencePlan(network, inputShape: x.shape)
            } catch {
                planRefused(error)
                timing.path = "eager (no plan)"
            }
        }
        var steps: [[Double]] = []
        timing.milliseconds = try median(iterations: iterations) { warmUp in
            if let plan = timing.plan {
                if profile { steps.append(plan.runTimed(x).stepMilliseconds) } else { _ = plan.run(x) }
            } else {
                _ = try GradMode.withoutGrad { try network(Variable(x)) }
            }
            if warmUp { steps = [] }
        }
        timing.stepMilliseconds = steps
        return timing
    }

    /// Times a training step (forward, backward, an SGD update with momentum) on `batch` images,
    /// with a classifier of `classes` classes (the model's own when nil). With `freezeBackbone`,
    /// only the classifier trains (as `FitOptions.freezeBackbone`): nothing before it records a
    /// graph, and the floating-point operations counted are the forward pass's.
    public static func trainingStep(_ entry: ModelEntry, batch: Int, input: [Int]? = nil, iterations: Int, classes: Int? = nil,
                                    freezeBackbone: Bool = false) throws -> Timing {
        let (network, x, macs) = try setUp(entry, batch: batch, input: input, classes: classes)
        network.train()
        if freezeBackbone {
            network.freeze()
            for path in entry.classifierPaths(in: network) { network.module(at: path)?.unfreeze() }
        }
        let classCount = classes ?? entry.defaultClassCount
        let labels = (0..<batch).map { $0 % classCount }
        let optimizer = SGD(network.namedParameters().map(\.variable).filter(\.requiresGrad), learningRate: 1e-4, momentum: 0.9)
        let milliseconds = try median(iterations: iterations) { _ in
            optimizer.zeroGrad()
            try crossEntropy(network(Variable(x)), targets: labels).backward()
            optimizer.step()
        }
        return Timing(milliseconds: milliseconds, images: batch, flops: (freezeBackbone ? 2 : 6) * Double(macs), path: "eager")
    }

    /// What one timed training epoch measured.
    public struct EpochTiming {
        public var seconds: Double
        public var batches: Int
        public var images: Int
        /// Floating-point operations of the epoch (6 × MACs per image).
        public var flops: Double
        public var imagesPerSecond: Double { Double(images) / seconds }
    }

    /// Times one shuffled epoch of SGD with momentum over `data` in batches of `batch` (no
    /// augmentation, no evaluation), after three batches of warm-up.
    public static func epoch(_ entry: ModelEntry, data: ImageDataset, batch: Int) throws -> EpochTiming {
        let network = try build(entry, input: data.shape, classes: max(entry.defaultClassCount, data.classCount),
                                inputName: "\(data.name)'s images")
        let macs = try GlobalRandom.shapesOnly { try network.summary(input: data.shape).macs }
        let optimizer = SGD(network.namedParameters().map(\.variable), learningRate: 0.01, momentum: 0.9)
        let (mean, std) = data.channelStatistics()
        network.train()
        func step(_ batch: Batch) throws {
            optimizer.zeroGrad()
            try crossEntropy(network(Variable(batch.images)), targets: batch.labels).backward()
            optimizer.step()
        }
        for warmUp in DataLoader(data, batchSize: batch, seed: 1, mean: mean, std: std).prefix(3) { try step(warmUp) }
        let start = DispatchTime.now().uptimeNanoseconds
        var batches = 0
        for timed in DataLoader(data, batchSize: batch, seed: 2, mean: mean, std: std) {
            try step(timed)
            batches += 1
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return EpochTiming(seconds: seconds, batches: batches, images: data.count, flops: 6 * Double(macs) * Double(data.count))
    }

    /// What data-parallel training steps measured on this process (medians over the steps).
    public struct DataParallelTiming {
        public var milliseconds: Double
        /// The step's collectives (summing gradients, broadcasting buffers): how long they ran on
        /// the communication thread, and how long the training thread waited for them.
        public var collectiveMilliseconds: Double, waitMilliseconds: Double
        public var processes: Int, batchPerProcess: Int
        /// How much of the collectives the backward pass hid: 1 − wait / collectives.
        public var hiddenShare: Double { collectiveMilliseconds > 0 ? max(0, 1 - waitMilliseconds / collectiveMilliseconds) : 0 }
    }

    /// Times data-parallel training steps over `group` (under mpirun): `batch` images per process,
    /// the gradients summed over the processes as `Trainer.step` sums them.
    public static func dataParallelSteps(_ entry: ModelEntry, group: MPIGroup, batch: Int, input: [Int]? = nil, iterations: Int,
                                         bucketBytes: Int) throws -> DataParallelTiming {
        let shape = input ?? entry.defaultInput
        let network = try build(entry, input: shape, classes: entry.defaultClassCount)
        var configuration = TrainingConfiguration()
        configuration.batchSize = batch * group.size
        configuration.learningRate = 1e-4
        let placeholder = ImageDataset(name: "random images", shape: shape, pixels: [UInt8](repeating: 0, count: shape.reduce(1, *)),
                                       labels: [0], classNames: (0..<entry.defaultClassCount).map { "class \($0)" })
        var options = DataParallelOptions()
        options.bucketBytes = bucketBytes
        let trainer = Trainer(model: network, configuration: configuration, train: placeholder, test: placeholder,
                              mean: [Float](repeating: 0, count: shape[0]), std: [Float](repeating: 1, count: shape[0]),
                              group: group, dataParallel: options)
        var rng = Xoshiro256(seed: 2 &+ UInt64(group.rank))
        let images = Tensor.randomNormal([batch] + shape, using: &rng)
        let step = Batch(images: images, labels: (0..<batch).map { ($0 + group.rank) % entry.defaultClassCount },
                         globalCount: batch * group.size, globalOffset: batch * group.rank)
        network.train()
        var collectives: [Double] = [], waits: [Double] = []
        let milliseconds = try median(iterations: iterations) { warmUp in
            _ = try trainer.step(step)
            guard !warmUp else { return }
            collectives.append(trainer.lastStepCommunication.collectives * 1000)
            waits.append(trainer.lastStepCommunication.wait * 1000)
        }
        return DataParallelTiming(milliseconds: milliseconds, collectiveMilliseconds: median(collectives), waitMilliseconds: median(waits),
                                  processes: group.size, batchPerProcess: batch)
    }

    /// The network for `entry` at `input` with `classes` classes, a random batch, and the forward
    /// MACs of the batch.
    static func setUp(_ entry: ModelEntry, batch: Int, input: [Int]?, classes: Int? = nil) throws -> (Module, Tensor, Int) {
        guard batch >= 1 else { throw ZooError("the batch must be at least 1 image, got \(batch)") }
        if let classes, classes < 1 { throw ZooError("the class count must be at least 1, got \(classes)") }
        let shape = input ?? entry.defaultInput
        let network = try build(entry, input: shape, classes: classes ?? entry.defaultClassCount)
        let macs = try GlobalRandom.shapesOnly { try network.summary(input: shape).macs } * batch
        var rng = Xoshiro256(seed: 2)
        return (network, Tensor.randomNormal([batch] + shape, using: &rng), macs)
    }

    /// `entry` built with seed 1 for `input` [C, H, W] and `classes` classes, after checking
    /// that it can take `input` (`inputName` says what the input is in the error).
    static func build(_ entry: ModelEntry, input: [Int], classes: Int, inputName: String = "this input") throws -> Module {
        if let problem = entry.inputProblem(input) { throw ZooError("\(entry.name) cannot take \(inputName): \(problem)") }
        GlobalRandom.seed(1)
        return try entry.build(classCount: classes, input: input)
    }

    /// Runs `body` once to warm up (`warmUp` true), then `iterations` timed times; the median in ms.
    static func median(iterations: Int, _ body: (_ warmUp: Bool) throws -> Void) throws -> Double {
        guard iterations >= 1 else { throw ZooError("at least 1 timed iteration is needed, got \(iterations)") }
        try body(true)
        var times: [Double] = []
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            try body(false)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return median(times)
    }

    static func median(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.sorted()[values.count / 2] }

    /// Which convolution path eager execution takes: oneDNN (grouped convolutions, and those
    /// above its size threshold), or im2col + OpenBLAS.
    public static var convolutionEngine: String {
        OneDNN.isAvailable && OneDNN.isEnabled
            ? "oneDNN for grouped convolutions and above \(OneDNN.minimumMACs) MACs, else im2col + OpenBLAS" : "im2col + OpenBLAS"
    }
}

/// Each step of an inference plan with its median time over profiled runs, and the convolutions
/// grouped by kernel size.
public struct PlanProfile {
    public struct Step {
        public var index: Int
        public var description: String
        public var milliseconds: Double
        public var macs: Double
        /// GFLOP/s (2 × MACs / time), nil for steps without multiply-accumulates.
        public var gflops: Double? { macs > 0 ? 2 * macs / milliseconds / 1e6 : nil }
    }
    public struct KernelGroup {
        public var kernel: String
        public var steps: Int
        public var milliseconds: Double
        public var gflops: Double
    }

    /// Steps, slowest first.
    public var steps: [Step]
    /// Convolutions by kernel size ("3x3/1", "1x1/2 grouped"), slowest group first.
    public var convolutions: [KernelGroup]
    public var totalMilliseconds: Double

    /// The profile of `plan` from `runs` (each run's milliseconds per step).
    public init(_ plan: InferencePlan, runs: [[Double]]) {
        let descriptions = plan.steps, macs = plan.stepMACs
        let medians = descriptions.indices.map { i in Benchmark.median(runs.map { $0[i] }) }
        totalMilliseconds = medians.reduce(0, +)
        var kinds: [String: (macs: Double, ms: Double, count: Int)] = [:]
        for i in descriptions.indices where descriptions[i].hasPrefix("conv ") {
            let kernel = String(descriptions[i].dropFirst(5).prefix { $0 != "/" }) + (descriptions[i].contains("grouped") ? " grouped" : "")
            kinds[kernel, default: (0, 0, 0)].macs += macs[i]
            kinds[kernel, default: (0, 0, 0)].ms += medians[i]
            kinds[kernel, default: (0, 0, 0)].count += 1
        }
        convolutions = kinds.sorted { $0.value.ms > $1.value.ms }.map {
            KernelGroup(kernel: $0.key, steps: $0.value.count, milliseconds: $0.value.ms, gflops: 2 * $0.value.macs / $0.value.ms / 1e6)
        }
        steps = descriptions.indices.sorted { medians[$0] > medians[$1] }.map {
            Step(index: $0, description: descriptions[$0], milliseconds: medians[$0], macs: macs[$0])
        }
    }
}
