// Convolution throughput against the raw sgemm of this machine.
//
//   swift run -c release kernel-bench [--threads T] [--iterations N]
//
// Case conv2d_f32_b8_c64_i56_k3x3: batch 8, 64 → 64 channels, 56×56, 3×3, stride 1, pad 1.
// Prints the median time and GFLOP/s (2·MACs / time) of the forward pass, the backward pass
// (input and weight gradients), and of sgemm alone at the forward's matrix shape and at a
// square 2048³ shape.
import CBLAS
import Foundation
@_spi(Kernels) import ZooTensor

var iterations = 20
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst().flatMap(Int.init), value > 0 else {
        FileHandle.standardError.write("kernel-bench: \(flag) needs a positive whole number\n".data(using: .utf8)!)
        exit(2)
    }
    switch flag {
    case "--threads": Threads.count = value
    case "--iterations": iterations = value
    default:
        FileHandle.standardError.write("kernel-bench: unknown option '\(flag)' (known: --threads, --iterations)\n".data(using: .utf8)!)
        exit(2)
    }
}

func medianSeconds(_ body: () -> Void) -> Double {
    body()  // warm-up
    var times: [Double] = []
    for _ in 0..<iterations {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return times.sorted()[times.count / 2]
}

func report(_ name: String, flops: Double, seconds: Double) {
    print(name.padding(toLength: 44, withPad: " ", startingAt: 0)
          + String(format: "%9.2f ms %9.1f GFLOP/s", seconds * 1000, flops / seconds / 1e9))
}

var rng = Xoshiro256(seed: 1)
let x = Tensor.randomNormal([8, 64, 56, 56], using: &rng)
let w = Tensor.randomNormal([64, 64, 3, 3], std: 0.05, using: &rng)
let g = ConvGeometry(input: x.shape, weight: w.shape, stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1)
let dy = Tensor.randomNormal(g.outputShape, using: &rng)
let convFlops = 2 * Double(g.macs)

print("threads: \(Threads.count), iterations: \(iterations) (medians)")
let forward = medianSeconds { _ = ConvKernels.forward(x, weight: w, bias: nil, g) }
let backwardData = medianSeconds { _ = ConvKernels.backwardInput(dy, weight: w, g) }
let backwardWeight = medianSeconds { _ = ConvKernels.backwardWeight(x, gradOutput: dy, g) }

func sgemmSeconds(m: Int, n: Int, k: Int) -> Double {
    let a = Tensor.randomNormal([m, k], using: &rng), b = Tensor.randomNormal([k, n], using: &rng)
    var c = Tensor(zeros: [m, n])
    return medianSeconds {
        c.withUnsafeMutableBufferPointer { cb in
            a.withUnsafeBufferPointer { ab in
                b.withUnsafeBufferPointer { bb in
                    sgemm(transposeA: false, transposeB: false, m: m, n: n, k: k, a: ab.baseAddress!, lda: k,
                          b: bb.baseAddress!, ldb: n, beta: 0, c: cb.baseAddress!, ldc: n)
                }
            }
        }
    }
}
let (m, n, k) = (64, 8 * 56 * 56, 64 * 9)
let sgemmConvShape = sgemmSeconds(m: m, n: n, k: k)
let sgemmSquare = sgemmSeconds(m: 2048, n: 2048, k: 2048)

report("sgemm 64×25088×576 (the conv's GEMM)", flops: 2 * Double(m * n * k), seconds: sgemmConvShape)
report("sgemm 2048×2048×2048", flops: 2 * pow(2048, 3), seconds: sgemmSquare)
report("conv2d_f32_b8_c64_i56_k3x3 forward", flops: convFlops, seconds: forward)
report("conv2d_f32_b8_c64_i56_k3x3 backward input", flops: convFlops, seconds: backwardData)
report("conv2d_f32_b8_c64_i56_k3x3 backward weight", flops: convFlops, seconds: backwardWeight)
report("conv2d_f32_b8_c64_i56_k3x3 backward (both)", flops: 2 * convFlops, seconds: backwardData + backwardWeight)
let best = max(2 * Double(m * n * k) / sgemmConvShape, 2 * pow(2048, 3) / sgemmSquare)
print(String(format: "forward at %.0f%% of the better sgemm figure", convFlops / forward / best * 100))
