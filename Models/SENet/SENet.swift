// Squeeze-and-Excitation: J. Hu, L. Shen, G. Sun, "Squeeze-and-Excitation Networks",
// CVPR 2018. The block squeezes each channel to its global average, passes the vector
// through a bottleneck (reduction 16) of two 1×1 convs with a ReLU between, and rescales the
// channels by its sigmoid. SE-ResNets follow timm's `seresnet*`: torchvision-style ResNets
// (v1.5) with the SE block after the last batch norm of every residual body, and the hidden
// width rounded to a multiple of 8 (timm's make_divisible); the paper rounds differently.
import ResNet
import ZooNN
import ZooTensor

/// x · σ(fc2(relu(fc1(mean_hw(x))))). Keys: fc1, fc2 (1×1 convs with bias).
public final class SqueezeExcitation: Module {
    public init(channels: Int, hiddenChannels: Int) {
        super.init()
        register("fc1", Conv2d(channels, hiddenChannels, kernel: 1))
        register("fc2", Conv2d(hiddenChannels, channels, kernel: 1))
    }

    /// timm's sizing: hidden = channels/16 rounded to the nearest multiple of 8, at least 8.
    public convenience init(channels: Int, reduction: Int = 16, divisor: Int = 8) {
        let target = Double(channels) / Double(reduction)
        self.init(channels: channels, hiddenChannels: max(divisor, Int(target + Double(divisor) / 2) / divisor * divisor))
    }

    public override func forward(_ input: Variable) throws -> Variable {
        // [N, C, H, W] → [N, C, 1, 1] → [N, C/r, 1, 1] → [N, C, 1, 1], then scale x per channel
        let squeezed = adaptiveAvgPool2d(input, outputSize: (1, 1))
        let gate = try sigmoid(child("fc2")!(relu(child("fc1")!(squeezed))))
        return input * gate
    }
}

/// timm's seresnet`depth` (18, 34, 50, 101, 152).
public func seresnet(depth: Int, classCount: Int = 1000, inputChannels: Int = 3) -> Sequential {
    resnet(depth: depth, classCount: classCount, inputChannels: inputChannels,
           attention: { SqueezeExcitation(channels: $0) })
}

/// A CIFAR ResNet (He et al. 2016 §4.2) with an SE block of reduction 16 in every block,
/// as the SE paper's CIFAR experiments; hidden width channels/16, at least 1.
public func cifarSEResNet(depth: Int, classCount: Int = 10, inputChannels: Int = 3) -> Sequential {
    cifarResNet(depth: depth, kind: .residual, classCount: classCount, inputChannels: inputChannels,
                attention: { SqueezeExcitation(channels: $0, hiddenChannels: max(1, $0 / 16)) })
}
