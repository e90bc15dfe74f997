import NASNet
import XCTest
import ZooModels
import ZooNN
import ZooTensor

/// NASNet's two paddings and where they line a cell's inputs up.
final class NASNetTests: XCTestCase {
    /// pretrainedmodels' shifted padding floors odd sizes in a reduction cell while the next
    /// cell's factorised reduction rounds them up: at 35×35 cell_0's inputs are 4×4 and 5×5.
    /// The cell reports it as a sentence instead of crashing in the addition, and the
    /// registry's rule says so before any layer runs.
    func testMisalignedCellInputsAreASentenceNotACrash() {
        let mobile = GlobalRandom.shapesOnly { nasnetAMobile() }
        let problem = ShapeCheck.problem(in: mobile, input: [3, 35, 35])
        XCTAssertTrue(problem?.contains("layer 'cell_0'") == true, problem ?? "no problem reported")
        XCTAssertTrue(problem?.contains("4×4 and 5×5") == true, problem ?? "")
        XCTAssertNil(ShapeCheck.problem(in: mobile, input: [3, 64, 64]))
        XCTAssertFalse(NASNetPadding.shiftedSymmetric.accepts(35))
        XCTAssertTrue(NASNetPadding.shiftedSymmetric.accepts(224))
        XCTAssertNotNil(ModelRegistry.entry("nasnetamobile")!.inputProblem([3, 35, 35]))
        XCTAssertNil(ModelRegistry.entry("nasnetamobile")!.inputProblem([3, 224, 224]))
        // TensorFlow's SAME padding rounds up everywhere, so every size from 32 lines up.
        let large = GlobalRandom.shapesOnly { nasnetALarge() }
        XCTAssertNil(ShapeCheck.problem(in: large, input: [3, 35, 35]))
        XCTAssertTrue(NASNetPadding.tensorFlowSame.accepts(35))
    }

    /// The two schemes give the same sizes at 224 but not the same values: timm's average pools
    /// count the padded zeros and pretrainedmodels' do not, and the shift moves the windows.
    func testThePaddingSchemesDiffer() throws {
        func build(_ padding: NASNetPadding) -> NASNet {
            GlobalRandom.generator = Xoshiro256(seed: 3)
            let model = NASNet(stemChannels: 8, penultimateChannels: 96, cellsPerStage: 1, padding: padding,
                               skipsReductionInput: false, dropout: 0, classCount: 5, inputChannels: 3)
            model.eval()
            return model
        }
        GlobalRandom.generator = Xoshiro256(seed: 4)
        let x = Variable(.randomNormal([1, 3, 64, 64], using: &GlobalRandom.generator))
        let (shifted, same) = try GradMode.withoutGrad { try (build(.shiftedSymmetric)(x).value, build(.tensorFlowSame)(x).value) }
        XCTAssertEqual(shifted.shape, same.shape)
        let difference = zip(shifted.scalars, same.scalars).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(difference, 1e-4)
        // Negative control: the same scheme twice gives the same output.
        let again = try GradMode.withoutGrad { try build(.shiftedSymmetric)(x).value }
        XCTAssertEqual(again.scalars, shifted.scalars)
    }
}
