import Foundation

extension ZooModel {
    /// One vector per item of a batch [N] + `input` of preprocessed images: the output of `layer`
    /// (default: the registry's `explainLayer`, the last module before global pooling) averaged
    /// over its H×W positions when it is a feature map [N, C, H, W], giving [N, C], and flattened
    /// to [N, D] otherwise. The layer's output is exactly what the layer-by-layer forward pass
    /// computes there (see `features(_:at:)`), in eval mode, without gradients.
    /// - Throws: `ZooError` for a batch of another shape or an unknown layer (naming the closest
    ///   module paths).
    public func embeddings(_ batch: Tensor, layer: String? = nil) throws -> Tensor {
        let layer = layer ?? entry.explainLayer
        guard let output = try features(batch, at: [layer])[layer] else { throw ZooError(module.unknownModuleSentence(layer)) }
        return Self.pooled(output)
    }

    /// The embeddings [N, D] (see `embeddings(_:layer:)`) of every image of `data`, in its order,
    /// normalised as `evaluate` normalises it, `batchSize` images per pass. `progress` is told how
    /// many images are done after each pass.
    /// - Throws: `ZooError` for images of another size than the model's input, an empty data
    ///   set, or an unknown layer.
    public func embeddings(_ data: ImageDataset, layer: String? = nil, batchSize: Int = 128,
                           progress: ((Int) -> Void)? = nil) throws -> Tensor {
        guard data.shape == input else {
            throw ZooError("the images of \(data.name) are \(data.shape.map(String.init).joined(separator: "×")), but \(name) was built for \(input.map(String.init).joined(separator: "×"))")
        }
        guard data.count > 0 else { throw ZooError("\(data.name) holds no images to embed") }
        guard batchSize >= 1 else { throw ZooError("the batch size must be at least 1, got \(batchSize)") }
        let (mean, std) = normalisation(for: data)
        var scalars: [Float] = []
        var width = 0, done = 0
        for batch in DataLoader(data, batchSize: batchSize, seed: nil, mean: mean, std: std) {
            let vectors = try embeddings(batch.images, layer: layer)
            if scalars.isEmpty {
                width = vectors.shape[1]
                scalars.reserveCapacity(data.count * width)
            }
            scalars += vectors.scalars
            done += batch.labels.count
            progress?(done)
        }
        return Tensor(shape: [data.count, width], scalars: scalars)
    }

    /// [N, C, H, W] → [N, C] by the mean over H×W; any other [N, …] → [N, D].
    static func pooled(_ output: Tensor) -> Tensor {
        let count = output.shape[0]
        guard output.rank == 4 else { return output.reshaped([count, output.count / max(count, 1)]) }
        let (channels, plane) = (output.shape[1], output.shape[2] * output.shape[3])
        var pooled = Tensor(zeros: [count, channels])
        for row in 0 ..< count * channels {
            var sum: Float = 0
            for i in row * plane ..< (row + 1) * plane { sum += output.scalars[i] }
            pooled.scalars[row] = sum / Float(plane)
        }
        return pooled
    }
}
