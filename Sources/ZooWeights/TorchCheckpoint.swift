import Foundation
import ZooTensor

/// Reads the state_dicts PyTorch's `torch.save` writes, without Python: the zip format
/// (`archive/data.pkl` plus one entry per storage, PyTorch ≥ 1.6) and the legacy format (a
/// run of pickles followed by the raw storages, as older torchvision checkpoints are).
public enum TorchCheckpoint {
    /// The tensors of the state_dict in `path`, in the file's order. A checkpoint that wraps
    /// its state_dict (`{"state_dict": …}` or `{"model": …}`) is unwrapped.
    public static func read(_ path: String) throws -> [(name: String, tensor: Tensor)] {
        guard FileManager.default.isReadableFile(atPath: path),
              let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw ZooError("cannot read '\(path)': no such file or not readable")
        }
        return try decode(data, name: path)
    }

    public static func decode(_ data: Data, name: String) throws -> [(name: String, tensor: Tensor)] {
        if ZipArchive.looksLikeZip(data) { return try decodeZip(data, name: name) }
        if data.first == 0x80 { return try decodeLegacy(data, name: name) }
        throw ZooError("'\(name)' is not a PyTorch checkpoint (neither a zip archive nor a pickle)")
    }

    static func storageReference(_ pid: PickleValue, _ name: String) throws -> StorageReference {
        guard let fields = pid.items, fields.count >= 5, fields[0].text == "storage",
              case .global(let type) = fields[1], let dtype = RestrictedUnpickler.storageTypes[type],
              let key = fields[2].text ?? fields[2].integer.map(String.init), let count = fields[4].integer, count >= 0 else {
            throw ZooError("'\(name)' cannot be loaded: its pickle names a storage in a form PyTorch does not write")
        }
        return StorageReference(key: key, dtype: dtype, count: count)
    }

    static func decodeZip(_ data: Data, name: String) throws -> [(name: String, tensor: Tensor)] {
        let archive = try ZipArchive(data, name: name)
        guard let pickleEntry = archive.entries.keys.first(where: { $0.hasSuffix("/data.pkl") || $0 == "data.pkl" }) else {
            throw ZooError("'\(name)' is a zip archive but not a PyTorch checkpoint: it has no data.pkl")
        }
        let prefix = String(pickleEntry.dropLast("data.pkl".count))
        var unpickler = RestrictedUnpickler(try archive.contents(of: pickleEntry), name: name) { pid in
            .storage(try storageReference(pid, name))
        }
        let root = try unpickler.load()
        var storages: [String: Data] = [:]
        return try tensors(in: root, name: name) { storage in
            if let cached = storages[storage.key] { return cached }
            let bytes = try archive.contents(of: prefix + "data/" + storage.key)
            storages[storage.key] = bytes
            return bytes
        }
    }

    static func decodeLegacy(_ data: Data, name: String) throws -> [(name: String, tensor: Tensor)] {
        func next(_ position: inout Int) throws -> PickleValue {
            var unpickler = RestrictedUnpickler(data, name: name, start: position) { pid in
                .storage(try storageReference(pid, name))
            }
            let value = try unpickler.load()
            position = unpickler.position
            return value
        }
        var position = 0
        // The legacy magic number 0x1950a86a20f9469cfc6c, pickled as a 10-byte LONG1.
        guard case .bytes(let magic) = try next(&position),
              magic.elementsEqual([0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]) else {
            throw ZooError("'\(name)' is not a PyTorch checkpoint: it is a pickle without PyTorch's magic number")
        }
        let protocolVersion = try next(&position).integer
        guard protocolVersion == 1001 else {
            throw ZooError("'\(name)' is not a PyTorch checkpoint: its legacy header has protocol \(protocolVersion.map(String.init) ?? "?"), not 1001")
        }
        _ = try next(&position)                                  // sys_info
        let root = try next(&position)
        guard let keys = try next(&position).items?.compactMap(\.text) else {
            throw ZooError("'\(name)' cannot be loaded: its storage list is missing")
        }
        // Each storage: an 8-byte little-endian element count, then the elements.
        var storages: [String: Data] = [:]
        let widths = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "U8": 1, "I16": 2, "I8": 1, "BOOL": 1]
        var storageTypes: [String: String] = [:]
        collectStorages(root) { storageTypes[$0.key] = $0.dtype }
        for key in keys {
            guard position + 8 <= data.count else { throw ZooError("'\(name)' is truncated: storage '\(key)' is missing") }
            var count = 0
            for i in 0..<8 { count |= Int(data[data.startIndex + position + i]) << (8 * i) }
            position += 8
            let width = widths[storageTypes[key] ?? "F32"] ?? 4
            guard count >= 0, count <= (data.count - position) / width else {
                throw ZooError("'\(name)' is truncated: storage '\(key)' claims \(count) elements, more than the file holds")
            }
            storages[key] = data.subdata(in: data.startIndex + position ..< data.startIndex + position + count * width)
            position += count * width
        }
        return try tensors(in: root, name: name) { storage in
            guard let bytes = storages[storage.key] else { throw ZooError("'\(name)' cannot be loaded: storage '\(storage.key)' is missing") }
            return bytes
        }
    }

    static func collectStorages(_ value: PickleValue, _ visit: (StorageReference) -> Void) {
        switch value {
        case .tensor(let t): visit(t.storage)
        case .tuple(let items), .list(let items): items.forEach { collectStorages($0, visit) }
        case .dict(let pairs): pairs.forEach { collectStorages($0.value, visit) }
        default: break
        }
    }

    /// The (name, tensor) pairs of a state_dict value, reading storages through `bytes`.
    static func tensors(in root: PickleValue, name: String, bytes: (StorageReference) throws -> Data) throws -> [(name: String, tensor: Tensor)] {
        guard case .dict(var pairs) = root else {
            throw ZooError("'\(name)' does not hold a state_dict (a dictionary of tensors)")
        }
        for wrapper in ["state_dict", "model"] {
            if let inner = pairs.first(where: { $0.key.text == wrapper })?.value, case .dict(let innerPairs) = inner,
               !pairs.contains(where: { if case .tensor = $0.value { return true }; return false }) {
                pairs = innerPairs
                break
            }
        }
        var result: [(String, Tensor)] = []
        for (key, value) in pairs {
            guard let keyText = key.text else { continue }
            guard case .tensor(let reference) = value else { continue }
            result.append((keyText, try materialise(reference, bytes: try bytes(reference.storage), name: name, key: keyText)))
        }
        guard !result.isEmpty else { throw ZooError("'\(name)' holds no tensors") }
        return result
    }

    /// Gathers a strided view of a storage into a dense Float32 tensor, checking bounds.
    static func materialise(_ t: TensorReference, bytes: Data, name: String, key: String) throws -> Tensor {
        let width = SafeTensors.elementWidth(t.storage.dtype) ?? 0
        guard width > 0 else { throw ZooError("'\(name)': tensor '\(key)' has dtype \(t.storage.dtype), which ConvZoo does not read") }
        let available = bytes.count / width
        guard t.shape.allSatisfy({ $0 >= 0 }), t.strides.allSatisfy({ $0 >= 0 }), t.offset >= 0 else {
            throw ZooError("'\(name)': tensor '\(key)' has a negative size, stride or offset")
        }
        var count = 1
        var last = t.offset
        for (size, stride) in zip(t.shape, t.strides) {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, product <= max(available, 1) * 64 else { throw ZooError("'\(name)': tensor '\(key)' of shape \(t.shape) is larger than its storage") }
            count = product
            if size > 0 { last += (size - 1) * stride }
        }
        guard count == 0 || last < available else {
            throw ZooError("'\(name)': tensor '\(key)' of shape \(t.shape) reaches past the end of its storage")
        }
        let values = SafeTensors.convert(bytes, dtype: t.storage.dtype)
        var contiguous = true
        var expected = 1
        for (size, stride) in zip(t.shape, t.strides).reversed() where size != 1 {
            if stride != expected { contiguous = false }
            expected *= size
        }
        if contiguous { return Tensor(shape: t.shape, scalars: Array(values[t.offset ..< t.offset + count])) }
        var scalars = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: t.shape.count)
        for i in 0..<count {
            var source = t.offset
            for d in 0..<index.count { source += index[d] * t.strides[d] }
            scalars[i] = values[source]
            var d = index.count - 1
            while d >= 0 { index[d] += 1; if index[d] < t.shape[d] { break }; index[d] = 0; d -= 1 }
        }
        return Tensor(shape: t.shape, scalars: scalars)
    }
}
