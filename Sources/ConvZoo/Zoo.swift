import Foundation

/// ConvZoo's front door: the models it knows, and `load`, which builds one by name and fills
/// it with weights — `Zoo.load("resnet50", weights: "resnet50.pth", classes: 10)`.
public enum Zoo {
    /// Every registry name with its family and parameter count (at the model's default classes
    /// and input; each model is built without weights to count them).
    public static var models: [(name: String, family: String, parameters: Int)] {
        get throws {
            try ModelRegistry.entries.map { entry in try (entry.name, entry.family, GlobalRandom.shapesOnly { try entry.build() }.parameterCount) }
        }
    }

    /// The registry entry `name`, or an error that suggests the closest known name.
    public static func entry(_ name: String) throws -> ModelEntry {
        if let entry = ModelRegistry.entry(name) { return entry }
        if let suggestion = ModelRegistry.suggestion(for: name) {
            throw ZooError("unknown model '\(name)'; did you mean '\(suggestion)'?")
        }
        throw ZooError("unknown model '\(name)'; 'zoo list' prints the known names")
    }

    /// Builds the model `name` and loads `weights` into it.
    ///
    /// - Parameters:
    ///   - name: the registry name, e.g. "resnet50" (see `models`).
    ///   - weights: `.pretrained` (the model's default published weights, downloaded once into
    ///     the weights cache and verified by their SHA-256), `.pretrained("IMAGENET1K_V1")`, a
    ///     `.safetensors` file, a PyTorch checkpoint (`torch.save` of a state_dict, zip or legacy
    ///     format) as torchvision and timm publish them, or an http(s):// or file:// URL of one.
    ///     Without it the model is freshly initialised (seed it with `GlobalRandom.seed`).
    ///   - classes: the class count. With weights of another class count, the classifier is
    ///     replaced by a freshly initialised head (`ZooModel.notes` says so). Default: the weight
    ///     file's, else the model's.
    ///   - input: the input [C, H, W] to build for. Default: the weight file's, else the model's.
    ///   - transformInput: GoogLeNet's and Inception v3's `transform_input`. Default: what the
    ///     weight file's ConvZoo metadata says; for a published file (known by its SHA-256) what
    ///     its publisher set; otherwise off, as torchvision's builders without weights.
    /// - Throws: `ZooError`, one sentence naming the file or argument at fault: an unknown
    ///   model or tag, an unreadable or damaged file, a failed download, weights of another
    ///   architecture, mismatched keys.
    public static func load(_ name: String, weights: WeightsSource? = nil, classes: Int? = nil, input: [Int]? = nil,
                            transformInput: Bool? = nil) throws -> ZooModel {
        let entry = try entry(name)
        if let classes, classes < 1 { throw ZooError("the class count must be at least 1, got \(classes)") }
        if transformInput != nil && !entry.takesTransformInput {
            throw ZooError("\(entry.name) has no transform_input switch (only googlenet and inception_v3 have)")
        }
        guard let weights else {
            let shape = input ?? entry.defaultInput
            if let problem = entry.inputProblem(shape) { throw ZooError("\(entry.name) cannot take this input: \(problem)") }
            let options = ModelOptions(classCount: classes ?? entry.defaultClassCount, input: shape,
                                       transformInput: shape[0] == 3 && transformInput == true)
            let module = try entry.build(options)
            try checkLayers(module, entry, shape)
            return ZooModel(entry: entry, module: module, options: options, metadata: [:], labels: nil, preprocessing: nil, notes: [])
        }
        let resolved = try resolve(weights, for: entry)
        let path = resolved.path
        let file = try WeightFile.read(path)
        if let architecture = file.metadata[WeightFile.MetadataKey.architecture], architecture != entry.name {
            throw ZooError("'\(path)' holds \(architecture) weights, not \(entry.name) weights")
        }
        // A file of ConvZoo's says what it is; a published one is known by its SHA-256.
        let ownFile = file.metadata[WeightFile.MetadataKey.architecture] != nil
        let published = try resolved.published ?? (ownFile ? nil : publishedFile(at: path, for: entry))
        let stored = file.metadata[WeightFile.MetadataKey.classCount].flatMap(Int.init)
        let classCount = classes ?? stored ?? entry.defaultClassCount
        let storedInput = file.metadata[WeightFile.MetadataKey.input].flatMap { try? parseInputShape($0) }
        let shape = input ?? storedInput ?? entry.defaultInput
        if let problem = entry.inputProblem(shape) { throw ZooError("\(entry.name) cannot take this input: \(problem)") }
        var options = ModelOptions(classCount: classCount, input: shape)
        options.transformInput = shape[0] == 3 && entry.takesTransformInput
            && (transformInput ?? file.metadata[WeightFile.MetadataKey.transformInput].map { $0 == "true" } ?? published?.transformInput ?? false)
        let module = try GlobalRandom.shapesOnly { try entry.build(options) }
        try checkLayers(module, entry, shape)
        if classes != nil {
            // Built without random draws; a replaced head needs real initial weights.
            for path in entry.classifierPaths(in: module) { module.module(at: path)?.resetParameters() }
        }
        let rules = WeightFile.KeyRules(classifierPaths: entry.classifierPaths(in: module), optionalModules: entry.optionalModules,
                                        renameKey: entry.renameKey)
        let note = try WeightFile.load(file, from: path, into: module, architecture: entry.name, rules: rules,
                                       replaceClassifier: classes != nil)
        let labels = file.metadata[WeightFile.MetadataKey.labels].flatMap(LabelSet.init(json:))
        let preprocessing = file.metadata[WeightFile.MetadataKey.preprocessing].flatMap(Preprocessing.init(json:))
            ?? (shape == entry.defaultInput ? published?.preprocessing : nil)
        return ZooModel(entry: entry, module: module, options: options, metadata: file.metadata,
                        labels: labels?.names.count == classCount ? labels : nil, preprocessing: preprocessing,
                        notes: resolved.notes + (note.map { [$0.message] } ?? []), published: published)
    }

    /// `load` with weights named as the command line's `--weights` names them (`WeightsSource(_:)`):
    /// an http(s):// or file:// URL, a file (a '/' or a weight file's extension), else a tag.
    public static func load(_ name: String, weights: String, classes: Int? = nil, input: [Int]? = nil,
                            transformInput: Bool? = nil) throws -> ZooModel {
        try load(name, weights: WeightsSource(weights), classes: classes, input: input, transformInput: transformInput)
    }

    /// Throws the first layer's sentence when `module`, built for an input other than the
    /// model's own, cannot take it (a feature map shrinking to nothing, say). One forward pass
    /// of a single zero image; the model's own input needs none.
    static func checkLayers(_ module: Module, _ entry: ModelEntry, _ input: [Int]) throws {
        guard input != entry.defaultInput else { return }
        if let problem = ShapeCheck.problem(in: module, input: input) { throw ZooError("\(entry.name) cannot take this input: \(problem)") }
    }

    /// Reads "CxHxW" (e.g. "3x224x224") as [C, H, W] of positive whole numbers; `argument`
    /// names the text in the error.
    public static func parseInputShape(_ text: String, argument: String = "an input size") throws -> [Int] {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ZooError("\(argument) must be CxHxW with positive whole numbers, e.g. 3x224x224; got '\(text)'")
        }
        return parts.map { $0! }
    }
}
