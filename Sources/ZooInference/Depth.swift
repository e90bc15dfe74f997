import ZooNN
@_spi(Engine) import ZooTensor

extension Module {
    /// The network's depth as its paper counts it: the convolution and fully connected layers on
    /// the longest path from the input to the output (resnet50 → 50, vgg16 → 16, densenet121 →
    /// 121), read off one traced forward pass of a zero image of `input` [C, H, W] in evaluation
    /// mode. Nil when that pass uses an operation the tracer does not know.
    public func depth(input: [Int]) -> Int? {
        eval()
        guard let graph = try? PlanGraph(tracing: self, image: [1] + input) else { return nil }
        // layers[v]: the most weighted layers on a path from the input to value v.
        var layers = [Int](repeating: 0, count: graph.nodes.count + 1)
        for (index, node) in graph.nodes.enumerated() {
            let weighted: Int
            switch node.op {
            case .conv2d, .linear: weighted = 1
            default: weighted = 0
            }
            layers[index + 1] = (node.inputs.map { layers[$0] }.max() ?? 0) + weighted
        }
        return layers[graph.output]
    }
}
