import ConvZoo
import XCTest

/// The benchmark harness as a library call (what it times, not how fast: timings live in benchmarks).
final class BenchmarkTests: XCTestCase {
    func testTheHarnessTimesThePathItWasAskedFor() throws {
        let entry = try Zoo.entry("lenet5")
        let planned = try Benchmark.inference(entry, batch: 2, iterations: 2, profile: true)
        XCTAssertEqual(planned.path, "plan")
        XCTAssertEqual(planned.stepMilliseconds.count, 2, "one profile per timed iteration, none for the warm-up")
        let profile = PlanProfile(try XCTUnwrap(planned.plan), runs: planned.stepMilliseconds)
        XCTAssertEqual(profile.steps.count, planned.plan?.steps.count)
        XCTAssertEqual(profile.convolutions.map(\.steps).reduce(0, +), 2, "LeNet-5's two convolutions")
        let eager = try Benchmark.inference(entry, batch: 2, iterations: 1, eager: true)
        XCTAssertEqual(eager.path, "eager")
        XCTAssertNil(eager.plan)
        let step = try Benchmark.trainingStep(entry, batch: 2, iterations: 1)
        XCTAssertEqual(step.flops, 3 * eager.flops, "a step counts forward and both backward products")
        XCTAssertEqual(eager.flops, 2 * 2 * 416_520, "2 × MACs × images; LeNet-5 has 416,520 MACs per 28×28 image")
        let frozen = try Benchmark.trainingStep(entry, batch: 2, iterations: 1, classes: 3, freezeBackbone: true)
        XCTAssertEqual(frozen.flops, 2 * 2 * (416_520 - 840 + 252), "a frozen backbone's step counts the forward pass (a 3-class head)")
        XCTAssertThrowsError(try Benchmark.inference(entry, batch: 0, iterations: 1))
        XCTAssertThrowsError(try Benchmark.inference(entry, batch: 1, input: [1, 20, 20], iterations: 1)) {
            XCTAssertTrue("\($0)".contains("28×28 or 32×32"), "\($0)")
        }
    }
}
