import Foundation

/// Tiles with captions: e.g. 64 activation maps in an 8×8 grid each with its channel number, or a conv's filters.
public struct Grid {
    public let columns: Int
    public let cellWidth: Double, cellHeight: Double
    public let captionSize: Double, padding: Double
    public let title: String?

    public init(columns: Int, cellWidth: Double, cellHeight: Double, captionSize: Double = 10, padding: Double = 4, title: String? = nil) {
        (self.columns, self.cellWidth, self.cellHeight) = (columns, cellWidth, cellHeight)
        (self.captionSize, self.padding, self.title) = (captionSize, padding, title)
    }

    /// Makes a drawing big enough for `count` cells and calls `draw(drawing, index, x, y, w, h)` for each cell (caption drawn below the cell if `caption(index)` non-nil).
    ///
    /// Cells fill rows left to right; a caption wider than its cell is set smaller to fit; the
    /// title, bold and half again as large as the captions, is centred above the cells.
    public func render(count: Int, caption: (Int) -> String?, draw: (Drawing, Int, Double, Double, Double, Double) -> Void) -> Drawing {
        let count = max(count, 0), columns = max(self.columns, 1)
        let cellWidth = Grid.size(self.cellWidth), cellHeight = Grid.size(self.cellHeight)
        let captionSize = Grid.size(self.captionSize), padding = Grid.size(self.padding)
        let captions = (0..<count).map(caption)
        let captionHeight = captions.contains { $0 != nil } ? captionSize * 1.4 : 0
        let titleSize = captionSize * 1.5
        let titleHeight = title == nil ? 0 : titleSize * 1.4 + padding
        let measure = Drawing(width: 1, height: 1, background: nil)
        let titleWidth = title.map { measure.textWidth($0, size: titleSize, bold: true) + 2 * padding } ?? 0

        let (pitchX, pitchY) = (cellWidth + padding, cellHeight + captionHeight + padding)
        let rows = (count + columns - 1) / columns
        let width = max(padding + Double(min(max(count, 1), columns)) * pitchX, titleWidth)
        let height = titleHeight + padding + Double(rows) * pitchY
        let drawing = Drawing(width: Grid.pixels(width), height: Grid.pixels(height))
        if let title {
            drawing.text(title, x: Double(drawing.width) / 2, y: padding + titleSize, size: titleSize, anchor: .middle, bold: true)
        }
        for index in 0..<count {
            let x = padding + Double(index % columns) * pitchX, y = titleHeight + padding + Double(index / columns) * pitchY
            draw(drawing, index, x, y, cellWidth, cellHeight)
            guard let text = captions[index] else { continue }
            let natural = drawing.textWidth(text, size: captionSize)
            let size = natural > pitchX ? captionSize * pitchX / natural : captionSize
            drawing.text(text, x: x + cellWidth / 2, y: y + cellHeight + captionSize * 1.1, size: size, anchor: .middle)
        }
        return drawing
    }

    /// A length made usable: not negative, not NaN, not absurd.
    static func size(_ value: Double) -> Double { value.isFinite ? min(max(value, 0), 1e6) : 0 }

    static func pixels(_ value: Double) -> Int { Int(size(value).rounded(.up)) }
}
