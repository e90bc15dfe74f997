// LeNet-5: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-Based Learning Applied to
// Document Recognition", Proc. IEEE 1998.
//
// Differences from the paper: C3 connects to every S2 map (the paper's sparse connection
// table is dropped, as every modern re-implementation does); S2/S4 are plain max or average
// pooling without trainable coefficients; the output layer is a linear layer, not RBF units.
// A 28×28 input (MNIST, Fashion-MNIST) is padded by 2 in C1, which gives the paper's 32×32
// geometry from there on.
import ZooNN
import ZooTensor

public enum LeNetActivation: String, CaseIterable {
    case relu, tanh

    func make() -> Module { self == .relu ? ReLU() : Tanh() }
}

/// LeNet-5: conv 6@5×5 – pool – conv 16@5×5 – pool – fc 120 – fc 84 – fc classes.
/// Keys: `features.{0,3}` (convs), `classifier.{0,2,4}` (linear layers).
public func lenet5(classCount: Int = 10, inputChannels: Int = 1, inputSize: Int = 28,
                   activation: LeNetActivation = .relu) throws -> Sequential {
    guard inputSize == 28 || inputSize == 32 else { throw ZooError("LeNet-5 takes 28×28 or 32×32 inputs, not \(inputSize)×\(inputSize)") }
    return Sequential(named: [
        ("features", Sequential([
            Conv2d(inputChannels, 6, kernel: 5, padding: inputSize == 28 ? 2 : 0), activation.make(), MaxPool2d(2),
            Conv2d(6, 16, kernel: 5), activation.make(), MaxPool2d(2),
        ])),
        ("flatten", Flatten()),
        ("classifier", Sequential([
            Linear(16 * 5 * 5, 120), activation.make(),
            Linear(120, 84), activation.make(),
            Linear(84, classCount),
        ])),
    ])
}

/// The LeNet family's models: LeNet-5 and the lecture notes' CNN, for 28×28 gray images.
public enum LeNetFamily: ModelFamily {
    public static let entries = [
        ModelEntry("lenet5", family: "LeNet", input: ModelEntry.mnistInput, classes: 10, classifier: ["classifier.4"], explain: "features",
                   rule: { input in
            [28, 32].contains(input[1]) && input[1] == input[2] ? nil : "lenet5 takes 28×28 or 32×32 inputs, not \(input[1])×\(input[2])"
        }) { try lenet5(classCount: $0.classCount, inputChannels: $0.input[0], inputSize: $0.input[1]) },
        ModelEntry("simple_cnn", family: "LeNet", input: ModelEntry.mnistInput, classes: 10, classifier: ["net.linear_13"],
                   explain: "net.dropout2d_07", rule: { input in
            input[1] >= 4 && input[2] >= 4 ? nil : "simple_cnn's two 2×2 poolings need an input of at least 4×4, not \(input[1])×\(input[2])"
        }) { try simpleCNN(input: $0.input, classCount: $0.classCount) },
    ]
}
