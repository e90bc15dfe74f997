import Foundation

/// Builds safetensors bytes by hand, including broken ones.
public enum Craft {
    public static func safetensors(header: String, data: Data = Data(), headerLength: UInt64? = nil) -> Data {
        var bytes = Data()
        let json = Data(header.utf8)
        withUnsafeBytes(of: (headerLength ?? UInt64(json.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(json)
        bytes.append(data)
        return bytes
    }

    public static func floats(_ values: [Float]) -> Data {
        values.withUnsafeBufferPointer { Data(buffer: $0) }
    }
}

