import CZooInference
import Foundation
@_spi(Engine) import ZooNN
@_spi(Engine) import ZooTensor

/// Turns a traced graph into plan steps, fusing into a convolution or linear layer what
/// follows it when its output has no other reader: a BatchNorm or a scaling (folded into the
/// weights), a residual addition (a sum post-op) and an activation (an eltwise post-op).
struct PlanLowering {
    let graph: PlanGraph
    let batch: Int
    let image: [Int]
    let plan: OpaquePointer
    private var tensors: [Int: Int32] = [:]
    /// Values that are another value under a no-op reshape.
    private var aliases: [Int: Int] = [:]

    init(graph: PlanGraph, batch: Int, image: [Int], plan: OpaquePointer) {
        (self.graph, self.batch, self.image, self.plan) = (graph, batch, image, plan)
    }

    private enum Step {
        case conv(src: Int, dst: Int, shape: zoo_conv_shape, weight: [Float], bias: [Float]?, sum: Int?, act: Int32)
        case linear(src: Int, dst: Int, weight: [Float], bias: [Float]?, act: Int32)
        case pool(src: Int, dst: Int, kind: Int32, kernel: [Int32], stride: [Int32], begin: [Int32], end: [Int32])
        case activation(src: Int, dst: Int, act: Int32)
        case binary(a: Int, b: Int, dst: Int, kind: Int32, sum: Int?, act: Int32)
        case concat(srcs: [Int], dst: Int)
        case batchNorm(src: Int, dst: Int, mean: [Float], variance: [Float], gamma: [Float], beta: [Float], eps: Float, act: Int32)
        case flatten(src: Int, dst: Int)
        case pad(src: Int, dst: Int, margins: [Int32], value: Float)
    }

    /// The shape of a value at the plan's batch size (the trace ran on one image).
    private func shape(_ value: Int) -> [Int] {
        let traced = value == 0 ? image : graph.nodes[value - 1].shape
        return [batch] + traced.dropFirst()
    }

    private func resolved(_ value: Int) -> Int { aliases[value].map(resolved) ?? value }

    /// Lowers every node; returns the output's plan tensor and shape.
    mutating func emit() throws -> (tensor: Int, shape: [Int]) {
        _ = try tensor(0)
        var steps: [(position: Int, step: Step)] = []
        var covered = [Bool](repeating: false, count: graph.nodes.count)
        for index in graph.nodes.indices where !covered[index] {
            let node = graph.nodes[index]
            var last = index
            /// Covers the sole reader of the current output when `accept` takes it.
            func absorb(_ accept: (TracedOp, PlanGraph.Node) -> Bool) -> Bool {
                guard let next = graph.soleConsumer(of: last + 1), !covered[next], accept(graph.nodes[next].op, graph.nodes[next]) else { return false }
                covered[next] = true
                last = next
                return true
            }
            func activationAfter() -> Int32 {
                var act = Int32(ZOO_ACT_NONE)
                _ = absorb { op, _ in
                    guard let a = op.activation else { return false }
                    act = a
                    return true
                }
                return act
            }
            let src = node.inputs.first.map(resolved) ?? 0
            let step: Step
            switch node.op {
            case .conv2d(let weight, let bias, let stride, let padding, let dilation, let groups):
                var w = weight.scalars.map(Double.init)
                var b = bias.map { $0.scalars.map(Double.init) }
                var act = Int32(ZOO_ACT_NONE)
                var sum: Int?
                while absorb({ op, next in
                    switch op {
                    case .batchNorm(let mean, let variance, let gamma, let beta, let eps, let relu) where act == ZOO_ACT_NONE && sum == nil:
                        foldBatchNorm(weight: &w, bias: &b, mean: mean, variance: variance, gamma: gamma, beta: beta, eps: eps)
                        if relu { act = Int32(ZOO_ACT_RELU) }
                        return true
                    case .scale(let factor) where act == ZOO_ACT_NONE && sum == nil:
                        w = w.map { $0 * Double(factor) }
                        b = b.map { $0.map { $0 * Double(factor) } }
                        return true
                    case .add where act == ZOO_ACT_NONE && sum == nil && next.inputs[0] != next.inputs[1]
                                 && shape(next.inputs[0]) == shape(next.inputs[1]):
                        sum = resolved(next.inputs[0] == last + 1 ? next.inputs[1] : next.inputs[0])
                        return true
                    default:
                        guard act == ZOO_ACT_NONE, let a = op.activation else { return false }
                        act = a
                        return true
                    }
                }) {}
                let x = shape(src), y = shape(last + 1)
                let k = weight.shape
                func i(_ v: Int) -> Int32 { Int32(v) }
                let geometry = zoo_conv_shape(batch: i(x[0]), in_channels: i(x[1]), height: i(x[2]), width: i(x[3]),
                                              out_channels: i(k[0]), kernel_h: i(k[2]), kernel_w: i(k[3]),
                                              stride_h: i(stride.0), stride_w: i(stride.1), pad_h: i(padding.0), pad_w: i(padding.1),
                                              dilation_h: i(dilation.0), dilation_w: i(dilation.1), groups: i(groups),
                                              out_h: i(y[2]), out_w: i(y[3]))
                step = .conv(src: src, dst: last + 1, shape: geometry, weight: w.map(Float.init), bias: b?.map(Float.init),
                             sum: sum, act: act)
            case .linear(let weight, let bias):
                let act = activationAfter()
                step = .linear(src: src, dst: last + 1, weight: weight.scalars, bias: bias?.scalars, act: act)
            case .batchNorm(let mean, let variance, let gamma, let beta, let eps, let relu):
                let act = relu ? Int32(ZOO_ACT_RELU) : activationAfter()
                step = .batchNorm(src: src, dst: last + 1, mean: mean.scalars, variance: variance.scalars, gamma: gamma.scalars,
                                  beta: beta.scalars, eps: eps, act: act)
            case .channelAffine(let scale, let shift):
                let act = activationAfter()
                step = .batchNorm(src: src, dst: last + 1, mean: scale.map { _ in 0 }, variance: scale.map { _ in 1 },
                                  gamma: scale, beta: shift, eps: 0, act: act)
            case .relu, .relu6, .sigmoid:
                step = .activation(src: src, dst: index + 1, act: node.op.activation!)
            case .add, .mul:
                var (a, b) = (resolved(node.inputs[0]), resolved(node.inputs[1]))
                if shape(a) != shape(index + 1) { swap(&a, &b) }
                let sb = shape(b), sa = shape(a)
                guard sa == shape(index + 1), sb == sa || (sb.count == 4 && sb[0] == sa[0] && sb[1] == sa[1] && sb[2] == 1 && sb[3] == 1) else {
                    throw PlanRefusal(description: "\(node.op.name) of \(sa) and \(sb) broadcasts in a way plans do not")
                }
                let kind = Int32(node.op.name == "add" ? ZOO_BINARY_ADD : ZOO_BINARY_MUL)
                // An SE block's scaling, then the residual sum: one pass.
                var sum: Int?
                if kind == ZOO_BINARY_MUL {
                    _ = absorb { op, next in
                        guard case .add = op, next.inputs[0] != next.inputs[1], shape(next.inputs[0]) == shape(next.inputs[1]) else { return false }
                        sum = resolved(next.inputs[0] == last + 1 ? next.inputs[1] : next.inputs[0])
                        return true
                    }
                }
                let act = activationAfter()
                step = .binary(a: a, b: b, dst: last + 1, kind: kind, sum: sum, act: act)
            case .concat(let axis):
                guard axis == 1, shape(index + 1).count == 4 else {
                    throw PlanRefusal(description: "concat along axis \(axis) of rank-\(shape(index + 1).count) values")
                }
                step = .concat(srcs: node.inputs.map(resolved), dst: index + 1)
            case .reshape:
                let x = shape(src), y = shape(index + 1)
                if x == y || (x.count == 2 && y.count == 2) && x == y {
                    aliases[index + 1] = src
                    continue
                }
                guard x.count == 4, y == [x[0], x[1] * x[2] * x[3]] else {
                    throw PlanRefusal(description: "a reshape from \(x) to \(y)")
                }
                step = .flatten(src: src, dst: index + 1)
            case .maxPool(let kernel, let stride, let padding), .avgPool(let kernel, let stride, let padding, _):
                let x = shape(src), y = shape(index + 1)
                let end = [(y[2] - 1) * stride.0 + kernel.0 - x[2] - padding.0, (y[3] - 1) * stride.1 + kernel.1 - x[3] - padding.1]
                var kind = Int32(ZOO_POOL_MAX)
                if case .avgPool(_, _, _, let includePad) = node.op {
                    kind = Int32(includePad ? ZOO_POOL_AVG_INCLUDE_PAD : ZOO_POOL_AVG_EXCLUDE_PAD)
                    if includePad && (end[0] > padding.0 || end[1] > padding.1) {
                        throw PlanRefusal(description: "an average pool in ceil mode that counts padding")
                    }
                }
                step = .pool(src: src, dst: index + 1, kind: kind, kernel: [Int32(kernel.0), Int32(kernel.1)],
                             stride: [Int32(stride.0), Int32(stride.1)], begin: [Int32(padding.0), Int32(padding.1)],
                             end: end.map { Int32(max($0, 0)) })
            case .adaptiveAvgPool:
                let x = shape(src), y = shape(index + 1)
                guard x[2] % y[2] == 0, x[3] % y[3] == 0 else {
                    throw PlanRefusal(description: "an adaptive average pool from \(x[2])×\(x[3]) to \(y[2])×\(y[3])")
                }
                let kernel = [Int32(x[2] / y[2]), Int32(x[3] / y[3])]
                step = .pool(src: src, dst: index + 1, kind: Int32(ZOO_POOL_AVG_EXCLUDE_PAD), kernel: kernel, stride: kernel,
                             begin: [0, 0], end: [0, 0])
            case .pad(let margins, let value):
                step = .pad(src: src, dst: index + 1, margins: [margins.top, margins.left, margins.bottom, margins.right].map { Int32($0) },
                            value: value)
            case .scale:
                throw PlanRefusal(description: "\(node.op.name) on its own has no plan step")
            }
            steps.append((last, step))
        }
        for (_, step) in steps.sorted(by: { $0.position < $1.position }) { try emit(step) }
        let output = resolved(graph.output)
        guard output != 0 else { throw PlanRefusal(description: "the model returns its input") }
        return try (Int(tensor(output)), shape(output))
    }

    private mutating func tensor(_ value: Int) throws -> Int32 {
        if let id = tensors[value] { return id }
        let s = shape(value)
        guard s.count == 4 || s.count == 2, s.allSatisfy({ $0 > 0 && $0 <= Int(Int32.max) }) else {
            throw PlanRefusal(description: "a value of shape \(s)")
        }
        let id = s.count == 4 ? zoo_plan_tensor(plan, 4, Int32(s[0]), Int32(s[1]), Int32(s[2]), Int32(s[3]))
                              : zoo_plan_tensor(plan, 2, Int32(s[0]), Int32(s[1]), 1, 1)
        try check(id)
        tensors[value] = id
        return id
    }

    private func check(_ status: Int32) throws {
        if status < 0 { throw PlanRefusal(description: String(cString: zoo_plan_error(plan))) }
    }

    private mutating func emit(_ step: Step) throws {
        switch step {
        case .conv(let src, let dst, var shape, let weight, let bias, let sum, let act):
            let (s, d, m) = try (tensor(src), tensor(dst), sum.map { try tensor($0) } ?? -1)
            try check(weight.withUnsafeBufferPointer { w in
                withOptionalPointer(bias) { zoo_plan_conv(plan, s, d, &shape, w.baseAddress!, $0, m, act) }
            })
        case .linear(let src, let dst, let weight, let bias, let act):
            let (s, d) = try (tensor(src), tensor(dst))
            try check(weight.withUnsafeBufferPointer { w in
                withOptionalPointer(bias) { zoo_plan_linear(plan, s, d, w.baseAddress!, $0, act) }
            })
        case .pool(let src, let dst, let kind, let kernel, let stride, let begin, let end):
            try check(zoo_plan_pool(plan, try tensor(src), try tensor(dst), kind, kernel, stride, begin, end))
        case .activation(let src, let dst, let act):
            try check(zoo_plan_activation(plan, try tensor(src), try tensor(dst), act))
        case .binary(let a, let b, let dst, let kind, let sum, let act):
            let m = try sum.map { try tensor($0) } ?? -1
            try check(zoo_plan_binary(plan, try tensor(a), try tensor(b), try tensor(dst), kind, m, act))
        case .concat(let srcs, let dst):
            let ids = try srcs.map { try tensor($0) }
            try check(zoo_plan_concat(plan, ids, Int32(ids.count), try tensor(dst)))
        case .batchNorm(let src, let dst, let mean, let variance, let gamma, let beta, let eps, let act):
            try check(zoo_plan_batchnorm(plan, try tensor(src), try tensor(dst), mean, variance, gamma, beta, eps, act))
        case .flatten(let src, let dst):
            try check(zoo_plan_flatten(plan, try tensor(src), try tensor(dst)))
        case .pad(let src, let dst, let margins, let value):
            try check(zoo_plan_pad(plan, try tensor(src), try tensor(dst), margins, value))
        }
    }
}

private func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress!) }
}
