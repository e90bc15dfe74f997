import Foundation
import XCTest
import ZooTensor
import ZooWeights
import ZooTestSupport

final class SafeTensorsTests: XCTestCase {
    func testRoundTripKeepsOrderValuesMetadataAndIntegers() throws {
        let a = Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 0, 1e-7, -1e7])
        let counter = Tensor(7)
        let file = SafeTensors(tensors: [("b.weight", a), ("a.num_batches_tracked", counter)], metadata: ["architecture": "lenet5"])
        let bytes = try file.encoded(integerNames: ["a.num_batches_tracked"])
        let headerLength = bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual(headerLength % 8, 0, "the header is padded to 8 bytes")
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<8 + Int(headerLength))) as! [String: Any]
        XCTAssertEqual((header["a.num_batches_tracked"] as! [String: Any])["dtype"] as? String, "I64")
        let back = try SafeTensors.decode(bytes, name: "x")
        XCTAssertEqual(back["b.weight"], a)
        XCTAssertEqual(back["a.num_batches_tracked"], counter)
        XCTAssertEqual(back.metadata["architecture"], "lenet5")
    }

    func testReadsHalfBFloatAndDoubleAsFloat() throws {
        // 1.5 and -2 as F16 (0x3E00, 0xC000), BF16 (0x3FC0, 0xC000), F64.
        var data = Data([0x00, 0x3E, 0x00, 0xC0, 0xC0, 0x3F, 0x00, 0xC0])
        withUnsafeBytes(of: (1.5 as Double).bitPattern.littleEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: (-2 as Double).bitPattern.littleEndian) { data.append(contentsOf: $0) }
        let header = #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"d":{"dtype":"F64","shape":[2],"data_offsets":[8,24]}}"#
        let file = try SafeTensors.decode(Craft.safetensors(header: header, data: data), name: "x")
        for key in ["h", "b", "d"] { XCTAssertEqual(file[key]?.scalars, [1.5, -2], key) }
    }

    func assertRejected(_ bytes: Data, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors.decode(bytes, name: "w.safetensors"), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(expected), text, file: file, line: line)
            XCTAssertTrue(text.contains("'w.safetensors'"), "names the file: \(text)", file: file, line: line)
        }
    }

    func testBrokenFilesAreRefusedWithAReason() {
        let good = Craft.safetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: Craft.floats([1, 2]))
        XCTAssertNoThrow(try SafeTensors.decode(good, name: "ok"))
        assertRejected(good.prefix(5), "shorter than the 8-byte header length")
        assertRejected(good.prefix(good.count - 3), "offsets [0, 8] outside the 5 data bytes")
        assertRejected(Craft.safetensors(header: "{}", headerLength: 1 << 20), "runs past the end of the file")
        assertRejected(Craft.safetensors(header: "{}", headerLength: 1 << 40), "exceeds the limit")
        assertRejected(Craft.safetensors(header: "[1, 2]"), "header is not a JSON object")
        assertRejected(Craft.safetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                         data: Craft.floats([1, 2])), "overlap")
        assertRejected(Craft.safetensors(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Craft.floats([1, 2])),
                       "needs 12 bytes")
        assertRejected(Craft.safetensors(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#,
                                         data: Craft.floats([1, 2])), "invalid shape")
        assertRejected(Craft.safetensors(header: #"{"a":{"dtype":"F32","shape":[1073741824,1073741824],"data_offsets":[0,8]}}"#,
                                         data: Craft.floats([1, 2])), "larger than the file")
        assertRejected(Craft.safetensors(header: #"{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: Craft.floats([1, 2])),
                       "dtype C64, which ConvZoo does not read")
        assertRejected(Craft.safetensors(header: #"{"a":{"dtype":"F32","shape":[2]}}"#), "lacks dtype, shape or data_offsets")
    }

    /// A header of 128 bytes starts the file with 0x80, a pickle's first byte: still safetensors.
    func testFormatIsRecognisedByContent() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let padded = header + String(repeating: " ", count: 128 - header.utf8.count)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-0x80-\(getpid()).bin").path
        try Craft.safetensors(header: padded, data: Craft.floats([3, 4])).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try WeightFile.read(path)["a"]?.scalars, [3, 4])
    }

    func testWriteIsAtomicAndLeavesNoTemporaryFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-atomic-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("w.safetensors").path
        try SafeTensors(tensors: [("a", Tensor(shape: [1], scalars: [1]))]).write(to: path)
        try SafeTensors(tensors: [("a", Tensor(shape: [1], scalars: [2]))]).write(to: path)
        XCTAssertEqual(try SafeTensors.read(path)["a"]?.scalars, [2])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["w.safetensors"])
        XCTAssertThrowsError(try SafeTensors(tensors: []).write(to: folder.appendingPathComponent("no/such/dir/w.safetensors").path))
    }
}
