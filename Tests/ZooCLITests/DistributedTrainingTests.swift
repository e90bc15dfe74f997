import ConvZoo
import Foundation
import XCTest
import ZooTestSupport

/// `mpirun -np 2 zoo train` against one process, one thread against two, and a process killed mid-run.
/// Slow in a debug build: they run with ZOO_MPI_TESTS=1 (CI: in release). Need Open MPI's
/// mpirun (Debian: openmpi-bin) and Debian's Fashion-MNIST.
final class DistributedTrainingTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        guard ProcessInfo.processInfo.environment["ZOO_MPI_TESTS"] == "1" else { throw XCTSkip("set ZOO_MPI_TESTS=1 to train under mpirun") }
        guard Self.mpirun != nil else { throw XCTSkip("mpirun is not on PATH (Debian: apt-get install openmpi-bin)") }
        if ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil { throw XCTSkip("these tests start mpirun themselves") }
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            throw XCTSkip("Debian's dataset-fashion-mnist is not installed")
        }
        folder = try makeTemporaryFolder("zoo-mpi")
    }

    override func tearDownWithError() throws { if let folder { try? FileManager.default.removeItem(at: folder) } }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static let mpirun: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { String($0) + "/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// mpirun's arguments for `ranks` processes of `zoo`; quiet (the tool's own sentences only).
    /// Under Tools/asan-test the ranks check memory errors but not leaks (Open MPI's own).
    static func mpirunArguments(_ ranks: Int) -> [String] {
        ["-np", String(ranks), "--oversubscribe", "--allow-run-as-root", "-q", "-x", "ASAN_OPTIONS=detect_leaks=0", CLITests.zoo.path]
    }

    func runUnderMPI(_ ranks: Int, _ arguments: [String]) throws -> CLITests.Result {
        try run(Self.mpirun!, Self.mpirunArguments(ranks) + arguments)
    }

    func run(_ executable: String, _ arguments: [String]) throws -> CLITests.Result {
        try runProcess(URL(fileURLWithPath: executable), arguments)
    }

    /// The processes whose parent is `parent` (from /proc/PID/stat: "pid (name) state ppid …").
    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    /// How two weight files differ: the values that are not bit for bit equal, of how many, and
    /// the largest of max|a − b| / max|a| over the tensors.
    struct Difference: CustomStringConvertible {
        var differing = 0, values = 0
        var relative = 0.0
        var description: String { "\(differing) of \(values) values differ, max relative difference \(relative)" }
    }

    func difference(_ a: String, _ b: String) throws -> Difference {
        let (x, y) = (try SafeTensors.read(a), try SafeTensors.read(b))
        XCTAssertEqual(x.tensors.map(\.name), y.tensors.map(\.name))
        var result = Difference()
        for (name, tensor) in x.tensors {
            guard let other = y[name] else { continue }
            result.values += tensor.count
            result.differing += zip(tensor.scalars, other.scalars).filter { $0.bitPattern != $1.bitPattern }.count
            let scale = Double(tensor.scalars.map(abs).max() ?? 0)
            let largest = Double(zip(tensor.scalars, other.scalars).map { abs($0 - $1) }.max() ?? 0)
            result.relative = max(result.relative, scale > 0 ? largest / scale : largest)
        }
        return result
    }

    /// The kernels' instruction set, for the messages: oneDNN's ceiling and OpenBLAS's core when set.
    var isa: String {
        let environment = ProcessInfo.processInfo.environment
        let settings = ["DNNL_MAX_CPU_ISA", "OPENBLAS_CORETYPE"].compactMap { key in
            environment[key].flatMap { $0.isEmpty ? nil : "\(key)=\($0)" }
        }
        return settings.isEmpty ? "default ISA" : settings.joined(separator: " ")
    }

    /// Two processes of 64 images per step compute the steps one process of 128 does, bit for bit
    /// (two epochs of 16 steps; every sum over the batch is taken in pieces that depend neither on
    /// the split nor on the threads, see `BatchSums`). Negative control: another seed gives other
    /// weights.
    func testTwoProcessesTrainAsOne() throws {
        let recipe = ["train", "--model", "lenet5", "--data", "fashion-mnist", "--subset", "2048", "--batch", "128", "--epochs", "2"]
        let one = try CLITests.run(recipe + ["--seed", "1", "--out", path("one.safetensors")], environment: ["ZOO_THREADS": "2"])
        XCTAssertEqual(one.status, 0, one.stderr)
        let two = try runUnderMPI(2, recipe + ["--seed", "1", "--out", path("two.safetensors")])
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertTrue(two.stdout.contains("data-parallel over 2 processes"), two.stdout)
        XCTAssertEqual(two.stdout.components(separatedBy: "wrote '").count - 1, 1, "only process 0 prints")
        XCTAssertFalse(two.stdout.contains("\r"), "a live progress line in a log that is not a terminal: \(two.stdout)")
        let difference = try difference(path("one.safetensors"), path("two.safetensors"))
        print("lenet5, 2 epochs, \(isa): 2 processes against 1: \(difference)")
        XCTAssertEqual(difference.differing, 0, "\(difference)")
        let oneThread = try CLITests.run(recipe + ["--seed", "1", "--out", path("one-thread.safetensors")], environment: ["ZOO_THREADS": "1"])
        XCTAssertEqual(oneThread.status, 0, oneThread.stderr)
        let threads = try self.difference(path("one.safetensors"), path("one-thread.safetensors"))
        print("lenet5, 2 epochs, \(isa): 1 thread against 2: \(threads)")
        XCTAssertEqual(threads.differing, 0, "\(threads)")
        let other = try CLITests.run(recipe + ["--seed", "2", "--out", path("other.safetensors")])
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssertGreaterThan(try self.difference(path("one.safetensors"), path("other.safetensors")).relative, 1e-2)
    }

    /// ResNet-20 with synchronised batch norm: two processes of one thread train as one process of
    /// two threads, and as one process of one thread, bit for bit. Without synchronised batch norm
    /// each process normalises by its own 64 images, and the weights differ (the check can fail).
    func testSynchronisedBatchNormTrainsAsOne() throws {
        let recipe = ["train", "--model", "resnet20", "--data", "fashion-mnist", "--subset", "2048", "--batch", "128", "--epochs", "2",
                      "--seed", "1"]
        let one = try CLITests.run(recipe + ["--out", path("one.safetensors")], environment: ["ZOO_THREADS": "2"])
        XCTAssertEqual(one.status, 0, one.stderr)
        let synchronised = try runUnderMPI(2, recipe + ["--sync-bn", "--out", path("sync.safetensors")])
        XCTAssertEqual(synchronised.status, 0, synchronised.stderr)
        let difference = try difference(path("one.safetensors"), path("sync.safetensors"))
        print("resnet20 --sync-bn, 2 epochs, \(isa): 2 processes against 1: \(difference)")
        XCTAssertEqual(difference.differing, 0, "\(difference)")
        let oneThread = try CLITests.run(recipe + ["--out", path("one-thread.safetensors")], environment: ["ZOO_THREADS": "1"])
        XCTAssertEqual(oneThread.status, 0, oneThread.stderr)
        let threads = try self.difference(path("one.safetensors"), path("one-thread.safetensors"))
        print("resnet20, 2 epochs, \(isa): 1 thread against 2: \(threads)")
        XCTAssertEqual(threads.differing, 0, "\(threads)")
        let own = try runUnderMPI(2, recipe + ["--out", path("own.safetensors")])
        XCTAssertEqual(own.status, 0, own.stderr)
        let ownDifference = try self.difference(path("one.safetensors"), path("own.safetensors"))
        print("resnet20 without --sync-bn: \(ownDifference)")
        XCTAssertGreaterThan(ownDifference.relative, 1e-2)
    }

    /// A process killed mid-run ends the job within seconds with one sentence and a non-zero
    /// status; the last checkpoint stays, and one process finishes the run from it.
    func testAKilledProcessEndsTheJobAndTheRunResumesOnOne() throws {
        let out = path("run.safetensors"), checkpoint = path("run.safetensors.checkpoint")
        let recipe = ["train", "--model", "lenet5", "--data", "fashion-mnist", "--subset", "4096", "--batch", "128", "--epochs", "8",
                      "--seed", "1", "--out", out]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.mpirun!)
        process.arguments = Self.mpirunArguments(2) + recipe
        let err = Pipe()
        (process.standardOutput, process.standardError) = (FileHandle.nullDevice, err)
        try process.run()
        // Once the first epoch's checkpoint is there, kill the second process.
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint) && process.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(process.isRunning, "the run ended before it could be interrupted")
        let children = Self.children(of: process.processIdentifier)
        XCTAssertEqual(children.count, 2, "mpirun's two processes")
        guard let victim = children.max() else { return }
        let killed = Date()
        kill(victim, SIGKILL)
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(killed), 30)
        XCTAssertNotEqual(process.terminationStatus, 0)
        let lines = String(decoding: stderr, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 1, String(decoding: stderr, as: UTF8.self))
        XCTAssertEqual(lines.first.map(String.init),
                       "zoo: training stopped: another process of the MPI job ended; the last finished epoch is in '\(checkpoint)' (continue with --resume)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no weights from an unfinished run")
        // One process finishes the run from the checkpoint.
        let resumed = try CLITests.run(recipe + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming after epoch"), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("epoch 8/8"), resumed.stdout)
        XCTAssertEqual(try SafeTensors.read(out).metadata["architecture"], "lenet5")
    }
}
