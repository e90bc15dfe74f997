import ArgumentParser
import ConvZoo
import Foundation

extension ZooCommand {
    struct Weights: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the published pretrained weights: size, ImageNet top-1/top-5, parameters, depth, MACs, cached or not.",
            discussion: """
                Size is the file's where its publisher says it, else the float32 parameters and buffers. Top-1 and top-5 are \
                the publisher's ImageNet-1k accuracies (torchvision publishes them; timm's and pretrainedmodels' metadata \
                carry none). Depth counts the convolution and fully connected layers on the longest path from input to \
                output; MACs are one image's multiply-accumulates at the model's input. '--weights TAG' loads the tag \
                (DEFAULT: the row marked *), downloading it once into the weights cache (ZOO_CACHE).
                """)

        @Argument(help: "Models to list (default: every model with published weights).") var models: [String] = []
        @Flag(help: "Print one JSON object per line: the catalogue entry's fields and the computed ones.") var json = false

        func run() {
            let rows = orFail { try Zoo.weightsTable(models: models.isEmpty ? nil : models) }
            if rows.isEmpty, let model = models.first { fail("no pretrained weights are published for \(model) in the catalogue") }
            if json {
                for row in rows { printJSON(jsonObject(row)) }
                return
            }
            let header = ["model", "tag", "size MB", "top-1", "top-5", "parameters", "depth", "GMACs", "cached"]
            let table = rows.map { row -> [String] in
                [row.weights.model, row.weights.tag + (row.weights.isDefault ? " *" : ""), String(format: "%.1f", Double(row.bytes) / 1e6),
                 row.weights.top1.map { String(format: "%.2f", $0) } ?? "—", row.weights.top5.map { String(format: "%.2f", $0) } ?? "—",
                 grouped(row.parameters), row.depth.map(String.init) ?? "—", String(format: "%.2f", Double(row.macs) / 1e9),
                 row.cachedPath == nil ? "no" : "yes"]
            }
            let widths = header.indices.map { column in ([header] + table).map { $0[column].count }.max() ?? 0 }
            for line in [header] + table {
                print(line.enumerated().map { column, text in
                    column < 2 ? text.padding(toLength: widths[column], withPad: " ", startingAt: 0) : text.leftPadded(widths[column])
                }.joined(separator: "  "))
            }
        }

        func jsonObject(_ row: PublishedWeightsRow) -> [String: Any] {
            let encoder = JSONEncoder()
            var object = (try? JSONSerialization.jsonObject(with: encoder.encode(row.weights))) as? [String: Any] ?? [:]
            // Every field on every line: what the catalogue does not know is null.
            for key in ["reference", "bytes", "top1", "top5", "classes", "labels", "preprocessing", "license", "paper", "recipe", "note"]
            where object[key] == nil {
                object[key] = NSNull()
            }
            object["size_bytes"] = row.bytes
            object["parameters"] = row.parameters
            object["depth"] = row.depth ?? NSNull()
            object["macs"] = row.macs
            object["cached"] = row.cachedPath ?? NSNull()
            return object
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download published weights into the weights cache (to carry to an air-gapped machine) and print each path.",
            discussion: """
                The cache is ZOO_CACHE (default: $XDG_CACHE_HOME/convzoo, else ~/.cache/convzoo). A file already in torch's or \
                Hugging Face's cache is used where it is. ZOO_WEIGHTS_MIRROR=URL downloads from a mirror (the published \
                path under URL; file:///folder works); ZOO_OFFLINE=1 never downloads.
                """)

        @Argument(help: "MODEL or MODEL:TAG (default tag: DEFAULT).") var names: [String] = []
        @Flag(help: "Every published file of the catalogue.") var all = false
        @Option(help: "With --all: only this family's models (see 'zoo list').") var family: String?

        func run() {
            if all == !names.isEmpty { fail(all ? "give --all or names, not both" : "name the weights to fetch (MODEL or MODEL:TAG), or pass --all") }
            if family != nil && !all { fail("--family goes with --all") }
            let chosen: [PublishedWeights]
            if all {
                let families = Set(ModelRegistry.entries.map(\.family))
                if let family, !families.contains(family) {
                    fail("unknown family '\(family)'; the families are \(families.sorted().joined(separator: ", "))")
                }
                chosen = orFail { try Zoo.allWeights() }.filter { weights in
                    family.map { ModelRegistry.entry(weights.model)?.family == $0 } ?? true
                }
            } else {
                chosen = names.map { name in
                    let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
                    let model = lookUp(parts[0]).name
                    return orFail { try PublishedWeights.entry(model: model, tag: parts.count > 1 ? parts[1] : PublishedWeights.defaultTag) }
                }
            }
            if chosen.count == 1 {
                let fetched = orFail { try Zoo.fetch(chosen[0]) }
                for note in fetched.notes { warn(note) }
                print(fetched.path)
                return
            }
            var failures = 0
            for weights in chosen {
                do {
                    let fetched = try Zoo.fetch(weights)
                    for note in fetched.notes { warn(note) }
                    print(fetched.path)
                } catch {
                    warn("\(weights.name): \(sentence(error))")
                    failures += 1
                }
            }
            if failures > 0 { fail("\(failures) of \(chosen.count) files could not be fetched") }
        }
    }
}
