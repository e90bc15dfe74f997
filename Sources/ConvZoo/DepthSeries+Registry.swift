extension DepthSeries {
    /// The kinds the depth experiment can train: `plain`, `residual`, `preact`.
    public static var kinds: [String] { ModelRegistry.depthSeriesKinds }

    /// The registry's CIFAR-style networks of `kind` (He et al. 2016 §4.2), or nil for an
    /// unknown kind.
    public static func named(_ kind: String) -> DepthSeries? {
        guard kinds.contains(kind) else { return nil }
        return DepthSeries(kind: kind, hasShortcuts: ModelRegistry.depthSeriesHasShortcuts(kind),
                           hasDepth: ModelRegistry.depthSeriesHas(depth:)) { depth, classCount, channels, zeroInit in
            let options = ModelOptions(classCount: classCount, input: [channels, 32, 32], zeroInitResidual: zeroInit)
            return ModelRegistry.depthSeriesNetwork(kind: kind, depth: depth, options: options)!
        }
    }
}
