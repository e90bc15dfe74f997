import Foundation
import XCTest
import ZooDistributed

/// The MPI bridge: absent without mpirun, a clear sentence when Open MPI is missing, and
/// (when mpirun is installed) correct collectives between two ranks, through Tools/MPICheck.
final class MPIGroupTests: XCTestCase {
    struct Result { var status: Int32; var stdout: String; var stderr: String }

    /// The products folder holds both the test bundle and `mpi-check`.
    static let mpiCheck: URL = {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if folder.lastPathComponent.hasSuffix(".xctest") { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("mpi-check")
    }()

    /// Runs `executable`, ending it after `timeout` seconds (a hung collective fails the test
    /// instead of hanging the suite).
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                    timeout: Double = 60) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Open MPI's launcher, from PATH; nil when openmpi-bin is not installed.
    static let mpirun: URL? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    func runUnderMPI(_ arguments: [String]) throws -> Result {
        guard let mpirun = Self.mpirun else {
            throw XCTSkip("mpirun is not on PATH (Debian: apt-get install openmpi-bin); the two-rank check needs it")
        }
        // Under Tools/asan-test, Open MPI's own allocations (its plugins are unloaded at finalize,
        // so LeakSanitizer cannot even name them) are not ConvZoo's leaks: the ranks check memory
        // errors but not leaks.
        return try Self.run(mpirun, ["-np", "2", "--oversubscribe", "--allow-run-as-root", Self.mpiCheck.path] + arguments,
                            environment: ["ASAN_OPTIONS": "detect_leaks=0"])
    }

    func testWithoutMPIRunThereIsNoGroup() throws {
        if ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil {
            throw XCTSkip("these tests run under mpirun themselves")
        }
        XCTAssertNil(try MPIGroup.fromEnvironment())
    }

    func testMissingOpenMPIIsOneSentence() throws {
        // As if mpirun had started the process, on a machine without libmpi.so.40.
        let result = try Self.run(Self.mpiCheck, [], environment: [
            "OMPI_COMM_WORLD_SIZE": "1", "ZOO_MPI_LIBRARY": "/nonexistent/libmpi.so.40",
        ])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("mpi-check: mpirun started this process, but Open MPI's library could not be loaded ("),
                      result.stderr)
        XCTAssertTrue(result.stderr.contains("install Debian's openmpi-bin"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    func testCollectivesBetweenTwoRanks() throws {
        // 64-byte calls: the 10,007-float allreduce goes in 626 calls, the broadcast in 626.
        let result = try runUnderMPI(["--chunk-bytes", "64"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        for rank in 0 ..< 2 {
            let prefix = "rank \(rank)/2: "
            // Σ over i < 10,007 of 3 · (i mod 97) = 3 · (103 · 4656 + Σ j < 16 of j) = 1,439,064.
            XCTAssertTrue(result.stdout.contains(prefix + "allreduce of 10007 floats ok, total 1439064"), result.stdout)
            XCTAssertTrue(result.stdout.contains(prefix + "broadcast of 10001 floats ok"), result.stdout)
            XCTAssertTrue(result.stdout.contains(prefix + "allreduce of doubles on a second thread [3.0, 0.25]"), result.stdout)
            XCTAssertTrue(result.stdout.contains(prefix + "mismatched broadcast refused: MPI broadcast of "), result.stdout)
        }
        XCTAssertTrue(result.stdout.contains("all ranks ok"), result.stdout)
    }

    func testTheCheckCanFail() throws {
        let result = try runUnderMPI(["--wrong"])
        XCTAssertNotEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("rank 0/2: mismatch: allreduce element 1 is 3.0, expected 1.0"), result.stdout)
        XCTAssertTrue(result.stdout.contains("2 ranks saw wrong values"), result.stdout)
    }
}
