import CCodecs
import Foundation
import ZooTensor

/// The dataset file formats, parsed from bytes (the fuzz targets call these directly).
public enum DataFile {
    /// The most bytes a gzip-compressed dataset file may inflate to.
    public static let maximumBytes = 1 << 32

    /// The bytes of `path`, inflated when they are gzip data.
    static func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else { throw ZooError("cannot read '\(path)': no such file or not readable") }
        return try inflated(data, name: path)
    }

    /// `data` itself, or inflated when it starts with gzip's magic number.
    public static func inflated(_ data: Data, name: String, maximumBytes: Int = maximumBytes) throws -> Data {
        guard data.starts(with: [0x1F, 0x8B]) else { return data }
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            zoo_gunzip(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, maximumBytes, &output, &size, &message, message.count)
        }
        guard status == 0, let output else { throw ZooError("'\(name)' cannot be decompressed: \(String(cString: message))") }
        defer { zoo_buffer_free(output) }
        return Data(bytes: output, count: size)
    }

    static func idx(_ path: String) throws -> (dimensions: [Int], values: Data) {
        try idx(try read(path), name: path)
    }

    /// An IDX file (MNIST's format): magic 0x0000 08 D (unsigned bytes, D dimensions), D
    /// big-endian sizes, then the data. Returns the sizes and the bytes.
    public static func idx(_ data: Data, name: String) throws -> (dimensions: [Int], values: Data) {
        func fail(_ why: String) -> ZooError { ZooError("'\(name)' is not an IDX file of bytes: \(why)") }
        guard data.count >= 4, data[data.startIndex] == 0, data[data.startIndex + 1] == 0 else { throw fail("its magic number is wrong") }
        guard data[data.startIndex + 2] == 0x08 else { throw fail("its values are not unsigned bytes") }
        let rank = Int(data[data.startIndex + 3])
        guard rank >= 1 && rank <= 4, data.count >= 4 + 4 * rank else { throw fail("its header is truncated") }
        var dimensions: [Int] = []
        for d in 0..<rank {
            let o = data.startIndex + 4 + 4 * d
            dimensions.append(Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3]))
        }
        let total = dimensions.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        guard total == data.count - 4 - 4 * rank else {
            throw fail("its header announces \(dimensions.map(String.init).joined(separator: "×")) values, but it holds \(data.count - 4 - 4 * rank)")
        }
        return (dimensions, data.subdata(in: data.startIndex + 4 + 4 * rank ..< data.endIndex))
    }

    /// Images and labels from an IDX image file and an IDX label file.
    public static func idxDataset(images imageData: Data, labels labelData: Data, imagesName: String, labelsName: String,
                                  name: String, classNames: [String]) throws -> ImageDataset {
        let images = try idx(imageData, name: imagesName), labels = try idx(labelData, name: labelsName)
        guard images.dimensions.count == 3, images.dimensions[1] > 0, images.dimensions[2] > 0 else {
            throw ZooError("'\(imagesName)' does not hold images: its sizes are \(images.dimensions.map(String.init).joined(separator: "×")), not N×H×W")
        }
        guard labels.dimensions.count == 1 else { throw ZooError("'\(labelsName)' does not hold labels: it has \(labels.dimensions.count) dimensions, not 1") }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw ZooError("'\(imagesName)' holds \(images.dimensions[0]) images but '\(labelsName)' \(labels.dimensions[0]) labels")
        }
        guard images.dimensions[0] > 0 else { throw ZooError("'\(imagesName)' holds no images") }
        let labelValues = labels.values.map(Int.init)
        if let bad = labelValues.first(where: { $0 >= classNames.count }) {
            throw ZooError("'\(labelsName)' has the label \(bad), outside the \(classNames.count) classes")
        }
        return ImageDataset(name: name, shape: [1, images.dimensions[1], images.dimensions[2]], pixels: [UInt8](images.values),
                            labels: labelValues, classNames: classNames)
    }

    /// One CIFAR-10 binary batch: records of one label byte and 3×32×32 pixel bytes.
    public static func cifar10Batch(_ data: Data, name: String) throws -> (pixels: [UInt8], labels: [Int]) {
        let record = 1 + 3 * 32 * 32
        guard data.count % record == 0, !data.isEmpty else {
            throw ZooError("'\(name)' is not a CIFAR-10 batch: \(data.count) bytes is not a whole number of \(record)-byte records")
        }
        var pixels: [UInt8] = [], labels: [Int] = []
        pixels.reserveCapacity(data.count / record * (record - 1))
        for offset in stride(from: data.startIndex, to: data.endIndex, by: record) {
            let label = Int(data[offset])
            guard label < 10 else { throw ZooError("'\(name)' has the label \(label), outside CIFAR-10's 10 classes") }
            labels.append(label)
            pixels += data[offset + 1 ..< offset + record]
        }
        return (pixels, labels)
    }
}
