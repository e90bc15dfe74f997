import ConvZoo
import Foundation
import XCTest

/// The module graph the design asks for: the tool and training know no model family, per-model
/// facts live in the registry, and no target a library product reaches uses unsafe flags.
final class ModuleGraphTests: XCTestCase {
    static let root = FrontDoorTests.repository

    /// The Swift files under `folder` (relative to the repository), with their text.
    func sources(_ folder: String) throws -> [(path: String, text: String)] {
        let base = Self.root.appendingPathComponent(folder)
        let names = FileManager.default.enumerator(atPath: base.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        XCTAssertFalse(names.isEmpty, "no Swift files under \(folder)")
        return try names.sorted().map { (folder + "/" + $0, try String(contentsOf: base.appendingPathComponent($0), encoding: .utf8)) }
    }

    /// The modules a source text imports.
    static func imports(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ").map(String.init)
            guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                  words[..<index].allSatisfy({ $0.hasPrefix("@") }) else { return nil }
            return words[index + 1]
        })
    }

    static let families = Set(ModelRegistry.entries.map(\.family))
    static let modelNames = Set(ModelRegistry.names)

    /// The registry names and family names a source text uses as words.
    static func models(in text: String) -> Set<String> {
        let words = text.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init)
        return Set(words.filter { modelNames.contains($0.lowercased()) || families.contains($0) })
    }

    func testTheCheckersSeeAViolation() {
        XCTAssertEqual(Self.imports("import Foundation\n@_exported import ResNet\n// import VGG in a comment\n"), ["Foundation", "ResNet"])
        XCTAssertEqual(Self.models(in: #"if architecture == "googlenet" { _ = ResNet.self; print(vgg16_bn) }"#),
                       ["googlenet", "ResNet", "vgg16_bn"])
        XCTAssertEqual(Self.models(in: "a residual network of 20 layers, plain or not"), [])
    }

    func testTheToolImportsOnlyTheFrontDoor() throws {
        for (path, text) in try sources("Sources/zoo") {
            XCTAssertTrue(Self.imports(text).isSubset(of: ["ArgumentParser", "ConvZoo", "Foundation"]), "\(path): \(Self.imports(text))")
        }
    }

    func testTrainingAndWeightFilesKnowNoModel() throws {
        let cTargets = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Sources").path)
            .filter { $0.hasPrefix("C") && $0.dropFirst().first?.isUppercase == true }
        XCTAssertTrue(cTargets.contains("CCodecs"), "\(cTargets)")
        for folder in ["Sources/ZooTrain", "Sources/ZooWeights"] {
            for (path, text) in try sources(folder) {
                let imported = Self.imports(text)
                XCTAssertTrue(imported.isDisjoint(with: Self.families), "\(path) imports a model family: \(imported)")
                XCTAssertTrue(imported.isDisjoint(with: cTargets), "\(path) imports a C target: \(imported)")
                XCTAssertEqual(Self.models(in: text), [], "\(path) names a model")
            }
        }
    }

    /// Each family is built from the core alone and declares its own models; the registry only
    /// collects them, and the image code holds no model's facts.
    func testFamiliesImportOnlyTheCoreAndDeclareTheirModels() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Models").path)
            .filter { $0 != "Registry" && !$0.hasPrefix(".") }
        XCTAssertGreaterThanOrEqual(folders.count, 10, "\(folders)")
        var declared = 0
        for folder in folders {
            for (path, text) in try sources("Models/" + folder) {
                let imported = Self.imports(text)
                XCTAssertTrue(imported.isSubset(of: ["ZooNN", "ZooTensor", "Foundation"]), "\(path) imports \(imported)")
                if text.contains(": ModelFamily {") { declared += 1 }
            }
        }
        XCTAssertEqual(declared, folders.count, "one ModelFamily declaration per family folder")
        for (path, text) in try sources("Models/Registry") {
            XCTAssertFalse(text.contains("ModelEntry("), "\(path) builds an entry; the families declare theirs")
        }
        for (path, text) in try sources("Sources/ZooImage") {
            XCTAssertEqual(Self.models(in: text), [], "\(path) names a model")
        }
    }

    /// The inference engine has one home: only ZooInference imports the plan compiler's C target,
    /// and only ZooTensor (the eager kernels) the oneDNN bridge.
    func testEachCTargetHasItsOneImporter() throws {
        let owners = ["CZooInference": "Sources/ZooInference", "CZooDNNL": "Sources/ZooTensor"]
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Sources").path)
            .filter { !$0.hasPrefix("C") } .map { "Sources/" + $0 } + ["Models", "Tools/KernelBench", "Tools/MPICheck"]
        var importers: [String: Set<String>] = [:]
        for folder in folders {
            for (path, text) in try sources(folder) {
                for target in Self.imports(text).intersection(owners.keys) { importers[target, default: []].insert(path) }
            }
        }
        for (target, owner) in owners {
            let found = try XCTUnwrap(importers[target], "nothing imports \(target)")
            XCTAssertTrue(found.allSatisfy { $0.hasPrefix(owner + "/") }, "\(target) is imported outside \(owner): \(found.sorted())")
        }
    }

    func testNoTargetUsesUnsafeFlags() throws {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let code = manifest.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }
        XCTAssertFalse(code.contains { $0.contains("unsafeFlags") }, "SwiftPM refuses unsafeFlags in a versioned dependency")
    }
}
