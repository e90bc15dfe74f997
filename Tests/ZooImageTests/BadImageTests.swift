import Foundation
import XCTest
import ZooImage

/// Broken, hostile and non-image inputs: one sentence naming the file, never a crash.
final class BadImageTests: XCTestCase {
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        let length = UInt32(body.count), crc = crc32(typed)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + typed
            + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
    }

    /// A PNG whose header claims width×height RGB pixels, with a tiny (wrong) IDAT.
    static func claimedPNG(width: UInt32, height: UInt32) -> Data {
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        let header = be(width) + be(height) + [8, 2, 0, 0, 0]
        let idat: [UInt8] = [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", idat) + chunk("IEND", []))
    }

    func assertRejected(_ data: Data, _ expected: String, maximumPixels: Int = Image.defaultMaximumPixels,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try DecodedImage.decode(data, name: "bad.img", maximumPixels: maximumPixels), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("'bad.img'") && text.contains(expected), text, file: file, line: line)
        }
    }

    func testAHugeHeaderIsRefusedBeforeAllocating() {
        assertRejected(Self.claimedPNG(width: 100_000, height: 100_000), "claims 100000x100000 pixels, more than the limit")
        assertRejected(Self.claimedPNG(width: 100, height: 100), "more than the limit of 50", maximumPixels: 50)
        // Within the limit, the same broken file fails on its data instead.
        assertRejected(Self.claimedPNG(width: 100, height: 100), "not a readable PNG")
    }

    func testTruncatedCorruptEmptyAndForeignDataAreRefused() throws {
        let gradient = Image(width: 40, height: 30, channels: 3, pixels: (0..<3600).map { UInt8($0 % 251) })
        let png = try gradient.pngData(), jpeg = try gradient.jpegData()
        assertRejected(png.prefix(png.count / 2), "not a readable PNG")
        assertRejected(jpeg.prefix(jpeg.count / 2), "not a readable JPEG")
        var flipped = png
        flipped[40] ^= 0xFF
        assertRejected(flipped, "not a readable PNG")
        assertRejected(Data(), "is empty")
        assertRejected(Data("GIF89a, not a PNG".utf8), "is not a PNG or JPEG image")
        assertRejected(jpeg.prefix(3), "not a readable JPEG")
        XCTAssertThrowsError(try Image.read("/no/such/image.png")) { XCTAssertTrue("\($0)".contains("no such file"), "\($0)") }
        XCTAssertThrowsError(try Image.read(NSTemporaryDirectory())) { XCTAssertTrue("\($0)".contains("is a folder"), "\($0)") }
    }
}
