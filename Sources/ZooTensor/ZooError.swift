import Foundation

/// A problem a user can cause — a missing or malformed file, a weight file for another
/// model, an input a model cannot take — as one sentence naming the file or argument at
/// fault. Every ConvZoo library throws this type; the `zoo` tool prints the sentence.
///
/// A sentence about an argument names it by the library's parameter (`` `weights` ``); a tool
/// built on the library writes its own option there instead (`sentence(naming:)`).
public struct ZooError: LocalizedError, CustomStringConvertible, Equatable {
    /// The sentence, with `{name}` where it names the argument `name`.
    private let template: String

    public init(_ description: String) { template = Self.literal(description) }

    /// A sentence naming arguments: each `{name}` in `template` stands for the parameter `name`
    /// (text from elsewhere — a path, a file's keys — goes in through `literal`).
    public init(template: String) { self.template = template }

    /// `text` as it reads inside a template.
    public static func literal(_ text: String) -> String { text.replacingOccurrences(of: "{", with: "{{") }

    /// The sentence with each argument written as `name(argument)` writes it.
    public func sentence(naming name: (String) -> String) -> String {
        var out = "", rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            let after = rest[rest.index(after: open)...]
            if after.first == "{" {
                out += "{"
                rest = after.dropFirst()
            } else if let close = after.firstIndex(of: "}") {
                out += name(String(after[..<close]))
                rest = after[after.index(after: close)...]
            } else {
                out += after
                rest = ""
            }
        }
        return out + rest
    }

    /// The sentence, arguments written as the library's parameters (`` `weights` ``).
    public var description: String { sentence { "`\($0)`" } }
    public var errorDescription: String? { description }
}
