import Foundation

/// A model from the registry with its weights, class names and preprocessing: what
/// `Zoo.load` returns. Run it on tensors (`forward`), classify image files or decoded images
/// (`classify`), fine-tune it (`fit`) and save it (`save`).
public final class ZooModel {
    /// The registry entry: the model's facts.
    public let entry: ModelEntry
    /// The network itself, with PyTorch state_dict names.
    public let module: Module
    /// What the model was built for: classes, input [C, H, W], switches.
    public let options: ModelOptions
    /// The input [C, H, W] the model was built for.
    public var input: [Int] { options.input }
    /// The metadata of the weight file it was loaded from (empty for a fresh model).
    public let metadata: [String: String]
    /// The number of classes the classifier scores.
    public var classCount: Int { options.classCount }
    /// Class names given with the weights, by `setLabels`, or by training; nil when none were.
    public internal(set) var givenLabels: LabelSet?
    /// How an image becomes this model's input.
    public internal(set) var preprocessing: Preprocessing
    /// Whether `preprocessing` came with the weights (or from training) rather than from the
    /// registry's defaults; training and evaluation then normalise with its mean and std.
    var preprocessingIsGiven: Bool
    /// Sentences about the load to tell a user: a replaced classifier, a copy of a published file
    /// that was passed over, a download whose digest nobody published.
    public let notes: [String]
    /// The published file the weights came from (`PublishedWeights`), when they are one.
    public let published: PublishedWeights?
    /// How `forward`, `classify` and `evaluate` run the network: through compiled inference
    /// plans, or eagerly when `usesInferencePlans` is off or no plan can be built.
    let inference: PlannedInference
    /// Whether inference runs through compiled plans (faster; the default) or layer by layer.
    public var usesInferencePlans: Bool {
        get { inference.usesPlans }
        set { inference.usesPlans = newValue }
    }

    init(entry: ModelEntry, module: Module, options: ModelOptions, metadata: [String: String], labels: LabelSet?,
         preprocessing: Preprocessing?, notes: [String], published: PublishedWeights? = nil) {
        (self.entry, self.module, self.options, self.metadata) = (entry, module, options, metadata)
        (self.givenLabels, self.notes, self.published) = (labels, notes, published)
        self.preprocessing = preprocessing ?? entry.preprocessing(for: options.input)
        preprocessingIsGiven = preprocessing != nil
        inference = PlannedInference(module)
    }

    /// The registry name ("resnet50").
    public var name: String { entry.name }

    /// Class names in class-index order: the given ones, else ImageNet's for 1,000 classes,
    /// else "class 0", "class 1", ….
    public var labels: LabelSet { givenLabels ?? .standard(classCount: classCount) }

    /// Names the classes; there must be one name per class.
    public func setLabels(_ labels: LabelSet) throws {
        guard labels.names.count == classCount else {
            throw ZooError("\(labels.names.count) class names were given, but the model has \(classCount) classes")
        }
        givenLabels = labels
    }

    /// The class logits [N, classes] for a batch [N, C, H, W] of preprocessed images, in eval
    /// mode without recording gradients. Throws when the batch is not [N] + `input`.
    public func forward(_ batch: Tensor) throws -> Tensor {
        guard batch.rank == 4, Array(batch.shape.dropFirst()) == input, batch.shape[0] > 0 else {
            throw ZooError("\(name) takes a batch of [N, \(input.map(String.init).joined(separator: ", "))] inputs, not \(batch.shape)")
        }
        return try inference(batch)
    }

    /// The class probabilities (softmax of the logits) [N, classes] for a batch.
    public func probabilities(_ batch: Tensor) throws -> Tensor {
        let logits = try forward(batch)
        return GradMode.withoutGrad { softmax(Variable(logits)) }.value
    }

    /// Decodes a PNG or JPEG file the way this model's preprocessing wants it (gray or RGB).
    public func readImage(_ path: String, maximumPixels: Int = Image.defaultMaximumPixels) throws -> Image {
        try Image.read(path, gray: preprocessing.grayscale, maximumPixels: maximumPixels)
    }

    /// The preprocessed input [C, H, W] for `image`; `name` names it in the error thrown when
    /// the preprocessing does not give the model's input size.
    public func inputTensor(for image: Image, name: String = "the image") throws -> Tensor {
        let x = preprocessing.tensor(for: image)
        guard x.shape == input else {
            throw ZooError("'\(name)' becomes a \(x.shape.map(String.init).joined(separator: "×")) input, but the model takes \(input.map(String.init).joined(separator: "×"))")
        }
        return x
    }

    /// The `top` most probable classes of each image file. Throws at the first file that
    /// cannot be read, naming it.
    public func classify(_ files: [String], top: Int = 5, batchSize: Int = 8,
                         maximumPixels: Int = Image.defaultMaximumPixels) throws -> [Classification] {
        var results: [Classification] = []
        try forEachBatch(of: files, batchSize: batchSize, maximumPixels: maximumPixels) { batch in
            results += try classify(inputs: batch.inputs, names: batch.files, top: top)
        }
        return results
    }

    /// The `top` most probable classes of each decoded image; `names` (default "image 1", …)
    /// become the results' `file`.
    public func classify(_ images: [Image], names: [String]? = nil, top: Int = 5) throws -> [Classification] {
        let names = names ?? images.indices.map { "image \($0 + 1)" }
        guard names.count == images.count else { throw ZooError("\(images.count) images were given with \(names.count) names") }
        let inputs = try zip(images, names).map { try inputTensor(for: $0, name: $1) }
        return try classify(inputs: inputs, names: names, top: top)
    }

    /// The `top` most probable classes of each preprocessed input [C, H, W] (see
    /// `inputTensor(for:)`), in one batch.
    public func classify(inputs: [Tensor], names: [String], top: Int = 5) throws -> [Classification] {
        guard names.count == inputs.count else { throw ZooError("\(inputs.count) inputs were given with \(names.count) names") }
        guard top >= 1 else { throw ZooError("top must be at least 1, got \(top)") }
        if let (name, x) = zip(names, inputs).first(where: { $0.1.shape != input }) {
            throw ZooError("'\(name)' is a \(x.shape) input, but \(self.name) takes \(input)")
        }
        guard !inputs.isEmpty else { return [] }
        let batch = Tensor(shape: [inputs.count] + input, scalars: inputs.flatMap(\.scalars))
        let probabilities = try probabilities(batch)
        return zip(names, probabilities.topK(top)).enumerated().map { row, item in
            Classification(file: item.0, top: item.1.map { index in
                Prediction(label: labels.names[index], index: index, probability: probabilities.scalars[row * classCount + index])
            })
        }
    }

    /// The weight file's metadata for this model as it stands: architecture, class count,
    /// input, preprocessing, the labels when some were given, and `transform_input` for the
    /// models that have it (on or off: a file says what it used).
    public var weightMetadata: [String: String] {
        var metadata = [WeightFile.MetadataKey.architecture: name, WeightFile.MetadataKey.classCount: String(classCount),
                        WeightFile.MetadataKey.input: input.map(String.init).joined(separator: "x"),
                        WeightFile.MetadataKey.preprocessing: preprocessing.json]
        if let givenLabels { metadata[WeightFile.MetadataKey.labels] = givenLabels.json }
        if entry.takesTransformInput { metadata[WeightFile.MetadataKey.transformInput] = options.transformInput ? "true" : "false" }
        return metadata
    }

    /// Writes the parameters and buffers (PyTorch state_dict keys) as safetensors with
    /// `weightMetadata`, atomically; the file loads back with `Zoo.load` and into PyTorch.
    public func save(_ path: String) throws {
        try WeightFile.save(module, to: path, metadata: weightMetadata)
    }
}

/// One class a model predicts for an input.
public struct Prediction: Equatable {
    public var label: String
    public var index: Int
    public var probability: Float
}

/// The most probable classes of one input, most probable first.
public struct Classification: Equatable {
    /// The file (or name) of the input.
    public var file: String
    public var top: [Prediction]
}
