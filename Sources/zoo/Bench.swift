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
        @Option(help: "With --train: 'backbone' trains only the classifier (as 'zoo finetune --freeze backbone').") var freeze: String?
        @Option(name: .customLong("num-classes"), help: "The classifier's classes (default: the model's).") var numClasses: Int?

        func run() {
            let entry = lookUp(model)
            if batch < 1 { fail("--batch must be at least 1, got \(batch)") }
            if iters < 1 { fail("--iters must be at least 1, got \(iters)") }
            if let threads { if threads < 1 { fail("--threads must be at least 1, got \(threads)") }; Threads.count = threads }
            if let freeze, freeze != "backbone" { fail("--freeze must be backbone, not '\(freeze)'") }
            if freeze != nil && !train { fail("--freeze goes with --train") }
            if let numClasses, numClasses < 1 { fail("--num-classes must be at least 1, got \(numClasses)") }
            let shape = inputShape(input, default: entry.defaultInput)
            if let epoch { return runEpoch(entry, data: epoch) }
            if train, let group = joinTrainingGroup(), group.size > 1 { return runDataParallel(entry, group: group, shape: shape) }
            let timing = orFail {
                train ? try Benchmark.trainingStep(entry, batch: batch, input: shape, iterations: iters, classes: numClasses,
                                                   freezeBackbone: freeze == "backbone")
                    : try Benchmark.inference(entry, batch: batch, input: shape, iterations: iters, classes: numClasses, eager: eager,
                                              profile: profile,
                                              planRefused: { warn("no inference plan for \(entry.name): \($0); running eagerly") })
            }
            if let plan = timing.plan, profile { printProfile(PlanProfile(plan, runs: timing.stepMilliseconds), plan) }
            if json {
                printJSON(["ms_per_batch": timing.milliseconds, "images_per_second": timing.imagesPerSecond, "gflops": timing.gflops,
                           "convolutions": Benchmark.convolutionEngine, "path": timing.path,
                           "plan_build_ms": timing.plan?.buildMilliseconds ?? 0] as [String: Any])
            } else {
                let engine = timing.plan.map { String(format: "inference plan built in %.0f ms", $0.buildMilliseconds) }
                    ?? "\(timing.path); convolutions: \(Benchmark.convolutionEngine)"
                print(String(format: "%@ %@ batch %d, %@, %d threads: %.2f ms/batch, %.1f images/s, %.1f GFLOP/s (median of %d; %@)",
                             entry.name, train ? (freeze == nil ? "training" : "training (frozen backbone)") : "inference", batch, shape.map(String.init).joined(separator: "×"),
                             Threads.count, timing.milliseconds, timing.imagesPerSecond, timing.gflops, iters, engine))
            }
        }

        /// Training steps data-parallel under mpirun: `--batch` images per process. Process 0 prints
        /// the medians: the step, images/s per process and in all, and the step's collectives.
        func runDataParallel(_ entry: ModelEntry, group: MPIGroup, shape: [Int]) {
            let timing = orFail {
                try Benchmark.dataParallelSteps(entry, group: group, batch: batch, input: shape, iterations: iters,
                                                bucketBytes: Int(bucketMB * 1_048_576))
            }
            orFail { try group.finish() }
            trainingGroup = nil
            guard group.rank == 0 else { return }
            let (ms, busy, waited) = (timing.milliseconds, timing.collectiveMilliseconds, timing.waitMilliseconds)
            if json {
                printJSON(["ms_per_step": ms, "processes": group.size, "batch_per_process": batch,
                           "images_per_second_per_process": Double(batch) / ms * 1000,
                           "images_per_second": Double(batch * group.size) / ms * 1000,
                           "collectives_ms": busy, "wait_ms": waited, "wait_share": waited / ms, "hidden_share": timing.hiddenShare,
                           "threads": Threads.count, "rank": group.rank] as [String: Any])
            } else {
                print(String(format: "%@ data-parallel training, %d processes × batch %d, %d threads each: %.1f ms/step, %.1f images/s per process, %.1f in all; collectives %.1f ms/step, %.1f ms of it waited for (%.1f%% of the step, %.0f%% hidden by the backward pass) (medians of %d)",
                             entry.name, group.size, batch, Threads.count, ms, Double(batch) / ms * 1000, Double(batch * group.size) / ms * 1000,
                             busy, waited, waited / ms * 100, timing.hiddenShare * 100, iters))
            }
        }

        /// One epoch of training over a data set (loaded first, not timed).
        func runEpoch(_ entry: ModelEntry, data: String) {
            let train = orFail { try Zoo.datasets(data, for: entry.name, validationSplit: 0.1).train }
            let timing = orFail { try Benchmark.epoch(entry, data: train, batch: batch) }
            if json {
                printJSON(["seconds_per_epoch": timing.seconds, "ms_per_batch": timing.seconds * 1000 / Double(timing.batches),
                           "convolutions": Benchmark.convolutionEngine, "images_per_second": timing.imagesPerSecond,
                           "gflops": timing.flops / timing.seconds / 1e9] as [String: Any])
            } else {
                print(String(format: "%@ training epoch over %@ (%d images, batch %d), %d threads: %.2f s, %.0f images/s",
                             entry.name, train.name, train.count, batch, Threads.count, timing.seconds, timing.imagesPerSecond))
            }
        }
    }
}

/// A plan's profile: its size, the convolutions by kernel size, then each step, slowest first.
func printProfile(_ profile: PlanProfile, _ plan: InferencePlan) {
    print(String(format: "%d steps, %.2f ms in all (sum of per-step medians), arena %.1f MB, weights %.1f MB",
                 profile.steps.count, profile.totalMilliseconds, Double(plan.arenaBytes) / 1e6, Double(plan.weightBytes) / 1e6))
    for group in profile.convolutions {
        print(String(format: "conv %@: %d steps, %.2f ms, %.1f GFLOP/s", group.kernel, group.steps, group.milliseconds, group.gflops))
    }
    for step in profile.steps {
        let rate = step.gflops.map { String(format: "%6.1f GFLOP/s", $0) } ?? String(repeating: " ", count: 14)
        print(String(format: "%4d %8.3f ms %5.1f%% %@  %@", step.index, step.milliseconds, 100 * step.milliseconds / profile.totalMilliseconds,
                     rate, step.description))
    }
}
