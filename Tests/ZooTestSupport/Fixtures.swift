import Foundation
import ZooTensor
import ZooWeights

/// Reference files written by the scripts in Tools/ with PyTorch.
public enum Fixtures {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The fixture `name` (without extension) under `folder`, and its "config" metadata.
    public static func load(_ folder: String, _ name: String, file: StaticString = #filePath, line: UInt = #line)
        throws -> (tensors: SafeTensors, config: [String: Any]) {
        let path = root.appendingPathComponent(folder).appendingPathComponent(name + ".safetensors").path
        let tensors = try SafeTensors.read(path)
        let text = tensors.metadata["config"] ?? "{}"
        let config = (try JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return (tensors, config)
    }

    /// Names of the fixtures in `folder` starting with `prefix`, sorted.
    public static func names(_ folder: String, prefix: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
        return files.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".safetensors") }
            .map { String($0.dropLast(".safetensors".count)) }.sorted()
    }
}

extension SafeTensors {
    /// The tensor `name`, failing the test when it is missing.
    public func require(_ name: String) throws -> Tensor {
        guard let tensor = self[name] else { throw ZooError("fixture has no tensor '\(name)'") }
        return tensor
    }
}

/// Why `actual` is not within tolerance · max(1, max |expected|) of `expected` everywhere
/// (or has another shape), prefixed by `message`; nil when it is. Tests assert it is nil.
public func closeness(_ actual: Tensor?, _ expected: Tensor, tolerance: Float = 1e-4, _ message: String = "") -> String? {
    guard let actual else { return "\(message): no value computed" }
    guard actual.shape == expected.shape else { return "\(message): shape \(actual.shape), expected \(expected.shape)" }
    var worst: Float = 0
    for i in 0..<actual.count { worst = max(worst, abs(actual.scalars[i] - expected.scalars[i])) }
    let bound = tolerance * max(1, expected.maxAbs)
    return worst <= bound ? nil : "\(message): max |Δ| = \(worst) > \(bound)"
}

extension Dictionary where Key == String, Value == Any {
    public func int(_ key: String) -> Int { (self[key] as? NSNumber)?.intValue ?? 0 }
    public func float(_ key: String) -> Float { (self[key] as? NSNumber)?.floatValue ?? 0 }
    public func bool(_ key: String) -> Bool { (self[key] as? NSNumber)?.boolValue ?? false }
    public func pair(_ key: String) -> (Int, Int) {
        let values = (self[key] as? [NSNumber])?.map(\.intValue) ?? [0, 0]
        return (values[0], values[1])
    }
}
