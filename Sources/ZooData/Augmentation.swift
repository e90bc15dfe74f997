import Foundation
import ZooImage
import ZooTensor

/// Training-time augmentation of 8-bit images.
public struct Augmentation: Equatable {
    /// Random crop back to the original size after padding each side with this many zeros.
    public var cropPadding: Int
    public var horizontalFlip: Bool
    /// torchvision's RandomResizedCrop on the stored image: a box of 8–100% of its area and
    /// aspect ratio 3/4–4/3 at a random place, resized back to the image size (image folders).
    public var randomResizedCrop: Bool

    public init(cropPadding: Int = 0, horizontalFlip: Bool = false, randomResizedCrop: Bool = false) {
        (self.cropPadding, self.horizontalFlip, self.randomResizedCrop) = (cropPadding, horizontalFlip, randomResizedCrop)
    }

    public static let none = Augmentation()

    /// The padding of a random crop for images of side `side`: 2 on 28×28 and smaller, 4 on
    /// larger (CIFAR's).
    public static func cropPadding(forSide side: Int) -> Int { side <= 28 ? 2 : 4 }

    /// The usual augmentation of a data set's images of side `side`: a random crop and a flip,
    /// or for an image folder (photos of any size) a random resized crop and a flip.
    public static func standard(side: Int, imageFolder: Bool) -> Augmentation {
        imageFolder ? Augmentation(horizontalFlip: true, randomResizedCrop: true)
            : Augmentation(cropPadding: cropPadding(forSide: side), horizontalFlip: true)
    }

    /// Parses an augmentation: `crop` (random crop, padding as `cropPadding(forSide:)`), `flip`,
    /// `resized-crop` (torchvision's RandomResizedCrop) combined with `+`, or `none`.
    /// - Throws: `ZooError` naming `augmentation` for any other word.
    public init(parsing text: String, side: Int) throws {
        let parts = Set(text.split(separator: "+").map(String.init))
        guard !parts.isEmpty, parts.isSubset(of: ["crop", "flip", "resized-crop", "none"]) else {
            throw ZooError(template: "{augmentation} must combine crop, flip and resized-crop with +, or be none; not '\(ZooError.literal(text))'")
        }
        self.init(cropPadding: parts.contains("crop") ? Self.cropPadding(forSide: side) : 0, horizontalFlip: parts.contains("flip"),
                  randomResizedCrop: parts.contains("resized-crop"))
    }
}

extension Augmentation {
    /// A random box of the [C, H, W] planes, resized back to H×W with Pillow's bilinear filter.
    static func randomResizedCrop(_ planes: UnsafeBufferPointer<UInt8>, channels c: Int, height h: Int, width w: Int,
                                  using rng: inout Xoshiro256) -> [UInt8] {
        var box = (x: 0, y: 0, width: w, height: h)
        for _ in 0..<10 {
            let area = Double(w * h) * (0.08 + 0.92 * Double(rng.nextUniform()))
            let ratio = exp(log(3.0 / 4) + (log(4.0 / 3) - log(3.0 / 4)) * Double(rng.nextUniform()))
            let (bw, bh) = (Int((area * ratio).squareRoot().rounded()), Int((area / ratio).squareRoot().rounded()))
            if bw >= 1 && bh >= 1 && bw <= w && bh <= h {
                box = (Int(rng.next() % UInt64(w - bw + 1)), Int(rng.next() % UInt64(h - bh + 1)), bw, bh)
                break
            }
        }
        // Each channel plane is cropped and resized on its own (any channel count).
        var out = [UInt8](repeating: 0, count: c * h * w)
        for channel in 0..<c {
            var crop = [UInt8](repeating: 0, count: box.width * box.height)
            for y in 0..<box.height {
                for x in 0..<box.width { crop[y * box.width + x] = planes[(channel * h + box.y + y) * w + box.x + x] }
            }
            let resized = Image(width: box.width, height: box.height, channels: 1, pixels: crop).resized(width: w, height: h)
            out.replaceSubrange(channel * h * w ..< (channel + 1) * h * w, with: resized.pixels)
        }
        return out
    }
}
