@_spi(Engine) import ZooTensor

/// The option A shortcut of He et al. 2016 (§4.2, the CIFAR networks): x[:, :, ::s, ::s] with the
/// extra channels zero. No parameters; an inference plan sees it as a fixed 1×1 convolution.
public final class ZeroPadShortcut: Module {
    public let extraChannels: Int, stride: Int

    public init(extraChannels: Int, stride: Int) {
        (self.extraChannels, self.stride) = (extraChannels, stride)
    }

    public override func forward(_ input: Variable) throws -> Variable {
        // [N, C, H, W] → [N, C, H/s, W/s] → [N, C + extra, H/s, W/s]
        let output = PlanTrace.paused {
            let subsampled = stride == 1 ? input : avgPool2d(input, kernel: (1, 1), stride: (stride, stride))
            var shape = subsampled.shape
            shape[1] = extraChannels
            return concat([subsampled, Variable(Tensor(zeros: shape))])
        }
        // For an inference plan: the same map as a 1×1 convolution of stride s whose weights
        // pass channel c to output c and give the extra channels zero.
        return PlanTrace.note(.conv2d(weight: selection(channels: input.shape[1]), bias: nil, stride: (stride, stride),
                                      padding: (0, 0), dilation: (1, 1), groups: 1), [input], output)
    }

    private func selection(channels: Int) -> Tensor {
        var weight = Tensor(zeros: [channels + extraChannels, channels, 1, 1])
        for c in 0..<channels { weight.scalars[c * channels + c] = 1 }
        return weight
    }
}
