import Foundation
import XCTest
import ZooImage
import ZooTensor
import ZooTestSupport
import ZooWeights

/// Decoded pixels against Pillow's (Tools/make_image_fixtures.py): PNG exactly, JPEG within ±1.
final class DecodeTests: XCTestCase {
    func files(_ folder: String, _ extensions: [String]) throws -> [URL] {
        let url = Fixtures.root.appendingPathComponent("images/\(folder)")
        return try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
            .filter { extensions.contains($0.pathExtension.lowercased()) }.sorted { $0.path < $1.path }
    }

    /// Pillow's pixels for `file`: its companion safetensors file.
    func reference(_ file: URL) throws -> SafeTensors {
        try SafeTensors.read(file.deletingPathExtension().path + ".safetensors")
    }

    func maxDifference(_ image: Image, _ expected: Tensor) -> Int {
        XCTAssertEqual(image.pixels.count, expected.count)
        guard image.pixels.count == expected.count else { return Int.max }
        return zip(image.pixels, expected.scalars).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    func testPNGPixelsEqualPillowForEveryColourTypeAndDepth() throws {
        let pngs = try files("png", ["png"])
        XCTAssertGreaterThanOrEqual(pngs.count, 20)
        for file in pngs {
            let expected = try reference(file)
            let rgb = try Image.read(file.path)
            XCTAssertEqual(rgb.channels, 3)
            XCTAssertEqual([rgb.height, rgb.width, 3], try expected.require("rgb").shape, file.lastPathComponent)
            XCTAssertEqual(maxDifference(rgb, try expected.require("rgb")), 0, "\(file.lastPathComponent) RGB")
            XCTAssertEqual(maxDifference(try Image.read(file.path, gray: true), try expected.require("gray")), 0, "\(file.lastPathComponent) L")
        }
    }

    func testJPEGPixelsAreWithinOneOfPillow() throws {
        let jpegs = try files("jpeg", ["jpg", "jpeg"])
        XCTAssertGreaterThanOrEqual(jpegs.count, 10)
        var worst = 0
        defer { print("JPEG: max |Δ| against Pillow over \(jpegs.count) files = \(worst)") }
        for file in jpegs {
            let expected = try reference(file)
            let rgb = try Image.read(file.path)
            XCTAssertEqual([rgb.height, rgb.width, 3], try expected.require("rgb").shape, file.lastPathComponent)
            let differences = [maxDifference(rgb, try expected.require("rgb")),
                               maxDifference(try Image.read(file.path, gray: true), try expected.require("gray"))]
            worst = max(worst, differences.max()!)
            XCTAssertLessThanOrEqual(differences.max()!, 1, "\(file.lastPathComponent) RGB and L")
        }
    }

    func testPhotosDecodeAndPreprocessLikeTorchvision() throws {
        let photos = try files("photos", ["png", "jpg", "jpeg"])
        XCTAssertGreaterThanOrEqual(photos.count, 4)
        for file in photos {
            let expected = try reference(file)
            let image = try Image.read(file.path)
            let tolerance = file.pathExtension == "png" ? 0 : 1
            XCTAssertLessThanOrEqual(maxDifference(image, try expected.require("rgb")), tolerance, "\(file.lastPathComponent) pixels")
            let resized = image.resized(shorterSide: 256).centerCropped(width: 224, height: 224)
            XCTAssertLessThanOrEqual(maxDifference(resized, try expected.require("resized")), 1, "\(file.lastPathComponent) Resize(256) + CenterCrop(224)")
            // torchvision's tensor is exactly (u8 / 255 − mean) / std of its resized pixels.
            let reference = try expected.require("resized")
            let torchvision = Image(width: 224, height: 224, channels: 3, pixels: reference.scalars.map { UInt8($0) })
                .normalizedTensor(mean: Preprocessing.imageNet.mean, std: Preprocessing.imageNet.std)
            let tensor = Preprocessing.imageNet.tensor(for: image)
            XCTAssertEqual(tensor.shape, [3, 224, 224])
            let worst = zip(tensor.scalars, torchvision.scalars).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 2e-2, "\(file.lastPathComponent) normalised tensor")
            print("photo \(file.lastPathComponent): normalised tensor max |Δ| against torchvision = \(worst)")
            let small = try Image.read(file.path, gray: true).resized(width: 28, height: 28)
            XCTAssertLessThanOrEqual(maxDifference(small, try expected.require("small_gray")), 1, "\(file.lastPathComponent) 28×28 gray")
            // Pillow's bicubic (timm's preprocessing), downscaling with antialiasing and upscaling.
            let bicubic = image.resized(width: 75, height: 75, filter: .bicubic)
            XCTAssertLessThanOrEqual(maxDifference(bicubic, try expected.require("bicubic")), tolerance, "\(file.lastPathComponent) bicubic 75×75")
            let referenceSmall = try expected.require("small_gray")
            let up = Image(width: 28, height: 28, channels: 1, pixels: referenceSmall.scalars.map { UInt8($0) }).resized(width: 40, height: 40, filter: .bicubic)
            XCTAssertEqual(maxDifference(up, try expected.require("bicubic_up")), 0, "\(file.lastPathComponent) bicubic 28×28 → 40×40")
            // Negative control: the bilinear filter is not what Pillow's bicubic gives.
            XCTAssertGreaterThan(maxDifference(image.resized(width: 75, height: 75), try expected.require("bicubic")), 1)
        }
    }

    func testEncodedImagesDecodeBack() throws {
        var rng = Xoshiro256(seed: 3)
        for channels in [1, 3] {
            let pixels = (0..<(17 * 9 * channels)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let image = Image(width: 17, height: 9, channels: channels, pixels: pixels)
            let png = try DecodedImage.decode(try image.pngData(), name: "png")
            XCTAssertEqual(channels == 1 ? png.gray() : png.rgb(), image, "PNG is lossless")
            var gradient: [UInt8] = []
            for y in 0..<16 { for x in 0..<32 { for c in 0..<channels { gradient.append(UInt8(x * 3 + y * 4 + c * 20)) } } }
            let smooth = Image(width: 32, height: 16, channels: channels, pixels: gradient)
            let jpeg = try DecodedImage.decode(try smooth.jpegData(quality: 100), name: "jpeg")
            let back = channels == 1 ? jpeg.gray() : jpeg.rgb()
            XCTAssertEqual(back.width, 32)
            XCTAssertLessThanOrEqual(zip(back.pixels, smooth.pixels).map { abs(Int($0) - Int($1)) }.max()!, 4, "JPEG at quality 100")
        }
    }
}
