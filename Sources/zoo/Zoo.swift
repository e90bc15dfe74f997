import ArgumentParser
import Foundation
import ZooModels
import ZooNN
import ZooTensor

@main
struct Zoo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "ConvZoo: the classic convolutional networks, on the CPU.",
        subcommands: [List.self, Summary.self, Convert.self, Forward.self, Classify.self, Train.self, Finetune.self, Eval.self, Bench.self, Experiment.self])
}

/// Prints one sentence to stderr and exits with status 1.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(("zoo: " + message + "\n").data(using: .utf8)!)
    exit(1)
}

/// Layer shape errors become one sentence and exit status 1 instead of a crash.
func installErrorHandlers() {
    ShapeCheck.failure = { fail($0) }
}

func lookUp(_ name: String) -> ModelEntry {
    if let entry = ModelRegistry.entry(name) { return entry }
    if let suggestion = ModelRegistry.suggestion(for: name) {
        fail("unknown model '\(name)'; did you mean '\(suggestion)'?")
    }
    fail("unknown model '\(name)'; 'zoo list' prints the known names")
}

/// "1,234,567"
func grouped(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, c) in digits.reversed().enumerated() {
        if i > 0 && i % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return String(out.reversed())
}

extension Zoo {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every model name with its parameter count.")

        func run() {
            let width = ModelRegistry.names.map(\.count).max() ?? 0
            for entry in ModelRegistry.entries {
                let model = GlobalRandom.shapesOnly { entry.build() }
                print(entry.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                      + grouped(model.parameterCount).leftPadded(14) + " params")
            }
        }
    }

    struct Summary: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each layer's output shape, parameters and multiply-accumulates.")

        @Argument(help: "A model name from 'zoo list'.") var model: String
        @Option(name: .customLong("num-classes"), help: "Number of classes (default: the model's).") var classCount: Int?
        @Option(help: "Input size as CxHxW, e.g. 3x224x224 (default: the model's).") var input: String?
        @Flag(help: "Print one JSON object instead of a table.") var json = false

        func run() throws {
            let entry = lookUp(model)
            if let classCount, classCount < 1 { fail("--num-classes must be at least 1, got \(classCount)") }
            var shape = entry.defaultInput
            if let input {
                let parts = input.lowercased().split(separator: "x").map { Int($0) }
                guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
                    fail("--input must be CxHxW with positive whole numbers, e.g. 3x224x224; got '\(input)'")
                }
                shape = parts.map { $0! }
            }
            if let problem = entry.inputProblem(shape) { fail("\(entry.name) cannot take this input: \(problem)") }
            installErrorHandlers()
            let network = GlobalRandom.shapesOnly { entry.build(classCount: classCount ?? entry.defaultClassCount, input: shape) }
            let summary = network.summary(input: shape)
            json ? printJSON(summary) : printTable(summary)
        }

        func printTable(_ s: ModelSummary) {
            let rows = s.layers.map { [$0.name, $0.kind, $0.outputShape.map(String.init).joined(separator: "×"),
                                       grouped($0.parameters), grouped($0.macs)] }
            let header = ["layer", "type", "output", "params", "MACs"]
            var widths = header.map(\.count)
            for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { i, cell in
                    i >= 3 ? cell.leftPadded(widths[i]) : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                }.joined(separator: "  ")
            }
            print("\(model), input \(s.inputShape.map(String.init).joined(separator: "×"))")
            print(line(header))
            for row in rows { print(line(row)) }
            print("total params: \(grouped(s.parameters))")
            print("total MACs:   \(grouped(s.macs))")
        }

        func printJSON(_ s: ModelSummary) {
            let object: [String: Any] = [
                "model": model, "input": s.inputShape, "params": s.parameters, "macs": s.macs,
                "layers": s.layers.map { ["name": $0.name, "type": $0.kind, "output": $0.outputShape,
                                           "params": $0.parameters, "macs": $0.macs] as [String: Any] },
            ]
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
