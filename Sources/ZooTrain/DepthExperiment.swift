import Foundation
import ZooData
import ZooDraw
import ZooNN
import ZooTensor

/// One kind of network in the depth experiment, buildable at any depth.
public struct DepthSeries {
    /// The kind's name in results and plots (`plain`, `residual`, …).
    public var kind: String
    /// Whether its blocks have shortcuts (plain networks have none: the paper's degradation).
    public var hasShortcuts: Bool
    /// Whether the kind has a network of this depth.
    public var hasDepth: (Int) -> Bool
    /// The network of `depth` layers (one `hasDepth` accepts) for `classCount` classes and
    /// `inputChannels` channels; `zeroInitResidual` starts every residual branch at zero.
    public var build: (_ depth: Int, _ classCount: Int, _ inputChannels: Int, _ zeroInitResidual: Bool) -> Module

    public init(kind: String, hasShortcuts: Bool, hasDepth: @escaping (Int) -> Bool, build: @escaping (Int, Int, Int, Bool) -> Module) {
        (self.kind, self.hasShortcuts, self.hasDepth, self.build) = (kind, hasShortcuts, hasDepth, build)
    }
}

/// He et al. 2016 (Fig. 1, Fig. 6): networks with and without shortcuts at growing depth,
/// trained with one recipe; training and test error per epoch, a summary, and plots.
public struct DepthExperiment {
    public var depths: [Int]
    public var series: [DepthSeries]
    public var epochs: Int
    public var batchSize = 128
    public var learningRate: Float = 0.1
    public var weightDecay: Float = 1e-4
    public var warmupEpochs = 0
    public var zeroInitResidual = false
    public var seed: UInt64 = 0
    public var augmentation = Augmentation(cropPadding: 2, horizontalFlip: true)

    public init(depths: [Int], series: [DepthSeries], epochs: Int) {
        (self.depths, self.series, self.epochs) = (depths, series, epochs)
    }

    /// The paper's step schedule scaled to the budget: ÷10 at half and at three quarters.
    var recipe: TrainingConfiguration {
        var c = TrainingConfiguration()
        c.epochs = epochs
        c.batchSize = batchSize
        c.learningRate = learningRate
        c.optimizer = .sgd
        c.momentum = 0.9
        c.weightDecay = weightDecay
        c.schedule = .step
        c.milestones = [epochs / 2, epochs * 3 / 4].map { max(1, $0 - warmupEpochs) }
        c.warmupEpochs = warmupEpochs
        c.augmentation = augmentation
        c.seed = seed
        return c
    }

    public struct Row: Equatable {
        public var kind: String, depth: Int, epoch: Int
        public var trainError: Double, testError: Double, seconds: Double
        var csv: String { String(format: "%@,%d,%d,%.6f,%.6f,%.2f", kind, depth, epoch, trainError, testError, seconds) }
        static let header = "kind,depth,epoch,train_error,test_error,seconds"

        init(kind: String, depth: Int, epoch: Int, trainError: Double, testError: Double, seconds: Double) {
            (self.kind, self.depth, self.epoch, self.trainError, self.testError, self.seconds) = (kind, depth, epoch, trainError, testError, seconds)
        }

        init?(csv line: Substring) {
            let f = line.split(separator: ",").map(String.init)
            guard f.count == 6, let depth = Int(f[1]), let epoch = Int(f[2]), let train = Double(f[3]), let test = Double(f[4]),
                  let seconds = Double(f[5]) else { return nil }
            self.init(kind: f[0], depth: depth, epoch: epoch, trainError: train, testError: test, seconds: seconds)
        }
    }

    static func name(_ kind: String, _ depth: Int) -> String { "\(kind)-\(depth)" }

    /// Trains every (kind, depth) not finished in `folder` yet, writing results.csv after every
    /// epoch, then summary.md and the plots. A network interrupted mid-way resumes from its
    /// checkpoint; a finished one is never retrained.
    public func run(train: ImageDataset, test: ImageDataset, folder: String, log: @escaping (String) -> Void) throws {
        try recipe.validate()
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let resultsPath = folder + "/results.csv"
        var rows = ((try? String(contentsOfFile: resultsPath, encoding: .utf8)) ?? "").split(separator: "\n").dropFirst().compactMap(Row.init(csv:))
        var parameters: [String: Int] = [:]
        let (mean, std) = train.channelStatistics()
        for network in series {
            for depth in depths where !network.hasDepth(depth) {
                throw ZooError("there is no \(network.kind) network of depth \(depth)")
            }
        }
        for network in series {
            let kind = network.kind
            for depth in depths {
                let name = Self.name(kind, depth)
                func freshRun() -> TrainingRun {
                    GlobalRandom.seed(seed)
                    let model = network.build(depth, train.classCount, train.shape[0], zeroInitResidual)
                    let trainer = Trainer(model: model, configuration: recipe, train: train, test: test, mean: mean, std: std)
                    return TrainingRun(trainer, checkpoint: folder + "/\(name).checkpoint", metadata: ["architecture": name])
                }
                var run = freshRun()
                parameters[name] = run.trainer.model.parameterCount
                let done = rows.filter { $0.kind == kind && $0.depth == depth }
                if done.count >= epochs { log("\(name): finished earlier, kept"); continue }
                if run.canResume, let restored = try? run.restore(), restored == done.count {
                    log("\(name): resuming after epoch \(restored)")
                } else {
                    // No checkpoint, or one that does not match results.csv: this network starts over.
                    rows.removeAll { $0.kind == kind && $0.depth == depth }
                    if run.canResume { run = freshRun() }
                }
                log("\(name): \(parameters[name]!) parameters")
                run.epochFinished = { record in
                    let row = Row(kind: kind, depth: depth, epoch: record.epoch, trainError: 1 - record.trainAccuracy,
                                  testError: 1 - record.validation.top1, seconds: record.seconds)
                    rows.append(row)
                    try AtomicFile.write(([Row.header] + rows.map(\.csv)).joined(separator: "\n") + "\n", to: resultsPath)
                    log(String(format: "%@ epoch %d/%d: train error %.2f%%, test error %.2f%%, %.0fs", name, record.epoch, epochs,
                               row.trainError * 100, row.testError * 100, row.seconds))
                }
                try run.run()
            }
        }
        try writeReport(rows: rows, parameters: parameters, folder: folder, trainCount: train.count, testName: test.name)
    }

    /// One line per kind comparing the deepest and the shallowest network's final training
    /// error: the paper's degradation (plain) and its cure (residual, pre-activation).
    func verdict(rows: [Row]) -> String {
        guard let shallow = depths.min(), let deep = depths.max(), shallow < deep else { return "" }
        var text = "\n"
        for network in series {
            let kind = network.kind
            func final(_ depth: Int) -> Double? {
                rows.filter { $0.kind == kind && $0.depth == depth }.max { $0.epoch < $1.epoch }?.trainError
            }
            guard let a = final(shallow), let b = final(deep) else { continue }
            let comparison = b > a ? "above" : b < a ? "below" : "equal to"
            let meaning = !network.hasShortcuts ? (b > a ? "the degradation problem shows" : "no degradation at this budget")
                                         : (b <= a ? "depth helps, as in the paper" : "the deeper net has not caught up at this budget")
            text += String(format: "- %@: %@-%d's final training error %.2f%% is %@ %@-%d's %.2f%%: %@.\n", kind, kind, deep,
                           b * 100, comparison, kind, shallow, a * 100, meaning)
        }
        return text
    }

    func writeReport(rows: [Row], parameters: [String: Int], folder: String, trainCount: Int, testName: String) throws {
        var summary = "# Plain vs residual networks as depth grows\n\n"
        summary += "Recipe: SGD momentum 0.9, weight decay \(weightDecay), learning rate \(learningRate) divided by 10 at epochs "
        summary += "\(recipe.milestones!.map { String($0 + warmupEpochs) }.joined(separator: " and ")), \(epochs) epochs, batch \(batchSize), "
        summary += "\(trainCount) training images, random crop (padding \(augmentation.cropPadding)) and flips, BN, He initialisation"
        summary += warmupEpochs > 0 ? ", \(warmupEpochs) warm-up epochs" : ""
        summary += zeroInitResidual ? ", last BN scale of each residual branch initialised to 0" : ""
        summary += ", seed \(seed). Errors in %; test error on \(testName).\n\n"
        summary += "| kind | depth | params | final train error | final test error | time (s) |\n|---|---|---|---|---|---|\n"
        for kind in series.map(\.kind) {
            for depth in depths {
                let own = rows.filter { $0.kind == kind && $0.depth == depth }.sorted { $0.epoch < $1.epoch }
                guard let last = own.last else { continue }
                summary += String(format: "| %@ | %d | %d | %.2f | %.2f | %.0f |\n", kind, depth, parameters[Self.name(kind, depth)] ?? 0,
                                  last.trainError * 100, last.testError * 100, own.reduce(0) { $0 + $1.seconds })
            }
        }
        summary += verdict(rows: rows)
        try AtomicFile.write(summary, to: folder + "/summary.md")
        let palette = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207)].map(Color.init(rgb:))
        for (file, title, value) in [("train_error", "training error vs epoch", \Row.trainError), ("test_error", "test error vs epoch", \Row.testError)] {
            var lines: [LinePlot.Series] = []
            for network in series {
                for (index, depth) in depths.enumerated() {
                    let own = rows.filter { $0.kind == network.kind && $0.depth == depth }.sorted { $0.epoch < $1.epoch }
                    guard !own.isEmpty else { continue }
                    lines.append(LinePlot.Series(label: Self.name(network.kind, depth), points: own.map { (Double($0.epoch), $0[keyPath: value] * 100) },
                                                 color: palette[index % palette.count], dashed: !network.hasShortcuts))
                }
            }
            let plot = LinePlot(title: title + " (dashed: plain, solid: residual)", xLabel: "epoch", yLabel: file == "train_error" ? "training error (%)" : "test error (%)", series: lines)
            try plot.write(to: folder + "/\(file).svg")
            try plot.write(to: folder + "/\(file).png")
        }
    }
}
