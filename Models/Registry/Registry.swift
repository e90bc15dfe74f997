import LeNet
import ZooNN

/// A named model: how to build it and what it expects.
public struct ModelEntry {
    public let name: String
    public let family: String
    /// [C, H, W] of the input the model is defined for.
    public let defaultInput: [Int]
    public let defaultClassCount: Int
    /// Builds the model for a class count and an input [C, H, W].
    public let build: (_ classCount: Int, _ input: [Int]) -> Module
}

/// Every model ConvZoo can build, by name.
public enum ModelRegistry {
    public static let entries: [ModelEntry] = [
        ModelEntry(name: "lenet5", family: "LeNet", defaultInput: [1, 28, 28], defaultClassCount: 10) { classes, input in
            lenet5(classCount: classes, inputChannels: input[0], inputSize: input[1])
        },
        ModelEntry(name: "simple_cnn", family: "LeNet", defaultInput: [1, 28, 28], defaultClassCount: 10) { classes, input in
            simpleCNN(input: input, classCount: classes)
        },
    ]

    public static var names: [String] { entries.map(\.name) }

    public static func entry(_ name: String) -> ModelEntry? { entries.first { $0.name == name } }

    /// The registry name closest to `name` by edit distance, if any is close.
    public static func suggestion(for name: String) -> String? {
        let scored = names.map { ($0, editDistance($0, name.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, name.count / 3) else { return nil }
        return best.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}
