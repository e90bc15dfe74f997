// SE-ResNets: J. Hu, L. Shen, G. Sun, "Squeeze-and-Excitation Networks", CVPR 2018.
// timm's `seresnet*` are torchvision-style ResNets (v1.5) with the SE block after the last
// batch norm of every residual body, and the hidden width rounded to a multiple of 8 (timm's
// make_divisible); the paper rounds differently.
import ZooNN

/// timm's seresnet`depth` (18, 34, 50, 101, 152).
public func seresnet(depth: Int, classCount: Int = 1000, inputChannels: Int = 3) throws -> Sequential {
    try resnet(depth: depth, classCount: classCount, inputChannels: inputChannels,
           attention: { SqueezeExcitation(channels: $0) })
}

/// A CIFAR ResNet (He et al. 2016 §4.2) with an SE block of reduction 16 in every block,
/// as the SE paper's CIFAR experiments; hidden width channels/16, at least 1.
public func cifarSEResNet(depth: Int, classCount: Int = 10, inputChannels: Int = 3) throws -> Sequential {
    try cifarResNet(depth: depth, kind: .residual, classCount: classCount, inputChannels: inputChannels,
                attention: { SqueezeExcitation(channels: $0, hiddenChannels: max(1, $0 / 16)) })
}
