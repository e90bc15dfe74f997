import Foundation
import ZooNN
import ZooTensor

/// Weight files: safetensors (ConvZoo's own format) and PyTorch checkpoints, recognised by
/// their content, loaded into a model strictly or with its classifier replaced.
public enum WeightFile {
    /// Metadata keys ConvZoo writes into a safetensors header.
    public enum MetadataKey {
        public static let architecture = "architecture", classCount = "class_count", input = "input"
        public static let labels = "labels", preprocessing = "preprocessing"
        /// "true" when the model re-normalises its input the way its published weights expect (ModelOptions.transformInput).
        public static let transformInput = "transform_input"
    }

    /// The tensors and metadata of a safetensors file or a PyTorch checkpoint.
    public static func read(_ path: String) throws -> SafeTensors {
        guard FileManager.default.isReadableFile(atPath: path) else { throw ZooError("cannot read '\(path)': no such file or not readable") }
        // Checked before reading: Foundation's Data(contentsOf:) leaks a page on an empty file.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == 0 {
            throw ZooError("'\(path)' is empty")
        }
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw ZooError("cannot read '\(path)': no such file or not readable")
        }
        guard !data.isEmpty else { throw ZooError("'\(path)' is empty") }
        // safetensors: an 8-byte header length, then a JSON object. (Its first byte can be 0x80,
        // like a pickle's, so the JSON brace decides.)
        if data.count > 8 && data[data.startIndex + 8] == UInt8(ascii: "{") { return try SafeTensors.decode(data, name: path) }
        if ZipArchive.looksLikeZip(data) || data.first == 0x80 {
            return SafeTensors(tensors: try TorchCheckpoint.decode(data, name: path))
        }
        return try SafeTensors.decode(data, name: path)
    }

    /// Writes the model's parameters and buffers (PyTorch state_dict keys and order) to a
    /// safetensors file, atomically, with `metadata` in the header.
    public static func save(_ model: Module, to path: String, metadata: [String: String] = [:]) throws {
        let entries = model.stateEntries()
        var header = metadata
        header["format"] = "pt"
        try SafeTensors(tensors: entries.map { ($0.key, $0.tensor) }, metadata: header)
            .write(to: path, integerNames: Set(entries.filter(\.isInteger).map(\.key)))
    }

    /// What a model's registry entry tells the loader about its checkpoints.
    public struct KeyRules {
        /// Module paths of the classifier, replaced by a new head when the class count changes.
        public var classifierPaths: [String]
        /// Child modules a checkpoint may hold that a model built without them ignores (auxiliary heads).
        public var optionalModules: [String]
        /// Maps a key of an older checkpoint layout to the current one.
        public var renameKey: (String) -> String

        public init(classifierPaths: [String] = [], optionalModules: [String] = [], renameKey: @escaping (String) -> String = { $0 }) {
            (self.classifierPaths, self.optionalModules, self.renameKey) = (classifierPaths, optionalModules, renameKey)
        }
    }

    /// The outcome of a load: the keys dropped, as one line to tell the user (or nil).
    public struct LoadNote { public var message: String }

    /// Loads `file`'s tensors into `model`. Strict: every key of the model must be present
    /// with its shape, and no other key. With `replaceClassifier`, the layers at the rules'
    /// `classifierPaths` whose shapes differ are left as initialised (a new head), and the
    /// returned note says so. Keys under the rules' `optionalModules` are ignored by a model
    /// built without those modules; a missing `num_batches_tracked` (old checkpoints) is
    /// allowed; a DataParallel `module.` prefix on every key is dropped.
    @discardableResult
    public static func load(_ file: SafeTensors, from path: String, into model: Module, architecture: String,
                            rules: KeyRules = KeyRules(), replaceClassifier: Bool = false) throws -> LoadNote? {
        let classifierPaths = rules.classifierPaths
        let strip = !file.tensors.isEmpty && file.tensors.allSatisfy { $0.name.hasPrefix("module.") }
        func normalise(_ name: String) -> String { rules.renameKey(strip ? String(name.dropFirst("module.".count)) : name) }
        var incoming: [String: Tensor] = [:]
        var order: [String] = []
        for (name, tensor) in file.tensors {
            let key = normalise(name)
            incoming[key] = tensor
            order.append(key)
        }
        let entries = model.namedParameters().map { ($0.name, $0.variable.value.shape) } + model.namedBuffers().map { ($0.name, $0.buffer.value.shape) }
        let expected = Dictionary(uniqueKeysWithValues: entries)
        func isClassifier(_ key: String) -> Bool { classifierPaths.contains { key.hasPrefix($0 + ".") } }

        var missing = entries.map(\.0).filter { incoming[$0] == nil && !$0.hasSuffix("num_batches_tracked") }
        var unexpected = order.filter { expected[$0] == nil }
        for optional in rules.optionalModules where model.module(at: optional) == nil {
            unexpected.removeAll { $0.hasPrefix(optional + ".") }
        }
        // As PyTorch's loader, take a one-element [1] tensor for a scalar [] (num_batches_tracked).
        for (key, shape) in entries where shape.isEmpty && incoming[key]?.shape == [1] { incoming[key] = incoming[key]!.reshaped([]) }
        var mismatched = entries.compactMap { key, shape -> (String, [Int], [Int])? in
            guard let found = incoming[key]?.shape, found != shape else { return nil }
            return (key, shape, found)
        }
        var dropped: [String] = []
        if replaceClassifier {
            dropped = mismatched.map(\.0).filter(isClassifier) + missing.filter(isClassifier)
            mismatched.removeAll { isClassifier($0.0) }
            missing.removeAll(where: isClassifier)
            unexpected.removeAll(where: isClassifier)
        }
        if !missing.isEmpty || !unexpected.isEmpty || !mismatched.isEmpty {
            throw mismatchError(path: path, architecture: architecture, missing: missing, unexpected: unexpected,
                                mismatched: mismatched, classifier: classifierPaths, replaceClassifier: replaceClassifier)
        }
        let droppedSet = Set(dropped)
        for (key, variable) in model.namedParameters() where !droppedSet.contains(key) {
            variable.value = incoming[key]!
        }
        for (key, buffer) in model.namedBuffers() where !droppedSet.contains(key) {
            if let value = incoming[key] { buffer.value = value }
        }
        guard !dropped.isEmpty else { return nil }
        let found = file.tensors.first { isClassifier(normalise($0.name)) && $0.name.hasSuffix("weight") }?.tensor.shape.first
        return LoadNote(message: "replaced the \(found.map { "\($0)-class " } ?? "")classifier of '\(path)' (\(dropped.joined(separator: ", "))) with a new, freshly initialised head")
    }

    static func mismatchError(path: String, architecture: String, missing: [String], unexpected: [String],
                              mismatched: [(String, [Int], [Int])], classifier: [String], replaceClassifier: Bool) -> ZooError {
        func list(_ items: [String]) -> String {
            items.prefix(4).joined(separator: ", ") + (items.count > 4 ? " and \(items.count - 4) more" : "")
        }
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : word.hasSuffix("h") ? "es" : "s")" }
        let classifierOnly = missing.isEmpty && unexpected.isEmpty && mismatched.allSatisfy { m in classifier.contains { m.0.hasPrefix($0 + ".") } }
        if classifierOnly && !replaceClassifier, let weight = mismatched.first(where: { $0.0.hasSuffix("weight") }) ?? mismatched.first {
            let fact = "'\(path)' has a \(weight.2.first ?? 0)-class classifier (\(weight.0) \(weight.2)) but the \(architecture) model has \(weight.1.first ?? 0) classes"
            return ZooError(template: ZooError.literal(fact) + "; pass {classes} to replace the classifier with a new head")
        }
        var parts: [String] = []
        if !missing.isEmpty { parts.append("\(plural(missing.count, "missing key")) (\(list(missing)))") }
        if !unexpected.isEmpty { parts.append("\(plural(unexpected.count, "unexpected key")) (\(list(unexpected)))") }
        if !mismatched.isEmpty {
            parts.append("\(plural(mismatched.count, "shape mismatch"))" + " (" + list(mismatched.map { "\($0.0): expected \($0.1), found \($0.2)" }) + ")")
        }
        let foreign = missing.count + mismatched.count > (missing.count + mismatched.count + unexpected.count) / 2 && !missing.isEmpty && !unexpected.isEmpty
        let lead = foreign ? "'\(path)' holds weights for another architecture than \(architecture)" : "'\(path)' does not match the \(architecture) model"
        return ZooError(lead + ": " + parts.joined(separator: "; "))
    }
}
