/// Max pooling with PyTorch's padding and ceil_mode rules.   [N, C, H, W] → [N, C, OH, OW]
public func maxPool2d(_ input: Variable, kernel: (Int, Int), stride: (Int, Int)? = nil,
                      padding: (Int, Int) = (0, 0), ceilMode: Bool = false) -> Variable {
    extremumPool(input, kernel: kernel, stride: stride ?? kernel, padding: padding, ceilMode: ceilMode, minimum: false)
}

/// Min pooling: the smallest element of each window.
public func minPool2d(_ input: Variable, kernel: (Int, Int), stride: (Int, Int)? = nil,
                      padding: (Int, Int) = (0, 0), ceilMode: Bool = false) -> Variable {
    extremumPool(input, kernel: kernel, stride: stride ?? kernel, padding: padding, ceilMode: ceilMode, minimum: true)
}

func extremumPool(_ input: Variable, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
                  ceilMode: Bool, minimum: Bool) -> Variable {
    let g = PoolGeometry(input: input.shape, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
    let recorded = GradMode.isEnabled && input.requiresGrad
    let (y, indices) = PoolKernels.extremum(input.value, g, minimum: minimum, withIndices: recorded)
    let output = Variable.record(y, [input]) { dy in [PoolKernels.extremumBackward(dy, indices: indices, g)] }
    return minimum ? output : PlanTrace.note(.maxPool(kernel: kernel, stride: stride, padding: padding), [input], output)
}

/// Average pooling; `countIncludePad` as in PyTorch (padding counts toward the divisor).
public func avgPool2d(_ input: Variable, kernel: (Int, Int), stride: (Int, Int)? = nil,
                      padding: (Int, Int) = (0, 0), ceilMode: Bool = false,
                      countIncludePad: Bool = true) -> Variable {
    let g = PoolGeometry(input: input.shape, kernel: kernel, stride: stride ?? kernel, padding: padding, ceilMode: ceilMode)
    let y = PoolKernels.average(input.value, g, countIncludePad: countIncludePad)
    let output = Variable.record(y, [input]) { dy in [PoolKernels.averageBackward(dy, g, countIncludePad: countIncludePad)] }
    return PlanTrace.note(.avgPool(kernel: kernel, stride: stride ?? kernel, padding: padding, countIncludePad: countIncludePad),
                          [input], output)
}

/// Adaptive average pooling to a fixed output size; (1, 1) is global average pooling.
public func adaptiveAvgPool2d(_ input: Variable, outputSize: (Int, Int)) -> Variable {
    let shape = input.shape
    let y = PoolKernels.adaptiveAverage(input.value, outputSize: outputSize)
    return PlanTrace.note(.adaptiveAvgPool, [input],
                          Variable.record(y, [input]) { dy in [PoolKernels.adaptiveAverageBackward(dy, inputShape: shape)] })
}
