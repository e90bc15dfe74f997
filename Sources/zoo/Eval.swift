import ArgumentParser
import ConvZoo
import Foundation

extension ZooCommand {
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Top-1/top-5 accuracy, loss and per-class accuracy on a test split.")
        @Option(help: "The model (default: the one the weight file names).") var model: String?
        @Option(help: weightsHelp) var weights: String
        @OptionGroup var transformInput: TransformInputOption
        @Option(help: "fashion-mnist, fashion-mnist:DIR, mnist:DIR, cifar10:DIR, or DIR (its validation split).") var data: String
        @Option(name: .customLong("val-split"), help: "Fraction of an image folder held out for validation.") var validationSplit = 0.2
        @Option(help: "The seed of an image folder's split.") var seed: UInt64 = 0
        @Flag(help: "Print one JSON object.") var json = false
        @Flag(help: "Run the network eagerly, layer by layer, instead of through a compiled inference plan.") var eager = false

        func run() {
            guard FileManager.default.isReadableFile(atPath: weights) else { fail("cannot read '\(weights)': no such file or not readable") }
            let source = WeightsSource(weights)
            let name = modelName(model, weights: source)
            let test = orFail { try Zoo.datasets(data, for: name, validationSplit: validationSplit, seed: seed).test }
            let loaded = loadModel(name, weights: source, classCount: nil, input: test.shape, transformInput: transformInput.setting)
            if loaded.classCount != test.classCount { fail("'\(weights)' has \(loaded.classCount) classes, but '\(data)' has \(test.classCount)") }
            loaded.usesInferencePlans = !eager
            let result = orFail { try loaded.evaluate(test) }
            if json {
                printJSON(["top1": result.top1, "top5": result.top5, "loss": result.loss, "count": result.count] as [String: Any])
                return
            }
            print(String(format: "%@ on %d %@ images: top-1 %.2f%%, top-5 %.2f%%, mean loss %.4f", name, result.count, test.name,
                         result.top1 * 100, result.top5 * 100, result.loss))
            let width = max(5, result.perClass.map(\.name.count).max() ?? 0)
            print("class".padding(toLength: width, withPad: " ", startingAt: 0) + "  accuracy  correct/total")
            for row in result.perClass {
                let accuracy = row.total == 0 ? 0 : Double(row.correct) / Double(row.total) * 100
                print(row.name.padding(toLength: width, withPad: " ", startingAt: 0) + String(format: "  %7.2f%%  %d/%d", accuracy, row.correct, row.total))
            }
        }
    }
}
