import Foundation
import ZooNN
@_spi(Kernels) import ZooTensor

/// The processes that train one model together, data-parallel (an MPI job: see
/// ZooDistributed's `MPIGroup`). Every process calls the same collectives in the same order.
public protocol TrainingGroup: AnyObject {
    /// This process's index, 0 ..< `size`; process 0 prints and writes files.
    var rank: Int { get }
    /// How many processes train together.
    var size: Int { get }
    /// Overwrites `tensor` with process `root`'s (same shape on every process).
    func broadcast(_ tensor: inout Tensor, root: Int) throws
    /// Sums the buffer over the processes, in place.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Sums the buffer over the processes, in place.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Sums the values over the processes, in place.
    func allReduceSum(_ values: inout [Double]) throws
}

/// How data-parallel training runs, besides the group.
public struct DataParallelOptions {
    /// Gradients are summed in buckets of about this many bytes, each sent as soon as its
    /// gradients are complete in the backward pass (PyTorch DDP's default is 25 MB).
    public var bucketBytes = 25 << 20
    /// Batch statistics over the whole global batch (synchronised batch norm) instead of each
    /// process's own share.
    public var synchronizeBatchNorm = false

    public init() {}
}

/// The communication of data-parallel training: every collective goes through one serial
/// queue, so that all processes issue them in the same order whatever thread asks, and
/// gradient buckets are summed there while the backward pass goes on.
final class DataParallelContext {
    let group: TrainingGroup
    let options: DataParallelOptions
    let queue = DispatchQueue(label: "convzoo.allreduce")
    /// The first error a queued collective met (the step then fails).
    private var failure: Error?
    /// Seconds the training thread spent waiting for collectives since `resetTimes`.
    private(set) var waitSeconds = 0.0
    /// Seconds of collectives on the queue since `resetTimes` (read after a wait).
    private(set) var collectiveSeconds = 0.0

    init(group: TrainingGroup, options: DataParallelOptions) { (self.group, self.options) = (group, options) }

    /// Runs `body` on the communication queue after everything queued before it, and waits.
    func now<R>(_ body: () throws -> R) throws -> R {
        let start = Date()
        defer { waitSeconds += Date().timeIntervalSince(start) }
        return try queue.sync { () throws -> R in
            if let failure { throw failure }
            let start = Date()
            defer { collectiveSeconds += Date().timeIntervalSince(start) }
            return try body()
        }
    }

    /// Queues `body` on the communication queue and returns at once.
    func later(_ body: @escaping () throws -> Void) {
        queue.async { [self] in
            guard failure == nil else { return }
            let start = Date()
            do { try body() } catch { failure = error }
            collectiveSeconds += Date().timeIntervalSince(start)
        }
    }

    /// Starts counting `waitSeconds` and `collectiveSeconds` again (nothing may be queued).
    func resetTimes() { queue.sync { (waitSeconds, collectiveSeconds) = (0, 0) } }

    /// Process 0's parameters and buffers everywhere.
    func broadcastState(_ model: Module) throws {
        let parameters = model.namedParameters().map(\.variable)
        let values = try broadcast(parameters.map(\.value))
        for (p, value) in zip(parameters, values) where p.value != value { p.value = value }
        try broadcastBuffers(model)
    }

    /// Process 0's buffers (running statistics) everywhere, as DDP does before each forward pass.
    func broadcastBuffers(_ model: Module) throws {
        let buffers = model.namedBuffers().map(\.buffer)
        let values = try broadcast(buffers.map(\.value))
        // Unchanged values are not assigned, so the versions of what plans were built from stay.
        for (b, value) in zip(buffers, values) where b.value != value { b.value = value }
    }

    /// Process 0's tensors, in one broadcast.
    private func broadcast(_ tensors: [Tensor]) throws -> [Tensor] {
        var flat = Tensor(shape: [tensors.reduce(0) { $0 + $1.count }], scalars: tensors.flatMap(\.scalars))
        try now { try group.broadcast(&flat, root: 0) }
        var offset = 0
        return tensors.map { t in
            defer { offset += t.count }
            return Tensor(shape: t.shape, scalars: Array(flat.scalars[offset ..< offset + t.count]))
        }
    }

    /// Sums per-channel values over the processes for synchronised batch norm. An error is
    /// kept for the end of the step (the batch norm goes on with this process's values).
    func crossReplicaSum(_ values: inout [Double]) {
        do { try now { try group.allReduceSum(&values) } } catch { record(error) }
    }

    private func record(_ error: Error) { queue.sync { if failure == nil { failure = error } } }
}

/// Sums the gradients of one backward pass over the processes, in buckets that start as soon
/// as their parameters' gradients are complete (in the reverse of registration order, which
/// is roughly the order the backward pass completes them), always in bucket order.
///
/// What is summed is each gradient's double sums before rounding (`Variable.exactGradient`,
/// see `BatchSums`), rounded to float once after the sum, so that N processes compute the
/// gradients one process does (twice the bytes of a float sum).
final class GradientBuckets {
    let context: DataParallelContext
    let parameters: [Variable]
    /// Parameter indices per bucket, and each bucket's buffer (written on the training thread
    /// before the bucket is queued, then only by the communication queue until `finish`).
    let members: [[Int]]
    let buffers: [UnsafeMutableBufferPointer<Double>]
    private let bucketOf: [ObjectIdentifier: Int]
    private var readyCount: [Int]
    private var hadGradient: [Bool]
    private var nextToSend = 0

    init(_ parameters: [Variable], context: DataParallelContext) {
        self.parameters = parameters
        self.context = context
        var members: [[Int]] = [], current: [Int] = [], bytes = 0
        for index in parameters.indices.reversed() {
            current.append(index)
            bytes += parameters[index].value.count * 8
            if bytes >= context.options.bucketBytes {
                members.append(current)
                (current, bytes) = ([], 0)
            }
        }
        if !current.isEmpty { members.append(current) }
        self.members = members
        buffers = members.map { .allocate(capacity: $0.reduce(0) { $0 + parameters[$1].value.count }) }
        var bucketOf: [ObjectIdentifier: Int] = [:]
        for (bucket, indices) in members.enumerated() { for i in indices { bucketOf[ObjectIdentifier(parameters[i])] = bucket } }
        self.bucketOf = bucketOf
        readyCount = members.map { _ in 0 }
        hadGradient = parameters.map { _ in false }
        for p in parameters { p.keepsExactGradient = true }
    }

    deinit {
        // Nothing queued may still use the buffers.
        context.queue.sync {}
        for buffer in buffers { buffer.deallocate() }
        for p in parameters { (p.keepsExactGradient, p.exactGradient) = (false, nil) }
    }

    /// Before a backward pass.
    func reset() {
        readyCount = members.map { _ in 0 }
        hadGradient = parameters.map { _ in false }
        nextToSend = 0
    }

    /// Called by the backward pass when `variable`'s gradient is complete.
    func ready(_ variable: Variable) {
        guard let bucket = bucketOf[ObjectIdentifier(variable)] else { return }
        readyCount[bucket] += 1
        sendReadyBuckets()
    }

    /// Sends every complete bucket from the next one in order.
    private func sendReadyBuckets(flush: Bool = false) {
        while nextToSend < members.count && (flush || readyCount[nextToSend] == members[nextToSend].count) {
            send(nextToSend)
            nextToSend += 1
        }
    }

    private func send(_ bucket: Int) {
        let buffer = buffers[bucket]
        var offset = 0
        for index in members[bucket] {
            let p = parameters[index]
            let count = p.value.count
            let target = UnsafeMutableBufferPointer(rebasing: buffer[offset ..< offset + count])
            if let exact = p.exactGradient {
                _ = target.initialize(from: exact)
            } else if let grad = p.grad {
                // A gradient no operation gave as sums (a parameter used through another operation).
                grad.withUnsafeBufferPointer { g in for i in 0..<count { target[i] = Double(g[i]) } }
            } else {
                target.initialize(repeating: 0)
            }
            hadGradient[index] = p.grad != nil
            p.exactGradient = nil
            offset += count
        }
        context.later { [context] in try context.group.allReduceSum(buffer) }
    }

    /// After the backward pass: sends what is left (parameters without a gradient this step),
    /// waits for every sum, and writes the sums back as the gradients. A parameter that no
    /// process gave a gradient (an unused head) keeps none, as in one process.
    func finish() throws {
        sendReadyBuckets(flush: true)
        var present = hadGradient.map { $0 ? 1.0 : 0 }
        // Queued after every bucket: it throws the first error any of them met.
        try context.now { try context.group.allReduceSum(&present) }
        for (bucket, indices) in members.enumerated() {
            var offset = 0
            for index in indices {
                let p = parameters[index]
                let count = p.value.count
                if present[index] > 0 {
                    p.grad = Tensor(shape: p.value.shape, scalars: buffers[bucket][offset ..< offset + count].map(Float.init))
                }
                offset += count
            }
        }
    }
}
