import CCodecs
import Foundation
import ZooTensor

/// An 8-bit image, rows top to bottom, channels interleaved: 1 (gray) or 3 (RGB).
public struct Image: Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "an image has 1 or 3 channels, not \(channels)")
        precondition(pixels.count == width * height * channels, "\(width)×\(height)×\(channels) image with \(pixels.count) bytes")
        (self.width, self.height, self.channels, self.pixels) = (width, height, channels, pixels)
    }
}

/// A decoded file in its own pixel layout, before conversion to RGB or gray.
public struct DecodedImage {
    public enum Layout: Equatable {
        case gray, grayAlpha, rgb, rgba, cmyk
        /// 16-bit gray, which Pillow opens as 32-bit integers ("I") and clips to 255 when converting.
        case gray16
    }

    public var width: Int
    public var height: Int
    public var layout: Layout
    public var pixels: [UInt8]
    public var pixels16: [UInt16]
    /// The EXIF orientation (1–8) of a JPEG, already applied to the pixels; 1 when absent.
    public var orientation: Int

    /// The decoder is chosen by the file's first bytes, not its name.
    public static func decode(_ data: Data, name: String, maximumPixels: Int = Image.defaultMaximumPixels) throws -> DecodedImage {
        guard !data.isEmpty else { throw ZooError("'\(name)' is empty") }
        let isPNG = data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let isJPEG = data.starts(with: [0xFF, 0xD8, 0xFF])
        guard isPNG || isJPEG else { throw ZooError("'\(name)' is not a PNG or JPEG image") }
        var image = zoo_image()
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            isPNG
                ? zoo_png_decode(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, Int64(maximumPixels), &image, &message, message.count)
                : zoo_jpeg_decode(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, Int64(maximumPixels), &image, &message, message.count)
        }
        defer { zoo_image_free(&image) }
        guard status == 0 else {
            let reason = String(cString: message)
            if reason.contains("more than the limit") {
                throw ZooError(template: "\(ZooError.literal("'\(name)' is too large: \(reason)")) (raise it with {maximumPixels})")
            }
            throw ZooError("'\(name)' is not a readable \(isPNG ? "PNG" : "JPEG") image: \(reason)")
        }
        let count = Int(image.width) * Int(image.height)
        var decoded = DecodedImage(width: Int(image.width), height: Int(image.height), layout: .gray, pixels: [], pixels16: [], orientation: 1)
        if image.pixels16 != nil {
            decoded.layout = .gray16
            decoded.pixels16 = Array(UnsafeBufferPointer(start: image.pixels16, count: count))
        } else {
            let channels = Int(image.channels)
            decoded.layout = image.cmyk != 0 ? .cmyk : [1: .gray, 2: .grayAlpha, 3: .rgb, 4: .rgba][channels] ?? .rgb
            decoded.pixels = Array(UnsafeBufferPointer(start: image.pixels, count: count * channels))
            if image.cmyk != 0 {
                // Photoshop stores CMYK inverted (Adobe marker); Pillow reads every 4-channel
                // JPEG as "CMYK;I", inverted, and so does ConvZoo.
                for i in 0..<decoded.pixels.count { decoded.pixels[i] = 255 - decoded.pixels[i] }
            }
        }
        if image.orientation > 1 { decoded.applyOrientation(Int(image.orientation)) }
        return decoded
    }

    var channels: Int {
        switch layout {
        case .gray, .gray16: return 1
        case .grayAlpha: return 2
        case .rgb: return 3
        case .rgba, .cmyk: return 4
        }
    }

    /// RGB as Pillow's `convert("RGB")`: gray replicated, alpha dropped (not composited),
    /// 16-bit gray clipped to 255, CMYK by R ≈ (255 − C)(255 − K)/255 (likewise G, B).
    public func rgb() -> Image {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let n = width * height
        switch layout {
        case .gray: for i in 0..<n { out[3 * i] = pixels[i]; out[3 * i + 1] = pixels[i]; out[3 * i + 2] = pixels[i] }
        case .gray16: for i in 0..<n { let v = UInt8(min(pixels16[i], 255)); out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v }
        case .grayAlpha: for i in 0..<n { let v = pixels[2 * i]; out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v }
        case .rgb: out = pixels
        case .rgba: for i in 0..<n { for c in 0..<3 { out[3 * i + c] = pixels[4 * i + c] } }
        case .cmyk:
            // Pillow 9: with nk = 255 − K and t = C·nk + 128, R = nk − ((t >> 8) + t) >> 8,
            // which is round((255 − C)(255 − K) / 255); likewise G from M and B from Y.
            for i in 0..<n {
                let inverseK = 255 - Int(pixels[4 * i + 3])
                for c in 0..<3 {
                    let t = Int(pixels[4 * i + c]) * inverseK + 128
                    out[3 * i + c] = UInt8(inverseK - (((t >> 8) + t) >> 8))
                }
            }
        }
        return Image(width: width, height: height, channels: 3, pixels: out)
    }

    /// Gray as Pillow's `convert("L")`: L = (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16 for color.
    public func gray() -> Image {
        let n = width * height
        switch layout {
        case .gray: return Image(width: width, height: height, channels: 1, pixels: pixels)
        case .gray16: return Image(width: width, height: height, channels: 1, pixels: pixels16.map { UInt8(min($0, 255)) })
        case .grayAlpha: return Image(width: width, height: height, channels: 1, pixels: (0..<n).map { pixels[2 * $0] })
        default: return rgb().luminance()
        }
    }

    /// Rotates/flips the pixels so that EXIF orientation `tag` becomes 1 (Pillow's exif_transpose).
    mutating func applyOrientation(_ tag: Int) {
        let c = channels
        let (w, h) = (width, height)
        let transposed = tag >= 5
        let (outW, outH) = transposed ? (h, w) : (w, h)
        var out = [UInt8](repeating: 0, count: pixels.count)
        for y in 0..<outH {
            for x in 0..<outW {
                // The source pixel shown at (x, y) after the transform.
                let (sx, sy): (Int, Int)
                switch tag {
                case 2: (sx, sy) = (w - 1 - x, y)
                case 3: (sx, sy) = (w - 1 - x, h - 1 - y)
                case 4: (sx, sy) = (x, h - 1 - y)
                case 5: (sx, sy) = (y, x)
                case 6: (sx, sy) = (y, h - 1 - x)
                case 7: (sx, sy) = (w - 1 - y, h - 1 - x)
                case 8: (sx, sy) = (w - 1 - y, x)
                default: (sx, sy) = (x, y)
                }
                for k in 0..<c { out[(y * outW + x) * c + k] = pixels[(sy * w + sx) * c + k] }
            }
        }
        pixels = out
        (width, height) = (outW, outH)
        orientation = tag
    }
}

extension Image {
    /// Decoding refuses images above this many pixels unless told otherwise (Pillow's own
    /// decompression-bomb limit is 89.5 megapixels).
    public static let defaultMaximumPixels = 89_478_485

    /// Reads and decodes a PNG or JPEG file to RGB (or gray with `gray`).
    public static func read(_ path: String, gray: Bool = false, maximumPixels: Int = defaultMaximumPixels) throws -> Image {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                throw ZooError(isDirectory.boolValue ? "'\(path)' is a folder, not an image" : "cannot read '\(path)': permission denied")
            }
            throw ZooError("cannot read '\(path)': no such file")
        }
        let decoded = try DecodedImage.decode(data, name: path, maximumPixels: maximumPixels)
        return gray ? decoded.gray() : decoded.rgb()
    }

    /// The PNG and JPEG files (by extension) anywhere under `folder`, sorted by their path
    /// inside it; empty when there are none or the folder cannot be read.
    public static func files(in folder: String) -> [String] {
        let found = FileManager.default.enumerator(atPath: folder)?.compactMap { $0 as? String } ?? []
        return found.filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            .map { (folder as NSString).appendingPathComponent($0) }
    }

    /// Pillow's RGB → L: (19595·R + 38470·G + 7471·B + 0x8000) >> 16.
    public func luminance() -> Image {
        guard channels == 3 else { return self }
        var out = [UInt8](repeating: 0, count: width * height)
        for i in 0..<out.count {
            let r = UInt32(pixels[3 * i]), g = UInt32(pixels[3 * i + 1]), b = UInt32(pixels[3 * i + 2])
            out[i] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
        return Image(width: width, height: height, channels: 1, pixels: out)
    }

    /// PNG bytes (lossless).
    public func pngData() throws -> Data {
        try encode { pixels, output, size, message, messageSize in
            zoo_png_encode(pixels, Int32(width), Int32(height), Int32(channels), output, size, message, messageSize)
        }
    }

    /// JPEG bytes at `quality` (1–100).
    public func jpegData(quality: Int = 90) throws -> Data {
        try encode { pixels, output, size, message, messageSize in
            zoo_jpeg_encode(pixels, Int32(width), Int32(height), Int32(channels), Int32(max(1, min(100, quality))), output, size, message, messageSize)
        }
    }

    private func encode(_ body: (UnsafePointer<UInt8>, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>,
                                 UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> Data {
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = pixels.withUnsafeBufferPointer { body($0.baseAddress!, &output, &size, &message, message.count) }
        guard status == 0, let output else { throw ZooError("cannot encode the image: \(String(cString: message))") }
        defer { zoo_buffer_free(output) }
        return Data(bytes: output, count: size)
    }

    /// Writes PNG or JPEG (by the extension: .jpg/.jpeg, else PNG) atomically.
    public func write(to path: String, quality: Int = 90) throws {
        let lower = path.lowercased()
        let data = lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") ? try jpegData(quality: quality) : try pngData()
        try AtomicFile.write(data, to: path)
    }
}
