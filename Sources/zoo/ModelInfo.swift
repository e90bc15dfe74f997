import ArgumentParser
import ConvZoo

extension ZooCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every model name with its parameter count, by family.")

        func run() {
            let models = orFail { try Zoo.models }
            let width = models.map(\.name.count).max() ?? 0
            var families: [String] = []
            for model in models where !families.contains(model.family) { families.append(model.family) }
            for family in families {
                print(family)
                for model in models where model.family == family {
                    print("  " + model.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                          + grouped(model.parameters).leftPadded(14) + " params")
                }
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
            let shape = inputShape(input, default: entry.defaultInput)
            if let problem = entry.inputProblem(shape) { fail("\(entry.name) cannot take this input: \(problem)") }
            let network = try GlobalRandom.shapesOnly { try entry.build(classCount: classCount ?? entry.defaultClassCount, input: shape) }
            let summary = try network.summary(input: shape)
            json ? printJSONSummary(summary) : printTable(summary)
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

        func printJSONSummary(_ s: ModelSummary) {
            printJSON([
                "model": model, "input": s.inputShape, "params": s.parameters, "macs": s.macs,
                "layers": s.layers.map { ["name": $0.name, "type": $0.kind, "output": $0.outputShape,
                                           "params": $0.parameters, "macs": $0.macs] as [String: Any] },
            ] as [String: Any])
        }
    }
}
