import ArgumentParser
import ConvZoo
import Foundation

/// The `zoo` tool: it parses arguments, calls the ConvZoo library and prints.
@main
struct ZooCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "ConvZoo: the classic convolutional networks, on the CPU.",
        subcommands: [List.self, Summary.self, Convert.self, Forward.self, Classify.self, Train.self, Finetune.self, Eval.self,
                      Bench.self, Experiment.self, Explain.self, Features.self, Filters.self, Embed.self, Probe.self, Weights.self,
                      Fetch.self])
}

/// Prints one line to stderr.
func warn(_ message: String) {
    FileHandle.standardError.write(("zoo: " + message + "\n").data(using: .utf8)!)
}

/// Prints one sentence to stderr and exits with status 1.
func fail(_ message: String) -> Never {
    warn(message)
    // Under mpirun, the whole job ends now rather than when mpirun notices this process is gone.
    if let group = trainingGroup { group.abort(code: 1) }
    exit(1)
}

/// The MPI job this process trains in, once joined (see `joinTrainingGroup`).
nonisolated(unsafe) var trainingGroup: MPIGroup?

/// The value of `body`, or its error's sentence on stderr and exit status 1.
func orFail<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch { fail(sentence(error)) }
}

/// An error's sentence, with the library's arguments written as this tool's options.
func sentence(_ error: Error) -> String {
    guard let error = error as? ZooError else { return "\(error)" }
    return error.sentence { argument in optionNames[argument] ?? argument }
}

/// The option of this tool that gives each library argument an error may name.
let optionNames = ["weights": "--weights", "model": "--model", "classes": "--num-classes", "maximumPixels": "--max-pixels",
                   "data": "--data", "epochs": "--epochs", "batchSize": "--batch", "learningRate": "--lr", "weightDecay": "--weight-decay",
                   "warmupEpochs": "--warmup", "labelSmoothing": "--label-smoothing", "augmentation": "--augment"]

/// The registry entry `name`, or a sentence with the closest known name.
func lookUp(_ name: String) -> ModelEntry { orFail { try Zoo.entry(name) } }

/// `--input CxHxW`, or the model's default input.
func inputShape(_ text: String?, default shape: [Int]) -> [Int] {
    guard let text else { return shape }
    return orFail { try Zoo.parseInputShape(text, argument: "--input") }
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

/// One JSON object on one line, keys sorted.
func printJSON(_ object: Any) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
