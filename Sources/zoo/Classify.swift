import ArgumentParser
import ConvZoo
import Foundation

extension ZooCommand {
    struct Classify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Classify PNG and JPEG files and print the top-K labels with probabilities.")

        @OptionGroup var choice: ModelChoice
        @Option(help: "Class names, one per line in index order (default: the weight file's, or the standard set for its class count).")
        var labels: String?
        @Option(help: "How many labels to print per image.") var top = 5
        @Option(help: "Images per forward pass.") var batch = 8
        @Option(name: .customLong("max-pixels"), help: "Refuse images with more pixels than this.") var maxPixels = Image.defaultMaximumPixels
        @Flag(help: "One JSON object per line instead of a table.") var json = false
        @Flag(help: "Run the network eagerly, layer by layer, instead of through a compiled inference plan.") var eager = false
        @Option(help: "Also write one self-contained HTML page: per image the top-K as bars and the Grad-CAM of the top-1.")
        var html: String?
        @Argument(help: "PNG or JPEG files, or folders to search for them.") var images: [String] = []

        func validate() throws {
            if top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
            if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
            if maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1, got \(maxPixels)") }
            if images.isEmpty { throw ValidationError("give at least one image file or folder") }
        }

        func run() throws {
            let loaded = choice.load()
            loaded.usesInferencePlans = !eager
            if let labels { orFail { try loaded.setLabels(LabelSet(file: labels, classCount: loaded.classCount)) } }
            let files = ImageFileList(images)
            var failures = files.problems.count
            files.problems.forEach(warn)
            var report = html.map { _ in ClassificationReport(title: "\(loaded.name): top \(top)") }
            orFail {
                try loaded.forEachBatch(of: files.paths, batchSize: batch, maximumPixels: maxPixels, pictures: html != nil,
                                        skipping: { warn(sentence($1)); failures += 1 }) { batch in
                    let results = try loaded.classify(inputs: batch.inputs, names: batch.files, top: top)
                    results.forEach(printResult)
                    try report?.add(results, of: batch, model: loaded)
                }
            }
            if let html, let report { orFail { try AtomicFile.write(report.page(), to: html) } }
            if failures > 0 {
                warn("\(failures) of \(files.paths.count + files.problems.count) inputs could not be classified")
                throw ExitCode(1)
            }
        }

        func printResult(_ result: Classification) {
            if json {
                printJSON(["file": result.file, "top": result.top.map {
                    ["label": $0.label, "index": $0.index, "probability": Double($0.probability)] as [String: Any]
                }] as [String: Any])
                return
            }
            print(result.file)
            let width = result.top.map(\.label.count).max() ?? 0
            for (rank, item) in result.top.enumerated() {
                let label = item.label.padding(toLength: width, withPad: " ", startingAt: 0)
                print("  \(rank + 1)  \(label)  \(String(format: "%6.2f%%", item.probability * 100))  (\(item.index))")
            }
        }
    }
}
