import ArgumentParser
@_spi(Testing) import ConvZoo
import Foundation

extension ZooCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Train a model from scratch.")
        @Option(help: "The model (see 'zoo list').") var model: String
        @OptionGroup var recipe: RecipeOptions

        func run() {
            let entry = lookUp(model)
            recipe.validateNumbers()
            let group = joinTrainingGroup()
            let (train, test) = recipe.datasets(for: entry.name)
            if let problem = entry.inputProblem(train.shape) { fail("\(entry.name) cannot take this data: \(problem)") }
            GlobalRandom.seed(recipe.seed)
            let network = orFail { try Zoo.load(entry.name, classes: train.classCount, input: train.shape) }
            print("training \(entry.name) (\(network.module.parameterCount) parameters) on \(train.count) \(train.name) images, evaluating on \(test.count)"
                  + dataParallelNote(group))
            fitAndReport(network, train: train, test: test, options: recipe.fitOptions(imageSide: train.shape[1], group: group))
        }
    }

    struct Finetune: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fine-tune pretrained weights on new classes: a new head first, then optionally everything.")
        @Option(help: "The model (see 'zoo list').") var model: String
        @Option(help: weightsHelp) var weights: String
        @OptionGroup var transformInput: TransformInputOption
        @Option(name: .customLong("num-classes"), help: "Classes of the new head.") var classCount: Int
        @Option(help: "backbone (train the head only at first) or none.") var freeze = "backbone"
        @Option(name: .customLong("unfreeze-after"), help: "Epochs after which the backbone trains too.") var unfreezeAfter: Int?
        @OptionGroup var recipe: RecipeOptions

        func run() {
            guard ["backbone", "none"].contains(freeze) else { fail("--freeze must be backbone or none, not '\(freeze)'") }
            recipe.validateNumbers()
            let entry = lookUp(model)
            let group = joinTrainingGroup()
            let (train, test) = recipe.datasets(for: entry.name)
            if train.classCount != classCount { fail("--num-classes is \(classCount), but '\(recipe.data)' has \(train.classCount) classes") }
            GlobalRandom.seed(recipe.seed)
            let network = loadModel(entry.name, weights: WeightsSource(weights), classCount: classCount, input: train.shape,
                                    transformInput: transformInput.setting)
            var options = recipe.fitOptions(imageSide: train.shape[1], group: group)
            options.freezeBackbone = freeze == "backbone"
            options.unfreezeAfter = unfreezeAfter
            print("fine-tuning \(entry.name) on \(train.count) images of \(train.classCount) classes (\(freeze == "backbone" ? "head only at first" : "all layers"))"
                  + dataParallelNote(group))
            fitAndReport(network, train: train, test: test, options: options)
        }
    }
}

/// ", data-parallel over N processes (sync BN)" or "".
func dataParallelNote(_ group: MPIGroup?) -> String {
    guard let group, group.size > 1 else { return "" }
    return ", data-parallel over \(group.size) processes"
}

/// Trains `model` and prints how it ended.
func fitAndReport(_ model: ZooModel, train: ImageDataset, test: ImageDataset, options: FitOptions) {
    if let group = trainingGroup, let output = options.output { sayWhyWhenEnded(group, checkpoint: output + ".checkpoint") }
    let result = orFail { try model.fit(train: train, test: test, options: options) }
    // MPI ends cleanly (MPI_Finalize) on every process before the first one prints and exits.
    if let group = trainingGroup {
        trainingGroup = nil
        orFail { try group.finish() }
    }
    guard result.finished else {
        // ZOO_STOP_AFTER_EPOCH simulates a killed run (for tests of --resume): the checkpoint stays.
        print("stopping after epoch \(options.stopAfterEpoch ?? 0) (ZOO_STOP_AFTER_EPOCH)")
        return
    }
    if let last = result.last {
        print(String(format: "wrote '%@': %@ top-1 %.2f%%, top-5 %.2f%% on %d %@ images", options.output ?? "", model.name,
                     last.validation.top1 * 100, last.validation.top5 * 100, last.validation.count, test.name))
    }
}

/// The sentence process 0 prints when mpirun ends the job because another process failed
/// (mpirun sends SIGTERM before SIGKILL); the other processes end silently.
nonisolated(unsafe) private var endedSentence: UnsafeMutablePointer<CChar>?

/// Under mpirun: when the job is ended from outside, process 0 says so in one sentence that
/// names the checkpoint to resume from, and the process exits with status 1.
func sayWhyWhenEnded(_ group: MPIGroup, checkpoint: String) {
    if group.rank == 0 {
        endedSentence = strdup("zoo: training stopped: another process of the MPI job ended; the last finished epoch is in '\(checkpoint)' (continue with --resume)\n")
    }
    signal(SIGTERM) { _ in
        if let text = endedSentence { _ = write(2, text, strlen(text)) }
        _exit(1)
    }
}
