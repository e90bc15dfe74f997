import Foundation

/// How an image becomes a model's input: resize the shorter side, center crop, scale to
/// [0, 1], normalise per channel — torchvision's evaluation transforms. Stored as JSON in a
/// weight file's `preprocessing` metadata. A description only: ZooImage applies it to images,
/// and each model family states its weights' own (`ModelEntry`).
public struct Preprocessing: Codable, Equatable {
    /// The shorter side after resizing (nil: no resize).
    public var resize: Int?
    /// An exact size [H, W] to resize to, ignoring the aspect ratio (small models' inputs).
    public var size: [Int]?
    /// The side of the center crop (nil: no crop).
    public var crop: Int?
    /// The resize filter: one of `interpolations`.
    public var interpolation: String
    public var mean: [Float]
    public var std: [Float]
    /// Convert to one gray channel first.
    public var grayscale: Bool

    public init(resize: Int? = nil, size: [Int]? = nil, crop: Int?, interpolation: String = "bilinear", mean: [Float], std: [Float],
                grayscale: Bool = false) {
        (self.resize, self.size, self.crop, self.interpolation) = (resize, size, crop, interpolation)
        (self.mean, self.std, self.grayscale) = (mean, std, grayscale)
    }

    /// The resize filters ZooImage has (Pillow's, as torchvision uses them).
    public static let interpolations = ["bilinear", "bicubic"]

    /// torchvision's ImageNet evaluation: Resize(256), CenterCrop(224), ImageNet mean and std.
    public static let imageNet = Preprocessing(resize: 256, crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    /// timm's evaluation transforms: resize the shorter side to ⌊crop / cropFraction⌋ (bicubic),
    /// center crop, normalise (by default with mean = std = 0.5, as most timm weights were trained).
    public static func timm(crop: Int, cropFraction: Double, mean: [Float] = [0.5, 0.5, 0.5],
                            std: [Float] = [0.5, 0.5, 0.5]) -> Preprocessing {
        Preprocessing(resize: Int((Double(crop) / cropFraction).rounded(.down)), crop: crop, interpolation: "bicubic",
                      mean: mean, std: std)
    }

    /// Small models: resize to the input size [C, H, W] exactly, scale to [0, 1], no normalisation.
    public static func unnormalised(input: [Int]) -> Preprocessing {
        Preprocessing(size: [input[1], input[2]], crop: nil, mean: Array(repeating: 0, count: input[0]),
                      std: Array(repeating: 1, count: input[0]), grayscale: input[0] == 1)
    }

    enum CodingKeys: String, CodingKey { case resize, size, crop, interpolation, mean, std, grayscale }

    /// Decodes the JSON form; `grayscale` and `interpolation` may be left out (false, bilinear),
    /// as in the weights catalogue.
    public init(from decoder: Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        resize = try values.decodeIfPresent(Int.self, forKey: .resize)
        size = try values.decodeIfPresent([Int].self, forKey: .size)
        crop = try values.decodeIfPresent(Int.self, forKey: .crop)
        interpolation = try values.decodeIfPresent(String.self, forKey: .interpolation) ?? "bilinear"
        mean = try values.decode([Float].self, forKey: .mean)
        std = try values.decode([Float].self, forKey: .std)
        grayscale = try values.decodeIfPresent(Bool.self, forKey: .grayscale) ?? false
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    public init?(json: String) {
        guard let value = try? JSONDecoder().decode(Preprocessing.self, from: Data(json.utf8)) else { return nil }
        self = value
    }
}
