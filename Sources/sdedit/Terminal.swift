// stderr output: messages and progress never go to stdout, which may carry image bytes ("-o -").
import Foundation
import SDCore
import SDJobs

enum FileHandleStderr {
    /// write(2) and ignore failure: FileHandle traps when stderr is closed (`2>&-`), and a message
    /// that cannot be shown must not turn a success into a crash.
    static func write(_ s: String) { _ = writeAll(2, Array(s.utf8)) }
}

/// Progress on stderr: a bar with ETA on a terminal, one plain line per step otherwise, nothing when quiet.
final class ProgressReporter: JobObserver {
    let quiet: Bool
    let tty = isatty(2) != 0
    var start = Stopwatch.now()
    var label = ""

    init(quiet: Bool) { self.quiet = quiet }

    func message(_ s: String) { if !quiet { FileHandleStderr.write(s + "\n") } }

    func begin(_ label: String) {
        self.label = label
        start = Stopwatch.now()
    }

    func update(_ done: Int, _ total: Int) {
        guard !quiet else { return }
        let elapsed = Stopwatch.now() - start
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        if tty {
            let width = 30, filled = total > 0 ? width * done / total : width
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            FileHandleStderr.write(String(format: "\r%@ [%@] %d/%d  %.1fs, ETA %.1fs ", label, bar, done, total, elapsed, eta))
            if done == total { FileHandleStderr.write("\n") }
        } else {
            FileHandleStderr.write(String(format: "%@ step %d/%d (%.1fs, ETA %.1fs)\n", label, done, total, elapsed, eta))
        }
    }
}
