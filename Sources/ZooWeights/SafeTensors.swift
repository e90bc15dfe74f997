import Foundation
import ZooTensor

/// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
/// mapping each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets into the
/// data that follows the header) plus an optional "__metadata__" of string pairs, then the
/// tensor data, little-endian and row-major.
public struct SafeTensors {
    public var tensors: [(name: String, tensor: Tensor)]
    public var metadata: [String: String]

    public init(tensors: [(name: String, tensor: Tensor)] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> Tensor? { tensors.first { $0.name == name }?.tensor }

    /// Header size above which a file is refused (safetensors' own limit is 100 MB).
    public static let maximumHeaderBytes = 100_000_000

    /// Reads `path`. Every offset and size is checked against the file before use.
    public static func read(_ path: String) throws -> SafeTensors {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ZooError("cannot read '\(path)': no such file or not readable")
        }
        return try decode(data, name: path)
    }

    public static func decode(_ data: Data, name: String) throws -> SafeTensors {
        func fail(_ why: String) -> ZooError { ZooError("'\(name)' is not a valid safetensors file: \(why)") }
        guard data.count >= 8 else { throw fail("it is shorter than the 8-byte header length") }
        var headerLength: UInt64 = 0
        for (i, byte) in data.prefix(8).enumerated() { headerLength |= UInt64(byte) << UInt64(8 * i) }
        guard headerLength <= UInt64(maximumHeaderBytes) else { throw fail("its header length \(headerLength) exceeds the limit of \(maximumHeaderBytes) bytes") }
        guard 8 + Int(headerLength) <= data.count else { throw fail("its header length \(headerLength) runs past the end of the file (\(data.count) bytes)") }
        let headerData = data.subdata(in: data.startIndex + 8 ..< data.startIndex + 8 + Int(headerLength))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw fail("its header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [(name: String, begin: Int, end: Int, dtype: String, shape: [Int])] = []
        for (key, value) in header {
            if key == "__metadata__" {
                guard let pairs = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in pairs {
                    guard let text = v as? String else { throw fail("__metadata__ value '\(k)' is not a string") }
                    metadata[k] = text
                }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeValues = info["shape"] as? [Any], let offsetValues = info["data_offsets"] as? [Any],
                  offsetValues.count == 2 else { throw fail("tensor '\(key)' lacks dtype, shape or data_offsets") }
            let shape = try shapeValues.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0, n <= Int(Int32.max) else { throw fail("tensor '\(key)' has an invalid shape") }
                return n
            }
            let offsets = try offsetValues.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else { throw fail("tensor '\(key)' has an invalid data offset") }
                return n
            }
            guard let width = elementWidth(dtype) else { throw ZooError("'\(name)': tensor '\(key)' has dtype \(dtype), which ConvZoo does not read (F32, F16, BF16, F64 and integer types are read)") }
            var count = 1
            for d in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, product <= dataLength else { throw fail("tensor '\(key)' of shape \(shape) is larger than the file") }
                count = product
            }
            guard offsets[0] <= offsets[1], offsets[1] <= dataLength else {
                throw fail("tensor '\(key)' has data offsets \(offsets) outside the \(dataLength) data bytes")
            }
            guard offsets[1] - offsets[0] == count * width else {
                throw fail("tensor '\(key)' of shape \(shape) and dtype \(dtype) needs \(count * width) bytes, its offsets span \(offsets[1] - offsets[0])")
            }
            entries.append((key, offsets[0], offsets[1], dtype, shape))
        }
        entries.sort { $0.begin < $1.begin || ($0.begin == $1.begin && $0.name < $1.name) }
        for (a, b) in zip(entries, entries.dropFirst()) where b.begin < a.end {
            throw fail("tensors '\(a.name)' and '\(b.name)' overlap")
        }
        var tensors: [(String, Tensor)] = []
        for entry in entries {
            let bytes = data.subdata(in: data.startIndex + dataStart + entry.begin ..< data.startIndex + dataStart + entry.end)
            tensors.append((entry.name, Tensor(shape: entry.shape, scalars: convert(bytes, dtype: entry.dtype))))
        }
        return SafeTensors(tensors: tensors, metadata: metadata)
    }

    static func elementWidth(_ dtype: String) -> Int? {
        switch dtype {
        case "F32", "I32": return 4
        case "F16", "BF16": return 2
        case "F64", "I64": return 8
        case "U8", "I8", "BOOL": return 1
        case "I16": return 2
        default: return nil
        }
    }

    static func convert(_ bytes: Data, dtype: String) -> [Float] {
        bytes.withUnsafeBytes { raw -> [Float] in
            switch dtype {
            case "F32": return (0..<raw.count / 4).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) }
            case "F64": return (0..<raw.count / 8).map { Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self).littleEndian)) }
            case "BF16": return (0..<raw.count / 2).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian) << 16) }
            case "F16": return (0..<raw.count / 2).map { halfToFloat(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian) }
            case "I64": return (0..<raw.count / 8).map { Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
            case "I32": return (0..<raw.count / 4).map { Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
            case "U8", "BOOL": return raw.map { Float($0) }
            case "I8": return raw.map { Float(Int8(bitPattern: $0)) }
            case "I16": return (0..<raw.count / 2).map { Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) }
            default: return []
            }
        }
    }

    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F), mantissa = UInt32(h & 0x3FF)
        if exponent == 0 { return Float(bitPattern: sign) + (sign != 0 ? -1 : 1) * Float(mantissa) * powf(2, -24) }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    /// The file's bytes: F32 tensors (I64 for `integerNames`), in the order given.
    public func encoded(integerNames: Set<String> = []) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, tensor) in tensors {
            let width = integerNames.contains(name) ? 8 : 4
            header[name] = ["dtype": width == 8 ? "I64" : "F32", "shape": tensor.shape, "data_offsets": [offset, offset + tensor.count * width]]
            offset += tensor.count * width
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for (name, tensor) in tensors {
            if integerNames.contains(name) {
                for v in tensor.scalars { withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) } }
            } else {
                tensor.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
            }
        }
        return data
    }

    /// Writes to a temporary file beside `path`, then renames it: a crash never leaves a
    /// truncated file at `path`.
    public func write(to path: String, integerNames: Set<String> = []) throws {
        let data = try encoded(integerNames: integerNames)
        try AtomicFile.write(data, to: path)
    }
}
