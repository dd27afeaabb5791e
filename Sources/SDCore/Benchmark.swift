// Timing helpers for `sdedit bench`: median wall time of repeated runs after a warm-up, and the
// process's peak resident set (VmHWM), so figures are comparable with the PyTorch twin script.
import Foundation

public enum Stopwatch {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Median seconds of `repeats` timed runs after `warmup` untimed ones.
    public static func median(warmup: Int = 1, repeats: Int = 3, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        var times: [Double] = []
        for _ in 0..<max(1, repeats) {
            let t0 = now()
            body()
            times.append(now() - t0)
        }
        return median(times)
    }

    /// The middle value (the mean of the two middle values of an even count); 0 for none.
    public static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

public enum ProcessMemory {
    /// Peak resident set size in bytes (VmHWM from /proc/self/status), or 0 if unavailable.
    public static func peakRSS() -> Int { statusField("VmHWM:") }

    /// Current resident set size in bytes.
    public static func currentRSS() -> Int { statusField("VmRSS:") }

    static func statusField(_ name: String) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix(name) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return 0
    }
}
