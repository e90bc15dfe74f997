/// A colour with straight (not premultiplied) alpha, each component in 0...1.
public struct Color: Equatable, Sendable {
    public var red, green, blue, alpha: Double

    public init(red: Double, green: Double, blue: Double, alpha: Double = 1) {
        (self.red, self.green, self.blue, self.alpha) = (red, green, blue, alpha)
    }

    /// An opaque colour from 8-bit sRGB components.
    public init(rgb: (UInt8, UInt8, UInt8)) {
        self.init(red: Double(rgb.0) / 255, green: Double(rgb.1) / 255, blue: Double(rgb.2) / 255)
    }

    public static let white = Color(red: 1, green: 1, blue: 1)
    public static let black = Color(red: 0, green: 0, blue: 0)
    public static let gray = Color(red: 0.5, green: 0.5, blue: 0.5)
}

/// Colour maps for values in [0, 1]. Inferno and viridis are matplotlib's perceptually uniform
/// maps (van der Walt and Smith, 2015), lightness rising monotonically from 0 to 1.
public enum ColorMap: Sendable {
    case inferno, viridis, gray

    /// t in [0, 1] (clamped; NaN -> 0).
    public func color(_ t: Double) -> Color {
        let t = t.isNaN ? 0 : min(max(t, 0), 1)
        let table: [(Double, Double, Double)]
        switch self {
        case .gray: return Color(red: t, green: t, blue: t)
        case .inferno: table = ColorMap.infernoPoints
        case .viridis: table = ColorMap.viridisPoints
        }
        let position = t * Double(table.count - 1)
        let index = min(Int(position), table.count - 2)
        let fraction = position - Double(index)
        let (a, b) = (table[index], table[index + 1])
        return Color(red: a.0 + (b.0 - a.0) * fraction, green: a.1 + (b.1 - a.1) * fraction, blue: a.2 + (b.2 - a.2) * fraction)
    }

    // Every 17th entry (0, 17, …, 255) of matplotlib's 256-entry tables, interpolated linearly
    // in between: at most 0.026 from the full table in any component.
    static let infernoPoints: [(Double, Double, Double)] = [
        (0.001462, 0.000466, 0.013866), (0.046915, 0.030324, 0.150164), (0.142378, 0.046242, 0.308553),
        (0.258234, 0.038571, 0.406485), (0.366529, 0.071579, 0.431994), (0.472328, 0.110547, 0.428334),
        (0.578304, 0.148039, 0.404411), (0.682656, 0.189501, 0.360757), (0.780517, 0.243327, 0.299523),
        (0.865006, 0.316822, 0.226055), (0.929644, 0.411479, 0.145367), (0.970919, 0.522853, 0.058367),
        (0.987622, 0.645320, 0.039886), (0.978806, 0.774545, 0.176037), (0.950018, 0.903409, 0.380271),
        (0.988362, 0.998364, 0.644924),
    ]

    static let viridisPoints: [(Double, Double, Double)] = [
        (0.267004, 0.004874, 0.329415), (0.282656, 0.100196, 0.422160), (0.277134, 0.185228, 0.489898),
        (0.253935, 0.265254, 0.529983), (0.221989, 0.339161, 0.548752), (0.190631, 0.407061, 0.556089),
        (0.163625, 0.471133, 0.558148), (0.139147, 0.533812, 0.555298), (0.120565, 0.596422, 0.543611),
        (0.134692, 0.658636, 0.517649), (0.208030, 0.718701, 0.472873), (0.327796, 0.773980, 0.406640),
        (0.477504, 0.821444, 0.318195), (0.647257, 0.858400, 0.209861), (0.824940, 0.884720, 0.106217),
        (0.993248, 0.906157, 0.143936),
    ]
}
