import Foundation

/// A download's progress line on stderr (bytes, rate, time left), drawn only when stderr is a
/// terminal, and cleared when the download ends.
public enum TerminalProgress {
    /// A progress callback for `WeightsCache.fetch` that draws `name`'s line, or nil when stderr
    /// is not a terminal (a log gets no carriage returns).
    public static func bar(_ name: String) -> ((FetchProgress) -> Void)? {
        guard isatty(2) != 0 else { return nil }
        return { p in
            if p.finished {
                FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
                return
            }
            var line = "\r\u{1B}[2K" + name + "  " + megabytes(p.bytes)
            if let total = p.total {
                line += " / " + megabytes(total) + String(format: "  %3.0f%%", 100 * Double(p.bytes) / Double(max(total, 1)))
            }
            let rate = p.seconds > 0 ? Double(p.received) / p.seconds : 0
            if rate > 0 { line += "  " + megabytes(Int64(rate)) + "/s" }
            if let total = p.total, rate > 0 { line += String(format: "  ETA %.0f s", Double(total - p.bytes) / rate) }
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    static func megabytes(_ bytes: Int64) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
