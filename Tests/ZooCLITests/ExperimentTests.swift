import ConvZoo
import Foundation
import XCTest

/// `zoo experiment depth` end to end on a tiny subset: two depths, one epoch.
final class ExperimentTests: XCTestCase {
    func testDepthExperimentWritesItsFilesAndContinues() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-experiment-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let arguments = ["experiment", "depth", "--data", "fashion-mnist", "--depths", "8,14", "--kinds", "plain,residual", "--epochs", "1",
                         "--subset", "64", "--test-subset", "64", "--warmup", "0", "--out", folder]
        let first = try CLITests.run(arguments)
        XCTAssertEqual(first.status, 0, first.stderr)
        let csv = try String(contentsOfFile: folder + "/results.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "kind,depth,epoch,train_error,test_error,seconds")
        XCTAssertEqual(csv.count, 5, "a row per (kind, depth) for one epoch")
        for row in csv.dropFirst() {
            let fields = row.split(separator: ",")
            XCTAssertEqual(fields.count, 6)
            XCTAssertTrue(["plain", "residual"].contains(String(fields[0])))
            XCTAssertTrue(["8", "14"].contains(String(fields[1])))
            XCTAssertTrue((0...1).contains(Double(fields[3]) ?? -1) && (0...1).contains(Double(fields[4]) ?? -1), String(row))
        }
        let summary = try String(contentsOfFile: folder + "/summary.md", encoding: .utf8)
        XCTAssertTrue(summary.contains("| kind | depth | params | final train error | final test error | time (s) |"))
        XCTAssertEqual(summary.split(separator: "\n").filter { $0.hasPrefix("| plain |") || $0.hasPrefix("| residual |") }.count, 4)
        for plot in ["train_error", "test_error"] {
            XCTAssertTrue(try String(contentsOfFile: folder + "/\(plot).svg", encoding: .utf8).contains("stroke-dasharray"), "plain is dashed")
            let image = try Image.read(folder + "/\(plot).png")
            XCTAssertEqual([image.width, image.height], [900, 560])
        }
        let again = try CLITests.run(arguments)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout.components(separatedBy: "finished earlier, kept").count - 1, 4, "nothing is retrained: \(again.stdout)")
    }
}
