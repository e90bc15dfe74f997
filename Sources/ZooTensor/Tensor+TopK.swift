extension Tensor {
    /// For each row of a [N, C] tensor, the indices of its `k` largest values, largest first;
    /// equal values keep the lower index first. `k` is capped at C.
    public func topK(_ k: Int) -> [[Int]] {
        precondition(rank == 2, "topK takes a [N, C] tensor, not \(shape)")
        let (rows, columns) = (shape[0], shape[1])
        return (0..<rows).map { row in
            let scores = scalars[row * columns ..< (row + 1) * columns]
            return Array(scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
                .prefix(Swift.max(0, k)).map { $0 - row * columns })
        }
    }
}
