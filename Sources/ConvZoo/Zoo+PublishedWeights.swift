import Foundation

extension Zoo {
    /// The published weights of the model `name` (the default first), with `ZOO_CATALOG`'s entries.
    public static func weights(for name: String) throws -> [PublishedWeights] {
        try PublishedWeights.entries(for: entry(name).name)
    }

    /// Every published weight file the catalogue knows, in registry order, the default first.
    public static func allWeights() throws -> [PublishedWeights] {
        let catalog = try PublishedWeights.catalog()
        return ModelRegistry.names.flatMap { name in catalog.filter { $0.model == name }.sorted { $0.isDefault && !$1.isDefault } }
    }

    /// The weights cache (`$ZOO_CACHE`, else `$XDG_CACHE_HOME/convzoo`, else `~/.cache/convzoo`).
    public static var cache: WeightsCache { WeightsCache() }

    /// The published file as the cache fetches it.
    static func remoteFile(_ weights: PublishedWeights) -> RemoteFile { RemoteFile(url: weights.url, sha256: weights.sha256) }

    /// The verified copy of the published file on this machine (the cache, torch's or Hugging
    /// Face's), or nil.
    public static func localCopy(of weights: PublishedWeights) throws -> String? {
        try cache.localCopy(of: remoteFile(weights))?.path
    }

    /// Downloads the published file into the cache unless a verified copy is on this machine.
    /// - Parameters:
    ///   - weights: the catalogue entry (`weights(for:)`).
    ///   - progress: called as bytes arrive; without it a line is drawn on stderr when it is a
    ///     terminal (`{ _ in }` draws nothing).
    public static func fetch(_ weights: PublishedWeights, progress: ((FetchProgress) -> Void)? = nil) throws -> CachedFile {
        let file = remoteFile(weights)
        return try cache.fetch(file, progress: progress ?? TerminalProgress.bar(file.fileName))
    }

    /// A weight file on this machine for `source`, and the published file it is when that is known.
    struct ResolvedWeights {
        var path: String
        var published: PublishedWeights?
        var notes: [String]
    }

    static func resolve(_ source: WeightsSource, for entry: ModelEntry) throws -> ResolvedWeights {
        switch source.kind {
        case .file(let path):
            return ResolvedWeights(path: path, published: nil, notes: [])
        case .tag(let tag):
            let weights = try PublishedWeights.entry(model: entry.name, tag: tag)
            let fetched = try fetch(weights)
            return ResolvedWeights(path: fetched.path, published: weights, notes: fetched.notes)
        case .url(let url):
            let fetched = try fetch(url: url)
            let published = try PublishedWeights.entries(for: entry.name).first { $0.url == url || $0.isFile(withDigest: fetched.sha256) }
            return ResolvedWeights(path: fetched.path, published: published, notes: fetched.notes)
        }
    }

    /// Downloads the file at `url` into the cache unless a verified copy is on this machine: checked
    /// against the catalogue's digest when the URL is a published one, else against the digest
    /// prefix of a torch hub style name (NAME-HEX.pth), else against the server's published digest.
    public static func fetch(url: String) throws -> CachedFile {
        let file = try PublishedWeights.catalog().first { $0.url == url }.map(remoteFile)
            ?? RemoteFile(url: url, sha256: RemoteFile.torchHubPrefix(of: url))
        return try cache.fetch(file, progress: TerminalProgress.bar(file.fileName))
    }

    /// The catalogue entry of `entry`'s model that the file at `path` is, by its SHA-256 (hashed
    /// once and remembered in the cache), or nil.
    static func publishedFile(at path: String, for entry: ModelEntry) throws -> PublishedWeights? {
        let candidates = try PublishedWeights.entries(for: entry.name).filter { !$0.sha256.isEmpty }
        guard !candidates.isEmpty else { return nil }
        let digest = try cache.digest(ofFile: path)
        return candidates.first { $0.isFile(withDigest: digest) }
    }
}

/// One row of the table of published weights, the lecture notes' table of pre-trained models:
/// the catalogue entry with what is computed from the model itself.
public struct PublishedWeightsRow {
    public var weights: PublishedWeights
    /// The file's size where its publisher says it, else the float32 parameters and buffers.
    public var bytes: Int
    /// Parameters of the model (at the weights' class count).
    public var parameters: Int
    /// Convolution and fully connected layers on the longest path (`Module.depth`).
    public var depth: Int?
    /// Multiply-accumulates of one image at the model's input.
    public var macs: Int
    /// The verified copy on this machine, if there is one.
    public var cachedPath: String?
}

extension Zoo {
    /// The table of published weights for `models` (every model with published weights when nil),
    /// each model built once without weights to count its parameters, layers and MACs.
    public static func weightsTable(models: [String]? = nil) throws -> [PublishedWeightsRow] {
        let names = try models.map { try $0.map { try entry($0).name } }
        let all = try allWeights().filter { names?.contains($0.model) ?? true }
        var facts: [String: (bytes: Int, parameters: Int, depth: Int?, macs: Int)] = [:]
        return try all.map { weights in
            let entry = try entry(weights.model)
            let key = weights.model + "/" + String(weights.classes ?? entry.defaultClassCount)
            if facts[key] == nil {
                let module = try GlobalRandom.shapesOnly {
                    try entry.build(ModelOptions(classCount: weights.classes ?? entry.defaultClassCount, input: entry.defaultInput))
                }
                let bytes = 4 * module.parameterCount
                    + module.namedBuffers().reduce(0) { $0 + $1.buffer.value.count * ($1.buffer.isInteger ? 8 : 4) }
                let small = [entry.defaultInput[0], 96, 96]
                let depth = GlobalRandom.shapesOnly { module.depth(input: entry.inputProblem(small) == nil ? small : entry.defaultInput) }
                facts[key] = try (bytes, module.parameterCount, depth, module.summary(input: entry.defaultInput).macs)
            }
            let fact = facts[key]!
            return PublishedWeightsRow(weights: weights, bytes: weights.bytes ?? fact.bytes, parameters: fact.parameters, depth: fact.depth,
                                       macs: fact.macs, cachedPath: try localCopy(of: weights))
        }
    }
}
