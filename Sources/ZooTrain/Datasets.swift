import CCodecs
import Foundation
import ZooImage
import ZooTensor

/// A problem with a dataset, as one sentence naming the file or folder.
public struct DatasetError: LocalizedError, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// Labelled images held in memory as 8-bit pixels, [N, C, H, W] (channel planes).
public struct ImageDataset {
    public var name: String
    /// [C, H, W] of every image.
    public var shape: [Int]
    public var pixels: [UInt8]
    public var labels: [Int]
    public var classNames: [String]

    public var count: Int { labels.count }
    public var classCount: Int { classNames.count }
    var imageSize: Int { shape.reduce(1, *) }

    public init(name: String, shape: [Int], pixels: [UInt8], labels: [Int], classNames: [String]) {
        precondition(pixels.count == labels.count * shape.reduce(1, *), "\(labels.count) labels for \(pixels.count) bytes of \(shape) images")
        (self.name, self.shape, self.pixels, self.labels, self.classNames) = (name, shape, pixels, labels, classNames)
    }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int], name: String? = nil) -> ImageDataset {
        var out = [UInt8](); out.reserveCapacity(indices.count * imageSize)
        for i in indices { out += pixels[i * imageSize ..< (i + 1) * imageSize] }
        return ImageDataset(name: name ?? self.name, shape: shape, pixels: out, labels: indices.map { labels[$0] }, classNames: classNames)
    }

    /// The first `count` images after a seeded shuffle (a class-mixed subset), named
    /// "NAME (a seeded subset of COUNT of TOTAL images)" when it is smaller than the set.
    public func randomSubset(_ count: Int, seed: UInt64) -> ImageDataset {
        var rng = Xoshiro256(seed: seed)
        var order = Array(0..<self.count)
        order.shuffle(using: &rng)
        let kept = min(count, self.count)
        return subset(Array(order.prefix(kept)), name: kept < self.count ? "\(name) (a seeded subset of \(kept) of \(self.count) images)" : nil)
    }

    /// Splits off the last `fraction` of a seeded shuffle as a validation set.
    public func split(validationFraction fraction: Double, seed: UInt64) -> (train: ImageDataset, validation: ImageDataset) {
        var rng = Xoshiro256(seed: seed)
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        let validationCount = Int((Double(count) * fraction).rounded())
        return (subset(Array(order.dropLast(validationCount)), name: name + " (train part)"),
                subset(Array(order.suffix(validationCount)), name: name + " (validation part)"))
    }

    /// Per-channel mean and standard deviation of the pixels scaled to [0, 1].
    public func channelStatistics() -> (mean: [Float], std: [Float]) {
        let (c, plane) = (shape[0], shape[1] * shape[2])
        var sums = [Double](repeating: 0, count: c), squares = [Double](repeating: 0, count: c)
        for image in 0..<count {
            for channel in 0..<c {
                let base = image * imageSize + channel * plane
                for i in 0..<plane { let v = Double(pixels[base + i]) / 255; sums[channel] += v; squares[channel] += v * v }
            }
        }
        let n = Double(count * plane)
        let mean = sums.map { $0 / n }
        return (mean.map(Float.init), zip(squares, mean).map { Float(($0 / n - $1 * $1).squareRoot()) })
    }
}

// MARK: - File formats

/// The dataset file formats, parsed from bytes (the fuzz targets call these directly).
public enum DataFile {
    /// The most bytes a gzip-compressed dataset file may inflate to.
    public static let maximumBytes = 1 << 32

    /// The bytes of `path`, inflated when they are gzip data.
    static func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else { throw DatasetError("cannot read '\(path)': no such file or not readable") }
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
        guard status == 0, let output else { throw DatasetError("'\(name)' cannot be decompressed: \(String(cString: message))") }
        defer { zoo_buffer_free(output) }
        return Data(bytes: output, count: size)
    }

    static func idx(_ path: String) throws -> (dimensions: [Int], values: Data) {
        try idx(try read(path), name: path)
    }

    /// An IDX file (MNIST's format): magic 0x0000 08 D (unsigned bytes, D dimensions), D
    /// big-endian sizes, then the data. Returns the sizes and the bytes.
    public static func idx(_ data: Data, name: String) throws -> (dimensions: [Int], values: Data) {
        func fail(_ why: String) -> DatasetError { DatasetError("'\(name)' is not an IDX file of bytes: \(why)") }
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
            throw DatasetError("'\(imagesName)' does not hold images: its sizes are \(images.dimensions.map(String.init).joined(separator: "×")), not N×H×W")
        }
        guard labels.dimensions.count == 1 else { throw DatasetError("'\(labelsName)' does not hold labels: it has \(labels.dimensions.count) dimensions, not 1") }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DatasetError("'\(imagesName)' holds \(images.dimensions[0]) images but '\(labelsName)' \(labels.dimensions[0]) labels")
        }
        guard images.dimensions[0] > 0 else { throw DatasetError("'\(imagesName)' holds no images") }
        let labelValues = labels.values.map(Int.init)
        if let bad = labelValues.first(where: { $0 >= classNames.count }) {
            throw DatasetError("'\(labelsName)' has the label \(bad), outside the \(classNames.count) classes")
        }
        return ImageDataset(name: name, shape: [1, images.dimensions[1], images.dimensions[2]], pixels: [UInt8](images.values),
                            labels: labelValues, classNames: classNames)
    }

    /// One CIFAR-10 binary batch: records of one label byte and 3×32×32 pixel bytes.
    public static func cifar10Batch(_ data: Data, name: String) throws -> (pixels: [UInt8], labels: [Int]) {
        let record = 1 + 3 * 32 * 32
        guard data.count % record == 0, !data.isEmpty else {
            throw DatasetError("'\(name)' is not a CIFAR-10 batch: \(data.count) bytes is not a whole number of \(record)-byte records")
        }
        var pixels: [UInt8] = [], labels: [Int] = []
        pixels.reserveCapacity(data.count / record * (record - 1))
        for offset in stride(from: data.startIndex, to: data.endIndex, by: record) {
            let label = Int(data[offset])
            guard label < 10 else { throw DatasetError("'\(name)' has the label \(label), outside CIFAR-10's 10 classes") }
            labels.append(label)
            pixels += data[offset + 1 ..< offset + record]
        }
        return (pixels, labels)
    }
}

extension ImageDataset {
    public static let fashionMNISTClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    public static let cifar10Classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    /// Where Debian's dataset-fashion-mnist puts its files.
    public static let debianFashionMNIST = "/usr/share/datasets/fashion-mnist"

    /// MNIST-format images and labels (`train-images-idx3-ubyte[.gz]`, …) in `folder`.
    public static func idx(folder: String, train: Bool, name: String, classNames: [String]) throws -> ImageDataset {
        let prefix = train ? "train" : "t10k"
        func find(_ stem: String) throws -> String {
            for candidate in [stem, stem + ".gz"] where FileManager.default.fileExists(atPath: folder + "/" + candidate) {
                return folder + "/" + candidate
            }
            throw DatasetError("'\(folder)' has no \(stem) (or \(stem).gz) file")
        }
        let imagesPath = try find("\(prefix)-images-idx3-ubyte"), labelsPath = try find("\(prefix)-labels-idx1-ubyte")
        return try DataFile.idxDataset(images: try DataFile.read(imagesPath), labels: try DataFile.read(labelsPath),
                                       imagesName: imagesPath, labelsName: labelsPath, name: name, classNames: classNames)
    }

    /// CIFAR-10's binary batches in `folder` (data_batch_1…5.bin for training, test_batch.bin):
    /// records of one label byte and 3×32×32 pixel bytes.
    public static func cifar10(folder: String, train: Bool) throws -> ImageDataset {
        let names = train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        var pixels: [UInt8] = [], labels: [Int] = []
        for name in names {
            let candidates = [folder + "/" + name, folder + "/cifar-10-batches-bin/" + name]
            guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                throw DatasetError("'\(folder)' has no CIFAR-10 batch \(name)")
            }
            let batch = try DataFile.cifar10Batch(try DataFile.read(path), name: path)
            pixels += batch.pixels
            labels += batch.labels
        }
        return ImageDataset(name: "CIFAR-10 \(train ? "train" : "test")", shape: [3, 32, 32], pixels: pixels, labels: labels, classNames: cifar10Classes)
    }

    /// A folder with one sub-folder of PNG/JPEG files per class (torchvision's ImageFolder),
    /// decoded and resized to `size` (H, W) once, in memory.
    public static func imageFolder(_ folder: String, channels: Int, size: (Int, Int), maximumPixels: Int = Image.defaultMaximumPixels) throws -> (ImageDataset, [String]) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError("'\(folder)' is not a folder of class sub-folders")
        }
        let classes = try fm.contentsOfDirectory(atPath: folder).filter { name in
            var sub: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: folder + "/" + name, isDirectory: &sub) && sub.boolValue
        }.sorted()
        guard !classes.isEmpty else { throw DatasetError("'\(folder)' has no class sub-folders") }
        var pixels: [UInt8] = [], labels: [Int] = [], problems: [String] = []
        for (label, name) in classes.enumerated() {
            let files = (fm.enumerator(atPath: folder + "/" + name)?.compactMap { $0 as? String } ?? [])
                .filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            for file in files {
                do {
                    let image = try Image.read(folder + "/" + name + "/" + file, gray: channels == 1, maximumPixels: maximumPixels)
                        .resized(width: size.1, height: size.0)
                    let plane = size.0 * size.1
                    for c in 0..<channels { for i in 0..<plane { pixels.append(image.pixels[i * channels + c]) } }
                    labels.append(label)
                } catch {
                    problems.append("\(error)")
                }
            }
        }
        guard !labels.isEmpty else { throw DatasetError("'\(folder)' holds no readable PNG or JPEG images") }
        return (ImageDataset(name: folder, shape: [channels, size.0, size.1], pixels: pixels, labels: labels, classNames: classes), problems)
    }
}

/// A `--data` argument: `fashion-mnist`, `fashion-mnist:DIR`, `mnist:DIR`, `cifar10:DIR`, or `DIR` (an image folder).
public enum DataSpec: Equatable {
    case fashionMNIST(String)
    case mnist(String)
    case cifar10(String)
    case imageFolder(String)

    public init(_ text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first ?? "", parts.count) {
        case ("fashion-mnist", 1): self = .fashionMNIST(ImageDataset.debianFashionMNIST)
        case ("fashion-mnist", 2): self = .fashionMNIST(parts[1])
        case ("mnist", 2): self = .mnist(parts[1])
        case ("cifar10", 2): self = .cifar10(parts[1])
        case ("mnist", 1), ("cifar10", 1): throw DatasetError("--data \(text) needs a folder: \(text):DIR")
        default: self = .imageFolder(text)
        }
    }

    /// The training and evaluation sets. Image folders are split by `validationFraction`
    /// (their evaluation set is the validation part); the others use their test split.
    public func load(channels: Int, size: (Int, Int), validationFraction: Double, seed: UInt64)
        throws -> (train: ImageDataset, test: ImageDataset, warnings: [String]) {
        switch self {
        case .fashionMNIST(let folder):
            return (try .idx(folder: folder, train: true, name: "Fashion-MNIST train", classNames: ImageDataset.fashionMNISTClasses),
                    try .idx(folder: folder, train: false, name: "Fashion-MNIST test", classNames: ImageDataset.fashionMNISTClasses), [])
        case .mnist(let folder):
            let digits = (0...9).map(String.init)
            return (try .idx(folder: folder, train: true, name: "MNIST train", classNames: digits),
                    try .idx(folder: folder, train: false, name: "MNIST test", classNames: digits), [])
        case .cifar10(let folder):
            return (try .cifar10(folder: folder, train: true), try .cifar10(folder: folder, train: false), [])
        case .imageFolder(let folder):
            let (all, warnings) = try ImageDataset.imageFolder(folder, channels: channels, size: size)
            let parts = all.split(validationFraction: max(validationFraction, 0.1), seed: seed)
            return (parts.train, parts.validation, warnings)
        }
    }
}
