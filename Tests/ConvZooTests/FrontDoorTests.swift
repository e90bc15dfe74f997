@_spi(Testing) import ConvZoo
import Foundation
import XCTest
import ZooTestSupport

/// The library's front door as a user's program meets it: `Zoo.load`, `ZooModel`.
final class FrontDoorTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static func shipped(_ name: String) -> String { repository.appendingPathComponent("Weights/" + name).path }
    let resnet20 = shipped("resnet20-fashion-mnist.safetensors")
    let lenet5 = shipped("lenet5-fashion-mnist.safetensors")

    var folder: URL!
    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("convzoo-frontdoor")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// The error `body` throws, as its sentence.
    func sentence(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "(nothing thrown)" } catch { return "\(error)" }
    }

    func testTheShippedModelNamesEverySample() throws {
        let model = try Zoo.load("resnet20", weights: resnet20)
        XCTAssertEqual(model.name, "resnet20")
        XCTAssertEqual(model.input, [1, 28, 28])
        XCTAssertEqual(model.labels.names.count, 10)
        let samples = ["ankle-boot": "Ankle boot", "bag": "Bag", "sneaker": "Sneaker", "trouser": "Trouser"]
        let files = samples.keys.sorted().flatMap { [Self.shipped("samples/\($0).png"), Self.shipped("samples/\($0).jpg")] }
        let results = try model.classify(files, top: 3, batchSize: 3)
        XCTAssertEqual(results.map(\.file), files)
        for result in results {
            let stem = URL(fileURLWithPath: result.file).deletingPathExtension().lastPathComponent
            XCTAssertEqual(result.top.first?.label, samples[stem], result.file)
            XCTAssertEqual(result.top.count, 3)
            XCTAssertEqual(result.top.map(\.probability), result.top.map(\.probability).sorted(by: >), "most probable first")
            XCTAssertEqual(result.top.first.map { model.labels.names[$0.index] }, result.top.first?.label)
        }
        // The same images decoded by the caller, and the same answer from the tensors.
        let image = try model.readImage(Self.shipped("samples/bag.png"))
        let fromImage = try model.classify([image], top: 1)
        XCTAssertEqual(fromImage.first?.top.first?.label, "Bag")
        XCTAssertEqual(fromImage.first?.file, "image 1")
        let probabilities = try model.probabilities(Tensor(shape: [1] + model.input, scalars: try model.inputTensor(for: image).scalars))
        XCTAssertEqual(probabilities.scalars.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertEqual(probabilities.scalars[8], fromImage[0].top[0].probability, accuracy: 1e-6)
    }

    func testForwardTakesTheModelsInputAndRefusesAnyOther() throws {
        let model = try Zoo.load("lenet5", weights: lenet5)
        let logits = try model.forward(Tensor(zeros: [2, 1, 28, 28]))
        XCTAssertEqual(logits.shape, [2, 10])
        XCTAssertEqual(sentence { try model.forward(Tensor(zeros: [1, 3, 28, 28])) },
                       "lenet5 takes a batch of [N, 1, 28, 28] inputs, not [1, 3, 28, 28]")
        XCTAssertEqual(sentence { try model.forward(Tensor(zeros: [1, 28, 28])) },
                       "lenet5 takes a batch of [N, 1, 28, 28] inputs, not [1, 28, 28]")
    }

    func testEveryFailureIsOneSentenceNamingTheCulprit() {
        XCTAssertEqual(sentence { try Zoo.load("resnet51") }, "unknown model 'resnet51'; did you mean 'resnet50'?")
        XCTAssertEqual(sentence { try Zoo.load("resnet20", weights: "/no/such.safetensors") },
                       "cannot read '/no/such.safetensors': no such file or not readable")
        XCTAssertEqual(sentence { try Zoo.load("resnet20", weights: lenet5) }, "'\(lenet5)' holds lenet5 weights, not resnet20 weights")
        XCTAssertEqual(sentence { try Zoo.load("resnet20", classes: 0) }, "the class count must be at least 1, got 0")
        XCTAssertEqual(sentence { try Zoo.load("lenet5", input: [1, 30, 30]) },
                       "lenet5 cannot take this input: lenet5 takes 28×28 or 32×32 inputs, not 30×30")
        let model = try? Zoo.load("lenet5", weights: lenet5)
        XCTAssertEqual(sentence { try model!.classify(["/no/such.png"]) }, "cannot read '/no/such.png': no such file")
        XCTAssertEqual(sentence { try model!.classify([Self.shipped("DEFAULT")]) }, "'\(Self.shipped("DEFAULT"))' is not a PNG or JPEG image")
        XCTAssertEqual(sentence { try Zoo.parseInputShape("3x224") },
                       "an input size must be CxHxW with positive whole numbers, e.g. 3x224x224; got '3x224'")
    }

    /// An input a layer cannot take is refused when the model is loaded, naming the layer,
    /// not by stopping the program in the middle of a forward pass.
    func testAnInputTooSmallForSomeLayerIsRefusedAtLoad() throws {
        for (name, input) in [("googlenet", [3, 8, 8]), ("densenet121", [3, 8, 8])] {
            let message = sentence { try Zoo.load(name, input: input) }
            XCTAssertTrue(message.hasPrefix("\(name) cannot take this input: layer '"), "\(name): \(message)")
            XCTAssertTrue(message.contains("cannot take an input of size"), "\(name): \(message)")
        }
        // Padded convolutions take even a 4×4 image, as in PyTorch.
        XCTAssertEqual(try Zoo.load("resnet18", classes: 4, input: [3, 4, 4]).forward(Tensor(zeros: [1, 3, 4, 4])).shape, [1, 4])
    }

    func testSavedWeightsLoadBackWithTheirLabelsAndGiveTheSameOutputs() throws {
        let model = try Zoo.load("resnet20", weights: resnet20)
        let path = folder.appendingPathComponent("copy.safetensors").path
        try model.save(path)
        let copy = try Zoo.load("resnet20", weights: path)
        XCTAssertEqual(copy.labels, model.labels)
        XCTAssertEqual(copy.preprocessing, model.preprocessing)
        var rng = Xoshiro256(seed: 5)
        let x = Tensor.randomNormal([2, 1, 28, 28], using: &rng)
        XCTAssertEqual(try copy.forward(x), try model.forward(x), "bit for bit")
        XCTAssertEqual(try SafeTensors.read(path).metadata["architecture"], "resnet20")
    }

    func testClassesGiveANewHeadAndLabelsCanBeSet() throws {
        GlobalRandom.seed(1)
        let model = try Zoo.load("resnet20", weights: resnet20, classes: 3)
        XCTAssertEqual(model.classCount, 3)
        XCTAssertTrue(model.notes.contains { $0.contains("replaced the 10-class classifier") }, "\(model.notes)")
        XCTAssertEqual(model.labels.names, ["class 0", "class 1", "class 2"])
        XCTAssertNil(model.weightMetadata["labels"], "no names were given")
        XCTAssertEqual(sentence { try model.setLabels(LabelSet(["a", "b"])) }, "2 class names were given, but the model has 3 classes")
        try model.setLabels(LabelSet(["a", "b", "c"]))
        XCTAssertEqual(model.weightMetadata["labels"], #"["a","b","c"]"#)
        XCTAssertEqual(try model.forward(Tensor(zeros: [1, 1, 28, 28])).shape, [1, 3])
        // A model with 1,000 classes and no names of its own is named with ImageNet's classes.
        XCTAssertEqual(try Zoo.load("lenet5", classes: 1000).labels.names.first, "tench")
    }

    func testLabelFilesFollowOneRule() throws {
        let path = folder.appendingPathComponent("labels.txt").path
        try "cat \r\n dog\nbird\n\n\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try LabelSet(file: path, classCount: 3).names, ["cat", "dog", "bird"])
        XCTAssertEqual(sentence { try LabelSet(file: path, classCount: 4) }, "the label file '\(path)' has 3 names, but the model has 4 classes")
        try "cat\n\ndog\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(sentence { try LabelSet(file: path) }, "the label file '\(path)' has an empty line 2 among its names")
        XCTAssertEqual(sentence { try LabelSet(file: path + ".missing") }, "cannot read the label file '\(path).missing'")
    }

    /// Two classes a small net can tell apart at once: bright top half or bright bottom half.
    func halves(count: Int) -> ImageDataset {
        var pixels: [UInt8] = [], labels: [Int] = []
        for i in 0..<count {
            let label = i % 2
            for y in 0..<28 { for _ in 0..<28 { pixels.append((y < 14) == (label == 0) ? 220 : 20) } }
            labels.append(label)
        }
        return ImageDataset(name: "halves", shape: [1, 28, 28], pixels: pixels, labels: labels, classNames: ["top", "bottom"])
    }

    func testFitTrainsWritesAndResumes() throws {
        let (train, test) = (halves(count: 64), halves(count: 16))
        GlobalRandom.seed(2)
        let model = try Zoo.load("lenet5", classes: 2)
        var options = FitOptions()
        options.recipe.epochs = 3
        options.recipe.batchSize = 16
        options.recipe.learningRate = 0.05
        options.output = folder.appendingPathComponent("halves.safetensors").path
        options.stopAfterEpoch = 1
        var records: [EpochRecord] = []
        options.epochFinished = { records.append($0) }
        let stopped = try model.fit(train: train, test: test, options: options)
        XCTAssertFalse(stopped.finished)
        XCTAssertTrue(FileManager.default.fileExists(atPath: options.output! + ".checkpoint"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: options.output!))

        options.stopAfterEpoch = nil
        options.resume = true
        var messages: [String] = []
        options.message = { messages.append($0) }
        let finished = try model.fit(train: train, test: test, options: options)
        XCTAssertTrue(finished.finished)
        XCTAssertEqual(records.map(\.epoch), [1, 2, 3], "epoch 1 once, then 2 and 3 after resuming")
        XCTAssertEqual(messages.first?.hasPrefix("resuming after epoch 1"), true, "\(messages)")
        XCTAssertEqual(finished.last?.validation.top1 ?? 0, 1, accuracy: 1e-9, "the halves are told apart")
        XCTAssertFalse(FileManager.default.fileExists(atPath: options.output! + ".checkpoint"), "the checkpoint goes at the end")
        let log = try String(contentsOfFile: folder.appendingPathComponent("halves.csv").path, encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").count, 4, log)
        let trained = try Zoo.load("lenet5", weights: options.output!)
        XCTAssertEqual(trained.labels.names, ["top", "bottom"])
        XCTAssertEqual(try trained.evaluate(test).top1, 1, accuracy: 1e-9)
        var threeClasses = halves(count: 4)
        threeClasses.classNames.append("middle")
        XCTAssertEqual(sentence { try model.fit(train: threeClasses, test: test) },
                       "the training data has 3 classes, but lenet5 was built for 2; load it with classes: 3")
    }

    /// A fine-tuning run stopped after its backbone was unfrozen resumes with the backbone
    /// trainable, so that the checkpoint's optimizer state fits.
    func testFineTuningResumesAfterTheBackboneIsUnfrozen() throws {
        let (train, test) = (halves(count: 32), halves(count: 8))
        GlobalRandom.seed(4)
        let model = try Zoo.load("lenet5", weights: lenet5, classes: 2)
        var options = FitOptions()
        options.recipe.epochs = 3
        options.recipe.batchSize = 16
        options.freezeBackbone = true
        options.unfreezeAfter = 1
        options.output = folder.appendingPathComponent("tuned.safetensors").path
        options.stopAfterEpoch = 2
        var messages: [String] = []
        options.message = { messages.append($0) }
        let firstConv = try XCTUnwrap(model.module.namedParameters().first?.variable)
        XCTAssertFalse(try model.fit(train: train, test: test, options: options).finished)
        XCTAssertEqual(messages, ["unfreezing the backbone from epoch 2"])
        firstConv.requiresGrad = false  // as a fresh process would have it: frozen until told otherwise
        options.stopAfterEpoch = nil
        options.resume = true
        XCTAssertTrue(try model.fit(train: train, test: test, options: options).finished)
        XCTAssertTrue(firstConv.requiresGrad, "the backbone trains after resuming past the unfreeze epoch")
        XCTAssertTrue(messages.last?.hasPrefix("resuming after epoch 2") ?? false, "\(messages)")
    }

    func testTheModelListHasEveryRegistryName() throws {
        let models = try Zoo.models
        XCTAssertEqual(models.map(\.name), ModelRegistry.names)
        XCTAssertEqual(models.first { $0.name == "resnet50" }?.parameters, 25_557_032)
    }
}
