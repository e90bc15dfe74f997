import ConvZoo
import Foundation

/// The image files that arguments name, in order: files as given, folders searched (sorted)
/// for .png/.jpg/.jpeg. A missing argument or an empty folder is reported on stderr and
/// counted in `failures`.
func collectImageFiles(_ arguments: [String]) -> (paths: [String], failures: Int) {
    var paths: [String] = [], failures = 0
    for argument in arguments {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
            warn("cannot read '\(argument)': no such file or folder")
            failures += 1
            continue
        }
        guard isDirectory.boolValue else { paths.append(argument); continue }
        let found = Image.files(in: argument)
        if found.isEmpty { warn("'\(argument)' holds no PNG or JPEG files"); failures += 1 }
        paths += found
    }
    return (paths, failures)
}
