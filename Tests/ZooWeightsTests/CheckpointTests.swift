import Foundation
import XCTest
import ZooTensor
@testable import ZooWeights

/// The restricted unpickler and the zip reader on hand-made inputs.
final class CheckpointTests: XCTestCase {
    /// A zip archive of stored entries, as torch.save writes, optionally lying about a size.
    static func zip(_ entries: [(String, Data)], claimedSize: [String: Int] = [:]) -> Data {
        var out = Data(), directory = Data()
        func u16(_ v: Int, _ d: inout Data) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        func u32(_ v: Int, _ d: inout Data) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        for (name, contents) in entries {
            let offset = out.count, size = claimedSize[name] ?? contents.count
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0, &out)
            u32(0, &out); u32(size, &out); u32(size, &out); u16(name.utf8.count, &out); u16(0, &out)
            out.append(Data(name.utf8)); out.append(contents)
            u32(0x0201_4B50, &directory); u16(20, &directory); u16(20, &directory); u16(0, &directory); u16(0, &directory)
            u16(0, &directory); u16(0, &directory); u32(0, &directory); u32(size, &directory); u32(size, &directory)
            u16(name.utf8.count, &directory); u16(0, &directory); u16(0, &directory); u16(0, &directory); u16(0, &directory)
            u32(0, &directory); u32(offset, &directory); directory.append(Data(name.utf8))
        }
        let directoryOffset = out.count
        out.append(directory)
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(entries.count, &out); u16(entries.count, &out)
        u32(directory.count, &out); u32(directoryOffset, &out); u16(0, &out)
        return out
    }

    /// A protocol-2 pickle of {"w": tensor of 2 floats from storage "0"}.
    static func statePickle(global: String = "torch._utils\n_rebuild_tensor_v2\n") -> Data {
        var p = Data([0x80, 0x02, 0x7D, 0x71, 0x00])                  // PROTO 2, EMPTY_DICT, BINPUT 0
        p.append(0x58); p.append(contentsOf: [1, 0, 0, 0]); p.append(Data("w".utf8))   // BINUNICODE "w"
        p.append(0x63); p.append(Data(global.utf8))                   // GLOBAL
        p.append(0x28)                                                // MARK (the call's arguments)
        p.append(0x28)                                                // MARK (persistent id tuple)
        p.append(0x58); p.append(contentsOf: [7, 0, 0, 0]); p.append(Data("storage".utf8))
        p.append(0x63); p.append(Data("torch\nFloatStorage\n".utf8))
        p.append(0x58); p.append(contentsOf: [1, 0, 0, 0]); p.append(Data("0".utf8))
        p.append(0x58); p.append(contentsOf: [3, 0, 0, 0]); p.append(Data("cpu".utf8))
        p.append(contentsOf: [0x4B, 2, 0x74, 0x51])                   // BININT1 2, TUPLE, BINPERSID
        p.append(contentsOf: [0x4B, 0, 0x4B, 2, 0x85, 0x4B, 1, 0x85, 0x89])  // offset 0, (2,), (1,), False
        p.append(0x63); p.append(Data("collections\nOrderedDict\n".utf8)); p.append(contentsOf: [0x29, 0x52])  // OrderedDict()
        p.append(contentsOf: [0x74, 0x52, 0x73, 0x2E])                // TUPLE (args), REDUCE, SETITEM, STOP
        return p
    }

    func testZipCheckpointLoads() throws {
        let archive = Self.zip([("archive/data.pkl", Self.statePickle()), ("archive/data/0", Data([0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]))])
        let tensors = try TorchCheckpoint.decode(archive, name: "w.pth")
        XCTAssertEqual(tensors.map(\.name), ["w"])
        XCTAssertEqual(tensors.first?.tensor.scalars, [1, 2])
    }

    func testAGlobalOutsideTheAllowedSetIsRefusedNotRun() {
        let archive = Self.zip([("archive/data.pkl", Self.statePickle(global: "os\nsystem\n")), ("archive/data/0", Data(count: 8))])
        XCTAssertThrowsError(try TorchCheckpoint.decode(archive, name: "evil.pth")) { error in
            XCTAssertTrue("\(error)".contains("names the global 'os.system'"), "\(error)")
            XCTAssertTrue("\(error)".contains("'evil.pth'"), "\(error)")
        }
    }

    func testAZipEntryClaimingMoreBytesThanTheFileIsRefused() {
        let archive = Self.zip([("archive/data.pkl", Self.statePickle()), ("archive/data/0", Data(count: 8))],
                               claimedSize: ["archive/data/0": 1 << 30])
        XCTAssertThrowsError(try TorchCheckpoint.decode(archive, name: "big.pth")) { error in
            XCTAssertTrue("\(error)".contains("claims 1073741824 bytes, more than the file holds"), "\(error)")
        }
    }

    func testTruncatedAndForeignInputsAreRefused() {
        let archive = Self.zip([("archive/data.pkl", Self.statePickle()), ("archive/data/0", Data(count: 8))])
        for cut in [10, archive.count / 2, archive.count - 10] {
            XCTAssertThrowsError(try TorchCheckpoint.decode(archive.prefix(cut), name: "cut.pth"), "cut at \(cut)")
        }
        XCTAssertThrowsError(try TorchCheckpoint.decode(Data("hello".utf8), name: "text.pth")) { error in
            XCTAssertTrue("\(error)".contains("not a PyTorch checkpoint"), "\(error)")
        }
        var pickle = Self.statePickle()
        pickle.removeLast(6)
        XCTAssertThrowsError(try TorchCheckpoint.decode(Self.zip([("archive/data.pkl", pickle), ("archive/data/0", Data(count: 8))]), name: "p.pth"))
        // A storage smaller than the tensor that views it.
        XCTAssertThrowsError(try TorchCheckpoint.decode(Self.zip([("archive/data.pkl", Self.statePickle()), ("archive/data/0", Data(count: 4))]), name: "s.pth")) { error in
            XCTAssertTrue("\(error)".contains("reaches past the end of its storage"), "\(error)")
        }
    }
}
