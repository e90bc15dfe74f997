import Foundation
import XCTest
import ZooFuzz
import ZooTestSupport

/// Replays, through the fuzz targets themselves, every input that once broke a parser
/// (Tests/Fixtures/fuzz/TARGET/: found by the fuzzers or by reading the code) and the seed
/// corpora (which must be accepted, or the fuzzers would start from nothing but errors).
final class FuzzRegressionTests: XCTestCase {
    func files(_ folder: String) -> [URL] {
        let url = Fixtures.root.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".safetensors") || folder.contains("fuzz") }
            .sorted().map { url.appendingPathComponent($0) }
    }

    func testSeedCorporaAreAccepted() throws {
        for target in FuzzTarget.allCases {
            var seeds = files(target.seedFolder)
            if target == .idx { seeds.removeAll { $0.lastPathComponent.hasPrefix("labels") } }  // a label file is not an image file
            XCTAssertGreaterThanOrEqual(seeds.count, 2, "\(target): seed corpus in \(target.seedFolder)")
            for url in seeds {
                let outcome = target.run(try Data(contentsOf: url), name: url.lastPathComponent)
                XCTAssertEqual(outcome, .accepted, "\(target) seed \(url.lastPathComponent)")
            }
        }
    }

    func testRegressionInputsAreRefusedInOneSentence() throws {
        var count = 0
        for target in FuzzTarget.allCases {
            for url in files("fuzz/\(target.rawValue)") {
                let name = url.lastPathComponent
                guard case .rejected(let message) = target.run(try Data(contentsOf: url), name: name) else {
                    XCTFail("\(target): \(name) was accepted"); continue
                }
                XCTAssertTrue(message.contains("'\(name)'"), "\(target): \(name): the message names the file: \(message)")
                XCTAssertFalse(message.contains("\n"), "\(target): \(name): one line: \(message)")
                count += 1
            }
        }
        XCTAssertGreaterThanOrEqual(count, 11, "regression inputs replayed")
    }

    /// The limits the regression inputs rely on, each on a minimal input.
    func testPickleNestingLimit() {
        let shallow = Data([0x80, 0x02, 0x4B, 0x01] + [UInt8](repeating: 0x85, count: 50) + [0x2E])
        let deep = Data([0x80, 0x02, 0x4B, 0x01] + [UInt8](repeating: 0x85, count: 5_000) + [0x2E])
        // 50 levels pass the unpickler (and fail later: it is not a checkpoint); 5,000 do not.
        guard case .rejected(let a) = FuzzTarget.pth.run(shallow, name: "shallow"), case .rejected(let b) = FuzzTarget.pth.run(deep, name: "deep") else {
            return XCTFail("both inputs are not state_dicts")
        }
        XCTAssertFalse(a.contains("nests containers"), a)
        XCTAssertTrue(b.contains("nests containers more than 100 deep"), b)
    }
}
