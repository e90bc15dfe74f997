import CLibCrypto
import Foundation
import ZooTensor

/// SHA-256 through OpenSSL's libcrypto: fed piece by piece, read as 64 lowercase hex digits.
public struct SHA256 {
    private let context: OpaquePointer

    public init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) }
    }

    /// The digest of everything fed so far, as hex; the hasher is finished after it.
    public func finish() -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        EVP_MD_CTX_free(context)
        return digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
    }

    /// The SHA-256 of `data`.
    public static func hex(of data: Data) -> String {
        let hasher = SHA256()
        data.withUnsafeBytes { hasher.update($0) }
        return hasher.finish()
    }

    /// The SHA-256 of the file at `path`, read in pieces of 4 MiB.
    public static func hex(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ZooError("cannot read '\(path)': no such file or not readable") }
        defer { try? handle.close() }
        let hasher = SHA256()
        while true {
            let piece: Data
            do { piece = try handle.read(upToCount: 4 << 20) ?? Data() } catch {
                _ = hasher.finish()
                throw ZooError("cannot read '\(path)': \(error.localizedDescription)")
            }
            if piece.isEmpty { break }
            piece.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finish()
    }

    /// Whether `digest` (64 hex digits) agrees with `expected`: the whole digest, or a prefix of it
    /// (torch hub names files NAME-PREFIX.pth with the first digits of their SHA-256).
    public static func matches(_ digest: String, _ expected: String) -> Bool {
        !expected.isEmpty && digest.hasPrefix(expected.lowercased())
    }
}
