import Foundation

/// Embeddings in a safetensors file, as `zoo embed` writes them and `zoo probe` reads them: the
/// tensor `embeddings` [N, D], for a data set `labels` [N] (I64 class indices), and metadata
/// naming the model, its layer, the weights, and the image files or the data set with its
/// class names.
public struct EmbeddingFile {
    public var embeddings: Tensor
    /// Each row's class index (embeddings of a data set).
    public var labels: [Int]?
    public var model: String?
    public var layer: String?
    public var weights: String?
    /// The image files, in row order (embeddings of files).
    public var files: [String]?
    /// The data set's description (embeddings of a data set).
    public var data: String?
    public var classNames: [String]?
    /// The file read from, for sentences about it.
    public private(set) var path: String?

    enum Key {
        static let embeddings = "embeddings", labels = "labels"
        static let model = "model", layer = "layer", weights = "weights", files = "files", data = "data", classes = "classes"
    }

    public init(embeddings: Tensor, labels: [Int]? = nil, model: String? = nil, layer: String? = nil, weights: String? = nil,
                files: [String]? = nil, data: String? = nil, classNames: [String]? = nil) {
        (self.embeddings, self.labels, self.model, self.layer, self.weights) = (embeddings, labels, model, layer, weights)
        (self.files, self.data, self.classNames) = (files, data, classNames)
    }

    /// "resnet18 layer4": what the embeddings are outputs of, when the file says.
    public var source: String? { model.map { model in layer.map { "\(model) \($0)" } ?? model } }

    /// Values per embedding.
    public var width: Int { embeddings.shape.count == 2 ? embeddings.shape[1] : 0 }

    /// Writes the file (atomically).
    public func write(to path: String) throws {
        var metadata: [String: String] = [:]
        for (key, value) in [(Key.model, model), (Key.layer, layer), (Key.weights, weights), (Key.data, data)] { metadata[key] = value }
        if let files { metadata[Key.files] = Self.jsonArray(files) }
        if let classNames { metadata[Key.classes] = Self.jsonArray(classNames) }
        var tensors = [(Key.embeddings, embeddings)]
        if let labels { tensors.append((Key.labels, Tensor(shape: [labels.count], scalars: labels.map(Float.init)))) }
        try SafeTensors(tensors: tensors, metadata: metadata).write(to: path, integerNames: labels == nil ? [] : [Key.labels])
    }

    /// Reads embeddings from `path`; with `labelled`, they must carry labels.
    /// - Throws: `ZooError` naming the file: no N×D `embeddings`, labels that are missing (when
    ///   asked for), of another count or not class indices, or class names that are not a JSON array.
    public init(file path: String, labelled: Bool = false) throws {
        let file = try SafeTensors.read(path)
        guard let embeddings = file[Key.embeddings] else { throw ZooError("'\(path)' holds no 'embeddings' tensor; write one with 'zoo embed'") }
        guard embeddings.rank == 2, embeddings.shape[0] > 0, embeddings.shape[1] > 0 else {
            throw ZooError("'\(path)': 'embeddings' has shape \(embeddings.shape), not N×D")
        }
        self.init(embeddings: embeddings, model: file.metadata[Key.model], layer: file.metadata[Key.layer],
                  weights: file.metadata[Key.weights], data: file.metadata[Key.data])
        self.path = path
        if let labelTensor = file[Key.labels] {
            guard labelTensor.shape == [embeddings.shape[0]] else {
                throw ZooError("'\(path)' holds \(labelTensor.count) labels of shape \(labelTensor.shape) for \(embeddings.shape[0]) embeddings")
            }
            if let bad = labelTensor.scalars.first(where: { !$0.isFinite || $0 < 0 || $0 != $0.rounded() }) {
                throw ZooError("'\(path)' has a label \(bad) that is not a class index")
            }
            labels = labelTensor.scalars.map { Int($0) }
        } else if labelled {
            throw ZooError("'\(path)' holds no 'labels' tensor; the probe needs labelled embeddings, as 'zoo embed --data' writes")
        }
        files = try file.metadata[Key.files].map { try Self.names($0, path: path, key: Key.files) }
        classNames = try file.metadata[Key.classes].map { try Self.names($0, path: path, key: Key.classes) }
    }

    /// The number of classes of a probe fitted on `train` and measured on `test`.
    /// - Throws: `ZooError` when the two hold embeddings of another width or another layer,
    ///   name other classes, or carry a label outside the classes.
    public static func classCount(train: EmbeddingFile, test: EmbeddingFile) throws -> Int {
        let (a, b) = (train.path ?? "the training embeddings", test.path ?? "the test embeddings")
        guard let trainLabels = train.labels, let testLabels = test.labels else { throw ZooError("a probe needs labelled embeddings on both sides") }
        if train.width != test.width { throw ZooError("'\(a)' holds embeddings of \(train.width) values, but '\(b)' holds embeddings of \(test.width)") }
        if let x = train.source, let y = test.source, x != y { throw ZooError("'\(a)' holds embeddings of \(x), but '\(b)' of \(y)") }
        if let x = train.classNames, let y = test.classNames, x != y {
            throw ZooError("'\(a)' and '\(b)' name different classes (\(x.count) and \(y.count) names)")
        }
        let count = train.classNames?.count ?? test.classNames?.count ?? (trainLabels + testLabels).max()! + 1
        for (path, labels) in [(a, trainLabels), (b, testLabels)] {
            if let bad = labels.first(where: { $0 >= count }) { throw ZooError("'\(path)' has label \(bad), but its classes are 0 to \(count - 1)") }
        }
        return count
    }

    /// `values` as a JSON array of strings.
    static func jsonArray(_ values: [String]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: values, options: [.withoutEscapingSlashes]), as: UTF8.self)
    }

    static func names(_ text: String, path: String, key: String) throws -> [String] {
        guard let names = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String] else {
            throw ZooError("'\(path)': its '\(key)' metadata is not a JSON array of names")
        }
        return names
    }
}

extension LinearProbe {
    /// Saves the probe with what it was fitted on: the embeddings' file and source, their class
    /// names, the epochs and the seed.
    public func save(_ path: String, fittedOn train: EmbeddingFile, epochs: Int, seed: UInt64) throws {
        var metadata = ["epochs": String(epochs), "seed": String(seed)]
        metadata["train"] = train.path
        metadata["embeddings"] = train.source
        metadata[EmbeddingFile.Key.classes] = train.classNames.map(EmbeddingFile.jsonArray)
        try save(path, metadata: metadata)
    }
}
