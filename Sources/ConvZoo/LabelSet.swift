import Foundation

/// Class names in class-index order, and the one rule for reading them from a file: one name
/// per line, surrounding spaces trimmed, blank lines at the end ignored.
public struct LabelSet: Equatable {
    public var names: [String]

    public init(_ names: [String]) { self.names = names }

    /// Reads a label file; with `classCount`, the file must name exactly that many classes.
    public init(file path: String, classCount: Int? = nil) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ZooError("cannot read the label file '\(path)'") }
        // Split on any line break: "\r\n" is one Character in Swift, not a "\n".
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        names = Array(lines.reversed().drop(while: \.isEmpty).reversed())
        if let blank = names.firstIndex(of: "") { throw ZooError("the label file '\(path)' has an empty line \(blank + 1) among its names") }
        if let classCount, names.count != classCount {
            throw ZooError("the label file '\(path)' has \(names.count) names, but the model has \(classCount) classes")
        }
    }

    /// The names a weight file's `labels` metadata (a JSON list) holds, if it is one.
    public init?(json: String) {
        guard let list = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String] else { return nil }
        names = list
    }

    /// The JSON list stored in a weight file's `labels` metadata.
    public var json: String { String(decoding: try! JSONSerialization.data(withJSONObject: names), as: UTF8.self) }

    /// The names for a model of `classCount` classes with no names given: ImageNet's for
    /// 1,000 classes, else "class 0", "class 1", ….
    public static func standard(classCount: Int) -> LabelSet {
        classCount == imageNetClasses.count ? LabelSet(imageNetClasses) : LabelSet((0..<classCount).map { "class \($0)" })
    }
}
