import XCTest
import ZooNN
import ZooTensor
import ZooTestSupport

/// Update steps and learning-rate schedules against PyTorch (Tools/make_op_fixtures.py).
final class OptimizerTests: XCTestCase {
    func optimizer(for config: [String: Any], _ p: Variable) -> Optimizer {
        let betas = (config["betas"] as? [NSNumber])?.map(\.floatValue) ?? [0.9, 0.999]
        switch config["op"] as? String {
        case "SGD":
            return SGD([p], learningRate: config.float("lr"), momentum: config.float("momentum"),
                       dampening: config.float("dampening"), weightDecay: config.float("weight_decay"), nesterov: config.bool("nesterov"))
        case "Adam":
            return Adam([p], learningRate: config.float("lr"), betas: (betas[0], betas[1]), eps: config.float("eps"),
                        weightDecay: config.float("weight_decay"))
        default:
            return Adam.adamW([p], learningRate: config.float("lr"), betas: (betas[0], betas[1]), eps: config.float("eps"),
                              weightDecay: config.float("weight_decay"))
        }
    }

    func testThreeStepsOfEachOptimizerMatchPyTorch() throws {
        let names = Fixtures.names("ops", prefix: "optim_")
        XCTAssertEqual(names.count, 6)
        for name in names {
            let (f, config) = try Fixtures.load("ops", name)
            let p = Variable(try f.require("p0"), requiresGrad: true)
            let opt = optimizer(for: config, p)
            for step in 1...3 {
                p.grad = try f.require("g\(step)")
                opt.step()
                XCTAssertNil(closeness(p.value, try f.require("p\(step)"), tolerance: 1e-5, "\(name) step \(step)"))
            }
        }
    }

    /// Restored optimizer state is checked entry by entry, whichever entries are present.
    func testStateThatDoesNotFitIsRefused() {
        let p = Variable(Tensor(zeros: [2, 3]), requiresGrad: true)
        let sgd = SGD([p], learningRate: 0.1, momentum: 0.9)
        XCTAssertNoThrow(try sgd.loadState(["momentum.0": Tensor(zeros: [2, 3])]))
        XCTAssertThrowsError(try sgd.loadState(["momentum.0": Tensor(zeros: [6])]))
        XCTAssertThrowsError(try sgd.loadState(["momentum.0": Tensor(zeros: [2, 3], value: .nan)]))
        let adam = Adam([p], learningRate: 1e-3)
        let (m, v) = (Tensor(zeros: [2, 3]), Tensor(zeros: [2, 3], value: 0.5))
        XCTAssertNoThrow(try adam.loadState(["exp_avg.0": m, "exp_avg_sq.0": v, "step.0": Tensor(3)]))
        XCTAssertThrowsError(try adam.loadState(["exp_avg.0": m]), "exp_avg without exp_avg_sq")
        XCTAssertThrowsError(try adam.loadState(["exp_avg.0": m, "exp_avg_sq.0": v, "step.0": Tensor(2.5)]))
        // A negative second moment is refused with or without a step count beside it.
        let negative = Tensor(zeros: [2, 3], value: -1)
        XCTAssertThrowsError(try adam.loadState(["exp_avg.0": m, "exp_avg_sq.0": negative, "step.0": Tensor(3)]))
        XCTAssertThrowsError(try adam.loadState(["exp_avg.0": m, "exp_avg_sq.0": negative]))
    }

    func testFrozenParametersAreNotUpdated() {
        let frozen = Variable(Tensor(shape: [2], scalars: [1, 2]), requiresGrad: true)
        let live = Variable(Tensor(shape: [2], scalars: [1, 2]), requiresGrad: true)
        let opt = SGD([frozen, live], learningRate: 0.5, momentum: 0.9)
        let loss = sum(frozen * live)
        frozen.requiresGrad = false
        loss.backward()
        opt.step()
        XCTAssertEqual(frozen.value.scalars, [1, 2])
        XCTAssertNotEqual(live.value.scalars, [1, 2])
    }

    func testSchedulesMatchPyTorch() throws {
        let (f, _) = try Fixtures.load("ops", "schedules")
        let schedules: [(String, LearningRateSchedule)] = [
            ("step", StepSchedule(base: 0.1, stepSize: 4, gamma: 0.1)),
            ("multistep", MultiStepSchedule(base: 0.1, milestones: [3, 7], gamma: 0.2)),
            ("cosine", CosineSchedule(base: 0.1, period: 12, minimum: 0.001)),
            ("linear_warmup", LinearWarmupSchedule(base: 0.1, startFactor: 0.1, endFactor: 1, epochs: 4)),
        ]
        for (key, schedule) in schedules {
            let expected = try f.require(key)
            let actual = Tensor(shape: [expected.count], scalars: (0..<expected.count).map { schedule.learningRate(at: $0) })
            XCTAssertNil(closeness(actual, expected, tolerance: 1e-6, key))
        }
    }
}
