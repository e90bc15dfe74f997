import ArgumentParser
import ConvZoo
import Foundation

extension ZooCommand {
    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grad-CAM: where a layer's activations raise a class's logit, drawn over each image.",
            discussion: """
                For each image writes OUT/<image stem>.<class index>.png (the picture the model saw with the map \
                over it, the label and probability on it) and OUT/<image stem>.<class index>.safetensors \
                (cam_raw at the layer's size, cam in [0, 1] at the input's size). With --input X.safetensors \
                (key 'input', N×C×H×W, already preprocessed) OUT is one safetensors file with cam_raw (N×h×w) and \
                cam (N×H×W) for the batch.
                """)

        @OptionGroup var choice: ModelChoice
        @Option(name: .customLong("class"), help: "Explain this class index (default: each image's top-1).") var classIndex: Int?
        @Option(help: "Explain each image's K most probable classes.") var top: Int?
        @Option(help: "The module path to explain (default: the model's last one before global pooling; 'zoo summary' lists the paths).")
        var layer: String?
        @Option(help: "A safetensors file with a float32 tensor 'input' [N, C, H, W] of preprocessed images (instead of image files).")
        var input: String?
        @Option(help: "The folder to write into (created if missing), or with --input the safetensors file to write.") var out: String
        @Option(name: .customLong("max-pixels"), help: "Refuse images with more pixels than this.") var maxPixels = Image.defaultMaximumPixels
        @Argument(help: "PNG or JPEG files, or folders to search for them.") var images: [String] = []

        func validate() throws {
            if classIndex != nil && top != nil { throw ValidationError("give --class or --top, not both") }
            if let top, top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
            if let classIndex, classIndex < 0 { throw ValidationError("--class must be a class index of 0 or more, got \(classIndex)") }
            if input == nil && images.isEmpty { throw ValidationError("give at least one image file or folder, or --input") }
            if input != nil && !images.isEmpty { throw ValidationError("give image files or --input, not both") }
            if input != nil && top != nil { throw ValidationError("--top applies to image files; with --input give --class or nothing (top-1)") }
        }

        func run() throws {
            if let input { return explainTensor(input) }
            let loaded = choice.load()
            if let classIndex, classIndex >= loaded.classCount {
                fail("--class \(classIndex) is out of range: \(loaded.name) has classes 0 to \(loaded.classCount - 1)")
            }
            let layerName = layer ?? loaded.entry.explainLayer
            if loaded.module.module(at: layerName) == nil { fail("--layer: " + loaded.module.unknownModuleSentence(layerName)) }
            orFail { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) }
            let files = ImageFileList(images)
            var failures = files.problems.count
            files.problems.forEach(warn)
            orFail {
                try loaded.forEachBatch(of: files.paths, batchSize: 1, maximumPixels: maxPixels, pictures: true,
                                        skipping: { warn(sentence($1)); failures += 1 }) { image in
                    do {
                        try explain(image, loaded, layer: layerName)
                    } catch {
                        warn(sentence(error))
                        failures += 1
                    }
                }
            }
            if failures > 0 {
                warn("\(failures) of \(files.paths.count + files.problems.count) inputs could not be explained")
                throw ExitCode(1)
            }
        }

        /// Writes the picture and the maps of one image for each class asked for.
        func explain(_ image: ImageBatch, _ loaded: ZooModel, layer: String) throws {
            let (path, batch, seen) = (image.files[0], image.tensor, image.pictures[0])
            let probabilities = try loaded.probabilities(batch)
            let classes = classIndex.map { [$0] } ?? probabilities.topK(top ?? 1)[0]
            let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            for c in classes {
                let map = try loaded.gradCAM(batch, layer: layer, classes: [c])
                let caption = String(format: "%@  %.1f%%", loaded.labels.names[c], probabilities.scalars[c] * 100)
                let picture = Pictures.heatmapOverlay(image: seen, cam: map.cam.scalars, columns: loaded.input[2], rows: loaded.input[1],
                                                      caption: caption)
                let base = (out as NSString).appendingPathComponent("\(stem).\(c)")
                try picture.write(to: base + ".png")
                try SafeTensors(tensors: [("cam_raw", map.camRaw.reshaped(Array(map.camRaw.shape.dropFirst()))),
                                          ("cam", map.cam.reshaped(Array(map.cam.shape.dropFirst())))],
                                metadata: ["file": path, "class": String(c), "label": loaded.labels.names[c], "layer": layer])
                    .write(to: base + ".safetensors")
                print("\(path): \(loaded.labels.names[c]) (\(c)) \(String(format: "%.2f%%", probabilities.scalars[c] * 100)) -> \(base).png")
            }
        }

        /// `--input`: the maps of a preprocessed batch into one safetensors file.
        func explainTensor(_ input: String) {
            let file = orFail { try SafeTensors.read(input) }
            guard let x = file["input"] else { fail("'\(input)' has no tensor named 'input'") }
            guard x.rank == 4, x.shape.allSatisfy({ $0 > 0 }) else {
                fail("the tensor 'input' of '\(input)' must be [N, C, H, W] with no empty dimension, not \(x.shape)")
            }
            let loaded = choice.load(input: Array(x.shape.dropFirst()))
            let classes = classIndex.map { [Int](repeating: $0, count: x.shape[0]) }
            let map = orFail { try loaded.gradCAM(x, layer: layer, classes: classes) }
            orFail {
                try SafeTensors(tensors: [("cam_raw", map.camRaw), ("cam", map.cam)],
                                metadata: ["layer": map.layer, "classes": map.classes.map(String.init).joined(separator: ",")]).write(to: out)
            }
        }
    }
}
