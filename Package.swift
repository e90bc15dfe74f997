// swift-tools-version:6.0
import PackageDescription

// Kernels hand raw buffer pointers to parallel loops; they are audited in ZooTensor's
// Parallel.swift. The package builds in Swift 5 language mode so that this small layer
// needs no Sendable wrappers on every pointer.
let swift5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

/// A model family: one module under Models/, built from the core alone.
func family(_ name: String) -> Target {
    .target(name: name, dependencies: ["ZooNN", "ZooTensor"], path: "Models/\(name)", exclude: ["CARD.md"], swiftSettings: swift5)
}

/// The model families, each built only from the core: the one list the targets, products and
/// the registry's dependencies come from.
let families = ["LeNet", "AlexNet", "VGG", "GoogLeNet", "Inception", "Xception", "ResNet", "DenseNet", "SqueezeNet", "MobileNet",
                "NASNet"]

let package = Package(
    name: "ConvZoo",
    platforms: [.macOS(.v13)],
    products: [
        // The front door: `import ConvZoo`.
        .library(name: "ConvZoo", targets: ["ConvZoo"]),
        // One product per module, for those who want less.
        .library(name: "ZooTensor", targets: ["ZooTensor"]),
        .library(name: "ZooNN", targets: ["ZooNN"]),
        .library(name: "ZooInference", targets: ["ZooInference"]),
        .library(name: "ZooWeights", targets: ["ZooWeights"]),
        .library(name: "ZooFetch", targets: ["ZooFetch"]),
        .library(name: "ZooImage", targets: ["ZooImage"]),
        .library(name: "ZooData", targets: ["ZooData"]),
        .library(name: "ZooDraw", targets: ["ZooDraw"]),
        .library(name: "ZooModels", targets: ["ZooModels"]),
        .library(name: "ZooTrain", targets: ["ZooTrain"]),
        // Data-parallel training under mpirun; Open MPI is opened at run time, not linked.
        .library(name: "ZooDistributed", targets: ["ZooDistributed"]),
    ] + families.map { .library(name: $0, targets: [$0]) } + [
        .executable(name: "zoo", targets: ["zoo"]),
        .executable(name: "kernel-bench", targets: ["KernelBench"]),
        .executable(name: "zoo-fuzz", targets: ["zoo-fuzz"]),
        .executable(name: "mpi-check", targets: ["mpi-check"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        // Downloads (HTTP, HTTPS, file://) and SHA-256: libcurl and OpenSSL's libcrypto.
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLibCrypto", path: "Sources/CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "CZooMemory", path: "Sources/CZooMemory"),
        // oneDNN's convolutions (Debian: libdnnl-dev), opened with dlopen at first use.
        .target(name: "CZooDNNL", path: "Sources/CZooDNNL", linkerSettings: [.linkedLibrary("dl")]),
        // Compiled inference plans on oneDNN, and their own kernels.
        .target(name: "CZooInference", dependencies: ["CZooDNNL"], path: "Sources/CZooInference"),
        // Open MPI (Debian: openmpi-bin), opened with dlopen when mpirun started the process.
        .target(name: "CZooMPI", path: "Sources/CZooMPI", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "CCodecs", path: "Sources/CCodecs",
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg"), .linkedLibrary("z")]),

        .target(name: "ZooTensor", dependencies: ["CBLAS", "CZooMemory", "CZooDNNL"], swiftSettings: swift5),
        .target(name: "ZooNN", dependencies: ["ZooTensor"], swiftSettings: swift5),
        // Compiled inference: tracing a model, lowering it to a plan, running the plan.
        .target(name: "ZooInference", dependencies: ["ZooTensor", "ZooNN", "CZooInference"], swiftSettings: swift5),
        .target(name: "ZooWeights", dependencies: ["ZooTensor", "ZooNN"], swiftSettings: swift5),
        .target(name: "ZooFetch", dependencies: ["ZooTensor", "CCurl", "CLibCrypto"], swiftSettings: swift5),
        .target(name: "ZooImage", dependencies: ["ZooTensor", "CCodecs"], swiftSettings: swift5),
        .target(name: "ZooData", dependencies: ["ZooTensor", "ZooImage", "CCodecs"], swiftSettings: swift5),
        .target(name: "ZooDraw", dependencies: ["ZooImage", "ZooTensor", "CCairo"], swiftSettings: swift5),
    ] + families.map(family) + [
        .target(name: "ZooModels", dependencies: ["ZooNN", "ZooTensor"] + families.map { .target(name: $0) },
                path: "Models/Registry", swiftSettings: swift5),
        .target(name: "ZooTrain", dependencies: ["ZooTensor", "ZooNN", "ZooInference", "ZooWeights", "ZooData", "ZooDraw"],
                swiftSettings: swift5),
        .target(name: "ZooDistributed", dependencies: ["ZooTensor", "ZooTrain", "CZooMPI"], swiftSettings: swift5),
        .target(name: "ConvZoo", dependencies: ["ZooTensor", "ZooNN", "ZooInference", "ZooWeights", "ZooFetch", "ZooImage", "ZooData", "ZooModels", "ZooTrain", "ZooDraw",
                                                "ZooDistributed"],
                swiftSettings: swift5),
        .executableTarget(name: "zoo", dependencies: [
            "ConvZoo", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift5),

        // Every parser of a user's file as a fuzz target (Tools/fuzz builds it with libFuzzer).
        .target(name: "ZooFuzz", dependencies: ["ZooTensor", "ZooNN", "ZooWeights", "ZooImage", "ZooData", "ZooTrain"],
                swiftSettings: swift5),
        .executableTarget(name: "zoo-fuzz", dependencies: ["ZooFuzz"], swiftSettings: swift5),
        // Checks and times the MPI bridge under `mpirun -np 2`.
        .executableTarget(name: "mpi-check", dependencies: ["ZooDistributed", "ZooTensor", "CZooMPI"], path: "Tools/MPICheck",
                          swiftSettings: swift5),
        .executableTarget(name: "KernelBench", dependencies: ["ZooTensor", "CBLAS"], path: "Tools/KernelBench", swiftSettings: swift5),

        .target(name: "ZooTestSupport", dependencies: ["ZooTensor", "ZooNN", "ZooWeights"], path: "Tests/ZooTestSupport",
                swiftSettings: swift5),
        .testTarget(name: "ZooTensorTests", dependencies: ["ZooTensor", "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooNNTests", dependencies: ["ZooNN", "ZooTensor", "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooModelsTests", dependencies: ["ZooModels", "ZooNN", "ZooTensor", "GoogLeNet", "ResNet", "NASNet", "VGG", "DenseNet",
                                                                    "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooInferenceTests", dependencies: ["ZooInference", "ZooModels", "ZooNN", "ZooTensor", "ZooTestSupport"],
                    swiftSettings: swift5),
        .testTarget(name: "ZooTrainTests", dependencies: ["ZooTrain", "ZooData", "ZooNN", "ZooTensor", "ZooTestSupport"],
                    swiftSettings: swift5),
        .testTarget(name: "ZooDataTests", dependencies: ["ZooData", "ZooTensor", "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooImageTests", dependencies: ["ZooImage", "ZooTensor", "ZooWeights", "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooDrawTests", dependencies: ["ZooDraw", "ZooImage", "ZooTensor", "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooWeightsTests", dependencies: ["ZooWeights", "ZooTensor", "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooFuzzTests", dependencies: ["ZooFuzz", "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooDistributedTests", dependencies: ["ZooDistributed", "mpi-check"], swiftSettings: swift5),
        .testTarget(name: "ConvZooTests", dependencies: ["ConvZoo", "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooCLITests", dependencies: ["zoo", "ConvZoo", "ZooTestSupport"], swiftSettings: swift5),
    ]
)
