// Wall time per op family, for "profile, then fix the hottest kernel". Off unless the kernel plan
// asks (KernelPlan.profile, SDEDIT_PROFILE=1); then each op adds its time to a table that `sdedit
// bench` prints. Profile .shapes (SDEDIT_PROFILE=shapes) splits the GEMM-backed families (conv2d,
// linear) by shape, with their GFLOP/s, to find the shape that is slow.
// Ops run one after another (they parallelise inside), but not always on the same thread (a server
// runs its jobs off the request threads), so the table sits behind a lock taken twice per op, only
// when profiling.
import Foundation

public enum OpProfile {
    public static var enabled: Bool { Backend.plan.profile != .off }
    public static var byShape: Bool { Backend.plan.profile == .shapes }

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var flops: [String: Double] = [:]
        var table: [String: (seconds: Double, calls: Int)] = [:]
        var depth = 0
    }
    private static let state = State()

    /// Time `body` under `name` (outermost op only, so nested ops are not counted twice).
    @inline(__always)
    public static func measure<R>(_ name: String, shape: @autoclosure () -> (String, Double)? = nil, _ body: () -> R) -> R {
        guard enabled else { return body() }
        let outermost: Bool = state.lock.withLock {
            state.depth += 1
            return state.depth == 1
        }
        defer { state.lock.withLock { state.depth -= 1 } }
        if !outermost { return body() }
        let t0 = Stopwatch.now()
        let r = body()
        let dt = Stopwatch.now() - t0
        var key = name
        let detail = byShape ? shape() : nil
        if let (d, _) = detail { key = name + " " + d }
        state.lock.withLock {
            if let (_, f) = detail { state.flops[key, default: 0] += f }
            let e = state.table[key] ?? (0, 0)
            state.table[key] = (e.seconds + dt, e.calls + 1)
        }
        return r
    }

    public static func reset() { state.lock.withLock { state.table = [:]; state.flops = [:] } }

    /// "op: seconds (share), calls" lines, largest first.
    public static func report() -> String {
        let (table, flops) = state.lock.withLock { (state.table, state.flops) }
        let total = table.values.reduce(0) { $0 + $1.seconds }
        return table.sorted { $0.value.seconds > $1.value.seconds }.map { name, e in
            String(format: "  %-14@ %8.3f s  %5.1f %%  %6d calls", name as NSString, e.seconds,
                   total > 0 ? 100 * e.seconds / total : 0, e.calls)
                + (flops[name].map { String(format: "  %6.1f GFLOP/s", $0 / e.seconds / 1e9) } ?? "")
        }.joined(separator: "\n")
    }
}
