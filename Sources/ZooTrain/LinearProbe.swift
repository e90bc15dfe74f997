// A linear probe (G. Alain, Y. Bengio, "Understanding intermediate layers using linear
// classifier probes", 2016): multinomial logistic regression on fixed embeddings, which measures
// how much of the class a layer's output already holds linearly. Here the features are
// standardised by the training set's mean and std, and one `Linear` layer, from zero weights, is
// trained on the mean cross-entropy with Adam, a cosine schedule and mini-batches in a seeded
// order; the loss is convex, so the start matters little and zero keeps it deterministic.
import Foundation
import ZooNN
import ZooTensor
import ZooWeights

/// Multinomial logistic regression on embeddings [N, D]: standardise, then logits = xWᵀ + b.
public struct LinearProbe: Equatable {
    /// The training embeddings' per-feature mean [D] and std [D] (1 where a feature is constant).
    public var mean: [Float], std: [Float]
    /// [classes, D] and [classes], on standardised features.
    public var weight: Tensor, bias: Tensor

    public var classCount: Int { weight.shape[0] }
    public var featureCount: Int { weight.shape[1] }

    public init(mean: [Float], std: [Float], weight: Tensor, bias: Tensor) throws {
        guard weight.rank == 2, bias.shape == [weight.shape[0]], mean.count == weight.shape[1], std.count == weight.shape[1] else {
            throw ZooError("a linear probe needs a [classes, D] weight, a [classes] bias and D means and stds; got \(weight.shape), \(bias.shape), \(mean.count) and \(std.count)")
        }
        (self.mean, self.std, self.weight, self.bias) = (mean, std, weight, bias)
    }

    /// Fits a probe to `embeddings` [N, D] with `labels` (N class indices below `classes`):
    /// `epochs` passes of Adam over mini-batches of `batchSize`, the learning rate falling from
    /// `learningRate` to 0 on a cosine, L2 `weightDecay` on the weights. The same inputs and
    /// `seed` (the batch order) give the same probe.
    /// - Throws: `ZooError` for embeddings that are not [N, D] with one label per row, a label
    ///   out of range, a NaN or infinite value, or settings out of range.
    public static func fit(embeddings: Tensor, labels: [Int], classes: Int, epochs: Int = 30, seed: UInt64 = 0,
                           batchSize: Int = 256, learningRate: Float = 0.01, weightDecay: Float = 1e-4) throws -> LinearProbe {
        try checkRows(embeddings, labels: labels, classes: classes)
        guard epochs >= 1 else { throw ZooError("a probe needs at least 1 epoch, got \(epochs)") }
        guard batchSize >= 1 else { throw ZooError("the batch size must be at least 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw ZooError("the learning rate must be positive, got \(learningRate)") }
        guard weightDecay >= 0 else { throw ZooError("the weight decay must not be negative, got \(weightDecay)") }
        let (count, width) = (embeddings.shape[0], embeddings.shape[1])
        let (mean, std) = statistics(embeddings)
        let standardised = standardise(embeddings, mean: mean, std: std)
        let layer = Linear(width, classes)
        layer.weight.value = Tensor(zeros: [classes, width])
        layer.bias!.value = Tensor(zeros: [classes])
        let optimizer = Adam([layer.weight, layer.bias!], learningRate: learningRate)
        let schedule = CosineSchedule(base: learningRate, period: epochs)
        var rng = Xoshiro256(seed: seed)
        var order = Array(0 ..< count)
        for epoch in 0 ..< epochs {
            optimizer.learningRate = schedule.learningRate(at: epoch)
            order.shuffle(using: &rng)
            for start in stride(from: 0, to: count, by: batchSize) {
                let rows = order[start ..< min(count, start + batchSize)]
                var batch = [Float](); batch.reserveCapacity(rows.count * width)
                for row in rows { batch += standardised.scalars[row * width ..< (row + 1) * width] }
                optimizer.zeroGrad()
                try GradMode.withGrad {
                    var loss = try crossEntropy(layer(Variable(Tensor(shape: [rows.count, width], scalars: batch))), targets: rows.map { labels[$0] })
                    if weightDecay > 0 { loss = loss + scale(sum(layer.weight * layer.weight), by: weightDecay / 2) }
                    loss.backward()
                }
                optimizer.step()
            }
        }
        return try LinearProbe(mean: mean, std: std, weight: layer.weight.value, bias: layer.bias!.value)
    }

    /// The class logits [N, classes] of `embeddings` [N, D].
    public func logits(_ embeddings: Tensor) throws -> Tensor {
        guard embeddings.rank == 2, embeddings.shape[1] == featureCount else {
            throw ZooError("the probe takes embeddings [N, \(featureCount)], not \(embeddings.shape)")
        }
        let x = Self.standardise(embeddings, mean: mean, std: std)
        return GradMode.withoutGrad { linear(Variable(x), weight: Variable(weight), bias: Variable(bias)) }.value
    }

    /// The most probable class of each row of `embeddings` [N, D].
    public func predictions(_ embeddings: Tensor) throws -> [Int] {
        try logits(embeddings).topK(1).map { $0[0] }
    }

    /// The fraction of rows of `embeddings` [N, D] whose predicted class is their label.
    public func accuracy(embeddings: Tensor, labels: [Int]) throws -> Double {
        try Self.checkRows(embeddings, labels: labels, classes: classCount)
        let hits = try zip(predictions(embeddings), labels).filter { $0 == $1 }.count
        return Double(hits) / Double(labels.count)
    }

    /// The probe as safetensors (`weight`, `bias`, `mean`, `std`, F32) with `metadata`, written
    /// atomically; `weight` and `bias` act on standardised features.
    public func save(_ path: String, metadata: [String: String] = [:]) throws {
        let tensors = [("weight", weight), ("bias", bias), ("mean", Tensor(shape: [featureCount], scalars: mean)),
                       ("std", Tensor(shape: [featureCount], scalars: std))]
        try SafeTensors(tensors: tensors, metadata: metadata.merging([Self.formatKey: Self.format]) { $1 }).write(to: path)
    }

    /// Reads a probe written by `save`.
    public init(file path: String) throws {
        let file = try SafeTensors.read(path)
        guard file.metadata[Self.formatKey] == Self.format else { throw ZooError("'\(path)' is not a linear probe written by ConvZoo") }
        guard let weight = file["weight"], let bias = file["bias"], let mean = file["mean"], let std = file["std"] else {
            throw ZooError("'\(path)' lacks one of the probe's tensors weight, bias, mean and std")
        }
        try self.init(mean: mean.scalars, std: std.scalars, weight: weight, bias: bias)
    }

    static let formatKey = "format", format = "convzoo-linear-probe"

    static func checkRows(_ embeddings: Tensor, labels: [Int], classes: Int) throws {
        guard classes >= 1 else { throw ZooError("a probe needs at least 1 class, got \(classes)") }
        guard embeddings.rank == 2, embeddings.shape[0] > 0, embeddings.shape[1] > 0 else {
            throw ZooError("embeddings must be [N, D] with N and D at least 1, not \(embeddings.shape)")
        }
        guard labels.count == embeddings.shape[0] else {
            throw ZooError("\(labels.count) labels were given for \(embeddings.shape[0]) embeddings")
        }
        if let bad = labels.first(where: { !(0 ..< classes).contains($0) }) {
            throw ZooError("label \(bad) is out of range: there are classes 0 to \(classes - 1)")
        }
        guard embeddings.scalars.allSatisfy(\.isFinite) else { throw ZooError("the embeddings hold a NaN or infinite value") }
    }

    /// Per-column mean and std (population) of [N, D]; a constant column gets std 1.
    static func statistics(_ x: Tensor) -> (mean: [Float], std: [Float]) {
        let (count, width) = (x.shape[0], x.shape[1])
        var sums = [Double](repeating: 0, count: width), squares = [Double](repeating: 0, count: width)
        for row in 0 ..< count {
            for column in 0 ..< width {
                let v = Double(x.scalars[row * width + column])
                sums[column] += v
                squares[column] += v * v
            }
        }
        let mean = sums.map { $0 / Double(count) }
        let std = zip(squares, mean).map { square, m -> Float in
            let deviation = max(0, square / Double(count) - m * m).squareRoot()
            return deviation > 1e-6 * max(1, abs(m)) ? Float(deviation) : 1
        }
        return (mean.map(Float.init), std)
    }

    static func standardise(_ x: Tensor, mean: [Float], std: [Float]) -> Tensor {
        let width = mean.count
        var out = x
        for i in out.scalars.indices { out.scalars[i] = (x.scalars[i] - mean[i % width]) / std[i % width] }
        return out
    }
}
