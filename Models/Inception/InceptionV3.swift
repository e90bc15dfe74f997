// Inception v3: C. Szegedy, V. Vanhoucke, S. Ioffe, J. Shlens, Z. Wojna, "Rethinking the
// Inception Architecture for Computer Vision", CVPR 2016 — as torchvision defines it: a stem of
// five BasicConv2d (conv, batch norm eps 1e-3, ReLU) and two 3×3/2 max-pools; Inception blocks
// A (5×5 and double 3×3 branches), B (grid reduction), C (factorised 1×7 / 7×1 branches),
// D (reduction) and E (1×3 and 3×1 branches side by side); an auxiliary classifier after
// Mixed_6e (training only); global pooling, dropout 0.5, linear. Pooling branches average 3×3
// windows with the padding counted (PyTorch's default). `transformInput` re-normalises an
// ImageNet-normalised input to the [-1, 1] scaling Google's weights were trained on, as
// torchvision does for its pretrained weights.
import ZooNN
import ZooTensor

/// One step of an Inception v3 branch.
public enum InceptionStep {
    /// The block's BasicConv2d of this name.
    case conv(String)
    /// 3×3 average pool, stride 1, padding 1, padding counted.
    case averagePool
    /// 3×3 max pool, stride 2.
    case maxPool
    /// These convs side by side on the same input, joined on channels (block E).
    case fork([String])
}

/// Parallel branches of steps over named BasicConv2d layers, joined on channels.
/// Keys: the convs' names (`branch1x1`, `branch5x5_1`, …), in torchvision's order.
public final class InceptionV3Block: Module {
    let branches: [[InceptionStep]]

    /// `convs` in registration order: (name, in, out, kernel (h, w), stride, padding (h, w)).
    init(convs: [(String, Int, Int, (Int, Int), Int, (Int, Int))], branches: [[InceptionStep]]) {
        self.branches = branches
        super.init()
        for (name, inChannels, outChannels, kernel, stride, padding) in convs {
            register(name, BasicConv2d(inChannels, outChannels, kernel: kernel, stride: (stride, stride), padding: padding))
        }
    }

    public override func forward(_ input: Variable) throws -> Variable {
        try concat(branches.map { steps in
            try steps.reduce(input) { x, step in
                switch step {
                case .conv(let name): return try child(name)!(x)
                case .averagePool: return avgPool2d(x, kernel: (3, 3), stride: (1, 1), padding: (1, 1), countIncludePad: true)
                case .maxPool: return maxPool2d(x, kernel: (3, 3), stride: (2, 2))
                case .fork(let names): return try concat(names.map { try child($0)!(x) })
                }
            }
        })
    }
}

let square1 = (1, 1), square3 = (3, 3), none = (0, 0), one = (1, 1)

/// The stem Inception v3 and Inception-ResNet-v2 share, under each reference's seven names:
/// 3×3/2, 3×3, 3×3 padded, 3×3/2 max-pool, 1×1, 3×3, 3×3/2 max-pool (299 → 35, 192 channels).
func inceptionStem(inputChannels: Int, names: [String]) -> [(String, Module)] {
    precondition(names.count == 7, "the Inception stem has seven layers")
    let layers: [Module] = [
        BasicConv2d(inputChannels, 32, kernel: 3, stride: 2), BasicConv2d(32, 32, kernel: 3),
        BasicConv2d(32, 64, kernel: 3, padding: 1), MaxPool2d(3, stride: 2),
        BasicConv2d(64, 80, kernel: 1), BasicConv2d(80, 192, kernel: 3), MaxPool2d(3, stride: 2),
    ]
    return Array(zip(names, layers))
}

/// Block A: 1×1; 1×1 → 5×5; 1×1 → 3×3 → 3×3; pool → 1×1 (`poolFeatures`).
func inceptionA(_ c: Int, poolFeatures: Int) -> InceptionV3Block {
    InceptionV3Block(convs: [
        ("branch1x1", c, 64, square1, 1, none),
        ("branch5x5_1", c, 48, square1, 1, none), ("branch5x5_2", 48, 64, (5, 5), 1, (2, 2)),
        ("branch3x3dbl_1", c, 64, square1, 1, none), ("branch3x3dbl_2", 64, 96, square3, 1, one), ("branch3x3dbl_3", 96, 96, square3, 1, one),
        ("branch_pool", c, poolFeatures, square1, 1, none),
    ], branches: [[.conv("branch1x1")], [.conv("branch5x5_1"), .conv("branch5x5_2")],
                  [.conv("branch3x3dbl_1"), .conv("branch3x3dbl_2"), .conv("branch3x3dbl_3")], [.averagePool, .conv("branch_pool")]])
}

/// Block B (35×35 → 17×17): 3×3/2; 1×1 → 3×3 → 3×3/2; max pool.
func inceptionB(_ c: Int) -> InceptionV3Block {
    InceptionV3Block(convs: [
        ("branch3x3", c, 384, square3, 2, none),
        ("branch3x3dbl_1", c, 64, square1, 1, none), ("branch3x3dbl_2", 64, 96, square3, 1, one), ("branch3x3dbl_3", 96, 96, square3, 2, none),
    ], branches: [[.conv("branch3x3")], [.conv("branch3x3dbl_1"), .conv("branch3x3dbl_2"), .conv("branch3x3dbl_3")], [.maxPool]])
}

/// Block C: 1×1; 1×1 → 1×7 → 7×1; 1×1 → 7×1 → 1×7 → 7×1 → 1×7; pool → 1×1 (`c7` inner channels).
func inceptionC(_ c: Int, c7: Int) -> InceptionV3Block {
    let row = ((1, 7), (0, 3)), column = ((7, 1), (3, 0))
    return InceptionV3Block(convs: [
        ("branch1x1", c, 192, square1, 1, none),
        ("branch7x7_1", c, c7, square1, 1, none), ("branch7x7_2", c7, c7, row.0, 1, row.1), ("branch7x7_3", c7, 192, column.0, 1, column.1),
        ("branch7x7dbl_1", c, c7, square1, 1, none), ("branch7x7dbl_2", c7, c7, column.0, 1, column.1),
        ("branch7x7dbl_3", c7, c7, row.0, 1, row.1), ("branch7x7dbl_4", c7, c7, column.0, 1, column.1),
        ("branch7x7dbl_5", c7, 192, row.0, 1, row.1),
        ("branch_pool", c, 192, square1, 1, none),
    ], branches: [[.conv("branch1x1")], [.conv("branch7x7_1"), .conv("branch7x7_2"), .conv("branch7x7_3")],
                  (1...5).map { .conv("branch7x7dbl_\($0)") }, [.averagePool, .conv("branch_pool")]])
}

/// Block D (17×17 → 8×8): 1×1 → 3×3/2; 1×1 → 1×7 → 7×1 → 3×3/2; max pool.
func inceptionD(_ c: Int) -> InceptionV3Block {
    InceptionV3Block(convs: [
        ("branch3x3_1", c, 192, square1, 1, none), ("branch3x3_2", 192, 320, square3, 2, none),
        ("branch7x7x3_1", c, 192, square1, 1, none), ("branch7x7x3_2", 192, 192, (1, 7), 1, (0, 3)),
        ("branch7x7x3_3", 192, 192, (7, 1), 1, (3, 0)), ("branch7x7x3_4", 192, 192, square3, 2, none),
    ], branches: [[.conv("branch3x3_1"), .conv("branch3x3_2")], (1...4).map { .conv("branch7x7x3_\($0)") }, [.maxPool]])
}

/// Block E: 1×1; 1×1 → (1×3 | 3×1); 1×1 → 3×3 → (1×3 | 3×1); pool → 1×1.
func inceptionE(_ c: Int) -> InceptionV3Block {
    InceptionV3Block(convs: [
        ("branch1x1", c, 320, square1, 1, none),
        ("branch3x3_1", c, 384, square1, 1, none), ("branch3x3_2a", 384, 384, (1, 3), 1, (0, 1)), ("branch3x3_2b", 384, 384, (3, 1), 1, (1, 0)),
        ("branch3x3dbl_1", c, 448, square1, 1, none), ("branch3x3dbl_2", 448, 384, square3, 1, one),
        ("branch3x3dbl_3a", 384, 384, (1, 3), 1, (0, 1)), ("branch3x3dbl_3b", 384, 384, (3, 1), 1, (1, 0)),
        ("branch_pool", c, 192, square1, 1, none),
    ], branches: [[.conv("branch1x1")], [.conv("branch3x3_1"), .fork(["branch3x3_2a", "branch3x3_2b"])],
                  [.conv("branch3x3dbl_1"), .conv("branch3x3dbl_2"), .fork(["branch3x3dbl_3a", "branch3x3dbl_3b"])],
                  [.averagePool, .conv("branch_pool")]])
}

/// The auxiliary classifier on Mixed_6e's 17×17 map: 5×5/3 average pool, 1×1 conv (128),
/// 5×5 conv (768), global pool, linear. Keys: conv0, conv1, fc.
public final class InceptionV3Aux: Module {
    public init(_ inChannels: Int, classCount: Int) {
        super.init()
        register("conv0", BasicConv2d(inChannels, 128, kernel: 1))
        register("conv1", BasicConv2d(128, 768, kernel: 5))
        register("fc", Linear(768, classCount))
    }

    public override func forward(_ input: Variable) throws -> Variable {
        // [N, 768, 17, 17] → [N, 768, 5, 5] → [N, 128, 5, 5] → [N, 768, 1, 1] → [N, classes]
        let pooled = avgPool2d(input, kernel: (5, 5), stride: (3, 3))
        let features = try adaptiveAvgPool2d(child("conv1")!(child("conv0")!(pooled)), outputSize: (1, 1))
        return try child("fc")!(flatten(features))
    }
}

/// torchvision's `inception_v3`. Keys: Conv2d_1a_3x3 … Mixed_7c, [AuxLogits], fc.
public final class InceptionV3: Module, AuxiliaryClassifiers {
    public let transformInput: Bool
    public let auxiliaryLossWeight: Float = 0.4
    let trunk: [String]

    public init(classCount: Int = 1000, inputChannels: Int = 3, auxiliaryHead: Bool = false, transformInput: Bool = false,
                dropout: Float = 0.5) throws {
        guard !transformInput || inputChannels == 3 else {
            throw ZooError("transform_input re-normalises three ImageNet channels; this model has \(inputChannels)")
        }
        self.transformInput = transformInput
        let stem = inceptionStem(inputChannels: inputChannels, names: [
            "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2",
        ])
        let blocks: [(String, Module)] = [
            ("Mixed_5b", inceptionA(192, poolFeatures: 32)), ("Mixed_5c", inceptionA(256, poolFeatures: 64)),
            ("Mixed_5d", inceptionA(288, poolFeatures: 64)), ("Mixed_6a", inceptionB(288)),
            ("Mixed_6b", inceptionC(768, c7: 128)), ("Mixed_6c", inceptionC(768, c7: 160)),
            ("Mixed_6d", inceptionC(768, c7: 160)), ("Mixed_6e", inceptionC(768, c7: 192)),
        ]
        let late: [(String, Module)] = [("Mixed_7a", inceptionD(768)), ("Mixed_7b", inceptionE(1280)), ("Mixed_7c", inceptionE(2048))]
        trunk = (stem + blocks + late).map(\.0)
        super.init()
        for (name, module) in stem + blocks { register(name, module) }
        if auxiliaryHead { register("AuxLogits", InceptionV3Aux(768, classCount: classCount)) }
        for (name, module) in late { register(name, module) }
        register("avgpool", AdaptiveAvgPool2d((1, 1)))
        register("dropout", Dropout(dropout))
        register("fc", Linear(2048, classCount))
        initialiseLikeTorchvision()
    }

    /// Convs and linear layers N(0, σ²) truncated to ±2 (σ = 0.1; 0.01 for the auxiliary head's
    /// 5×5 conv, 0.001 for its linear layer); batch norm 1 and 0; biases as PyTorch initialises them.
    func initialiseLikeTorchvision() {
        for (path, module) in namedModules() {
            let std: Float = path == "AuxLogits.conv1.conv" ? 0.01 : path == "AuxLogits.fc" ? 0.001 : 0.1
            if let conv = module as? Conv2d {
                conv.weight.value = Init.truncatedNormal(conv.weight.shape, std: std, bound: 2 / std, using: &GlobalRandom.generator)
            } else if let fc = module as? Linear {
                fc.weight.value = Init.truncatedNormal(fc.weight.shape, std: std, bound: 2 / std, using: &GlobalRandom.generator)
            }
        }
    }

    /// The class logits, and in training mode with the auxiliary head its logits too.
    public func forwardWithAuxiliary(_ input: Variable) throws -> (logits: Variable, auxiliary: [Variable]) {
        var x = transformInput ? imageNetToHalfNormalisation(input) : input
        var auxiliary: [Variable] = []
        for name in trunk {
            x = try child(name)!(x)
            if name == "Mixed_6e", isTraining, let head = child("AuxLogits") { try auxiliary.append(head(x)) }
        }
        // [N, 2048, 8, 8] → [N, 2048] → [N, classes]
        x = try flatten(child("avgpool")!(x))
        return try (child("fc")!(child("dropout")!(x)), auxiliary)
    }

    public override func forward(_ input: Variable) throws -> Variable { try forwardWithAuxiliary(input).logits }
}

/// The Inception family's models: Inception v3 and Inception-ResNet-v2.
public enum InceptionFamily: ModelFamily {
    /// torchvision's Inception v3 weights: Resize(342), CenterCrop(299), ImageNet mean and std.
    static let inceptionV3Preprocessing = Preprocessing(resize: 342, crop: 299, mean: Preprocessing.imageNet.mean,
                                                        std: Preprocessing.imageNet.std)

    public static let entries = [
        ModelEntry("inception_v3", family: "Inception", input: [3, 299, 299], preprocessing: inceptionV3Preprocessing,
                   classifier: ["fc", "AuxLogits.fc"], explain: "Mixed_7c", optional: ["AuxLogits"], transformInput: true, rule: { input in
            input[1] >= 75 && input[2] >= 75 ? nil : "inception_v3 takes inputs of at least 75×75, not \(input[1])×\(input[2])"
        }) {
            try InceptionV3(classCount: $0.classCount, inputChannels: $0.input[0], auxiliaryHead: $0.auxiliaryHeads,
                            transformInput: $0.transformInput)
        },
        ModelEntry("inception_resnet_v2", family: "Inception", input: [3, 299, 299], preprocessing: .timm(crop: 299, cropFraction: 0.8975),
                   classifier: ["classif"], explain: "conv2d_7b", rule: { input in
            input[1] >= 75 && input[2] >= 75 ? nil : "inception_resnet_v2 takes inputs of at least 75×75, not \(input[1])×\(input[2])"
        }) { inceptionResNetV2(classCount: $0.classCount, inputChannels: $0.input[0]) },
    ]
}
