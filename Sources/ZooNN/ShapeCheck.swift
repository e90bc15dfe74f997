@_spi(Engine) @_spi(Kernels) import ZooTensor

/// A layer was handed an input it cannot take (wrong channel count, a feature map smaller than
/// its kernel): thrown by `forward` before the layer computes anything, with one sentence.
public struct ShapeError: Error, CustomStringConvertible {
    /// The layer's kind as summaries print it ("Conv2d").
    public let layerKind: String
    /// The layer's dotted path in the model the pass ran through ("" for the model itself).
    public internal(set) var path: String?
    /// The shape the layer was given, batch first.
    public let inputShape: [Int]
    /// Why it cannot take it ("it expects 3 channels, not 1").
    public let problem: String
    /// The layer, to find its path in the modules the error passes on its way out.
    let layer: ObjectIdentifier

    init(_ module: Module, input: [Int], _ problem: String) {
        (layerKind, inputShape, self.problem, layer) = (module.kindName, input, problem, ObjectIdentifier(module))
    }

    public var description: String {
        let name = path.map { "layer '\($0.isEmpty ? "(model)" : $0)' (\(layerKind))" } ?? layerKind
        let size = inputShape.dropFirst().map(String.init).joined(separator: "×")
        return "\(name) cannot take an input of size \(size): \(problem)"
    }

    /// The same error with the layer's path as seen from `module` (each module on the way out
    /// of a forward pass names it; the outermost one's name stays).
    func named(from module: Module) -> ShapeError {
        guard let path = module.namedModules().first(where: { ObjectIdentifier($0.module) == layer })?.name else { return self }
        var named = self
        named.path = path
        return named
    }
}

public enum ShapeCheck {
    /// The first problem a forward pass of one zero input of `input` [C, H, W] meets in
    /// `model`, as the sentence its `ShapeError` says, or nil when every layer takes its input.
    /// The model is left as it was (no inference fusion runs: it would fold the weights for nothing).
    public static func problem(in model: Module, input: [Int]) -> String? {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        do {
            _ = try ForwardContext.observing(ShapeProbe()) {
                try GradMode.withoutGrad { try model(Variable(Tensor(zeros: [1] + input))) }
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Watches a forward pass only to keep inference fusion off.
    final class ShapeProbe: LayerObserver {
        func note(_ module: Module, input: [Int], output: Variable) -> Variable { output }
    }
}

func spatialProblem(_ shape: [Int], channels: Int?, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
                    dilation: (Int, Int) = (1, 1), ceilMode: Bool = false) -> String? {
    guard shape.count == 4 else { return "it expects a 4-D [N, C, H, W] input" }
    if let channels, shape[1] != channels { return "it expects \(channels) channels, not \(shape[1])" }
    let effective = (dilation.0 * (kernel.0 - 1) + 1, dilation.1 * (kernel.1 - 1) + 1)
    let height = PoolGeometry.outputSize(shape[2], effective.0, stride.0, padding.0, ceilMode)
    let width = PoolGeometry.outputSize(shape[3], effective.1, stride.1, padding.1, ceilMode)
    if height <= 0 || width <= 0 {
        return "its \(kernel.0)×\(kernel.1) window with padding \(padding.0) does not fit, so the size reaches zero"
    }
    return nil
}
