import ZooTensor

// Squeeze-and-Excitation: J. Hu, L. Shen, G. Sun, "Squeeze-and-Excitation Networks",
// CVPR 2018. The block squeezes each channel to its global average, passes the vector
// through a bottleneck of two 1×1 convs with a ReLU between, and rescales the channels by its
// sigmoid. A layer of the core: ResNets take it as their blocks' attention (SE-ResNets), and
// the mobile networks of the same line (MnasNet, EfficientNet, MobileNet v3) use it too.

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
