import Foundation
import ZooTensor

/// The SHA-256 of files already hashed, by path, size and modification time (`verified.json` in
/// the weights cache), so that loading a 500 MB checkpoint does not hash it every time. The
/// record is rewritten whole through a rename under a lock; a cache that cannot be written keeps
/// no record, and the files are hashed again next time.
struct FileDigests {
    let folder: String

    struct Record: Codable, Equatable {
        var size: Int64
        var modified: Int64
        var sha256: String
    }

    var recordPath: String { folder + "/verified.json" }

    func digest(ofFile path: String) throws -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        guard let stamp = Self.stamp(absolute) else { throw ZooError("cannot read '\(path)': no such file or not readable") }
        if let known = load()[absolute], known.size == stamp.size, known.modified == stamp.modified { return known.sha256 }
        let digest = try SHA256.hex(ofFile: absolute)
        remember(absolute, digest: digest)
        return digest
    }

    /// Records the digest of the file as it is now.
    func remember(_ path: String, digest: String) {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        guard let stamp = Self.stamp(absolute),
              (try? FileManager.default.createDirectory(atPath: WeightsCache.locks(in: folder), withIntermediateDirectories: true)) != nil,
              let lock = try? FileLock(path: WeightsCache.locks(in: folder) + "/verified.json", cache: folder) else { return }
        defer { lock.release() }
        var records = load()
        records[absolute] = Record(size: stamp.size, modified: stamp.modified, sha256: digest)
        // Files that are gone or changed are forgotten.
        records = records.filter { entry in Self.stamp(entry.key).map { $0.size == entry.value.size && $0.modified == entry.value.modified } ?? false }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        if let data = try? encoder.encode(records) { try? AtomicFile.write(data, to: recordPath) }
    }

    func load() -> [String: Record] {
        guard let data = FileManager.default.contents(atPath: recordPath) else { return [:] }
        return (try? JSONDecoder().decode([String: Record].self, from: data)) ?? [:]
    }

    /// Size and modification time (nanoseconds) of a regular file.
    static func stamp(_ path: String) -> (size: Int64, modified: Int64)? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (Int64(info.st_size), Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }
}
