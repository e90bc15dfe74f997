import Foundation
import ZooTensor

/// A checkpoint that torchvision, timm or the pretrainedmodels package publishes for a model of
/// the registry (or that a team adds through `ZOO_CATALOG`): where it is, how it is known, and
/// the facts that belong to that file — its evaluation transforms, labels and `transform_input`.
///
/// The built-in entries are written by `Tools/make_weight_catalog.py` from the installed
/// references' own metadata (`PublishedWeightsCatalog.swift`); no number in them is typed by hand.
public struct PublishedWeights: Codable, Equatable {
    /// The registry name.
    public var model: String
    /// The reference's name for these weights: "IMAGENET1K_V2" (torchvision), "a1h_in1k" (timm),
    /// "imagenet" (pretrainedmodels).
    public var tag: String
    /// Whether these are the weights a user gets by asking for the model's pretrained weights
    /// (torchvision's `DEFAULT`, timm's first tag).
    public var isDefault: Bool
    /// "torchvision", "timm", "pretrainedmodels", or a team's catalogue.
    public var source: String
    /// How the reference names them ("torchvision ResNet50_Weights.IMAGENET1K_V2").
    public var reference: String?
    public var url: String
    /// The SHA-256: 64 hex digits, the prefix in a torch hub file name (resnet50-11ad3fa6.pth),
    /// or "" when none is published.
    public var sha256: String
    /// The file's size when the reference says it.
    public var bytes: Int?
    /// The reference's ImageNet-1k top-1 and top-5 accuracy (%), where it publishes them.
    public var top1: Double?
    public var top5: Double?
    /// The reference's parameter count.
    public var parameters: Int?
    /// Classes of the classifier (nil: weights that cannot classify, such as vgg16's features).
    public var classes: Int?
    /// "imagenet-1k" for ImageNet-1k's class names.
    public var labels: String?
    /// The evaluation transforms (nil in a team's entry: the registry's).
    public var preprocessing: Preprocessing?
    /// Whether the model re-normalises its input for these weights (torchvision's GoogLeNet and
    /// Inception v3 weights ported from Google's).
    public var transformInput: Bool
    public var license: String?
    public var paper: String?
    public var recipe: String?
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case model, tag, isDefault = "default", source, reference, url, sha256, bytes, top1, top5, parameters, classes, labels
        case preprocessing, transformInput = "transform_input", license, paper, recipe, note
    }

    public init(model: String, tag: String, isDefault: Bool = false, source: String, url: String, sha256: String = "",
                preprocessing: Preprocessing? = nil, transformInput: Bool = false) {
        (self.model, self.tag, self.isDefault, self.source, self.url) = (model, tag, isDefault, source, url)
        (self.sha256, self.preprocessing, self.transformInput) = (sha256.lowercased(), preprocessing, transformInput)
    }

    /// Decodes an entry; besides `model`, `tag` and `url` every field may be left out (a team's
    /// catalogue): no digest, not the default, the registry's transforms.
    public init(from decoder: Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        model = try values.decode(String.self, forKey: .model)
        tag = try values.decode(String.self, forKey: .tag)
        url = try values.decode(String.self, forKey: .url)
        isDefault = try values.decodeIfPresent(Bool.self, forKey: .isDefault) ?? false
        source = try values.decodeIfPresent(String.self, forKey: .source) ?? "ZOO_CATALOG"
        reference = try values.decodeIfPresent(String.self, forKey: .reference)
        sha256 = try (values.decodeIfPresent(String.self, forKey: .sha256) ?? "").lowercased()
        bytes = try values.decodeIfPresent(Int.self, forKey: .bytes)
        top1 = try values.decodeIfPresent(Double.self, forKey: .top1)
        top5 = try values.decodeIfPresent(Double.self, forKey: .top5)
        parameters = try values.decodeIfPresent(Int.self, forKey: .parameters)
        classes = try values.decodeIfPresent(Int.self, forKey: .classes)
        labels = try values.decodeIfPresent(String.self, forKey: .labels)
        preprocessing = try values.decodeIfPresent(Preprocessing.self, forKey: .preprocessing)
        transformInput = try values.decodeIfPresent(Bool.self, forKey: .transformInput) ?? false
        license = try values.decodeIfPresent(String.self, forKey: .license)
        paper = try values.decodeIfPresent(String.self, forKey: .paper)
        recipe = try values.decodeIfPresent(String.self, forKey: .recipe)
        note = try values.decodeIfPresent(String.self, forKey: .note)
    }

    /// "resnet50:IMAGENET1K_V2"
    public var name: String { model + ":" + tag }

    /// Whether a file whose SHA-256 is `digest` is this published file.
    public func isFile(withDigest digest: String) -> Bool { !sha256.isEmpty && digest.hasPrefix(sha256) }

    /// The tag that asks for a model's default weights.
    public static let defaultTag = "DEFAULT"

    /// The built-in entries (from `PublishedWeightsCatalog.swift`).
    public static let builtIn: [PublishedWeights] = {
        // The generated JSON is checked by a test against the references; a failure here is a bug.
        try! JSONDecoder().decode([PublishedWeights].self, from: Data(catalogJSON.utf8))
    }()

    /// The catalogue: the built-in entries and those of the JSON file `ZOO_CATALOG` names (a list
    /// of entries with the fields `zoo weights --json` prints); an entry of the file replaces a
    /// built-in one of the same model and tag.
    public static func catalog(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [PublishedWeights] {
        guard let path = environment["ZOO_CATALOG"], !path.isEmpty else { return builtIn }
        let team = try teamEntries(path)
        return builtIn.filter { own in !team.contains { $0.model == own.model && $0.tag == own.tag } } + team
    }

    static func teamEntries(_ path: String) throws -> [PublishedWeights] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ZooError("cannot read the weights catalogue '\(path)' that ZOO_CATALOG names: no such file or not readable")
        }
        let entries: [PublishedWeights]
        do { entries = try JSONDecoder().decode([PublishedWeights].self, from: data) } catch {
            throw ZooError("the weights catalogue '\(path)' that ZOO_CATALOG names is not a JSON list of entries with model, tag and url: \(describe(error))")
        }
        for (index, entry) in entries.enumerated() {
            let place = "entry \(index + 1) of the weights catalogue '\(path)'"
            guard ModelRegistry.entry(entry.model) != nil else { throw ZooError("\(place) names the unknown model '\(entry.model)'") }
            guard !entry.tag.isEmpty, entry.tag != defaultTag, !entry.tag.contains("/") else {
                throw ZooError("\(place) has the tag '\(entry.tag)'; a tag is a name without '/' other than \(defaultTag)")
            }
            guard let scheme = URL(string: entry.url)?.scheme, ["http", "https", "file"].contains(scheme) else {
                throw ZooError("\(place) has the URL '\(entry.url)', which is not http://, https:// or file://")
            }
            guard entry.sha256.allSatisfy(\.isHexDigit), entry.sha256.count <= 64 else {
                throw ZooError("\(place) has the SHA-256 '\(entry.sha256)', which is not hex digits")
            }
            if let interpolation = entry.preprocessing?.interpolation, !Preprocessing.interpolations.contains(interpolation) {
                throw ZooError("\(place) has the interpolation '\(interpolation)'; bilinear and bicubic are known")
            }
        }
        return entries
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "'\(key.stringValue)' is missing" + (context.codingPath.first.map { " in entry \(($0.intValue ?? 0) + 1)" } ?? "")
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "'\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        default:
            return "it is not valid JSON"
        }
    }

    /// The model's entries, the default first.
    public static func entries(for model: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [PublishedWeights] {
        try catalog(environment: environment).filter { $0.model == model }.sorted { $0.isDefault && !$1.isDefault }
    }

    /// The model's weights under `tag` (`DEFAULT`: the default ones), or an error listing its tags.
    public static func entry(model: String, tag: String,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PublishedWeights {
        let entries = try entries(for: model, environment: environment)
        if tag == defaultTag, let first = entries.first(where: \.isDefault) ?? entries.first { return first }
        if let match = entries.first(where: { $0.tag == tag }) { return match }
        if entries.isEmpty {
            throw ZooError("no pretrained weights are published for \(model) (the catalogue has none; 'zoo weights' lists the models that have)")
        }
        throw ZooError("\(model) has no weights tagged '\(tag)'; its tags are \(defaultTag), "
                       + entries.map(\.tag).joined(separator: ", "))
    }
}
