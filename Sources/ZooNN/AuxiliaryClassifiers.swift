import ZooTensor

/// A network with auxiliary classifiers whose losses join the main loss in training
/// (GoogLeNet's two heads, Inception v3's one). Training code asks for this protocol, never
/// for a model by name.
public protocol AuxiliaryClassifiers: Module {
    /// The main logits and each auxiliary head's logits (the heads run in training mode only).
    func forwardWithAuxiliary(_ input: Variable) throws -> (logits: Variable, auxiliary: [Variable])
    /// The weight of each auxiliary head's loss.
    var auxiliaryLossWeight: Float { get }
}
