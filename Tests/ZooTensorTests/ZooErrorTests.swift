import XCTest
import ZooTensor

/// A library error names the argument to pass by the library's parameter; a tool names its own option.
final class ZooErrorTests: XCTestCase {
    func testArgumentsAreWrittenByWhoeverPrintsTheSentence() {
        let error = ZooError(template: "no {weights} given; pass {model} and {weights}")
        XCTAssertEqual(error.description, "no `weights` given; pass `model` and `weights`")
        XCTAssertEqual(error.sentence { "--" + $0 }, "no --weights given; pass --model and --weights")
    }

    func testTextFromElsewhereKeepsItsBraces() {
        let path = "/tmp/{odd}/w.pth"
        XCTAssertEqual(ZooError("'\(path)' is missing").description, "'/tmp/{odd}/w.pth' is missing")
        let error = ZooError(template: ZooError.literal("'\(path)' has 3 classes") + "; pass {classes}")
        XCTAssertEqual(error.sentence { "--\($0)" }, "'/tmp/{odd}/w.pth' has 3 classes; pass --classes")
        // Negative control: the same text as a template reads the braces as an argument.
        XCTAssertEqual(ZooError(template: "'\(path)'").sentence { "<\($0)>" }, "'/tmp/<odd>/w.pth'")
        XCTAssertEqual(ZooError("a {b} c"), ZooError("a {b} c"))
    }
}
