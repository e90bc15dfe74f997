import ZooTensor

extension Preprocessing {
    /// The input a model sees for `image`, as torchvision's evaluation transforms: convert
    /// (gray or RGB), Resize(shorter side), CenterCrop, ToTensor (÷255), Normalize.
    /// Returns [C, H, W].
    public func tensor(for image: Image) -> Tensor {
        croppedImage(for: image).normalizedTensor(mean: mean, std: std)
    }

    /// The picture the model sees for `image`: converted, resized and cropped, not yet
    /// normalised (what Grad-CAM overlays are drawn on).
    public func croppedImage(for image: Image) -> Image {
        var current = grayscale ? image.luminance() : image
        if !grayscale && current.channels == 1 {
            current = Image(width: current.width, height: current.height, channels: 3, pixels: current.pixels.flatMap { [$0, $0, $0] })
        }
        let filter = ResizeFilter(rawValue: interpolation) ?? .bilinear
        if let size, size.count == 2, size != [current.height, current.width] {
            current = current.resized(width: size[1], height: size[0], filter: filter)
        }
        if let resize { current = current.resized(shorterSide: resize, filter: filter) }
        if let crop { current = current.centerCropped(width: crop, height: crop) }
        return current
    }
}

extension Image {
    /// [C, H, W] floats: (pixel / 255 − mean[c]) / std[c].
    public func normalizedTensor(mean: [Float], std: [Float]) -> Tensor {
        precondition(mean.count == channels && std.count == channels, "\(channels) channels, \(mean.count) means, \(std.count) stds")
        let plane = width * height
        return Tensor(uninitialized: [channels, height, width]) { out in
            for c in 0..<channels {
                for i in 0..<plane { out[c * plane + i] = (Float(pixels[i * channels + c]) / 255 - mean[c]) / std[c] }
            }
        }
    }
}
