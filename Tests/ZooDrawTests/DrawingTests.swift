import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import ZooTestSupport
import ZooDraw
import ZooImage
import ZooTensor

final class DrawingTests: XCTestCase {
    /// The RGB of pixel (x, y).
    func pixel(_ image: Image, _ x: Int, _ y: Int) -> [UInt8] {
        let i = (y * image.width + x) * image.channels
        return Array(image.pixels[i..<i + 3])
    }

    func assertClose(_ color: Color, _ expected: (Double, Double, Double), accuracy: Double = 1e-6, _ message: String = "",
                     line: UInt = #line) {
        XCTAssertEqual(color.red, expected.0, accuracy: accuracy, message, line: line)
        XCTAssertEqual(color.green, expected.1, accuracy: accuracy, message, line: line)
        XCTAssertEqual(color.blue, expected.2, accuracy: accuracy, message, line: line)
    }

    /// The pixels that differ from white, as (x, y).
    func inked(_ image: Image) -> [(x: Int, y: Int)] {
        var found: [(Int, Int)] = []
        for y in 0..<image.height {
            for x in 0..<image.width where pixel(image, x, y) != [255, 255, 255] { found.append((x, y)) }
        }
        return found
    }

    /// The resident memory of this process in bytes (Linux: /proc/self/statm).
    func residentBytes() throws -> Int {
        let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Each Drawing destroys its cairo surface: 100 painted 2048×2048 drawings (16 MiB each)
    /// would hold 1.6 GiB if they did not. (LeakSanitizer cannot tell: cairo's and fontconfig's
    /// process-long font caches are suppressed in Tools/lsan-suppressions.txt.)
    func testDrawingsFreeTheirSurfaces() throws {
        let before = try residentBytes()
        for _ in 0..<100 {
            let drawing = Drawing(width: 2048, height: 2048)
            drawing.fillRectangle(x: 0, y: 0, width: 2048, height: 2048, color: .gray)
            drawing.text("x", x: 10, y: 20, size: 12)
        }
        // Half the leak: AddressSanitizer's quarantine alone keeps ~250 MB of freed blocks resident.
        XCTAssertLessThan(try residentBytes() - before, 800 << 20)
    }

    /// First-layer filters are RGB pictures on one symmetric scale: +max is 255, 0 is mid-gray.
    func testFiltersOfThreeInputChannelsAreRGBPictures() {
        let weight = Tensor(shape: [2, 3, 1, 1], scalars: [0.5, 0, -0.5, -0.5, 0, 0.5])
        let pixels = Pictures.filterGrid(weight, title: "two filters").rgbImage()
        var colours = Set<[UInt8]>()
        for i in 0..<(pixels.width * pixels.height) { colours.insert(Array(pixels.pixels[i * 3 ..< i * 3 + 3])) }
        XCTAssertTrue(colours.contains([255, 128, 0]), "filter 0: red +max, green 0, blue -max")
        XCTAssertTrue(colours.contains([0, 128, 255]), "filter 1")
    }

    func testAFilledRectangleCoversExactlyItsPixels() {
        let drawing = Drawing(width: 40, height: 30)
        drawing.fillRectangle(x: 10, y: 5, width: 20, height: 10, color: Color(rgb: (200, 30, 60)))
        let image = drawing.rgbImage()
        XCTAssertEqual([image.width, image.height, image.channels], [40, 30, 3])
        for y in 0..<30 {
            for x in 0..<40 {
                let inside = (10..<30).contains(x) && (5..<15).contains(y)
                XCTAssertEqual(pixel(image, x, y), inside ? [200, 30, 60] : [255, 255, 255], "(\(x), \(y))")
            }
        }
    }

    func testALineCoversItsPathAndNothingElse() {
        let drawing = Drawing(width: 50, height: 20, background: .black)
        drawing.line([(5, 10), (45, 10)], color: Color(red: 0, green: 1, blue: 0), width: 2)
        let image = drawing.rgbImage()
        for x in 5..<45 {
            XCTAssertEqual(pixel(image, x, 9), [0, 255, 0], "row 9, x \(x)")
            XCTAssertEqual(pixel(image, x, 10), [0, 255, 0], "row 10, x \(x)")
        }
        for (x, y) in [(2, 10), (48, 10), (20, 7), (20, 12), (20, 0)] {
            XCTAssertEqual(pixel(image, x, y), [0, 0, 0], "(\(x), \(y)) is off the line")
        }
    }

    func testADashedLineHasGaps() {
        let drawing = Drawing(width: 60, height: 10)
        drawing.line([(0, 5), (60, 5)], color: .black, width: 2, dash: [10, 10])
        let image = drawing.rgbImage()
        XCTAssertEqual(pixel(image, 5, 5), [0, 0, 0], "on")
        XCTAssertEqual(pixel(image, 15, 5), [255, 255, 255], "off")
        XCTAssertEqual(pixel(image, 25, 5), [0, 0, 0], "on again")
    }

    /// Proves a font loaded: ink inside the text's box and none away from it.
    func testTextInksItsBoxOnly() {
        let drawing = Drawing(width: 200, height: 60)
        let width = drawing.textWidth("Accuracy 97%", size: 20)
        XCTAssertGreaterThan(width, 80, "a 20-pixel font sets 12 characters wider than 80 pixels")
        XCTAssertLessThan(width, 200)
        XCTAssertGreaterThan(drawing.textWidth("Accuracy 97%", size: 20, bold: true), width, "bold is wider")
        drawing.text("Accuracy 97%", x: 10, y: 40, size: 20)
        let ink = inked(drawing.rgbImage())
        XCTAssertGreaterThan(ink.count, 100)
        for (x, y) in ink {
            XCTAssertTrue((9...Int(10 + width + 1)).contains(x) && (18...46).contains(y), "ink at (\(x), \(y)) outside the text's box")
        }
    }

    func testAnchorsAndRotation() {
        let drawing = Drawing(width: 100, height: 100)
        drawing.text("end", x: 50, y: 20, size: 14, anchor: .end)
        let endInk = inked(drawing.rgbImage())
        XCTAssertLessThanOrEqual(endInk.map(\.x).max() ?? 99, 51, "an end-anchored text ends at x")

        let vertical = Drawing(width: 100, height: 100)
        vertical.text("vertical label", x: 50, y: 50, size: 12, anchor: .middle, rotation: -Double.pi / 2)
        let ink = inked(vertical.rgbImage())
        let (xs, ys) = (ink.map(\.x), ink.map(\.y))
        XCTAssertLessThan((xs.max() ?? 0) - (xs.min() ?? 0), 16, "rotated text is narrow")
        XCTAssertGreaterThan((ys.max() ?? 0) - (ys.min() ?? 0), 60, "and tall")
        XCTAssertLessThanOrEqual(xs.max() ?? 99, 51, "it stands left of its baseline, read bottom to top")
    }

    func testColorMapsMatchMatplotlibAndRiseInLuminance() {
        assertClose(ColorMap.inferno.color(0), (0.001462, 0.000466, 0.013866))
        assertClose(ColorMap.inferno.color(1), (0.988362, 0.998364, 0.644924))
        assertClose(ColorMap.viridis.color(0), (0.267004, 0.004874, 0.329415))
        assertClose(ColorMap.viridis.color(1), (0.993248, 0.906157, 0.143936))
        // matplotlib's entry 128 of 255, between two of the table's points.
        assertClose(ColorMap.viridis.color(128.0 / 255), (0.127568, 0.566949, 0.550556), accuracy: 0.01)
        assertClose(ColorMap.inferno.color(128.0 / 255), (0.735683, 0.215906, 0.330245), accuracy: 0.01)
        assertClose(ColorMap.gray.color(0.25), (0.25, 0.25, 0.25))
        XCTAssertEqual(ColorMap.viridis.color(.nan), ColorMap.viridis.color(0))
        XCTAssertEqual(ColorMap.viridis.color(-3), ColorMap.viridis.color(0))
        XCTAssertEqual(ColorMap.inferno.color(7), ColorMap.inferno.color(1))
        for map in [ColorMap.inferno, .viridis, .gray] {
            let luminance = (0...200).map { i -> Double in
                let c = map.color(Double(i) / 200)
                return 0.2126 * c.red + 0.7152 * c.green + 0.0722 * c.blue
            }
            for (a, b) in zip(luminance, luminance.dropFirst()) { XCTAssertLessThan(a, b, "\(map) rises in luminance") }
        }
    }

    func testHeatmapEndsAreTheMapsEnds() {
        let drawing = Drawing(width: 20, height: 10)
        drawing.heatmap([0, 1], columns: 2, rows: 1, low: 0, high: 1, map: .inferno, x: 0, y: 0, width: 20, height: 10, smooth: false)
        let image = drawing.rgbImage()
        func bytes(_ c: Color) -> [UInt8] { [c.red, c.green, c.blue].map { UInt8(($0 * 255).rounded()) } }
        XCTAssertEqual(pixel(image, 2, 5), bytes(ColorMap.inferno.color(0)))
        XCTAssertEqual(pixel(image, 17, 5), bytes(ColorMap.inferno.color(1)))
        drawing.heatmap([0, 1], columns: 2, rows: 1, low: 1, high: 0, map: .inferno, x: 0, y: 0, width: 20, height: 10, smooth: false)
        XCTAssertEqual(pixel(drawing.rgbImage(), 2, 5), bytes(ColorMap.inferno.color(1)), "high < low reverses the map")

        // Half transparent over black: half the colour.
        let faded = Drawing(width: 10, height: 10, background: .black)
        faded.heatmap([5], columns: 1, rows: 1, low: 0, high: 5, map: .gray, x: 0, y: 0, width: 10, height: 10, alpha: 0.5)
        XCTAssertEqual(Int(pixel(faded.rgbImage(), 5, 5)[0]), 128, accuracy: 1)
    }

    func testImagesScaleByNearestNeighbour() {
        let checker = Image(width: 2, height: 2, channels: 1, pixels: [0, 255, 255, 0])
        let drawing = Drawing(width: 40, height: 40)
        drawing.image(checker, x: 0, y: 0, width: 40, height: 40, smooth: false)
        let image = drawing.rgbImage()
        XCTAssertEqual(pixel(image, 19, 19), [0, 0, 0])
        XCTAssertEqual(pixel(image, 20, 19), [255, 255, 255], "a sharp edge at the middle")
        XCTAssertEqual(pixel(image, 39, 39), [0, 0, 0])
        let rgb = Image(width: 1, height: 1, channels: 3, pixels: [10, 20, 30])
        drawing.image(rgb, x: 0, y: 0, width: 5, height: 5)
        XCTAssertEqual(pixel(drawing.rgbImage(), 2, 2), [10, 20, 30])
    }

    func testALabelSitsOnItsBox() {
        let drawing = Drawing(width: 120, height: 40)
        drawing.label("cat 0.93", x: 4, y: 4, size: 12, background: .black)
        let image = drawing.rgbImage()
        XCTAssertEqual(pixel(image, 5, 5), [0, 0, 0], "the box's corner")
        XCTAssertEqual(pixel(image, 2, 2), [255, 255, 255], "outside the box")
        let textArea = (7..<50).flatMap { x in (7..<20).map { y in pixel(image, x, y) } }
        XCTAssertTrue(textArea.contains { $0[0] > 200 }, "white text on the box")
        XCTAssertTrue(textArea.contains { $0[0] < 50 }, "the box around it")
    }

    func testGridLaysOutCellsAndCaptions() {
        let grid = Grid(columns: 3, cellWidth: 20, cellHeight: 20, captionSize: 10, padding: 4, title: "filters")
        var cells: [(Int, Double, Double)] = []
        let drawing = grid.render(count: 5, caption: { $0 == 4 ? nil : "\($0)" }) { drawing, index, x, y, w, h in
            cells.append((index, x, y))
            drawing.fillRectangle(x: x, y: y, width: w, height: h, color: .black)
        }
        XCTAssertEqual(cells.map(\.0), [0, 1, 2, 3, 4])
        XCTAssertEqual(drawing.width, 4 + 3 * 24)
        XCTAssertEqual(cells[1].1 - cells[0].1, 24)
        XCTAssertEqual(cells[3].1, cells[0].1, "the fourth cell starts the second row")
        XCTAssertGreaterThan(cells[3].2, cells[0].2 + 20 + 10, "below the first row and its captions")
        XCTAssertGreaterThan(cells[0].2, 15, "below the title")
        XCTAssertGreaterThanOrEqual(Double(drawing.height), cells[4].2 + 20)
        let image = drawing.rgbImage()
        let captionRow = Int(cells[0].2) + 21...Int(cells[0].2) + 34
        XCTAssertTrue(captionRow.contains { y in (4..<24).contains { x in pixel(image, x, y) != [255, 255, 255] } }, "a caption under cell 0")
    }

    func testPNGDecodesToTheSamePixels() throws {
        for drawing in [Drawing(width: 30, height: 20), Drawing(width: 30, height: 20, background: nil), Drawing.svg(width: 30, height: 20)] {
            drawing.fillRectangle(x: 3, y: 3, width: 10, height: 5, color: Color(red: 0.2, green: 0.4, blue: 0.9, alpha: 0.7))
            drawing.text("Hi", x: 15, y: 15, size: 11, color: .gray)
            let png = try drawing.pngData()
            XCTAssertTrue(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            let decoded = try DecodedImage.decode(png, name: "drawing.png")
            XCTAssertEqual(decoded.rgb(), drawing.rgbImage())
            XCTAssertNotEqual(Set(drawing.rgbImage().pixels).count, 1, "something was drawn")
        }
    }

    func testSVGIsXMLWithVectorStrokes() throws {
        let drawing = Drawing.svg(width: 120, height: 80)
        drawing.line([(10, 10), (110, 70)], color: .black, width: 2, dash: [6, 3])
        drawing.text("axis", x: 10, y: 60, size: 12)
        let data = try drawing.svgData()
        let text = try XCTUnwrap(String(data: data, encoding: .utf8))
        XCTAssertTrue(text.hasPrefix("<?xml") || text.hasPrefix("<svg"), String(text.prefix(80)))
        XCTAssertTrue(text.contains("stroke-dasharray"), "the dash is kept as a vector stroke")
        XCTAssertTrue(XMLParser(data: data).parse(), "well-formed XML")
        XCTAssertEqual(try drawing.svgData().count, data.count, "writing does not end the drawing")
    }

    func testWriteIsAtomicAndNamesThePath() throws {
        let folder = try makeTemporaryFolder("zoo-draw")
        defer { try? FileManager.default.removeItem(at: folder) }
        let drawing = Drawing(width: 10, height: 10)
        for name in ["a.png", "a.svg"] {
            try drawing.write(to: folder.appendingPathComponent(name).path)
        }
        XCTAssertEqual(try DecodedImage.decode(Data(contentsOf: folder.appendingPathComponent("a.png")), name: "a.png").rgb().width, 10)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), ["a.png", "a.svg"], "no temporary file left")

        let missing = folder.appendingPathComponent("no/such/folder/plot.png").path
        XCTAssertThrowsError(try drawing.write(to: missing)) { XCTAssertTrue("\($0)".contains(missing), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
        let wrongKind = folder.appendingPathComponent("plot.gif").path
        XCTAssertThrowsError(try drawing.write(to: wrongKind)) { XCTAssertTrue("\($0)".contains(wrongKind), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: wrongKind))
    }

    func testAnImpossibleDrawingThrowsAndBadNumbersDoNotEndDrawing() {
        let huge = Drawing(width: 100_000, height: 10)
        huge.fillRectangle(x: 0, y: 0, width: 5, height: 5, color: .black)
        XCTAssertThrowsError(try huge.pngData()) { XCTAssertTrue("\($0)".contains("100000×10"), "\($0)") }
        XCTAssertEqual(huge.rgbImage().width, 0)

        // Each would put a cairo context in a sticky error state if passed on.
        let drawing = Drawing(width: 10, height: 10)
        drawing.image(Image(width: 1, height: 1, channels: 1, pixels: [0]), x: 0, y: 0, width: 0, height: 5)
        drawing.text("x", x: 0, y: 5, size: 10, rotation: .nan)
        drawing.line([(0, 0), (5, 5)], color: .black, width: 1, dash: [0, 0])
        drawing.fillRectangle(x: 2, y: 2, width: 3, height: 3, color: .black)
        XCTAssertNoThrow(try drawing.pngData())
        XCTAssertEqual(pixel(drawing.rgbImage(), 3, 3), [0, 0, 0], "drawing goes on after them")
    }

    func testLinePlotDrawsItsSeriesInBothForms() throws {
        let red = Color(rgb: (214, 39, 40))
        let plot = LinePlot(title: "error", xLabel: "epoch", yLabel: "error (%)", series: [
            LinePlot.Series(label: "plain-20", points: [(1, 50), (2, 30), (3, 20)], color: red, dashed: true),
            LinePlot.Series(label: "residual-20", points: [(1, 40), (2, 20), (3, 10)], color: .black, dashed: false),
        ])
        let raster = Drawing(width: plot.width, height: plot.height)
        plot.draw(on: raster)
        let image = raster.rgbImage()
        XCTAssertEqual([image.width, image.height], [900, 560])
        XCTAssertTrue((0..<image.width * image.height).contains { Array(image.pixels[3 * $0..<3 * $0 + 3]) == [214, 39, 40] }, "the red series")
        let vector = Drawing.svg(width: plot.width, height: plot.height)
        plot.draw(on: vector)
        let svg = try XCTUnwrap(String(data: try vector.svgData(), encoding: .utf8))
        XCTAssertTrue(svg.contains("stroke-dasharray"), "the plain series is dashed")
        XCTAssertTrue(svg.contains("rgb(83.921569%,15.294118%,15.686275%)"), "in its colour")
    }
}
