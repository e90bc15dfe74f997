import Foundation
import ZooTensor

/// What happens when a layer is handed an input it cannot take (wrong channel count, a
/// feature map smaller than its kernel). By default a precondition failure; a command-line
/// tool installs a handler that prints the sentence and exits.
public enum ShapeCheck {
    nonisolated(unsafe) public static var failure: (String) -> Never = { preconditionFailure($0) }
    /// Dotted layer names by module, for the messages (set by `name(_:)`).
    nonisolated(unsafe) static var names: [ObjectIdentifier: String] = [:]

    /// Makes failures inside `model` name the layer by its dotted path.
    public static func name(_ model: Module) {
        for (path, module) in model.namedModules() { names[ObjectIdentifier(module)] = path.isEmpty ? "(model)" : path }
    }

    /// A shape probe under way on one thread: the first problem it met.
    final class Probe { var problem: String? }
    static let probeKey = "convzoo.ShapeCheck.probe"

    /// The probe running on this thread, if any (other threads' forward passes are untouched).
    static var probe: Probe? { Thread.current.threadDictionary[probeKey] as? Probe }

    /// The first problem a forward pass of one zero input of `input` [C, H, W] meets in
    /// `model`, as the sentence `failure` would get, or nil when every layer takes its input.
    /// Nothing stops the program: after a problem each layer hands its input on unchanged, and
    /// no inference fusion runs (it would fold the weights for nothing).
    public static func problem(in model: Module, input: [Int]) -> String? {
        name(model)
        let wasTraining = model.isTraining
        model.eval()
        let probe = Probe()
        Thread.current.threadDictionary[probeKey] = probe
        defer {
            Thread.current.threadDictionary[probeKey] = nil
            model.train(wasTraining)
        }
        _ = GradMode.withoutGrad { model(Variable(Tensor(zeros: [1] + input))) }
        return probe.problem
    }

    /// Whether a shape probe on this thread has met a problem, after which layers pass their
    /// input on unchanged (a module joining branches then skips the join).
    public static var probeFailed: Bool { probe?.problem != nil }

    /// Reports that `module` cannot take an input of shape `input` because of `problem`: to
    /// the probe when one runs, else to `failure`.
    public static func fail(_ module: Module, input: [Int], _ problem: String) {
        let name = names[ObjectIdentifier(module)].map { "layer '\($0)' (\(module.kindName))" } ?? module.kindName
        let size = input.dropFirst().map(String.init).joined(separator: "×")
        let sentence = "\(name) cannot take an input of size \(size): \(problem)"
        guard let probe else { failure(sentence) }
        if probe.problem == nil { probe.problem = sentence }
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

