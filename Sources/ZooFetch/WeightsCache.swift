import Foundation
import ZooTensor

/// A published file: its URL and its SHA-256 as far as it is known.
public struct RemoteFile: Equatable, Sendable {
    public var url: String
    /// The whole digest (64 hex digits), a prefix of it (torch hub's NAME-PREFIX.pth names), or
    /// "" when nobody published it.
    public var sha256: String

    public init(url: String, sha256: String) { (self.url, self.sha256) = (url, sha256.lowercased()) }

    /// The digest prefix in a torch hub style file name, NAME-HEX.ext (six or more hex digits
    /// after the last '-'), or "".
    public static func torchHubPrefix(of url: String) -> String {
        let name = ((URL(string: url)?.lastPathComponent ?? url) as NSString).deletingPathExtension
        guard let dash = name.lastIndex(of: "-") else { return "" }
        let prefix = name[name.index(after: dash)...].lowercased()
        return prefix.count >= 6 && prefix.allSatisfy(\.isHexDigit) ? prefix : ""
    }

    /// A file on the Hugging Face hub (https://huggingface.co/ORG/NAME/resolve/REVISION/PATH).
    var huggingFace: (repository: String, path: String)? {
        guard let parsed = URL(string: url), parsed.host == "huggingface.co" else { return nil }
        let parts = parsed.path.split(separator: "/").map(String.init)
        guard parts.count >= 5, parts[2] == "resolve" else { return nil }
        return (parts[0] + "/" + parts[1], parts[4...].joined(separator: "/"))
    }

    /// The name the file is kept under: the URL's last component, and for a Hugging Face file the
    /// repository's too ("timm--resnetv2_50.a1h_in1k--model.safetensors").
    public var fileName: String {
        if let hub = huggingFace { return (hub.repository + "/" + hub.path).replacingOccurrences(of: "/", with: "--") }
        return URL(string: url)?.lastPathComponent ?? url
    }
}

/// A file the cache handed out: where it is, its SHA-256, and anything a user should hear
/// about how it was found (a wrong file passed over, a digest nobody published).
public struct CachedFile {
    public var path: String
    public var sha256: String
    public var notes: [String] = []
}

/// The weights cache: published files downloaded once, verified by their SHA-256 and kept.
///
/// - The folder is `$ZOO_CACHE`, else `$XDG_CACHE_HOME/convzoo`, else `~/.cache/convzoo`.
/// - A file already in torch's cache (`$TORCH_HOME/hub/checkpoints`) or in the Hugging Face cache
///   (`$HF_HOME/hub`) is used where it is, after the same check.
/// - A download goes to `NAME.partial` beside the final file, under a lock that a second process
///   fetching the same file waits on; an interrupted one resumes from what arrived (HTTP Range);
///   the file is renamed to its name only once its SHA-256 matches.
/// - `ZOO_OFFLINE=1`: no download; the error says which file to put where.
/// - `ZOO_WEIGHTS_MIRROR=URL`: every URL's scheme and host are replaced by URL (the path stays);
///   `file:///folder` serves an air-gapped machine.
public struct WeightsCache {
    public let folder: String
    let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        if let folder = environment["ZOO_CACHE"], !folder.isEmpty {
            self.folder = folder
        } else {
            self.folder = Self.cacheHome(environment) + "/convzoo"
        }
    }

    static func cacheHome(_ environment: [String: String]) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache"
    }

    public var isOffline: Bool { ["1", "true", "yes", "on"].contains(environment["ZOO_OFFLINE"]?.lowercased() ?? "") }

    /// Where the file is kept in this cache.
    public func path(of file: RemoteFile) -> String { folder + "/" + file.fileName }

    /// The URL a download asks: the published one, or the mirror's.
    public func sourceURL(of file: RemoteFile) -> String {
        guard let mirror = environment["ZOO_WEIGHTS_MIRROR"], !mirror.isEmpty, let published = URL(string: file.url) else { return file.url }
        var path = published.path
        if let query = published.query { path += "?" + query }
        return mirror.hasSuffix("/") ? String(mirror.dropLast()) + path : mirror + path
    }

    /// torch's copy of the file (`torch.hub.load_state_dict_from_url` keeps the URL's last component).
    public var torchCheckpoints: String {
        (environment["TORCH_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.cacheHome(environment) + "/torch") + "/hub/checkpoints"
    }

    /// The Hugging Face hub cache (huggingface_hub's `HF_HUB_CACHE`, `$HF_HOME/hub`).
    public var huggingFaceHub: String {
        if let hub = environment["HF_HUB_CACHE"], !hub.isEmpty { return hub }
        return (environment["HF_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.cacheHome(environment) + "/huggingface") + "/hub"
    }

    /// Copies of the file that other tools keep, in the order they are tried.
    func otherCopies(of file: RemoteFile) -> [String] {
        var paths = [torchCheckpoints + "/" + (URL(string: file.url)?.lastPathComponent ?? file.fileName)]
        if let hub = file.huggingFace {
            let snapshots = huggingFaceHub + "/models--" + hub.repository.replacingOccurrences(of: "/", with: "--") + "/snapshots"
            let revisions = (try? FileManager.default.contentsOfDirectory(atPath: snapshots))?.sorted() ?? []
            paths += revisions.map { snapshots + "/" + $0 + "/" + hub.path }
        }
        return paths.filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// The SHA-256 of the file at `path`, remembered by path, size and modification time so that
    /// a large file is hashed once (`verified.json` in the cache; not kept if the cache cannot be written).
    public func digest(ofFile path: String) throws -> String {
        try FileDigests(folder: folder).digest(ofFile: path)
    }

    /// A verified copy of the file already on this machine (this cache, torch's, Hugging Face's),
    /// or nil. A copy whose digest is not the published one is passed over (its note says so); a
    /// broken copy in this cache is removed.
    public func localCopy(of file: RemoteFile) throws -> CachedFile? { try search(file).copy }

    private func search(_ file: RemoteFile) throws -> (copy: CachedFile?, notes: [String]) {
        var notes: [String] = []
        let own = path(of: file)
        for candidate in [own] + otherCopies(of: file) where FileManager.default.fileExists(atPath: candidate) {
            let digest = try self.digest(ofFile: candidate)
            if file.sha256.isEmpty ? trusted(candidate, digest: digest) : SHA256.matches(digest, file.sha256) {
                return (CachedFile(path: candidate, sha256: digest, notes: notes), notes)
            }
            if candidate == own {
                try? FileManager.default.removeItem(atPath: own)
                notes.append("the cached '\(own)' was not the published file (SHA-256 \(digest)); it was removed")
            } else {
                notes.append("'\(candidate)' is not the published file of \(file.url): its SHA-256 is \(digest), "
                             + "not \(file.sha256)\(file.sha256.count < 64 ? "…" : ""); it was not used")
            }
        }
        return (nil, notes)
    }

    /// With no published digest: this cache's own copy (checked when it arrived), torch's copy,
    /// or a Hugging Face blob whose content hashes to its name.
    private func trusted(_ path: String, digest: String) -> Bool {
        guard path.hasPrefix(huggingFaceHub + "/") else { return true }
        let blob = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { ($0 as NSString).lastPathComponent }
        return blob == digest
    }

    /// The file, from a copy on this machine or downloaded into the cache.
    /// - Parameter progress: called as bytes arrive (`TerminalProgress.bar` draws on a terminal).
    /// - Throws: one sentence naming the URL and the cache path: offline, a failed download, a
    ///   digest that is not the published one (nothing is kept then), an unwritable cache.
    public func fetch(_ file: RemoteFile, progress: ((FetchProgress) -> Void)? = nil) throws -> CachedFile {
        guard let parsed = URL(string: file.url), let scheme = parsed.scheme?.lowercased(), ["http", "https", "file"].contains(scheme),
              scheme == "file" || parsed.host != nil else {
            throw ZooError("'\(file.url)' is not an http://, https:// or file:// URL")
        }
        let found = try search(file)
        if let copy = found.copy { return copy }
        var notes = found.notes
        let final = path(of: file), source = sourceURL(of: file)
        if isOffline {
            throw ZooError("ZOO_OFFLINE is set and \(file.fileName) is not on this machine: put the file from \(file.url) at '\(final)'")
        }
        do {
            try FileManager.default.createDirectory(atPath: locks, withIntermediateDirectories: true)
        } catch {
            throw ZooError("cannot write the weights cache '\(folder)' (set ZOO_CACHE to a writable folder): \(Self.reason(error))")
        }
        let lock = try FileLock(path: locks + "/" + file.fileName, cache: folder)
        defer { lock.release() }
        // Another process may have fetched it while this one waited.
        if let copy = try search(file).copy { return copy }
        let partial = final + ".partial"
        let result: Download.Result
        do {
            result = try Download(url: source, destination: partial, progress: progress).run()
        } catch let failure as Download.Failure {
            let kept = Download.size(of: partial)
            if kept == 0 { try? FileManager.default.removeItem(atPath: partial) }
            throw ZooError("could not download \(source) into '\(final)': \(failure.reason)"
                           + (kept > 0 ? " (the \(kept) bytes that arrived are kept in '\(partial)'; the next try resumes from them)" : ""))
        }
        let digest = try SHA256.hex(ofFile: partial)
        let expected = file.sha256.isEmpty ? (result.publishedDigest ?? "") : file.sha256
        if !expected.isEmpty && !SHA256.matches(digest, expected) {
            try? FileManager.default.removeItem(atPath: partial)
            throw ZooError("\(source) is not the published file: its SHA-256 is \(digest), not \(expected)"
                           + (expected.count < 64 ? "…" : "") + "; nothing was kept in '\(folder)'")
        }
        if expected.isEmpty { notes.append("no SHA-256 is published for \(file.url); kept it with SHA-256 \(digest)") }
        guard rename(partial, final) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: partial)
            throw ZooError("cannot write '\(final)': \(reason)")
        }
        FileDigests(folder: folder).remember(final, digest: digest)
        return CachedFile(path: final, sha256: digest, notes: notes)
    }

    /// The operating system's words for a file error ("Permission denied").
    static func reason(_ error: Error) -> String {
        var error = error as NSError
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError { error = underlying }
        return error.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32(error.code))) : error.localizedDescription
    }

    /// Where the locks of downloads and of the digest record are (kept apart from the files).
    static func locks(in folder: String) -> String { folder + "/.locks" }
    var locks: String { Self.locks(in: folder) }
}

/// An exclusive lock on a file (flock), held until `release`; a second process blocks on it.
struct FileLock {
    let descriptor: Int32

    init(path: String, cache: String) throws {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ZooError("cannot write the weights cache '\(cache)' (set ZOO_CACHE to a writable folder): \(String(cString: strerror(errno)))")
        }
        while flock(descriptor, LOCK_EX) != 0 && errno == EINTR {}
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
