import Foundation

/// A classification as one self-contained HTML page (pictures inline as data: URLs; no
/// scripts, fonts or files fetched) with, per image, the picture the model saw, the top-K as
/// bars, and the Grad-CAM of the top-1 over the picture (`zoo classify --html` writes one).
public struct ClassificationReport {
    public var title: String
    var rows: [String] = []

    public init(title: String) { self.title = title }

    /// Adds one batch: its results (from `model.classify`, in the batch's order) and the batch
    /// read with its pictures (`ZooModel.forEachBatch(of:…pictures: true)`).
    public mutating func add(_ results: [Classification], of batch: ImageBatch, model: ZooModel) throws {
        guard results.count == batch.inputs.count, batch.pictures.count == batch.inputs.count else {
            throw ZooError("a report needs one result and one picture per input: \(results.count) results, \(batch.pictures.count) pictures and \(batch.inputs.count) inputs were given")
        }
        let seen = batch.pictures
        let maps = try model.gradCAM(batch.tensor, classes: results.map { $0.top[0].index })
        let plane = model.input[1] * model.input[2]
        for (n, result) in results.enumerated() {
            let top1 = result.top[0]
            let overlay = Pictures.heatmapOverlay(image: seen[n], cam: Array(maps.cam.scalars[n * plane ..< (n + 1) * plane]),
                                                  columns: model.input[2], rows: model.input[1],
                                                  caption: String(format: "%@  %.1f%%", top1.label, top1.probability * 100), side: 224)
            let picture = try Self.dataURL(Pictures.scaled(seen[n], side: 224).pngData())
            let heat = try Self.dataURL(overlay.pngData())
            var bars = ""
            for item in result.top {
                let percent = Double(item.probability) * 100
                bars += "<tr><td class=\"label\">\(Self.escaped(item.label))</td>"
                bars += "<td class=\"bar\"><span style=\"width:\(String(format: "%.1f", percent))%\"></span></td>"
                bars += "<td class=\"p\">\(String(format: "%.2f%%", percent))</td></tr>\n"
            }
            rows.append("""
                <section><h2>\(Self.escaped(result.file))</h2><div class="row">
                <figure><img src="\(picture)" alt="the input as the model saw it"><figcaption>input</figcaption></figure>
                <figure><img src="\(heat)" alt="Grad-CAM of \(Self.escaped(top1.label))"><figcaption>Grad-CAM of the top-1 (\(Self.escaped(maps.layer)))</figcaption></figure>
                <table>\(bars)</table></div></section>
                """)
        }
    }

    /// The page's HTML.
    public func page() -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(Self.escaped(title))</title>
        <style>
        body { font-family: sans-serif; margin: 24px; color: #222; }
        section { border-top: 1px solid #ddd; padding: 12px 0; }
        h2 { font-size: 15px; font-weight: normal; margin: 0 0 8px; }
        .row { display: flex; gap: 16px; align-items: flex-start; }
        figure { margin: 0; } figure img { width: 224px; height: 224px; image-rendering: auto; display: block; }
        figcaption { font-size: 12px; color: #666; }
        table { border-collapse: collapse; font-size: 14px; }
        td { padding: 3px 6px; } td.label { white-space: nowrap; min-width: 110px; } td.p { text-align: right; font-variant-numeric: tabular-nums; }
        td.bar { width: 200px; min-width: 200px; } td.bar span { display: block; height: 14px; background: #3b6fb6; min-width: 1px; }
        </style></head><body>
        <h1>\(Self.escaped(title))</h1>
        \(rows.joined(separator: "\n"))
        </body></html>

        """
    }

    static func dataURL(_ png: Data) -> String { "data:image/png;base64," + png.base64EncodedString() }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
