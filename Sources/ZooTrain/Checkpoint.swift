import Foundation
import ZooNN
import ZooTensor
import ZooWeights

/// A training checkpoint: weights, optimizer state, the epochs done and the RNG state, in one
/// safetensors file written atomically.
public enum Checkpoint {
    static let optimizerPrefix = "optimizer."

    public static func save(_ trainer: Trainer, epochsDone: Int, to path: String, metadata: [String: String]) throws {
        var tensors = trainer.model.stateEntries()
        let integer = Set(tensors.filter(\.isInteger).map(\.key))
        tensors += trainer.optimizer.stateTensors().map { (optimizerPrefix + $0.name, $0.tensor, false) }
        var header = metadata
        header["epochs_done"] = String(epochsDone)
        header["rng_state"] = GlobalRandom.generator.stateWords.map(String.init).joined(separator: ",")
        header["format"] = "pt"
        try SafeTensors(tensors: tensors.map { ($0.key, $0.tensor) }, metadata: header).write(to: path, integerNames: integer)
    }

    /// Restores the trainer's model and optimizer; returns the epochs already done.
    public static func restore(_ trainer: Trainer, from path: String) throws -> Int {
        try restore(trainer, file: try SafeTensors.read(path), name: path)
    }

    /// Restores from a checkpoint already read; `path` names it in errors.
    public static func restore(_ trainer: Trainer, file: SafeTensors, name path: String) throws -> Int {
        guard let done = file.metadata["epochs_done"].flatMap(Int.init) else {
            throw ZooError("'\(path)' is not a ConvZoo training checkpoint (it has no epochs_done)")
        }
        let weights = SafeTensors(tensors: file.tensors.filter { !$0.name.hasPrefix(optimizerPrefix) }, metadata: file.metadata)
        try WeightFile.load(weights, from: path, into: trainer.model, architecture: file.metadata["architecture"] ?? "the model")
        var state: [String: Tensor] = [:]
        for (name, tensor) in file.tensors where name.hasPrefix(optimizerPrefix) { state[String(name.dropFirst(optimizerPrefix.count))] = tensor }
        do { try trainer.optimizer.loadState(state) } catch { throw ZooError("'\(path)': \(error)") }
        if let text = file.metadata["rng_state"] {
            let words = text.split(separator: ",", omittingEmptySubsequences: false).compactMap { UInt64($0) }
            guard words.count == 4, words.contains(where: { $0 != 0 }) else {
                throw ZooError("'\(path)' has a damaged rng_state (four comma-separated integers, not all zero, expected)")
            }
            GlobalRandom.generator = Xoshiro256(state: words)
        }
        return done
    }
}
