// The configurable CNN of the lecture notes ConvZoo grew from (shared/seeds/001): each conv
// width adds conv(k×k, "same" padding) – [batch norm] – ReLU – 2×2 max-pool – channel
// dropout; then flatten, each hidden width adds linear – ReLU, and a last linear layer
// gives the class scores. The flatten width is computed from the input size.
// Keys follow the notes' module: `net.<layer type>_<index>`, e.g. `net.conv2d_00.weight`.
import ZooNN
import ZooTensor

/// The lecture notes' CNN. Weights use He (Kaiming normal) initialisation and zero biases,
/// as the notes' `init_param` does.
public func simpleCNN(input: [Int] = [1, 28, 28], kernelSize: Int = 3, convWidths: [Int] = [32, 64],
                      hiddenWidths: [Int] = [1024, 128], classCount: Int = 10, batchNorm: Bool = false,
                      dropout: Float = 0.5) throws -> Module {
    guard input.count == 3 else { throw ZooError("simple_cnn's input must be [C, H, W], not \(input)") }
    var layers: [(kind: String, module: Module)] = []
    var channels = input[0]
    for width in convWidths {
        let conv = Conv2d(channels, width, kernel: kernelSize, padding: kernelSize / 2)
        heInitialise(conv.weight, conv.bias)
        layers.append(("conv2d", conv))
        if batchNorm { layers.append(("batchnorm2d", BatchNorm(width))) }
        layers += [("relu", ReLU()), ("maxpool2d", MaxPool2d(2)), ("dropout2d", Dropout(dropout, channels: true))]
        channels = width
    }
    layers.append(("flatten", Flatten()))
    let pooled = 1 << convWidths.count
    var features = channels * (input[1] / pooled) * (input[2] / pooled)
    guard features > 0 else { throw ZooError("simple_cnn's input \(input) is too small for \(convWidths.count) 2×2 poolings") }
    for (index, width) in (hiddenWidths + [classCount]).enumerated() {
        let fc = Linear(features, width)
        heInitialise(fc.weight, fc.bias)
        layers.append(("linear", fc))
        if index < hiddenWidths.count { layers.append(("relu", ReLU())) }
        features = width
    }
    let named = layers.enumerated().map { index, layer in
        (layer.kind + "_" + (index < 10 ? "0" : "") + String(index), layer.module)
    }
    return Sequential(named: [("net", Sequential(named: named))])
}

func heInitialise(_ weight: Variable, _ bias: Variable?) {
    weight.value = Init.kaimingNormal(weight.shape, using: &GlobalRandom.generator)
    bias?.value = Tensor(zeros: bias!.shape)
}
