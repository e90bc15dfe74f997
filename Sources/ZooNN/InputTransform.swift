@_spi(Engine) @_spi(Kernels) import ZooTensor

/// torchvision's `transform_input` for the weights it ported from Google (GoogLeNet,
/// Inception v3): an input normalised with ImageNet's mean and std, [N, 3, H, W], becomes
/// (pixel − 0.5)/0.5 per channel, i.e. x · std_c/0.5 + (mean_c − 0.5)/0.5.
public func imageNetToHalfNormalisation(_ input: Variable) -> Variable {
    // In double precision, then rounded once, as PyTorch does with Python's float constants.
    let mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225]
    return channelAffine(input, scale: std.map { Float($0 / 0.5) }, shift: mean.map { Float(($0 - 0.5) / 0.5) })
}
