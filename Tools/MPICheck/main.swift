// mpi-check: runs the MPI bridge's collectives under mpirun and checks their results on
// every rank, or times them.
//
//   mpirun -np 2 --oversubscribe --allow-run-as-root mpi-check [--chunk-bytes B] [--wrong]
//   mpirun -np 2 --oversubscribe --allow-run-as-root mpi-check --bench [--runs N]
//   mpirun -np 2 ... mpi-check --fault stall|exit|quit|abort [--fault-rank R]
//
// The check exits 0 when every rank saw the expected values, 1 otherwise (every rank agrees
// on the verdict). --chunk-bytes makes one MPI call carry fewer bytes, so that small buffers
// go in several calls; --wrong expects a wrong sum (a negative control: the check must fail).
// --fault makes one rank misbehave while the others wait in an allreduce: stall (sleeps, to
// be killed by hand), exit (exits 1), quit (exits 0 without MPI_Finalize), abort (MPI_Abort
// with code 3).
import CZooMPI
import Foundation
import ZooDistributed
import ZooTensor

struct Options {
    var chunkBytes = 0
    var wrong = false
    var bench = false
    var runs = 15
    var fault: String?
    var faultRank = 1
}

func parse(_ arguments: [String]) throws -> Options {
    var options = Options()
    var rest = arguments[...]
    func value(_ flag: String) throws -> String {
        guard let next = rest.popFirst() else { throw ZooError("\(flag) needs a value") }
        return next
    }
    func number(_ flag: String) throws -> Int {
        let text = try value(flag)
        guard let number = Int(text), number >= 0 else { throw ZooError("\(flag) takes a whole number, not '\(text)'") }
        return number
    }
    while let argument = rest.popFirst() {
        switch argument {
        case "--chunk-bytes": options.chunkBytes = try number(argument)
        case "--wrong": options.wrong = true
        case "--bench": options.bench = true
        case "--runs": options.runs = max(1, try number(argument))
        case "--fault":
            let mode = try value(argument)
            guard ["stall", "exit", "quit", "abort"].contains(mode) else {
                throw ZooError("--fault takes stall, exit, quit or abort, not '\(mode)'")
            }
            options.fault = mode
        case "--fault-rank": options.faultRank = try number(argument)
        default: throw ZooError("unknown argument '\(argument)'")
        }
    }
    return options
}

/// Broadcast, allreduce of floats (longer than one chunk when --chunk-bytes is small) and of
/// doubles, and a broadcast whose ranks disagree on the length; returns the failures seen here.
func check(_ group: MPIGroup, wrong: Bool) throws -> [String] {
    var failures: [String] = []
    let prefix = "rank \(group.rank)/\(group.size)"
    let level = zoo_mpi_thread_level()
    print("\(prefix): thread level \(level)\(level == 3 ? " (MPI_THREAD_MULTIPLE)" : "")")

    let broadcastCount = 10_001
    var tensor = Tensor(zeros: [broadcastCount], value: -1)
    if group.rank == 0 { tensor = Tensor(shape: [broadcastCount], scalars: (0 ..< broadcastCount).map { Float($0) * 0.5 }) }
    try group.broadcast(&tensor)
    let badBroadcast = (0 ..< broadcastCount).first { tensor.scalars[$0] != Float($0) * 0.5 }
    if let index = badBroadcast { failures.append("broadcast element \(index) is \(tensor.scalars[index])") }
    print("\(prefix): broadcast of \(broadcastCount) floats \(badBroadcast == nil ? "ok" : "WRONG")")

    // Rank r contributes (r + 1) · (i mod 97): the sum is size(size + 1)/2 · (i mod 97), exact in Float.
    let reduceCount = 10_007
    var values = (0 ..< reduceCount).map { Float((group.rank + 1) * ($0 % 97)) }
    try values.withUnsafeMutableBufferPointer { try group.allReduceSum($0) }
    let ranks = wrong ? group.size - 1 : group.size
    let factor = Float(ranks * (ranks + 1) / 2)
    let badReduce = (0 ..< reduceCount).first { values[$0] != factor * Float($0 % 97) }
    if let index = badReduce { failures.append("allreduce element \(index) is \(values[index]), expected \(factor * Float(index % 97))") }
    let total = values.reduce(0.0) { $0 + Double($1) }
    print("\(prefix): allreduce of \(reduceCount) floats \(badReduce == nil ? "ok" : "WRONG"), total \(Int(total))")

    // On a thread of its own, as a training loop's communication thread would call it.
    final class Outcome { var metrics: [Double] = []; var error: Error? }
    let outcome = Outcome()
    outcome.metrics = [Double(group.rank + 1), 0.25 * Double(group.rank)]
    let done = DispatchSemaphore(value: 0)
    Thread {
        do { try group.allReduceSum(&outcome.metrics) } catch { outcome.error = error }
        done.signal()
    }.start()
    done.wait()
    if let error = outcome.error { throw error }
    let metrics = outcome.metrics
    let expected = [Double(group.size * (group.size + 1) / 2), 0.125 * Double(group.size * (group.size - 1))]
    if metrics != expected { failures.append("allreduce of doubles gave \(metrics), expected \(expected)") }
    print("\(prefix): allreduce of doubles on a second thread \(metrics)")

    // Rank 1 passes one element fewer: every rank must refuse this broadcast alike.
    if group.size > 1 {
        var mismatched = Tensor(zeros: [group.rank == 1 ? 9 : 10])
        do {
            try group.broadcast(&mismatched)
            failures.append("a broadcast of mismatched lengths went through")
        } catch {
            print("\(prefix): mismatched broadcast refused: \(error)")
        }
    }
    try group.barrier()
    return failures
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Times each collective `runs` times after two untimed runs, each run starting from a barrier;
/// rank 0 prints the median, minimum and maximum of its own times.
func bench(_ group: MPIGroup, runs: Int) throws {
    func report(_ name: String, bytes: Int, _ body: () throws -> Void) throws {
        var times: [Double] = []
        for run in 0 ..< runs + 2 {
            try group.barrier()
            let time = try seconds(body)
            if run >= 2 { times.append(time) }
        }
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        if group.rank == 0 {
            let milliseconds = { (time: Double) in String(format: "%.3f", time * 1000) }
            print("\(name): median \(milliseconds(median)) ms (min \(milliseconds(times[0])), max \(milliseconds(times.last!))) "
                + "over \(runs) runs, \(String(format: "%.2f", Double(bytes) / median / 1e9)) GB/s of buffer, \(group.size) ranks")
        }
    }
    for count in [25_600_000, 270_000] {
        var gradients = [Float](repeating: Float(group.rank), count: count)
        try gradients.withUnsafeMutableBufferPointer { buffer in
            try report("allreduce_f32_\(count)", bytes: 4 * count) { try group.allReduceSum(buffer) }
        }
    }
    var parameters = Tensor(zeros: [25_600_000], value: Float(group.rank))
    try report("broadcast_f32_25600000", bytes: 4 * parameters.count) { try group.broadcast(&parameters) }
}

/// One rank misbehaves while the others wait in an allreduce.
func fault(_ group: MPIGroup, mode: String, rank: Int) throws {
    var values = [Float](repeating: 1, count: 1000)
    if group.rank == rank {
        print("rank \(rank) (pid \(getpid())) at \(String(format: "%.3f", Date().timeIntervalSince1970)): \(mode)")
        fflush(stdout)
        switch mode {
        case "stall": sleep(600)
        case "exit": exit(1)
        case "quit": exit(0)
        default: group.abort(code: 3); exit(3)
        }
    }
    print("rank \(group.rank) (pid \(getpid())): waiting in an allreduce")
    fflush(stdout)
    try values.withUnsafeMutableBufferPointer { try group.allReduceSum($0) }
    print("rank \(group.rank): the allreduce returned")
}

do {
    let options = try parse(Array(CommandLine.arguments.dropFirst()))
    guard let group = try MPIGroup.fromEnvironment() else {
        throw ZooError("mpi-check runs under mpirun: mpirun -np 2 --oversubscribe --allow-run-as-root mpi-check")
    }
    zoo_mpi_set_chunk_bytes(options.chunkBytes)
    if options.bench {
        try bench(group, runs: options.runs)
    } else if let mode = options.fault {
        try fault(group, mode: mode, rank: options.faultRank)
    } else {
        let failures = try check(group, wrong: options.wrong)
        for failure in failures { print("rank \(group.rank)/\(group.size): mismatch: \(failure)") }
        var failedRanks = [failures.isEmpty ? 0.0 : 1.0]
        try group.allReduceSum(&failedRanks)
        try group.finish()
        if group.rank == 0 { print(failedRanks[0] == 0 ? "all ranks ok" : "\(Int(failedRanks[0])) ranks saw wrong values") }
        exit(failedRanks[0] == 0 ? 0 : 1)
    }
    try group.finish()
} catch {
    FileHandle.standardError.write(Data("mpi-check: \(error)\n".utf8))
    exit(1)
}
