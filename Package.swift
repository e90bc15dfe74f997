// swift-tools-version:6.0
import PackageDescription

// Kernels hand raw buffer pointers to parallel loops; they are audited in ZooTensor's
// Parallel.swift. The package builds in Swift 5 language mode so that this small layer
// needs no Sendable wrappers on every pointer.
let swift5: [SwiftSetting] = [.swiftLanguageMode(.v5)]
let fast: [SwiftSetting] = swift5

let package = Package(
    name: "ConvZoo",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "ZooTensor", targets: ["ZooTensor"]),
        .library(name: "ZooNN", targets: ["ZooNN"]),
        .library(name: "ZooWeights", targets: ["ZooWeights"]),
        .library(name: "ZooImage", targets: ["ZooImage"]),
        .library(name: "LeNet", targets: ["LeNet"]),
        .library(name: "AlexNet", targets: ["AlexNet"]),
        .library(name: "VGG", targets: ["VGG"]),
        .library(name: "GoogLeNet", targets: ["GoogLeNet"]),
        .library(name: "ResNet", targets: ["ResNet"]),
        .library(name: "DenseNet", targets: ["DenseNet"]),
        .library(name: "SENet", targets: ["SENet"]),
        .library(name: "ZooModels", targets: ["ZooModels"]),
        .library(name: "ZooTrain", targets: ["ZooTrain"]),
        .executable(name: "zoo", targets: ["zoo"]),
        .executable(name: "kernel-bench", targets: ["KernelBench"]),
        .executable(name: "zoo-fuzz", targets: ["zoo-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CZooMemory", path: "Sources/CZooMemory"),
        // oneDNN's convolutions (Debian: libdnnl-dev), opened with dlopen at first use.
        .target(name: "CZooDNNL", path: "Sources/CZooDNNL", cSettings: [.unsafeFlags(["-Wall", "-O2"])],
                linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "ZooTensor", dependencies: ["CBLAS", "CZooMemory", "CZooDNNL"], swiftSettings: fast),
        .target(name: "ZooNN", dependencies: ["ZooTensor"], swiftSettings: swift5),
        .target(name: "ZooWeights", dependencies: ["ZooTensor", "ZooNN"], swiftSettings: swift5),
        .target(name: "CCodecs", path: "Sources/CCodecs",
                cSettings: [.unsafeFlags(["-Wall", "-O2"])],
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg"), .linkedLibrary("z")]),
        .target(name: "ZooImage", dependencies: ["ZooTensor", "CCodecs"], swiftSettings: fast),
        .target(name: "LeNet", dependencies: ["ZooNN"], path: "Models/LeNet", exclude: ["CARD.md"], swiftSettings: swift5),
        .target(name: "AlexNet", dependencies: ["ZooNN"], path: "Models/AlexNet", exclude: ["CARD.md"], swiftSettings: swift5),
        .target(name: "VGG", dependencies: ["ZooNN"], path: "Models/VGG", exclude: ["CARD.md"], swiftSettings: swift5),
        .target(name: "GoogLeNet", dependencies: ["ZooNN"], path: "Models/GoogLeNet", exclude: ["CARD.md"], swiftSettings: swift5),
        .target(name: "ResNet", dependencies: ["ZooNN"], path: "Models/ResNet", exclude: ["CARD.md"], swiftSettings: swift5),
        .target(name: "DenseNet", dependencies: ["ZooNN"], path: "Models/DenseNet", exclude: ["CARD.md"], swiftSettings: swift5),
        .target(name: "SENet", dependencies: ["ZooNN", "ResNet"], path: "Models/SENet", exclude: ["CARD.md"], swiftSettings: swift5),
        .target(name: "ZooModels", dependencies: ["ZooNN", "ZooImage", "LeNet", "AlexNet", "VGG", "GoogLeNet", "ResNet", "DenseNet", "SENet"],
                path: "Models/Registry", swiftSettings: swift5),
        .target(name: "ZooTrain", dependencies: ["ZooModels", "ZooWeights", "ZooImage", "ZooNN", "CCodecs", "GoogLeNet", "ResNet"],
                swiftSettings: fast),
        .executableTarget(name: "zoo", dependencies: [
            "ZooModels", "ZooWeights", "ZooImage", "ZooTrain", "ResNet",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift5),
        // Every parser of a user's file as a fuzz target (Tools/fuzz builds it with libFuzzer).
        .target(name: "ZooFuzz", dependencies: ["ZooImage", "ZooWeights", "ZooTrain", "ZooNN", "ZooTensor"],
                swiftSettings: swift5),
        .executableTarget(name: "zoo-fuzz", dependencies: ["ZooFuzz"], swiftSettings: swift5),
        .executableTarget(name: "KernelBench", dependencies: ["ZooTensor", "CBLAS"],
                          path: "Tools/KernelBench", swiftSettings: swift5),
        .target(name: "ZooTestSupport", dependencies: ["ZooTensor", "ZooWeights"], path: "Tests/ZooTestSupport",
                swiftSettings: swift5),
        .testTarget(name: "ZooTensorTests", dependencies: ["ZooTensor", "ZooWeights", "ZooTestSupport"],
                    swiftSettings: swift5),
        .testTarget(name: "ZooNNTests", dependencies: ["ZooNN", "ZooWeights", "ZooModels", "ZooTestSupport"],
                    swiftSettings: swift5),
        .testTarget(name: "ZooModelsTests", dependencies: ["ZooModels", "GoogLeNet", "ZooTestSupport"],
                    swiftSettings: swift5),
        .testTarget(name: "ZooTrainTests", dependencies: ["ZooTrain", "ZooTensor"], swiftSettings: swift5),
        .testTarget(name: "ZooImageTests", dependencies: ["ZooImage", "ZooWeights", "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooWeightsTests", dependencies: ["ZooWeights", "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooFuzzTests", dependencies: ["ZooFuzz", "ZooTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ZooCLITests", dependencies: ["zoo", "ZooModels", "ZooWeights", "ZooImage", "ZooTestSupport"], swiftSettings: swift5),
    ]
)
