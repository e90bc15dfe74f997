import Foundation

/// Image files a run was given, found: files as given, folders searched (sorted) for .png, .jpg
/// and .jpeg. `problems` holds one sentence per argument that named nothing to read.
public struct ImageFileList {
    public var paths: [String] = []
    public var problems: [String] = []

    /// The image files `arguments` (files or folders) name, in order.
    public init(_ arguments: [String]) {
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                problems.append("cannot read '\(argument)': no such file or folder")
                continue
            }
            guard isDirectory.boolValue else { paths.append(argument); continue }
            let found = Image.files(in: argument)
            if found.isEmpty { problems.append("'\(argument)' holds no PNG or JPEG files") }
            paths += found
        }
    }
}

/// Some image files read and preprocessed for a model: one batch of a run over many files.
public struct ImageBatch {
    /// The files, in order.
    public var files: [String]
    /// Each file's preprocessed input [C, H, W].
    public var inputs: [Tensor]
    /// Each file's picture as the model saw it (resized and cropped), when asked for.
    public var pictures: [Image]
    /// The inputs as one batch [N, C, H, W].
    public var tensor: Tensor { Tensor(shape: [inputs.count] + (inputs.first?.shape ?? []), scalars: inputs.flatMap(\.scalars)) }
}

extension ZooModel {
    /// Reads `files` and hands `body` batches of up to `batchSize` of them, preprocessed for
    /// this model, in order. A file that cannot be read (missing, not an image, too large)
    /// stops the run with its error — unless `skipping` is given: then it is told the file and
    /// the error, and the run goes on with the next file (a batch may then be smaller, and
    /// none is handed over empty).
    /// - Parameters:
    ///   - files: PNG or JPEG files, in the order the batches keep.
    ///   - batchSize: the most images in one batch (at least 1).
    ///   - maximumPixels: refuse an image with more pixels than this.
    ///   - pictures: also keep each image as the model saw it (`ImageBatch.pictures`).
    ///   - skipping: told each file that cannot be read and why; nil stops at the first one.
    ///   - body: called with each batch; an error it throws ends the run.
    public func forEachBatch(of files: [String], batchSize: Int, maximumPixels: Int = Image.defaultMaximumPixels,
                             pictures: Bool = false, skipping: ((_ file: String, _ error: Error) -> Void)? = nil,
                             _ body: (ImageBatch) throws -> Void) throws {
        guard batchSize >= 1 else { throw ZooError("the batch size must be at least 1, got \(batchSize)") }
        var index = 0
        while index < files.count {
            var batch = ImageBatch(files: [], inputs: [], pictures: [])
            while index < files.count && batch.inputs.count < batchSize {
                let file = files[index]
                index += 1
                do {
                    let image = try readImage(file, maximumPixels: maximumPixels)
                    try batch.inputs.append(inputTensor(for: image, name: file))
                    batch.files.append(file)
                    if pictures { batch.pictures.append(preprocessing.croppedImage(for: image)) }
                } catch {
                    guard let skipping else { throw error }
                    skipping(file, error)
                }
            }
            if !batch.inputs.isEmpty { try body(batch) }
        }
    }
}
