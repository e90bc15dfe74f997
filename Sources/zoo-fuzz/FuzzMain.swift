import Foundation
import ZooFuzz

// Built two ways (see Tools/fuzz):
// - with `-D FUZZING -sanitize=fuzzer,address`: a libFuzzer target; ZOO_FUZZ_TARGET names
//   the parser (png, jpeg, safetensors, pth, idx, cifar, checkpoint) and libFuzzer's own
//   main parses the command line;
// - in a plain build: `zoo-fuzz TARGET FILE…` replays inputs and prints each outcome.

#if FUZZING
let fuzzTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["ZOO_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("ZOO_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")), not '\(name)'\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = size == 0 ? Data() : Data(bytes: bytes!, count: size)
    _ = fuzzTarget.run(data)
    return 0
}

typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: FuzzCallback) -> CInt

// SwiftPM links an executable's entry point as `<module>_main`; this one hands the command
// line to libFuzzer's driver.
@_cdecl("zoo_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var (count, arguments) = (argc, argv)
    return runFuzzerDriver(&count, &arguments, fuzzOneInput)
}
#else
@main
enum Replay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let first = arguments.first, let target = FuzzTarget(rawValue: first), arguments.count >= 2 else {
            FileHandle.standardError.write(Data("usage: zoo-fuzz TARGET FILE… (TARGET: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))\n".utf8))
            exit(2)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("cannot read '\(path)'\n".utf8))
                exit(1)
            }
            switch target.run(data, name: path) {
            case .accepted: print("\(path): accepted")
            case .rejected(let why): print("\(path): rejected: \(why)")
            }
        }
    }
}
#endif
