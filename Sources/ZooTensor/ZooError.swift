import Foundation

/// A problem a user can cause — a missing or malformed file, a weight file for another
/// model, an input a model cannot take — as one sentence naming the file or argument at
/// fault. Every ConvZoo library throws this type; the `zoo` tool prints the sentence.
public struct ZooError: LocalizedError, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
