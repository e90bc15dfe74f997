extension Zoo {
    /// The training and evaluation sets of `data` for the model `name`: `fashion-mnist`,
    /// `fashion-mnist:DIR`, `mnist:DIR`, `cifar10:DIR`, or a folder with one sub-folder of
    /// images per class (decoded at the model's input size; `validationSplit` of it is held
    /// out). `subset` keeps a seeded random part of the training set. `warnings` names the
    /// image files that could not be read.
    public static func datasets(_ data: String, for name: String, validationSplit: Double = 0.2, subset: Int? = nil,
                                seed: UInt64 = 0) throws -> (train: ImageDataset, test: ImageDataset, warnings: [String]) {
        let entry = try entry(name)
        guard validationSplit > 0 && validationSplit < 1 else { throw ZooError("the validation split must be between 0 and 1, got \(validationSplit)") }
        if let subset, subset < 1 { throw ZooError("a subset must hold at least 1 image, got \(subset)") }
        let spec = try DataSpec(data)
        var (train, test, warnings) = try spec.load(channels: entry.defaultInput[0], size: (entry.defaultInput[1], entry.defaultInput[2]),
                                                    validationFraction: validationSplit, seed: seed)
        if let subset { train = train.randomSubset(subset, seed: seed) }
        return (train, test, warnings)
    }
}
