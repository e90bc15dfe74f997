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
        guard !files.isEmpty else { throw ZooError("'\(folder)' holds no readable PNG or JPEG images") }
        // Each file's [C, H, W] planes go straight to its slot; a few workers (each holds one
        // decoded full-size image at a time) take the files in turn.
        let plane = size.0 * size.1, imageSize = channels * plane
        var pixels = [UInt8](repeating: 0, count: files.count * imageSize)
        var failures = [String?](repeating: nil, count: files.count)
        let workers = min(files.count, ProcessInfo.processInfo.activeProcessorCount, 8)
        pixels.withUnsafeMutableBufferPointer { target in
            failures.withUnsafeMutableBufferPointer { failed in
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    for index in stride(from: worker, to: files.count, by: workers) {
                        do {
                            let image = try Image.read(files[index].path, gray: channels == 1, maximumPixels: maximumPixels)
                                .resized(width: size.1, height: size.0)
                            let slot = index * imageSize
                            for c in 0..<channels { for i in 0..<plane { target[slot + c * plane + i] = image.pixels[i * channels + c] } }
                        } catch {
                            failed[index] = "\(error)"
                        }
                    }
                }
            }
        }
        // Close the gaps the unreadable files left, in place.
        var labels: [Int] = [], problems: [String] = [], kept = 0
        pixels.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for (index, file) in files.enumerated() {
                if let problem = failures[index] { problems.append(problem); continue }
                if kept != index { (base + kept * imageSize).update(from: base + index * imageSize, count: imageSize) }
                labels.append(file.label)
                kept += 1
            }
        }
        pixels.removeLast((files.count - kept) * imageSize)
        guard !labels.isEmpty else { throw ZooError("'\(folder)' holds no readable PNG or JPEG images") }
        return (ImageDataset(name: folder, shape: [channels, size.0, size.1], pixels: pixels, labels: labels, classNames: classes), problems)
    }
}
