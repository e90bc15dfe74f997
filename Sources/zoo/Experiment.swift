import ArgumentParser
import ConvZoo
import Foundation

extension ZooCommand {
    struct Experiment: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Experiments from the papers.", subcommands: [Depth.self])

        struct Depth: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Plain vs residual CIFAR-style nets as depth grows (He et al. 2016): error curves, summary and plots.")
            @Option(help: "Training data (see 'zoo train').") var data = "fashion-mnist"
            @Option(help: "Depths, 6n + 2.") var depths = "20,56"
            @Option(help: "plain, residual, preact (comma-separated).") var kinds = "plain,residual"
            @Option(help: "Epochs per network.") var epochs = 8
            @Option(help: "Train on a seeded random subset of this many images (0: all).") var subset = 5_000
            @Option(name: .customLong("test-subset"), help: "Measure test error on a seeded subset of this many test images (0: all).") var testSubset = 2_000
            @Option(help: "Epochs of linear learning-rate warm-up.") var warmup = 1
            @Flag(name: .customLong("zero-init-residual"), inversion: .prefixedNo,
                  help: "Start each residual branch's last BN scale at 0, so a deep net starts as a shallow one.") var zeroInitResidual = true
            @Option(help: "Peak learning rate.") var lr: Float = 0.1
            @Option(help: "Images per batch.") var batch = 128
            @Option(help: "Random seed.") var seed: UInt64 = 0
            @Option(help: "Output folder (results.csv, summary.md, train_error/test_error .svg and .png).") var out: String

            func run() {
                let depthList = depths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !depthList.isEmpty, depthList.allSatisfy({ ModelRegistry.depthSeriesHas(depth: $0 ?? 0) }) else {
                    fail("--depths must be a comma-separated list of depths 6n + 2 (20, 32, 44, 56, 110), not '\(depths)'")
                }
                let series = kinds.split(separator: ",").map { DepthSeries.named(String($0)) }
                guard !series.isEmpty, series.allSatisfy({ $0 != nil }) else {
                    fail("--kinds must list \(DepthSeries.kinds.dropLast().joined(separator: ", ")) or \(DepthSeries.kinds.last!), not '\(kinds)'")
                }
                let spec = orFail { try DataSpec(data) }
                var (train, test, _) = orFail { try spec.load(channels: 3, size: (32, 32), validationFraction: 0.2, seed: seed) }
                if subset < 0 { fail("--subset must not be negative, got \(subset)") }
                if subset > 0 { train = train.randomSubset(subset, seed: seed) }
                if testSubset < 0 { fail("--test-subset must not be negative, got \(testSubset)") }
                if testSubset > 0 { test = test.randomSubset(testSubset, seed: seed &+ 1) }
                var experiment = DepthExperiment(depths: depthList.map { $0! }, series: series.map { $0! }, epochs: epochs)
                (experiment.warmupEpochs, experiment.zeroInitResidual, experiment.learningRate) = (warmup, zeroInitResidual, lr)
                (experiment.batchSize, experiment.seed) = (batch, seed)
                experiment.augmentation = .standard(side: train.shape[1], imageFolder: false)
                orFail { try experiment.run(train: train, test: test, folder: out) { line in print(line); fflush(stdout) } }
                print("wrote \(out)/results.csv, summary.md, train_error.svg/.png, test_error.svg/.png")
            }
        }
    }
}
