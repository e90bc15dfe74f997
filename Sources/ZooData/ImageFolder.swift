import Dispatch
import Foundation
import ZooImage
import ZooTensor

extension ImageDataset {
    /// A folder with one sub-folder of PNG/JPEG files per class (torchvision's ImageFolder),
    /// decoded and resized to `size` (H, W) once, in memory, on every core. Returns the set
    /// and one sentence for each file that could not be read (it is left out).
    public static func imageFolder(_ folder: String, channels: Int, size: (Int, Int), maximumPixels: Int = Image.defaultMaximumPixels) throws -> (ImageDataset, [String]) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ZooError("'\(folder)' is not a folder of class sub-folders")
        }
        let classes = try fm.contentsOfDirectory(atPath: folder).filter { name in
            var sub: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: folder + "/" + name, isDirectory: &sub) && sub.boolValue
        }.sorted()
        guard !classes.isEmpty else { throw ZooError("'\(folder)' has no class sub-folders") }
        var files: [(path: String, label: Int)] = []
        for (label, name) in classes.enumerated() {
            files += Image.files(in: folder + "/" + name).map { ($0, label) }
        }
        // [C, H, W] planes per file, or the reason it could not be read; filled in parallel.
        let plane = size.0 * size.1, imageSize = channels * plane
        let decoded = UnsafeMutableBufferPointer<Result<[UInt8], Error>?>.allocate(capacity: files.count)
        decoded.initialize(repeating: nil)
        defer { decoded.deinitialize(); decoded.deallocate() }
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            decoded[index] = Result {
                let image = try Image.read(files[index].path, gray: channels == 1, maximumPixels: maximumPixels)
                    .resized(width: size.1, height: size.0)
                var planes = [UInt8](repeating: 0, count: imageSize)
                for c in 0..<channels { for i in 0..<plane { planes[c * plane + i] = image.pixels[i * channels + c] } }
                return planes
            }
        }
        var pixels: [UInt8] = [], labels: [Int] = [], problems: [String] = []
        pixels.reserveCapacity(files.count * imageSize)
        for (index, file) in files.enumerated() {
            switch decoded[index]! {
            case .success(let planes): pixels += planes; labels.append(file.label)
            case .failure(let error): problems.append("\(error)")
            }
        }
        guard !labels.isEmpty else { throw ZooError("'\(folder)' holds no readable PNG or JPEG images") }
        return (ImageDataset(name: folder, shape: [channels, size.0, size.1], pixels: pixels, labels: labels, classNames: classes), problems)
    }
}
