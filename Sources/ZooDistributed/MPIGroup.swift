import CZooMPI
import Foundation
import ZooTensor
import ZooTrain

/// The processes of one data-parallel job, started together by Open MPI's `mpirun`.
///
/// Open MPI is not linked: its library (`libmpi.so.40`, Debian's `openmpi-bin`) is opened
/// when ``fromEnvironment()`` finds that `mpirun` started this process, so a program that
/// never runs under `mpirun` needs no MPI to build or to run.
///
/// Every call is collective: all ranks make the same calls in the same order, with buffers
/// of the same length. Any one thread may make them (the bridge holds a lock around each),
/// so a training loop can run its allreduces on one communication thread while another
/// computes. A failed call throws a ``ZooError`` on that rank; when a peer dies, `mpirun`
/// usually ends the job before the call returns.
public final class MPIGroup {
    /// This process's index in the job, 0 ..< `size`; rank 0 writes files and prints.
    public let rank: Int
    /// The number of processes in the job.
    public let size: Int
    private var finished = false

    private static let lock = NSLock()
    private static weak var current: MPIGroup?

    private init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
    }

    /// The group of this job's processes when `mpirun` started this one, nil otherwise.
    ///
    /// The first call starts MPI (MPI_Init_thread); later calls return the same group while it
    /// lives. Throws, with the bridge's sentence, when `mpirun` started this process but MPI
    /// cannot be loaded or started, or was already finished here (MPI starts once per process).
    public static func fromEnvironment() throws -> MPIGroup? {
        guard zoo_mpi_launched() != 0 else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let current { return current }
        // Processes on one machine exchange through shared memory by copy, not by reading each
        // other's memory (Linux CMA, Open MPI's default): when a process dies mid-transfer, a CMA
        // read fails and Open MPI prints its own "Read -1, expected N, errno = 3" line besides the
        // one sentence the job ends with. Measured here: a 102 MB allreduce 125 ms against 101 with
        // CMA, a broadcast 20 ms against 34. Setting the variable chooses otherwise.
        setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0)
        let failure = sentence { zoo_mpi_init($0, $1) != 0 }
        if let failure { throw ZooError(failure) }
        let group = MPIGroup(rank: Int(zoo_mpi_rank()), size: Int(zoo_mpi_size()))
        current = group
        return group
    }

    /// Replaces `tensor`'s elements on every rank by those on `root`. Every rank passes a
    /// tensor with as many elements; when they differ, every rank throws.
    public func broadcast(_ tensor: inout Tensor, root: Int = 0) throws {
        guard (0 ..< size).contains(root) else {
            throw ZooError("broadcast root \(root) is not a rank of this group of \(size) processes")
        }
        let code = tensor.withUnsafeMutableBufferPointer { zoo_mpi_broadcast($0.baseAddress, $0.count, Int32(root)) }
        try check(code, "broadcast of \(tensor.count) floats from rank \(root)")
    }

    /// Replaces `buffer` on every rank by the elementwise sum of the buffers of all ranks.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try check(zoo_mpi_allreduce_sum(buffer.baseAddress, buffer.count), "allreduce of \(buffer.count) floats")
    }

    /// Replaces `values` on every rank by the elementwise sum over all ranks (metrics: loss
    /// sums, counts of correct answers).
    public func allReduceSum(_ values: inout [Double]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
    }

    /// Sums the buffer over all ranks, in place (data-parallel training's gradient sums).
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try check(zoo_mpi_allreduce_sum_double(buffer.baseAddress, buffer.count), "allreduce of \(buffer.count) doubles")
    }

    /// Returns when every rank has called it.
    public func barrier() throws {
        try check(zoo_mpi_barrier(), "barrier")
    }

    /// Asks MPI to end every process of the job with `code` (MPI_Abort): the command line's
    /// fatal path, after it printed why. A rank that just exits leaves the others waiting in
    /// their next collective until `mpirun` notices. MPI normally ends this process too; if it
    /// returns, the caller decides how to exit (a library never does).
    public func abort(code: Int32) {
        zoo_mpi_abort(code)
    }

    /// Finishes MPI (MPI_Finalize) on this rank, after which the group's calls throw. Call it on
    /// the thread that called ``fromEnvironment()``, once every rank is done communicating;
    /// otherwise `deinit` does it. A process that exits without it makes `mpirun` report that
    /// the process ended improperly.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        MPIGroup.lock.lock()
        if MPIGroup.current === self { MPIGroup.current = nil }
        MPIGroup.lock.unlock()
        try check(zoo_mpi_finalize(), "MPI_Finalize")
    }

    deinit {
        if !finished { _ = zoo_mpi_finalize() }
    }

    private func check(_ code: Int32, _ what: String) throws {
        guard code != 0 else { return }
        let reason = MPIGroup.sentence { zoo_mpi_describe(code, $0, $1); return true } ?? "MPI error \(code)"
        throw ZooError("MPI \(what) failed on rank \(rank) of \(size): \(reason)")
    }

    /// The text a C call writes into a buffer, when `body` returns true.
    private static func sentence(_ body: (UnsafeMutablePointer<CChar>, Int) -> Bool) -> String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { buffer in
            buffer.initialize(repeating: 0)
            guard let base = buffer.baseAddress, body(base, buffer.count) else { return nil }
            return String(cString: base)
        }
    }
}

/// An MPI job trains data-parallel through ZooTrain's `Trainer`.
extension MPIGroup: TrainingGroup {}
