// GoogLeNet (Inception v1): C. Szegedy et al., "Going Deeper with Convolutions", CVPR 2015 —
// as torchvision defines it: every conv is followed by batch norm (eps 1e-3) and has no bias
// (the paper predates batch norm); the "5×5" branch uses a 3×3 conv (a known quirk of the
// weights torchvision ported); max-pools use ceil_mode; no local response normalisation; the
// auxiliary classifiers exist only when asked for and only in training.
import ZooNN
import ZooTensor

/// The widths of one Inception block: 1×1 branch; 3×3 branch (reduce, out); "5×5" branch
/// (reduce, out, a 3×3 kernel in torchvision); pool projection.
public struct InceptionWidths {
    public var oneByOne, threeReduce, three, fiveReduce, five, poolProjection: Int
    public var output: Int { oneByOne + three + five + poolProjection }
}

/// Four parallel branches joined on channels. Keys: `branch1`, `branch2.{0,1}`, `branch3.{0,1}`, `branch4.1`.
public func inception(_ inChannels: Int, _ w: InceptionWidths) -> Concat {
    Concat([
        ("branch1", BasicConv2d(inChannels, w.oneByOne, kernel: 1)),
        ("branch2", Sequential([BasicConv2d(inChannels, w.threeReduce, kernel: 1), BasicConv2d(w.threeReduce, w.three, kernel: 3, padding: 1)])),
        ("branch3", Sequential([BasicConv2d(inChannels, w.fiveReduce, kernel: 1), BasicConv2d(w.fiveReduce, w.five, kernel: 3, padding: 1)])),
        ("branch4", Sequential([MaxPool2d(3, stride: 1, padding: 1, ceilMode: true), BasicConv2d(inChannels, w.poolProjection, kernel: 1)])),
    ])
}

/// An auxiliary classifier on an intermediate feature map (training only).
/// Keys: `conv`, `fc1`, `fc2`.
public final class InceptionAux: Module {
    public init(_ inChannels: Int, classCount: Int, dropout: Float = 0.7) {
        super.init()
        register("conv", BasicConv2d(inChannels, 128, kernel: 1))
        register("fc1", Linear(2048, 1024))
        register("fc2", Linear(1024, classCount))
        register("dropout", Dropout(dropout))
    }

    public override func forward(_ input: Variable) throws -> Variable {
        // [N, C, 14, 14] → [N, C, 4, 4] → [N, 128, 4, 4] → [N, 2048] → [N, classes]
        let pooled = adaptiveAvgPool2d(input, outputSize: (4, 4))
        let hidden = try relu(child("fc1")!(flatten(child("conv")!(pooled))))
        return try child("fc2")!(child("dropout")!(hidden))
    }
}

/// (name, widths) of the nine Inception blocks, in order; a pool precedes 4a and 5a.
public let googLeNetBlocks: [(name: String, widths: InceptionWidths)] = [
    ("inception3a", InceptionWidths(oneByOne: 64, threeReduce: 96, three: 128, fiveReduce: 16, five: 32, poolProjection: 32)),
    ("inception3b", InceptionWidths(oneByOne: 128, threeReduce: 128, three: 192, fiveReduce: 32, five: 96, poolProjection: 64)),
    ("inception4a", InceptionWidths(oneByOne: 192, threeReduce: 96, three: 208, fiveReduce: 16, five: 48, poolProjection: 64)),
    ("inception4b", InceptionWidths(oneByOne: 160, threeReduce: 112, three: 224, fiveReduce: 24, five: 64, poolProjection: 64)),
    ("inception4c", InceptionWidths(oneByOne: 128, threeReduce: 128, three: 256, fiveReduce: 24, five: 64, poolProjection: 64)),
    ("inception4d", InceptionWidths(oneByOne: 112, threeReduce: 144, three: 288, fiveReduce: 32, five: 64, poolProjection: 64)),
    ("inception4e", InceptionWidths(oneByOne: 256, threeReduce: 160, three: 320, fiveReduce: 32, five: 128, poolProjection: 128)),
    ("inception5a", InceptionWidths(oneByOne: 256, threeReduce: 160, three: 320, fiveReduce: 32, five: 128, poolProjection: 128)),
    ("inception5b", InceptionWidths(oneByOne: 384, threeReduce: 192, three: 384, fiveReduce: 48, five: 128, poolProjection: 128)),
]

/// torchvision's GoogLeNet. With `auxiliaryHeads`, `aux1` (after 4a) and `aux2` (after 4d)
/// are built and `forwardWithAuxiliary` returns their logits in training mode.
public final class GoogLeNet: Module, AuxiliaryClassifiers {
    public let hasAuxiliaryHeads: Bool
    /// torchvision's `transform_input` (on for its pretrained weights): see `imageNetToHalfNormalisation`.
    public let transformInput: Bool
    /// torchvision's training script weights each auxiliary loss by 0.3.
    public let auxiliaryLossWeight: Float = 0.3
    /// The feature trunk, in order: stem convs and pools, then the Inception blocks.
    let trunk: [String]

    public init(classCount: Int = 1000, inputChannels: Int = 3, auxiliaryHeads: Bool = false, transformInput: Bool = false,
                dropout: Float = 0.2) throws {
        guard !transformInput || inputChannels == 3 else {
            throw ZooError("transform_input re-normalises three ImageNet channels; this model has \(inputChannels)")
        }
        (hasAuxiliaryHeads, self.transformInput) = (auxiliaryHeads, transformInput)
        var trunk = ["conv1", "maxpool1", "conv2", "conv3", "maxpool2"]
        for (name, _) in googLeNetBlocks {
            if name == "inception4a" { trunk.append("maxpool3") }
            if name == "inception5a" { trunk.append("maxpool4") }
            trunk.append(name)
        }
        self.trunk = trunk
        super.init()
        register("conv1", BasicConv2d(inputChannels, 64, kernel: 7, stride: 2, padding: 3))
        register("maxpool1", MaxPool2d(3, stride: 2, ceilMode: true))
        register("conv2", BasicConv2d(64, 64, kernel: 1))
        register("conv3", BasicConv2d(64, 192, kernel: 3, padding: 1))
        register("maxpool2", MaxPool2d(3, stride: 2, ceilMode: true))
        var channels = 192
        for (name, widths) in googLeNetBlocks {
            if name == "inception4a" { register("maxpool3", MaxPool2d(3, stride: 2, ceilMode: true)) }
            if name == "inception5a" { register("maxpool4", MaxPool2d(2, stride: 2, ceilMode: true)) }
            register(name, inception(channels, widths))
            channels = widths.output
        }
        if auxiliaryHeads {
            register("aux1", InceptionAux(512, classCount: classCount))
            register("aux2", InceptionAux(528, classCount: classCount))
        }
        register("avgpool", AdaptiveAvgPool2d((1, 1)))
        register("dropout", Dropout(dropout))
        register("fc", Linear(1024, classCount))
        initialiseLikeTorchvision()
    }

    /// Convs and linear layers: N(0, 0.01²) truncated to ±2 (torchvision's bounds are absolute:
    /// at this σ nothing is cut); batch norm 1 and 0.
    func initialiseLikeTorchvision() {
        for (_, module) in namedModules() {
            let weight = (module as? Conv2d)?.weight ?? (module as? Linear)?.weight
            guard let weight else { continue }
            weight.value = Init.truncatedNormal(weight.shape, std: 0.01, bound: 2 / 0.01, using: &GlobalRandom.generator)
            if let bias = (module as? Linear)?.bias { bias.value = Tensor(zeros: bias.shape) }
        }
    }

    /// The class logits, and in training mode with auxiliary heads also [aux1, aux2] logits.
    public func forwardWithAuxiliary(_ input: Variable) throws -> (logits: Variable, auxiliary: [Variable]) {
        var x = transformInput ? imageNetToHalfNormalisation(input) : input
        var auxiliary: [Variable] = []
        for name in trunk {
            x = try child(name)!(x)
            if hasAuxiliaryHeads && isTraining && name == "inception4a" { try auxiliary.append(child("aux1")!(x)) }
            if hasAuxiliaryHeads && isTraining && name == "inception4d" { try auxiliary.append(child("aux2")!(x)) }
        }
        // [N, 1024, 7, 7] → [N, 1024] → [N, classes]
        x = try flatten(child("avgpool")!(x))
        return try (child("fc")!(child("dropout")!(x)), auxiliary)
    }

    public override func forward(_ input: Variable) throws -> Variable { try forwardWithAuxiliary(input).logits }
}

/// The GoogLeNet family's model.
public enum GoogLeNetFamily: ModelFamily {
    public static let entries = [
        ModelEntry("googlenet", family: "GoogLeNet", input: ModelEntry.imageNetInput, classifier: ["fc", "aux1.fc2", "aux2.fc2"],
                   explain: "inception5b", optional: ["aux1", "aux2"], transformInput: true) {
            try GoogLeNet(classCount: $0.classCount, inputChannels: $0.input[0], auxiliaryHeads: $0.auxiliaryHeads,
                          transformInput: $0.transformInput)
        },
    ]
}
