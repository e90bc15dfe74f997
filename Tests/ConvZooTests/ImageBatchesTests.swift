import ConvZoo
import Foundation
import XCTest
import ZooTestSupport

/// Runs over many image files (classify, embed, explain) and the embeddings file, as a library user calls them.
final class ImageBatchesTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws { folder = try makeTemporaryFolder("convzoo-batches") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func samples() throws -> (model: ZooModel, files: [String], bad: [String]) {
        let model = try Zoo.load("resnet20", weights: FrontDoorTests.shipped("resnet20-fashion-mnist.safetensors"))
        let good = ["bag.png", "sneaker.jpg", "trouser.png", "ankle-boot.jpg"].map { FrontDoorTests.shipped("samples/" + $0) }
        let corrupt = folder.appendingPathComponent("corrupt.png").path
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: corrupt))
        let missing = folder.appendingPathComponent("missing.png").path
        return (model, [good[0], corrupt, good[1], good[2], missing, good[3]], [corrupt, missing])
    }

    func testAnUnreadableFileStopsARunUnlessItIsSkipped() throws {
        let (model, files, bad) = try samples()
        XCTAssertThrowsError(try model.forEachBatch(of: files, batchSize: 2) { _ in }) { error in
            XCTAssertTrue("\(error)".contains(bad[0]), "\(error)")
        }
        var skipped: [String] = [], batches: [[String]] = []
        try model.forEachBatch(of: files, batchSize: 2, pictures: true, skipping: { file, _ in skipped.append(file) }) { batch in
            XCTAssertEqual(batch.tensor.shape, [batch.files.count] + model.input)
            XCTAssertEqual(batch.pictures.count, batch.files.count)
            batches.append(batch.files)
        }
        XCTAssertEqual(skipped, bad)
        XCTAssertEqual(batches.flatMap { $0 }, files.filter { !bad.contains($0) }, "every readable file once, in order")
        XCTAssertTrue(batches.allSatisfy { (1...2).contains($0.count) }, "\(batches)")
        // The file-level classify stops at the first unreadable file, naming it.
        XCTAssertThrowsError(try model.classify(files)) { XCTAssertTrue("\($0)".contains(bad[0]), "\($0)") }
        XCTAssertEqual(try model.classify(files.filter { !bad.contains($0) }, batchSize: 3).count, 4)
    }

    func testEmbeddingFilesRoundTripAndRefuseAMismatchedPair() throws {
        let rows = Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        let train = EmbeddingFile(embeddings: rows, labels: [0, 1, 1], model: "resnet20", layer: "layer3", data: "toy",
                                  classNames: ["a", "b"])
        let path = folder.appendingPathComponent("train.safetensors").path
        try train.write(to: path)
        let back = try EmbeddingFile(file: path, labelled: true)
        XCTAssertEqual(back.embeddings.scalars, rows.scalars)
        XCTAssertEqual(back.labels, [0, 1, 1])
        XCTAssertEqual(back.classNames, ["a", "b"])
        XCTAssertEqual(back.source, "resnet20 layer3")
        XCTAssertEqual(try EmbeddingFile.classCount(train: back, test: back), 2)

        let unlabelled = folder.appendingPathComponent("files.safetensors").path
        try EmbeddingFile(embeddings: rows, files: ["x.png", "y.png", "z.png"]).write(to: unlabelled)
        XCTAssertThrowsError(try EmbeddingFile(file: unlabelled, labelled: true)) { XCTAssertTrue("\($0)".contains("no 'labels'"), "\($0)") }
        XCTAssertEqual(try EmbeddingFile(file: unlabelled).files, ["x.png", "y.png", "z.png"])

        var other = back
        other.layer = "layer2"
        XCTAssertThrowsError(try EmbeddingFile.classCount(train: back, test: other)) {
            XCTAssertTrue("\($0)".contains("resnet20 layer2"), "\($0)")
        }
        var wide = back
        wide.embeddings = Tensor(shape: [3, 1], scalars: [1, 2, 3])
        XCTAssertThrowsError(try EmbeddingFile.classCount(train: back, test: wide)) { XCTAssertTrue("\($0)".contains("1"), "\($0)") }
    }
}
