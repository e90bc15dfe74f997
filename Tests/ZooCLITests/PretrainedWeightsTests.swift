import ConvZoo
import Foundation
import XCTest
import ZooTestSupport

/// Pretrained weights by name, fetched as a user fetches them, against a file server these tests
/// start on 127.0.0.1 (Tools/range_server.py: Range requests, a connection cut part-way, a log of
/// every request). The "published" file is the shipped resnet20, registered through ZOO_CATALOG.
final class PretrainedWeightsTests: XCTestCase {
    var folder: URL!
    var server: RangeServer?

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-fetch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("site/models"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.published, toPath: path("site/models/" + Self.fileName))
    }

    override func tearDownWithError() throws {
        server?.stop()
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
    static let published = repository.appendingPathComponent("Weights/resnet20-fashion-mnist.safetensors").path
    static let digest = try! SHA256.hex(ofFile: published)
    /// A torch hub style name: NAME-<first 8 digits of the SHA-256>.
    static let fileName = "resnet20-" + digest.prefix(8) + ".safetensors"

    /// ZOO_CATALOG with resnet20:test at `url` (and `sha256`), and a cache in the test folder.
    func environment(url: String, sha256: String = digest, extra: [String: String] = [:]) throws -> [String: String] {
        let entry: [String: Any] = ["model": "resnet20", "tag": "test", "url": url, "sha256": sha256, "default": true]
        try JSONSerialization.data(withJSONObject: [entry]).write(to: URL(fileURLWithPath: path("catalog.json")))
        return ["ZOO_CATALOG": path("catalog.json"), "ZOO_CACHE": path("cache"), "TORCH_HOME": path("torch"), "HF_HOME": path("hf"),
                "ZOO_OFFLINE": "", "ZOO_WEIGHTS_MIRROR": ""].merging(extra) { $1 }
    }

    func startServer(_ options: [String] = []) throws -> RangeServer {
        let started = try RangeServer(root: path("site"), log: path("server.log"), options: options)
        server = started
        return started
    }

    /// The weight files in the cache (not its locks or its record of digests).
    func cachedFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path("cache"))) ?? []).filter { !$0.hasPrefix(".") && $0 != "verified.json" }.sorted()
    }

    func testAGoodFileIsVerifiedCachedAndUsedWithTheServerStopped() throws {
        let server = try startServer()
        let env = try environment(url: server.url("models/" + Self.fileName))
        let fetched = try CLITests.run(["fetch", "resnet20:test"], environment: env)
        XCTAssertEqual(fetched.status, 0, fetched.stderr)
        XCTAssertEqual(fetched.stdout, path("cache/" + Self.fileName) + "\n")
        XCTAssertEqual(try SHA256.hex(ofFile: path("cache/" + Self.fileName)), Self.digest)
        XCTAssertEqual(cachedFiles(), [Self.fileName])
        server.stop()
        let classify = try CLITests.run(["classify", "--model", "resnet20", "--weights", "DEFAULT", "--top", "1",
                                         Self.repository.appendingPathComponent("Weights/samples/ankle-boot.png").path], environment: env)
        XCTAssertEqual(classify.status, 0, classify.stderr)
        XCTAssertTrue(classify.stdout.contains("Ankle boot"), classify.stdout)
        XCTAssertEqual(server.requests().count, 1, "one download, then the cache")
        let table = try CLITests.run(["weights", "resnet20"], environment: env)
        XCTAssertTrue(table.stdout.contains("test *") && table.stdout.hasSuffix("yes\n"), table.stdout)
    }

    func testAChangedByteIsRefusedAndNothingIsKept() throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path("site/models/" + Self.fileName)))
        bytes[bytes.count / 2] ^= 1
        try bytes.write(to: URL(fileURLWithPath: path("site/models/" + Self.fileName)))
        let server = try startServer()
        let url = server.url("models/" + Self.fileName)
        let result = try CLITests.run(["fetch", "resnet20:test"], environment: try environment(url: url))
        XCTAssertEqual(result.status, 1)
        let changed = SHA256.hex(of: bytes)
        XCTAssertEqual(result.stderr, "zoo: \(url) is not the published file: its SHA-256 is \(changed), not \(Self.digest); "
                       + "nothing was kept in '\(path("cache"))'\n")
        XCTAssertEqual(cachedFiles(), [], "nothing partial, nothing under the final name")
    }

    func testABrokenConnectionIsResumedWhereItStopped() throws {
        let server = try startServer(["--cut-at", "0.4"])
        let result = try CLITests.run(["fetch", "resnet20:test"], environment: try environment(url: server.url("models/" + Self.fileName)))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try SHA256.hex(ofFile: path("cache/" + Self.fileName)), Self.digest)
        let requests = server.requests()
        XCTAssertEqual(requests.count, 2, "\(requests)")
        let size = try Data(contentsOf: URL(fileURLWithPath: Self.published)).count, cut = Int(Double(size) * 0.4)
        XCTAssertEqual(requests.first, "GET /models/\(Self.fileName) range=- status=200 bytes=\(cut)")
        XCTAssertEqual(requests.last, "GET /models/\(Self.fileName) range=bytes=\(cut)- status=206 bytes=\(size - cut)")
    }

    func testTwoProcessesFetchingOneFileBothGetIt() throws {
        let server = try startServer()
        let env = try environment(url: server.url("models/" + Self.fileName))
        var results: [CLITests.Result?] = [nil, nil]
        DispatchQueue.concurrentPerform(iterations: 2) { i in results[i] = try? CLITests.run(["fetch", "resnet20:test"], environment: env) }
        for result in results {
            XCTAssertEqual(result?.status, 0, result?.stderr ?? "did not run")
            XCTAssertEqual(result?.stdout, path("cache/" + Self.fileName) + "\n")
        }
        XCTAssertEqual(cachedFiles(), [Self.fileName])
        XCTAssertEqual(server.requests().count, 1, "the second process waited for the first one's download")
        XCTAssertEqual(try SHA256.hex(ofFile: path("cache/" + Self.fileName)), Self.digest)
    }

    func testFailuresAreOneSentenceNamingTheURLAndTheCache() throws {
        let server = try startServer()
        let missing = server.url("models/resnet20-0badf00d.safetensors")
        let cases: [(String, [String: String], String)] = [
            (missing, [:], "zoo: could not download \(missing) into '\(path("cache/resnet20-0badf00d.safetensors"))': the server answered 404 Not Found\n"),
            ("http://127.0.0.1:1/models/\(Self.fileName)", [:], "zoo: could not download http://127.0.0.1:1/models/\(Self.fileName) into '\(path("cache/" + Self.fileName))': "),
            (server.url("models/" + Self.fileName), ["ZOO_OFFLINE": "1"],
             "zoo: ZOO_OFFLINE is set and \(Self.fileName) is not on this machine: put the file from \(server.url("models/" + Self.fileName)) at '\(path("cache/" + Self.fileName))'\n"),
        ]
        for (url, extra, expected) in cases {
            let result = try CLITests.run(["fetch", "resnet20:test"], environment: try environment(url: url, extra: extra))
            XCTAssertEqual(result.status, 1, url)
            XCTAssertTrue(result.stderr.hasPrefix(expected), "\(result.stderr) does not start with \(expected)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertEqual(cachedFiles(), [])
        }
        let unknown = try CLITests.run(["classify", "--model", "resnet20", "--weights", "IMAGENET", "x.png"],
                                       environment: try environment(url: missing))
        XCTAssertEqual(unknown.stderr, "zoo: resnet20 has no weights tagged 'IMAGENET'; its tags are DEFAULT, test\n")
        let unwritable = try CLITests.run(["fetch", "resnet20:test"], environment: try environment(url: missing, extra: ["ZOO_CACHE": "/proc/zoo"]))
        XCTAssertEqual(unwritable.status, 1)
        XCTAssertTrue(unwritable.stderr.hasPrefix("zoo: cannot write the weights cache '/proc/zoo' (set ZOO_CACHE to a writable folder): "),
                      unwritable.stderr)
        XCTAssertEqual(server.requests().count, 1, "only the 404")
    }

    /// A full disk (the download written into /dev/full) is one sentence, and nothing is left under
    /// the final name.
    func testAFullDiskIsOneSentence() throws {
        let server = try startServer()
        try FileManager.default.createDirectory(atPath: path("cache"), withIntermediateDirectories: true)
        let partial = path("cache/" + Self.fileName + ".partial")
        try FileManager.default.createSymbolicLink(atPath: partial, withDestinationPath: "/dev/full")
        let result = try CLITests.run(["fetch", "resnet20:test"], environment: try environment(url: server.url("models/" + Self.fileName)))
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "zoo: cannot write '\(partial)': No space left on device\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("cache/" + Self.fileName)))
    }

    func testFilesInTorchsAndHuggingFacesCachesAreUsedWithoutARequest() throws {
        let server = try startServer()
        try FileManager.default.createDirectory(atPath: path("torch/hub/checkpoints"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.published, toPath: path("torch/hub/checkpoints/" + Self.fileName))
        let torch = try CLITests.run(["fetch", "resnet20:test"], environment: try environment(url: server.url("models/" + Self.fileName)))
        XCTAssertEqual(torch.status, 0, torch.stderr)
        XCTAssertEqual(torch.stdout, path("torch/hub/checkpoints/" + Self.fileName) + "\n")
        // huggingface_hub's layout: snapshots/REVISION/FILE is a link to blobs/SHA256.
        let snapshot = path("hf/hub/models--team--resnet20/snapshots/0123abcd")
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: path("hf/hub/models--team--resnet20/blobs"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.published, toPath: path("hf/hub/models--team--resnet20/blobs/" + Self.digest))
        try FileManager.default.createSymbolicLink(atPath: snapshot + "/model.safetensors", withDestinationPath: "../../blobs/" + Self.digest)
        let hub = try CLITests.run(["fetch", "resnet20:test"],
                                   environment: try environment(url: "https://huggingface.co/team/resnet20/resolve/main/model.safetensors", sha256: ""))
        XCTAssertEqual(hub.status, 0, hub.stderr)
        XCTAssertEqual(hub.stdout, snapshot + "/model.safetensors\n")
        XCTAssertEqual(server.requests(), [])
        XCTAssertEqual(cachedFiles(), [])
    }

    func testAWrongFileInTorchsCacheIsNotUsed() throws {
        let server = try startServer()
        try FileManager.default.createDirectory(atPath: path("torch/hub/checkpoints"), withIntermediateDirectories: true)
        let wrong = path("torch/hub/checkpoints/" + Self.fileName)
        try FileManager.default.copyItem(atPath: Self.repository.appendingPathComponent("Weights/lenet5-fashion-mnist.safetensors").path, toPath: wrong)
        let result = try CLITests.run(["fetch", "resnet20:test"], environment: try environment(url: server.url("models/" + Self.fileName)))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, path("cache/" + Self.fileName) + "\n", "downloaded, not the wrong copy")
        XCTAssertTrue(result.stderr.hasPrefix("zoo: '\(wrong)' is not the published file of "), result.stderr)
        XCTAssertEqual(server.requests().count, 1)
        XCTAssertEqual(try SHA256.hex(ofFile: path("cache/" + Self.fileName)), Self.digest)
        // Offline, the wrong copy is still refused.
        try FileManager.default.removeItem(atPath: path("cache"))
        let offline = try CLITests.run(["fetch", "resnet20:test"],
                                       environment: try environment(url: server.url("models/" + Self.fileName), extra: ["ZOO_OFFLINE": "1"]))
        XCTAssertEqual(offline.status, 1)
        XCTAssertTrue(offline.stderr.contains("ZOO_OFFLINE is set"), offline.stderr)
    }

    func testAFileMirrorServesTheURLsPath() throws {
        let env = try environment(url: "https://download.example.org/models/" + Self.fileName,
                                  extra: ["ZOO_WEIGHTS_MIRROR": "file://" + path("site")])
        let result = try CLITests.run(["fetch", "resnet20:test"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try SHA256.hex(ofFile: path("cache/" + Self.fileName)), Self.digest)
        let missing = try CLITests.run(["fetch", "resnet20:test"],
                                       environment: env.merging(["ZOO_WEIGHTS_MIRROR": "file://" + path("nowhere"), "ZOO_CACHE": path("cache2")]) { $1 })
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.hasPrefix("zoo: could not download file://\(path("nowhere"))/models/\(Self.fileName)"), missing.stderr)
    }

    /// The lecture notes' table: depths counted on the models equal the numbers in their names.
    func testTheWeightsTableCountsDepthFromTheModels() throws {
        let names = ["resnet18", "resnet50", "resnet152", "vgg11", "vgg16", "vgg19", "densenet121", "densenet201"]
        let result = try CLITests.run(["weights", "--json"] + names, environment: try environment(url: "https://unused.example.org/x.pth"))
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = try result.stdout.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        for name in names {
            let row = try XCTUnwrap(rows.first { $0["model"] as? String == name && $0["default"] as? Bool == true }, name)
            XCTAssertEqual(row["depth"] as? Int, Int(name.drop { !$0.isNumber }), name)
            XCTAssertNotNil(row["macs"] as? Int, name)
            XCTAssertTrue(row["url"] as? String != nil && row["cached"] is NSNull, name)
        }
        let table = try CLITests.run(["weights", "resnet50"], environment: try environment(url: "https://unused.example.org/x.pth"))
        XCTAssertEqual(table.stdout.split(separator: "\n").map { $0.split(separator: " ").prefix(8).joined(separator: " ") }, [
            "model tag size MB top-1 top-5 parameters depth",
            "resnet50 IMAGENET1K_V2 * 102.4 80.86 95.43 25,557,032 50",
            "resnet50 IMAGENET1K_V1 102.4 76.13 92.86 25,557,032 50 4.09",
        ])
        let none = try CLITests.run(["weights", "plain20"])
        XCTAssertEqual(none.stderr, "zoo: no pretrained weights are published for plain20 in the catalogue\n")
    }

    func testFetchAllOfAFamily() throws {
        let lenet = Self.repository.appendingPathComponent("Weights/lenet5-fashion-mnist.safetensors").path
        let entry: [String: Any] = ["model": "lenet5", "tag": "fashion", "url": "file://" + lenet, "sha256": try SHA256.hex(ofFile: lenet)]
        try JSONSerialization.data(withJSONObject: [entry]).write(to: URL(fileURLWithPath: path("catalog.json")))
        let env = ["ZOO_CATALOG": path("catalog.json"), "ZOO_CACHE": path("cache")]
        let result = try CLITests.run(["fetch", "--all", "--family", "LeNet"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, path("cache/lenet5-fashion-mnist.safetensors") + "\n")
        let unknown = try CLITests.run(["fetch", "--all", "--family", "Lenet"], environment: env)
        XCTAssertTrue(unknown.stderr.hasPrefix("zoo: unknown family 'Lenet'; the families are AlexNet, DenseNet"), unknown.stderr)
        let nothing = try CLITests.run(["fetch"], environment: env)
        XCTAssertEqual(nothing.stderr, "zoo: name the weights to fetch (MODEL or MODEL:TAG), or pass --all\n")
    }

    func testAURLWithATorchHubNameChecksItsPrefix() throws {
        let server = try startServer()
        try FileManager.default.copyItem(atPath: path("site/models/" + Self.fileName), toPath: path("site/models/resnet20-00000000.safetensors"))
        let env = try environment(url: "https://unused.example.org/x.pth")
        let good = try CLITests.run(["classify", "--model", "resnet20", "--weights", server.url("models/" + Self.fileName), "--top", "1",
                                     Self.repository.appendingPathComponent("Weights/samples/bag.png").path], environment: env)
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertTrue(good.stdout.contains("Bag"), good.stdout)
        let bad = try CLITests.run(["classify", "--model", "resnet20", "--weights", server.url("models/resnet20-00000000.safetensors"), "x.png"],
                                   environment: env)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("is not the published file: its SHA-256 is \(Self.digest), not 00000000…"), bad.stderr)
    }
}

/// Tools/range_server.py, started on 127.0.0.1 for one test.
final class RangeServer {
    let process = Process()
    let port: Int
    let log: String

    init(root: String, log: String, options: [String]) throws {
        self.log = log
        process.executableURL = testPython
        process.arguments = [PretrainedWeightsTests.repository.appendingPathComponent("Tools/range_server.py").path,
                             "--root", root, "--log", log] + options
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line += byte }
        guard let port = Int(String(decoding: line, as: UTF8.self).replacingOccurrences(of: "port ", with: "")) else {
            throw ZooError("the test server did not start")
        }
        self.port = port
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)/" + path }

    /// The requests the server has answered, one line each.
    func requests() -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
