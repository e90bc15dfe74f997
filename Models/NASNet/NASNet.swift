// NASNet-A: B. Zoph, V. Vasudevan, J. Shlens, Q. V. Le, "Learning Transferable Architectures
// for Scalable Image Recognition", CVPR 2018. Two cells found by architecture search on
// CIFAR-10 — a normal cell that keeps the size and a reduction cell that halves it — stacked
// for ImageNet: a 3×3/2 conv stem, two reduction cells as a second stem, then three stages of
// N normal cells separated by reduction cells, global pooling and a linear classifier. Every
// cell takes the outputs of the two cells before it; when the earlier one is twice as large,
// a factorised reduction (two 1×1 convs on the input and on its one-pixel shift, every other
// pixel, concatenated) brings it down. Branches are ReLU – separable conv – batch norm twice.
//
// Two references, one schema of keys: NASNet-A Mobile (4 @ 1056) as the `pretrainedmodels`
// package defines it, NASNet-A Large (6 @ 4032) as timm does. They pad the strided layers
// differently (see `NASNetPadding`).
import ZooNN
import ZooTensor

/// How a NASNet pads its strided convolutions and pools.
public enum NASNetPadding {
    /// `pretrainedmodels`' hard-coded layers: the second stem cell and the reduction cells pad a
    /// zero row and column on the top and left, run the layer with PyTorch's symmetric padding
    /// and crop the first row and column of the result. That is TensorFlow's "SAME" for even
    /// sizes (as at 224), and a half-pixel shift elsewhere.
    case shiftedSymmetric
    /// timm's dynamic "SAME" padding at every stride-2 layer, computed from the input's size;
    /// average pools count the padded zeros, max-pools never take them.
    case tensorFlowSame
}

/// A NASNet's layers of one padding scheme; `shifted` marks the cells whose strided layers
/// `pretrainedmodels` pads with its top-left shift.
struct NASNetLayers {
    let padding: NASNetPadding
    let shifted: Bool

    private static let topLeft = Margins(top: 1, left: 1), cropTopLeft = Margins(top: -1, left: -1)

    /// In a shifted cell, `layers` (padded symmetrically) between a top-left zero row and
    /// column and a crop of the first output row and column; elsewhere `layers` alone.
    private func shift(_ layers: [(String, Module)]) -> [(String, Module)] {
        shifted ? [("pad", Pad2d(.fixed(Self.topLeft)))] + layers + [("crop", Pad2d(.fixed(Self.cropTopLeft)))] : layers
    }

    /// A depthwise k×k conv then a pointwise 1×1 conv, no biases. Keys: depthwise_conv2d, pointwise_conv2d.
    func separable(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int) -> Module {
        let pointwise = Conv2d(inChannels, outChannels, kernel: 1, bias: false)
        if stride > 1, padding == .tensorFlowSame {
            return Sequential(named: [
                ("pad", Pad2d(.same(kernel: kernel, stride: stride))),
                ("depthwise_conv2d", Conv2d(inChannels, inChannels, kernel: kernel, stride: stride, groups: inChannels, bias: false)),
                ("pointwise_conv2d", pointwise),
            ])
        }
        let depthwise = Conv2d(inChannels, inChannels, kernel: kernel, stride: stride, padding: kernel / 2, groups: inChannels, bias: false)
        return Sequential(named: shift([("depthwise_conv2d", depthwise), ("pointwise_conv2d", pointwise)]))
    }

    /// ReLU – separable – batch norm – ReLU – separable – batch norm; the first separable conv
    /// strides and (in the first stem cell) already widens to `outChannels`.
    /// Keys: separable_1, bn_sep_1, separable_2, bn_sep_2.
    func branch(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, widensFirst: Bool = false) -> Module {
        let middle = widensFirst ? outChannels : inChannels
        return Sequential(named: [
            ("act_1", ReLU()),
            ("separable_1", separable(inChannels, middle, kernel: kernel, stride: stride)),
            ("bn_sep_1", BatchNorm(middle, eps: 1e-3, appliesReLU: true)),
            ("separable_2", separable(middle, outChannels, kernel: kernel, stride: 1)),
            ("bn_sep_2", BatchNorm(outChannels, eps: 1e-3)),
        ])
    }

    /// A 3×3 pool with stride 1 (padding 1, not counted) or 2 (the scheme's padding).
    func pool(max: Bool, stride: Int) -> Module {
        if stride == 1 { return max ? MaxPool2d(3, stride: 1, padding: 1) : AvgPool2d(3, stride: 1, padding: 1, countIncludePad: false) }
        switch padding {
        case .tensorFlowSame:
            return Sequential(named: [
                ("pad", Pad2d(.same(kernel: 3, stride: stride), value: max ? -.infinity : 0)),
                ("pool", max ? MaxPool2d(3, stride: stride) : AvgPool2d(3, stride: stride)),
            ])
        case .shiftedSymmetric:
            let pool = max ? MaxPool2d(3, stride: stride, padding: 1) : AvgPool2d(3, stride: stride, padding: 1, countIncludePad: false)
            return shifted ? Sequential(named: shift([("pool", pool)])) : pool
        }
    }
}

/// ReLU – 1×1 conv – batch norm. Keys: conv, bn.
func reluConvBN(_ inChannels: Int, _ outChannels: Int) -> Module {
    Sequential(named: [
        ("act", ReLU()), ("conv", Conv2d(inChannels, outChannels, kernel: 1, bias: false)), ("bn", BatchNorm(outChannels, eps: 1e-3)),
    ])
}

/// The factorised reduction of an input twice the size: 1×1 convs (each to half of
/// `outChannels`) on every other pixel of the input and of its one-pixel shift, concatenated
/// and batch-normalised. Keys: path_1.conv, path_2.conv, final_path_bn.
func factorisedReduction(_ inChannels: Int, _ outChannels: Int) -> [(String, Module)] {
    [
        ("path_1", Sequential(named: [
            ("avgpool", AvgPool2d(1, stride: 2)), ("conv", Conv2d(inChannels, outChannels / 2, kernel: 1, bias: false)),
        ])),
        ("path_2", Sequential(named: [
            ("pad", Pad2d(.fixed(Margins(top: -1, left: -1, bottom: 1, right: 1)))), ("avgpool", AvgPool2d(1, stride: 2)),
            ("conv", Conv2d(inChannels, outChannels / 2, kernel: 1, bias: false)),
        ])),
        ("final_path_bn", BatchNorm(outChannels, eps: 1e-3)),
    ]
}

/// What a cell does with the output of the cell before the previous one.
enum EarlierInput {
    /// A stem cell's own input: there is no earlier one.
    case none
    /// A factorised reduction to the given channels, for an earlier input twice the size
    /// (registered after conv_1x1).
    case factorised(Int, Int)
    /// ReLU – 1×1 conv – batch norm (conv_prev_1x1, registered first).
    case projected(Int, Int)
}

/// A NASNet cell: its previous cell's output through `conv_1x1`, the earlier one through its
/// adapter, and five pairwise sums of branches (`comb_iter_{i}_{left,right}`).
public class NASNetCell: Module {
    init(earlier: EarlierInput, previous: (Int, Int), combinations: [(String, Module)]) {
        super.init()
        if case .projected(let inChannels, let outChannels) = earlier { register("conv_prev_1x1", reluConvBN(inChannels, outChannels)) }
        register("conv_1x1", reluConvBN(previous.0, previous.1))
        if case .factorised(let inChannels, let outChannels) = earlier {
            for (name, module) in factorisedReduction(inChannels, outChannels) { register(name, module) }
        }
        for (name, module) in combinations { register(name, module) }
    }

    /// The two inputs after their adapters: the previous cell's, and the earlier cell's (the
    /// raw input of the first stem cell, which has no earlier one).
    /// - Throws: `ShapeError` when they do not come to one size.
    func adapted(_ x: Variable, earlier: Variable?) throws -> (previous: Variable, earlier: Variable) {
        let previous = try child("conv_1x1")!(x)
        let other: Variable
        if let prevProjection = child("conv_prev_1x1") {
            other = try prevProjection(earlier!)
        } else if let bn = child("final_path_bn") {
            let relued = relu(earlier!)
            other = try bn(concat([child("path_1")!(relued), child("path_2")!(relued)]))
        } else {
            other = x
        }
        if previous.shape[2...] != other.shape[2...] {
            throw shapeProblem(x.shape, "its two inputs come to \(previous.shape[2])×\(previous.shape[3]) and "
                + "\(other.shape[2])×\(other.shape[3]); this padding lines them up only at some input sizes")
        }
        return (previous, other)
    }

    func callAsFunction(_ x: Variable, earlier: Variable?) throws -> Variable { preconditionFailure("a cell type defines its wiring") }

    func comb(_ index: Int, _ side: String, _ input: Variable) throws -> Variable { try child("comb_iter_\(index)_\(side)")!(input) }
}

/// The normal cell (FirstCell when its earlier input is factorised): output channels
/// earlier + 5 × previous, at the size of its input.
final class NASNetNormalCell: NASNetCell {
    init(earlier: EarlierInput, previous: (Int, Int), layers: NASNetLayers) {
        let width = previous.1
        let left: Int
        switch earlier {
        case .projected(_, let out): left = out
        case .factorised(_, let out): left = out
        case .none: preconditionFailure("a normal cell has an earlier input")
        }
        super.init(earlier: earlier, previous: previous, combinations: [
            ("comb_iter_0_left", layers.branch(width, width, kernel: 5)), ("comb_iter_0_right", layers.branch(left, left, kernel: 3)),
            ("comb_iter_1_left", layers.branch(left, left, kernel: 5)), ("comb_iter_1_right", layers.branch(left, left, kernel: 3)),
            ("comb_iter_2_left", layers.pool(max: false, stride: 1)),
            ("comb_iter_3_left", layers.pool(max: false, stride: 1)), ("comb_iter_3_right", layers.pool(max: false, stride: 1)),
            ("comb_iter_4_left", layers.branch(width, width, kernel: 3)),
        ])
    }

    override func callAsFunction(_ x: Variable, earlier: Variable?) throws -> Variable {
        let (right, left) = try adapted(x, earlier: earlier)
        return try concat([
            left,
            add(comb(0, "left", right), comb(0, "right", left)),
            add(comb(1, "left", left), comb(1, "right", left)),
            add(comb(2, "left", right), left),
            add(comb(3, "left", left), comb(3, "right", left)),
            add(comb(4, "left", right), right),
        ])
    }
}

/// The reduction cell (and the two stem cells): output channels 4 × `previous.1`, at half the size.
final class NASNetReductionCell: NASNetCell {
    /// `stemInput`: the first stem cell's input channels, whose right-hand branches widen from them.
    init(earlier: EarlierInput, previous: (Int, Int), layers: NASNetLayers, stemInput: Int? = nil) {
        let width = previous.1
        let (rightIn, widens) = stemInput.map { ($0, true) } ?? (width, false)
        super.init(earlier: earlier, previous: previous, combinations: [
            ("comb_iter_0_left", layers.branch(width, width, kernel: 5, stride: 2)),
            ("comb_iter_0_right", layers.branch(rightIn, width, kernel: 7, stride: 2, widensFirst: widens)),
            ("comb_iter_1_left", layers.pool(max: true, stride: 2)),
            ("comb_iter_1_right", layers.branch(rightIn, width, kernel: 7, stride: 2, widensFirst: widens)),
            ("comb_iter_2_left", layers.pool(max: false, stride: 2)),
            ("comb_iter_2_right", layers.branch(rightIn, width, kernel: 5, stride: 2, widensFirst: widens)),
            ("comb_iter_3_right", layers.pool(max: false, stride: 1)),
            ("comb_iter_4_left", layers.branch(width, width, kernel: 3)),
            ("comb_iter_4_right", layers.pool(max: true, stride: 2)),
        ])
    }

    override func callAsFunction(_ x: Variable, earlier: Variable?) throws -> Variable {
        let (main, other) = try adapted(x, earlier: earlier)
        let sum0 = try add(comb(0, "left", main), comb(0, "right", other))
        let sum1 = try add(comb(1, "left", main), comb(1, "right", other))
        return try concat([
            sum1,
            add(comb(2, "left", main), comb(2, "right", other)),
            add(comb(3, "right", sum0), sum1),
            add(comb(4, "left", sum0), comb(4, "right", main)),
        ])
    }
}

/// A NASNet-A: `conv0`, `cell_stem_0`, `cell_stem_1`, three stages of `cellsPerStage` cells
/// (`cell_{6s + i}`, the numbering of the references) with `reduction_cell_0` and
/// `reduction_cell_1` between them, then ReLU, global average pooling, dropout and `last_linear`.
public final class NASNet: Module {
    /// The cells in order, each fed its previous and earlier outputs; `keepsEarlier` marks the
    /// reduction cells after which the earlier input stays the reduction's own earlier input.
    private(set) var cells: [(name: String, keepsEarlier: Bool)] = []

    /// `skipsReductionInput` is TensorFlow's hyperparameter of that name (on for Large, off for
    /// Mobile): the cell after a reduction cell takes, as its earlier input, the reduction
    /// cell's earlier input rather than the reduction cell's previous one.
    public init(stemChannels: Int, penultimateChannels: Int, cellsPerStage: Int, padding: NASNetPadding,
                skipsReductionInput: Bool, dropout: Float, classCount: Int, inputChannels: Int) {
        let filters = penultimateChannels / 24
        let plain = NASNetLayers(padding: padding, shifted: false)
        let shifted = NASNetLayers(padding: padding, shifted: padding == .shiftedSymmetric)
        super.init()
        register("conv0", Sequential(named: [
            ("conv", Conv2d(inputChannels, stemChannels, kernel: 3, stride: 2, bias: false)), ("bn", BatchNorm(stemChannels, eps: 1e-3)),
        ]))
        // Output channels of the cell before the previous one, and of the previous one.
        var (earlier, previous) = (stemChannels, filters)
        func append(_ name: String, _ cell: NASNetCell, out: Int, keepsEarlier: Bool = false) {
            register(name, cell)
            cells.append((name, keepsEarlier))
            if keepsEarlier { previous = out } else { (earlier, previous) = (previous, out) }
        }
        register("cell_stem_0", NASNetReductionCell(earlier: .none, previous: (stemChannels, filters / 4), layers: plain, stemInput: stemChannels))
        cells.append(("cell_stem_0", false))
        append("cell_stem_1", NASNetReductionCell(earlier: .factorised(stemChannels, filters / 2), previous: (filters, filters / 2), layers: shifted),
            out: 2 * filters)
        for stage in 0..<3 {
            let width = filters << stage
            append("cell_\(6 * stage)", NASNetNormalCell(earlier: .factorised(earlier, width), previous: (previous, width), layers: plain),
                out: 6 * width)
            for index in 1..<cellsPerStage {
                append("cell_\(6 * stage + index)", NASNetNormalCell(earlier: .projected(earlier, width), previous: (previous, width), layers: plain),
                    out: 6 * width)
            }
            if stage < 2 {
                append("reduction_cell_\(stage)", NASNetReductionCell(earlier: .projected(earlier, 2 * width), previous: (previous, 2 * width),
                                                                   layers: shifted), out: 8 * width, keepsEarlier: skipsReductionInput)
            }
        }
        register("act", ReLU())
        register("global_pool", AdaptiveAvgPool2d((1, 1)))
        register("flatten", Flatten())
        register("dropout", Dropout(dropout))
        register("last_linear", Linear(previous, classCount))
    }

    public override func forward(_ input: Variable) throws -> Variable {
        let stem = try child("conv0")!(input)
        var (earlier, previous): (Variable?, Variable) = (nil, stem)
        for (name, keepsEarlier) in cells {
            let output = try (child(name) as! NASNetCell)(previous, earlier: earlier)
            if keepsEarlier { previous = output } else { (earlier, previous) = (previous, output) }
        }
        return try ["act", "global_pool", "flatten", "dropout", "last_linear"].reduce(previous) { try child($1)!($0) }
    }
}

extension NASNetPadding {
    /// Whether an input side of `size` pixels reaches the classifier: with the shifted padding
    /// a reduction cell floors odd sizes while the factorised reduction of the cell after it
    /// rounds them up, so the feature maps after the stem cells must stay even (224 does).
    public func accepts(_ size: Int) -> Bool {
        guard size >= 32 else { return false }
        guard self == .shiftedSymmetric else { return true }
        var side = ((size - 3) / 2 + 1 + 1) / 2        // conv0, then the first stem cell
        for _ in 0..<3 {
            if side % 2 != 0 { return false }
            side /= 2
        }
        return true
    }
}

/// NASNet-A Mobile (4 @ 1056) with the keys of `pretrainedmodels`' `nasnetamobile`: 3×224×224.
public func nasnetAMobile(classCount: Int = 1000, inputChannels: Int = 3) -> NASNet {
    NASNet(stemChannels: 32, penultimateChannels: 1056, cellsPerStage: 4, padding: .shiftedSymmetric, skipsReductionInput: false, dropout: 0.5,
           classCount: classCount, inputChannels: inputChannels)
}

/// NASNet-A Large (6 @ 4032) with the keys of timm's `nasnetalarge`: 3×331×331.
public func nasnetALarge(classCount: Int = 1000, inputChannels: Int = 3) -> NASNet {
    NASNet(stemChannels: 96, penultimateChannels: 4032, cellsPerStage: 6, padding: .tensorFlowSame, skipsReductionInput: true, dropout: 0,
           classCount: classCount, inputChannels: inputChannels)
}

/// The NASNet family's models: NASNet-A Mobile (pretrainedmodels' padding) and Large (timm's).
public enum NASNetFamily: ModelFamily {
    /// pretrainedmodels' TransformImage: Resize(⌊224 / 0.875⌋ = 256, bilinear), CenterCrop(224), mean = std = 0.5.
    static let pretrainedModelsHalf = Preprocessing(resize: 256, crop: 224, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])

    public static let entries = [
        ModelEntry("nasnetamobile", family: "NASNet", input: ModelEntry.imageNetInput, preprocessing: pretrainedModelsHalf,
                   classifier: ["last_linear"], explain: "act", rule: { input in
            NASNetPadding.shiftedSymmetric.accepts(input[1]) && NASNetPadding.shiftedSymmetric.accepts(input[2]) ? nil
                : "nasnetamobile, padded as pretrainedmodels pads it, takes sides of at least 32 whose feature maps stay even "
                + "through its reductions (such as 32, 64, 96, 128, 160, 192, 224, 256), not \(input[1])×\(input[2])"
        }) { nasnetAMobile(classCount: $0.classCount, inputChannels: $0.input[0]) },
        ModelEntry("nasnetalarge", family: "NASNet", input: [3, 331, 331], preprocessing: .timm(crop: 331, cropFraction: 0.911),
                   classifier: ["last_linear"], explain: "act", rule: { input in
            NASNetPadding.tensorFlowSame.accepts(input[1]) && NASNetPadding.tensorFlowSame.accepts(input[2]) ? nil
                : "nasnetalarge takes inputs of at least 32×32, not \(input[1])×\(input[2])"
        }) { nasnetALarge(classCount: $0.classCount, inputChannels: $0.input[0]) },
    ]
}
