import Foundation

/// Writes a file through a temporary file beside it and a rename, so that an interrupted
/// write never leaves a truncated file at the destination.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else { throw ZooError(String(cString: strerror(errno))) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ZooError("cannot write '\(path)': \(error.localizedDescription)")
        }
    }

    /// Writes `text` as UTF-8.
    public static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }
}
