import Foundation

/// Where a model's weights come from: a file, a URL, or a tag of the model's published weights
/// (`.pretrained` for the default ones, as torchvision's `weights="DEFAULT"` and timm's
/// `pretrained=True`).
///
///     try Zoo.load("resnet50", weights: .pretrained)
///     try Zoo.load("resnet50", weights: .pretrained("IMAGENET1K_V1"))
///     try Zoo.load("resnet50", weights: "resnet50-0676ba61.pth")
public struct WeightsSource: Equatable, ExpressibleByStringLiteral, CustomStringConvertible {
    public enum Kind: Equatable {
        case file(String)
        /// http://, https:// or file://
        case url(String)
        /// A tag of the model's catalogue entries ("DEFAULT", "IMAGENET1K_V1", "a1h_in1k").
        case tag(String)
    }

    public let kind: Kind

    public init(kind: Kind) { self.kind = kind }

    /// The model's default published weights.
    public static let pretrained = WeightsSource(kind: .tag(PublishedWeights.defaultTag))

    /// The model's published weights under `tag`.
    public static func pretrained(_ tag: String) -> WeightsSource { WeightsSource(kind: .tag(tag)) }

    public static func file(_ path: String) -> WeightsSource { WeightsSource(kind: .file(path)) }

    public static func url(_ url: String) -> WeightsSource { WeightsSource(kind: .url(url)) }

    /// The command line's reading of `--weights`: http://, https:// and file:// are URLs; a value
    /// with a '/' or a weight file's extension is a file; anything else is a tag.
    public init(_ text: String) {
        let lowered = text.lowercased()
        if ["http://", "https://", "file://"].contains(where: lowered.hasPrefix) {
            kind = .url(text)
        } else if text.contains("/") || Self.fileExtensions.contains((lowered as NSString).pathExtension) {
            kind = .file(text)
        } else {
            kind = .tag(text)
        }
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// Extensions that make a `--weights` value a file name.
    public static let fileExtensions: Set<String> = ["safetensors", "pth", "pt", "bin", "ckpt", "tar"]

    public var description: String {
        switch kind {
        case .file(let path): return path
        case .url(let url): return url
        case .tag(let tag): return tag
        }
    }
}
