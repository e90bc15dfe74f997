import ZooTensor

/// conv (no bias) – batch norm (eps 1e-3) – ReLU: the unit the Inception networks are built
/// of (torchvision's and timm's `BasicConv2d`). Keys: `conv`, `bn`.
public final class BasicConv2d: Module {
    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) {
        super.init()
        register("conv", Conv2d(inChannels, outChannels, kernel: kernel, stride: stride, padding: padding, bias: false))
        register("bn", BatchNorm(outChannels, eps: 1e-3, appliesReLU: true))
    }

    public convenience init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.init(inChannels, outChannels, kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding))
    }

    public override func forward(_ input: Variable) throws -> Variable {
        if InferenceFusion.applies(to: self) { return try InferenceFusion.run(children.map(\.module), input) }
        return try child("bn")!(child("conv")!(input))
    }
}
