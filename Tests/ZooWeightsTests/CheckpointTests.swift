import Foundation
import XCTest
import ZooTensor
import ZooWeights
import ZooTestSupport

/// The restricted unpickler and the zip reader on hand-made inputs.
final class CheckpointTests: XCTestCase {
    func testZipCheckpointLoads() throws {
        let archive = CheckpointFixtures.zip([("archive/data.pkl", CheckpointFixtures.pickle()), ("archive/data/0", Data([0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]))])
        let tensors = try TorchCheckpoint.decode(archive, name: "w.pth")
        XCTAssertEqual(tensors.map(\.name), ["w"])
        XCTAssertEqual(tensors.first?.tensor.scalars, [1, 2])
    }

    func testAGlobalOutsideTheAllowedSetIsRefusedNotRun() {
        let archive = CheckpointFixtures.zip([("archive/data.pkl", CheckpointFixtures.pickle(global: "os\nsystem\n")), ("archive/data/0", Data(count: 8))])
        XCTAssertThrowsError(try TorchCheckpoint.decode(archive, name: "evil.pth")) { error in
            XCTAssertTrue("\(error)".contains("names the global 'os.system'"), "\(error)")
            XCTAssertTrue("\(error)".contains("'evil.pth'"), "\(error)")
        }
    }

    func testAZipEntryClaimingMoreBytesThanTheFileIsRefused() {
        let archive = CheckpointFixtures.zip([("archive/data.pkl", CheckpointFixtures.pickle()), ("archive/data/0", Data(count: 8))],
                               claimedSize: ["archive/data/0": 1 << 30])
        XCTAssertThrowsError(try TorchCheckpoint.decode(archive, name: "big.pth")) { error in
            XCTAssertTrue("\(error)".contains("claims 1073741824 bytes, more than the file holds"), "\(error)")
        }
    }

    func testTruncatedAndForeignInputsAreRefused() {
        let archive = CheckpointFixtures.zip([("archive/data.pkl", CheckpointFixtures.pickle()), ("archive/data/0", Data(count: 8))])
        for cut in [10, archive.count / 2, archive.count - 10] {
            XCTAssertThrowsError(try TorchCheckpoint.decode(archive.prefix(cut), name: "cut.pth"), "cut at \(cut)")
        }
        XCTAssertThrowsError(try TorchCheckpoint.decode(Data("hello".utf8), name: "text.pth")) { error in
            XCTAssertTrue("\(error)".contains("not a PyTorch checkpoint"), "\(error)")
        }
        var pickle = CheckpointFixtures.pickle()
        pickle.removeLast(6)
        XCTAssertThrowsError(try TorchCheckpoint.decode(CheckpointFixtures.zip([("archive/data.pkl", pickle), ("archive/data/0", Data(count: 8))]), name: "p.pth"))
        // A storage smaller than the tensor that views it.
        XCTAssertThrowsError(try TorchCheckpoint.decode(CheckpointFixtures.zip([("archive/data.pkl", CheckpointFixtures.pickle()), ("archive/data/0", Data(count: 4))]), name: "s.pth")) { error in
            XCTAssertTrue("\(error)".contains("reaches past the end of its storage"), "\(error)")
        }
    }
}
