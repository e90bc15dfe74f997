import ArgumentParser
import ConvZoo
import Foundation

extension ZooCommand {
    struct Features: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw a layer's activation maps for one image: the first 64 channels, each on its own scale.")

        @OptionGroup var choice: ModelChoice
        @Option(help: "The module path ('zoo summary' lists them; default: the model's last one before global pooling).")
        var layer: String?
        @Option(help: "The PNG (or .svg) to write.") var out: String
        @Argument(help: "A PNG or JPEG file.") var image: String

        func run() {
            let loaded = choice.load()
            let layerName = layer ?? loaded.entry.explainLayer
            let x = orFail { try loaded.inputTensor(for: try loaded.readImage(image), name: image) }
            let maps = orFail { try loaded.features(x.reshaped([1] + x.shape), at: [layerName]) }[layerName]!
            guard maps.rank == 4 else {
                fail("--layer '\(layerName)' gives outputs of shape \(maps.shape.dropFirst().map(String.init).joined(separator: "×")), not C×H×W maps")
            }
            let shape = Array(maps.shape.dropFirst())
            let title = "\(loaded.name) \(layerName): \(shape.map(String.init).joined(separator: "×"))"
                + (shape[0] > 64 ? ", the first 64 channels" : "")
            orFail { try Pictures.activationGrid(maps.reshaped(shape), title: title).write(to: out) }
        }
    }

    struct Filters: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw a convolution's kernels: the first layer's as RGB pictures, deeper ones per input channel in gray.")

        @OptionGroup var choice: ModelChoice
        @Option(help: "The convolution's module path (default: the model's first convolution).") var layer: String?
        @Option(help: "The PNG (or .svg) to write.") var out: String

        func run() {
            let loaded = choice.load()
            let convolutions = loaded.module.namedModules().filter { $0.module is Conv2d }
            guard let first = convolutions.first else { fail("\(loaded.name) has no convolution") }
            let path = layer ?? first.name
            guard let module = loaded.module.module(at: path) else { fail("--layer: " + loaded.module.unknownModuleSentence(path)) }
            guard let conv = module as? Conv2d else {
                fail("--layer '\(path)' is a \(module.kindName), not a convolution; the first is '\(first.name)'")
            }
            let weight = conv.weight.value
            let title = "\(loaded.name) \(path): \(weight.shape.map(String.init).joined(separator: "×"))"
            orFail { try Pictures.filterGrid(weight, title: title).write(to: out) }
        }
    }
}
