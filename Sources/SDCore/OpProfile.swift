// Wall time per op family, for "profile, then fix the hottest kernel". Off unless the kernel plan
// asks (KernelPlan.profile, SDEDIT_PROFILE=1); then each op adds its time to a table that `sdedit
// bench` prints. Profile .shapes (SDEDIT_PROFILE=shapes) splits the GEMM-backed families (conv2d,
// linear) by shape, with their GFLOP/s, to find the shape that is slow.
// Ops are called from one thread (they parallelise inside), so the table needs no lock.
import Foundation

public enum OpProfile {
    public static var enabled: Bool { Backend.plan.profile != .off }
    public static var byShape: Bool { Backend.plan.profile == .shapes }
    nonisolated(unsafe) static var flops: [String: Double] = [:]
    nonisolated(unsafe) static var table: [String: (seconds: Double, calls: Int)] = [:]
    nonisolated(unsafe) static var depth = 0

    /// Time `body` under `name` (outermost op only, so nested ops are not counted twice).
    @inline(__always)
    public static func measure<R>(_ name: String, shape: @autoclosure () -> (String, Double)? = nil, _ body: () -> R) -> R {
        if depth > 0 || !enabled { return body() }
        depth += 1
        let t0 = Stopwatch.now()
        let r = body()
        let dt = Stopwatch.now() - t0
        depth -= 1
        var key = name
        if byShape, let (detail, f) = shape() {
            key = name + " " + detail
            flops[key, default: 0] += f
        }
        let e = table[key] ?? (0, 0)
        table[key] = (e.seconds + dt, e.calls + 1)
        return r
    }

    public static func reset() { table = [:]; flops = [:] }

    /// "op: seconds (share), calls" lines, largest first.
    public static func report() -> String {
        let total = table.values.reduce(0) { $0 + $1.seconds }
        return table.sorted { $0.value.seconds > $1.value.seconds }.map { name, e in
            String(format: "  %-14@ %8.3f s  %5.1f %%  %6d calls", name as NSString, e.seconds,
                   total > 0 ? 100 * e.seconds / total : 0, e.calls)
                + (flops[name].map { String(format: "  %6.1f GFLOP/s", $0 / e.seconds / 1e9) } ?? "")
        }.joined(separator: "\n")
    }
}
