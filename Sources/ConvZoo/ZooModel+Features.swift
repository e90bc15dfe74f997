import Foundation

/// Grad-CAM maps for a batch (Selvaraju et al. 2017): where the layer's activations raise the
/// logit of a class.
public struct GradCAM {
    /// The module path whose output was weighed.
    public var layer: String
    /// The class each item was explained for.
    public var classes: [Int]
    /// The logits [N, classes] of the batch.
    public var logits: Tensor
    /// ReLU(Σ_k w_k A_k) at the layer's resolution, [N, h, w], with w_k the spatial mean of
    /// d logit_c / d A_k.
    public var camRaw: Tensor
    /// `camRaw` scaled per item to [0, 1] ((x − min) / (max − min + 1e-7)) and resized
    /// bilinearly (half-pixel centres) to the input's H×W: [N, H, W].
    public var cam: Tensor
}

extension ZooModel {
    /// The outputs of the modules at `layers` (dotted paths, as `zoo summary` prints them) for a
    /// batch [N] + `input` of preprocessed images: exactly what the layer-by-layer forward pass
    /// computes there, in eval mode, without gradients. The model and its weights are unchanged.
    /// - Throws: `ZooError` for a batch of another shape, an unknown path (naming the closest
    ///   ones) or a module the forward pass does not reach.
    public func features(_ batch: Tensor, at layers: [String]) throws -> [String: Tensor] {
        try checkBatch(batch)
        let pass = try inEvalMode { try GradMode.withoutGrad { try module.forward(Variable(batch), capturing: layers) } }
        return pass.features.mapValues(\.value)
    }

    /// Grad-CAM of `layer` (default: the registry's `explainLayer`) for each item of a batch
    /// [N] + `input`, for `classes` (one per item; default: each item's top-1). The target is
    /// the raw logit of the class. No parameter receives a gradient.
    /// - Throws: `ZooError` for a batch of another shape, an unknown layer, a layer without
    ///   spatial output, or a class index out of range.
    public func gradCAM(_ batch: Tensor, layer: String? = nil, classes: [Int]? = nil) throws -> GradCAM {
        try checkBatch(batch)
        let layer = layer ?? entry.explainLayer
        let count = batch.shape[0]
        if let classes {
            guard classes.count == count else { throw ZooError("\(classes.count) classes were given for a batch of \(count)") }
            if let bad = classes.first(where: { !(0..<classCount).contains($0) }) {
                throw ZooError("class \(bad) is out of range: \(name) has classes 0 to \(classCount - 1)")
            }
        }
        guard module.module(at: layer) != nil else { throw ZooError(module.unknownModuleSentence(layer)) }
        // Parameters are frozen for the pass: the layer's output is then the only variable that
        // needs a gradient, and no weight gradient is computed or left behind.
        let parameters = module.namedParameters().map(\.variable)
        let wasRequired = parameters.map(\.requiresGrad)
        for p in parameters { p.requiresGrad = false }
        defer { for (p, required) in zip(parameters, wasRequired) { p.requiresGrad = required } }
        let pass = try inEvalMode { try GradMode.withGrad { try module.forward(Variable(batch), capturing: [layer]) } }
        let activation = pass.features[layer]!
        guard activation.shape.count == 4 else {
            throw ZooError("layer '\(layer)' gives outputs of shape \(activation.shape.dropFirst().map(String.init).joined(separator: "×")); Grad-CAM needs a C×H×W feature map")
        }
        let logits = pass.output.value
        let targets = classes ?? logits.topK(1).map { $0[0] }
        var seed = Tensor(zeros: logits.shape)
        for (n, c) in targets.enumerated() { seed.scalars[n * classCount + c] = 1 }
        GradMode.withGrad { pass.output.backward(seed) }
        let gradient = activation.grad ?? Tensor(zeros: activation.shape)
        let camRaw = Self.weightedActivation(activation.value, gradient)
        let cam = Self.resizedBilinear(Self.scaledPerItem(camRaw), height: input[1], width: input[2])
        return GradCAM(layer: layer, classes: targets, logits: logits, camRaw: camRaw, cam: cam)
    }

    func checkBatch(_ batch: Tensor) throws {
        guard batch.rank == 4, Array(batch.shape.dropFirst()) == input, batch.shape[0] > 0 else {
            throw ZooError("\(name) takes a batch of [N, \(input.map(String.init).joined(separator: ", "))] inputs, not \(batch.shape)")
        }
    }

    /// `body` with the network in eval mode, its mode restored after.
    func inEvalMode<R>(_ body: () throws -> R) rethrows -> R {
        let wasTraining = module.isTraining
        module.eval()
        defer { module.train(wasTraining) }
        return try body()
    }

    /// ReLU(Σ_k mean(dA_k) · A_k) per item: [N, C, h, w] → [N, h, w].
    static func weightedActivation(_ a: Tensor, _ da: Tensor) -> Tensor {
        let (n, c, plane) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
        var out = Tensor(zeros: [n, a.shape[2], a.shape[3]])
        for item in 0..<n {
            for k in 0..<c {
                let base = (item * c + k) * plane
                var mean: Float = 0
                for i in 0..<plane { mean += da.scalars[base + i] }
                mean /= Float(plane)
                for i in 0..<plane { out.scalars[item * plane + i] += mean * a.scalars[base + i] }
            }
        }
        for i in out.scalars.indices { out.scalars[i] = max(0, out.scalars[i]) }
        return out
    }

    /// Each item [h, w] of [N, h, w] as (x − min) / (max − min + 1e-7).
    static func scaledPerItem(_ maps: Tensor) -> Tensor {
        var out = maps
        let plane = maps.shape[1] * maps.shape[2]
        for item in 0..<maps.shape[0] {
            let values = maps.scalars[item * plane ..< (item + 1) * plane]
            let (low, high) = (values.min() ?? 0, values.max() ?? 0)
            for i in item * plane ..< (item + 1) * plane { out.scalars[i] = (maps.scalars[i] - low) / (high - low + 1e-7) }
        }
        return out
    }

    /// Bilinear resizing of [N, h, w] to [N, height, width] with half-pixel centres (PyTorch's
    /// `interpolate(mode="bilinear", align_corners=False)`): output pixel i samples the input at
    /// (i + 0.5)·in/out − 0.5, clamped at 0.
    static func resizedBilinear(_ maps: Tensor, height: Int, width: Int) -> Tensor {
        let (n, h, w) = (maps.shape[0], maps.shape[1], maps.shape[2])
        func taps(_ outCount: Int, _ inCount: Int) -> [(Int, Int, Float)] {
            let scale = Float(inCount) / Float(outCount)
            return (0..<outCount).map { i in
                let source = max(0, (Float(i) + 0.5) * scale - 0.5)
                let low = min(Int(source), inCount - 1)
                return (low, min(low + 1, inCount - 1), source - Float(low))
            }
        }
        let rows = taps(height, h), columns = taps(width, w)
        var out = Tensor(zeros: [n, height, width])
        for item in 0..<n {
            let src = item * h * w, dst = item * height * width
            for (y, (y0, y1, fy)) in rows.enumerated() {
                for (x, (x0, x1, fx)) in columns.enumerated() {
                    let top = (1 - fx) * maps.scalars[src + y0 * w + x0] + fx * maps.scalars[src + y0 * w + x1]
                    let bottom = (1 - fx) * maps.scalars[src + y1 * w + x0] + fx * maps.scalars[src + y1 * w + x1]
                    out.scalars[dst + y * width + x] = (1 - fy) * top + fy * bottom
                }
            }
        }
        return out
    }
}
