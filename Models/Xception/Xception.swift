// Xception: F. Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR
// 2017 — as timm's `legacy_xception` defines it (the port of Keras' weights): an entry flow of
// two 3×3 convs and three strided blocks, a middle flow of eight blocks of three separable
// convs at 728 channels, an exit flow block and two separable convs to 2048, global pooling and
// a linear classifier. Every block adds a shortcut (a strided 1×1 conv and batch norm where the
// shape changes). Unpadded stem convs, so a 299×299 input leaves 147×147 after the stem.
import ZooNN
import ZooTensor

/// A 3×3 depthwise conv then a 1×1 pointwise conv, no biases. Keys: conv1, pointwise.
public func separableConv(_ inChannels: Int, _ outChannels: Int) -> Sequential {
    Sequential(named: [
        ("conv1", Conv2d(inChannels, inChannels, kernel: 3, padding: 1, groups: inChannels, bias: false)),
        ("pointwise", Conv2d(inChannels, outChannels, kernel: 1, bias: false)),
    ])
}

/// rep(x) + shortcut(x): `reps` × (ReLU – separable conv – batch norm), the first ReLU left
/// out when `startsWithReLU` is false, the widening conv first (`growFirst`) or last, a 3×3
/// max-pool when strided; the shortcut a strided 1×1 conv and batch norm where the shape changes.
/// Keys: skip, skipbn, rep.{i} (positional, ReLUs and the pool counted, as in timm).
public final class XceptionBlock: Module {
    public init(_ inChannels: Int, _ outChannels: Int, reps: Int, stride: Int, startsWithReLU: Bool = true, growFirst: Bool = true) {
        super.init()
        if outChannels != inChannels || stride != 1 {
            register("skip", Conv2d(inChannels, outChannels, kernel: 1, stride: stride, bias: false))
            register("skipbn", BatchNorm(outChannels))
        }
        var rep: [Module] = []
        var channels = inChannels
        for index in 0..<reps {
            let widens = growFirst ? index == 0 : index == reps - 1
            let out = widens ? outChannels : channels
            rep += [ReLU(), separableConv(channels, out), BatchNorm(out)]
            channels = out
        }
        if !startsWithReLU { rep.removeFirst() }
        if stride != 1 { rep.append(MaxPool2d(3, stride: stride, padding: 1)) }
        register("rep", Sequential(rep))
    }

    public override func forward(_ input: Variable) throws -> Variable {
        let shortcut = try child("skip").map { try child("skipbn")!($0(input)) } ?? input
        return try add(child("rep")!(input), shortcut)
    }
}

/// timm's `legacy_xception`. Keys: conv1, bn1, conv2, bn2, block1…block12, conv3, bn3, conv4, bn4, fc.
public func xception(classCount: Int = 1000, inputChannels: Int = 3) -> Sequential {
    var layers: [(String, Module)] = [
        ("conv1", Conv2d(inputChannels, 32, kernel: 3, stride: 2, bias: false)), ("bn1", BatchNorm(32, appliesReLU: true)),
        ("conv2", Conv2d(32, 64, kernel: 3, bias: false)), ("bn2", BatchNorm(64, appliesReLU: true)),
        ("block1", XceptionBlock(64, 128, reps: 2, stride: 2, startsWithReLU: false)),
        ("block2", XceptionBlock(128, 256, reps: 2, stride: 2)),
        ("block3", XceptionBlock(256, 728, reps: 2, stride: 2)),
    ]
    for index in 4...11 { layers.append(("block\(index)", XceptionBlock(728, 728, reps: 3, stride: 1))) }
    layers += [
        ("block12", XceptionBlock(728, 1024, reps: 2, stride: 2, growFirst: false)),
        ("conv3", separableConv(1024, 1536)), ("bn3", BatchNorm(1536, appliesReLU: true)),
        ("conv4", separableConv(1536, 2048)), ("bn4", BatchNorm(2048, appliesReLU: true)),
        ("global_pool", AdaptiveAvgPool2d((1, 1))), ("flatten", Flatten()),
        ("fc", Linear(2048, classCount)),
    ]
    let model = Sequential(named: layers)
    // timm: convs Kaiming normal (fan_out, ReLU gain), batch norm 1 and 0, the classifier as PyTorch's default.
    for case let conv as Conv2d in model.namedModules().map(\.module) {
        conv.weight.value = Init.kaimingNormal(conv.weight.shape, mode: .fanOut, using: &GlobalRandom.generator)
    }
    return model
}

/// The Xception family's model.
public enum XceptionFamily: ModelFamily {
    public static let entries = [
        ModelEntry("xception", family: "Xception", input: [3, 299, 299], preprocessing: .timm(crop: 299, cropFraction: 0.8975),
                   explain: "bn4", rule: { input in
            input[1] >= 71 && input[2] >= 71 ? nil : "xception takes inputs of at least 71×71, not \(input[1])×\(input[2])"
        }) { xception(classCount: $0.classCount, inputChannels: $0.input[0]) },
    ]
}
