import ConvZoo
import Foundation

/// Prints a live line on a terminal, plain lines otherwise.
struct ProgressPrinter {
    let live = standardOutputIsATerminal()

    func update(_ p: TrainingProgress) {
        guard live else { return }
        let width = 24, filled = Int(Double(width) * Double(p.batch) / Double(max(p.batches, 1)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "epoch %d/%d %@ loss %.4f acc %.2f%% %.0f img/s ETA %.0fs", p.epoch + 1, p.epochs, bar, p.loss,
                          p.accuracy * 100, p.imagesPerSecond, p.secondsLeft)
        print("\r" + line, terminator: "")
        fflush(stdout)
    }

    func finish(_ r: EpochRecord, epochs: Int) {
        let line = String(format: "epoch %d/%d  train loss %.4f acc %.2f%%  val loss %.4f acc %.2f%% top-5 %.2f%%  lr %.4g  %.1fs",
                          r.epoch, epochs, r.trainLoss, r.trainAccuracy * 100, r.validation.loss, r.validation.top1 * 100,
                          r.validation.top5 * 100, r.learningRate, r.seconds)
        print((live ? "\r\u{1B}[2K" : "") + line)
        fflush(stdout)
    }
}

/// Whether what this process prints reaches a terminal. Under mpirun a process's stdout is a
/// pseudo-terminal of Open MPI's whatever mpirun's own stdout is, so there the answer is
/// mpirun's (the parent process's): a log redirected to a file gets no live progress line.
func standardOutputIsATerminal() -> Bool {
    guard ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil else { return isatty(1) != 0 }
    let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(getppid())/fd/1")) ?? ""
    return target.hasPrefix("/dev/pts/") || target.hasPrefix("/dev/tty")
}
