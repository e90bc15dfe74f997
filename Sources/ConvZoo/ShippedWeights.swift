import Foundation

extension Zoo {
    /// The folder of weights trained here: $ZOO_WEIGHTS, or the `Weights` folder beside the
    /// ConvZoo `Package.swift` above the running program or the working directory.
    public static var weightsFolder: String? {
        if let folder = ProcessInfo.processInfo.environment["ZOO_WEIGHTS"] { return folder }
        let starts = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent(),
                      URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        for start in starts {
            var folder = start
            for _ in 0..<6 {
                let candidate = folder.appendingPathComponent("Weights")
                if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path),
                   FileManager.default.fileExists(atPath: candidate.appendingPathComponent("DEFAULT").path) { return candidate.path }
                folder.deleteLastPathComponent()
            }
        }
        return nil
    }

    /// The shipped weight files that are there, in the order of `Weights/DEFAULT` (the first is
    /// the default model), with the architecture each holds. A listed file that is there but
    /// cannot be read, or names no architecture, is an error.
    public static func shippedWeights() throws -> [(path: String, architecture: String)] {
        guard let folder = weightsFolder,
              let text = try? String(contentsOfFile: folder + "/DEFAULT", encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            .map { (folder as NSString).appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0) }
            .map { path in
                guard let architecture = try SafeTensors.read(path).metadata[WeightFile.MetadataKey.architecture] else {
                    throw ZooError("the shipped weight file '\(path)' does not name its architecture")
                }
                return (path, architecture)
            }
    }

    /// The shipped weights for the model `name` (any model when nil: the default one), or an
    /// error that says how to give weights.
    public static func shippedWeights(for name: String?) throws -> String {
        let shipped = try shippedWeights()
        if let name {
            if let match = shipped.first(where: { $0.architecture == name }) { return match.path }
            throw ZooError(template: "no weights for \(name) are shipped here (\(shipped.isEmpty ? "none are" : "only for " + shipped.map(\.architecture).joined(separator: ", "))); pass {weights} FILE: a safetensors file, or a PyTorch .pth such as torchvision's, which loads as it is; no pretrained weights are published for it either ('zoo weights' lists the models that have)")
        }
        guard let first = shipped.first else {
            throw ZooError(template: "no {weights} given and no trained model is shipped in Weights/ yet; pass {model} and {weights}")
        }
        return first.path
    }
}
