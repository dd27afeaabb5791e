// One thread budget for the whole process. OpenBLAS runs single-threaded inside our jobs
// (BLAS.parallelSgemm), so there is one pool and it cannot oversubscribe the cores.
import Dispatch
import Foundation

public enum Threads {
    nonisolated(unsafe) private static var _count: Int = {
        let n = ProcessInfo.processInfo.activeProcessorCount
        BLAS.pinSingleThreaded()
        return n
    }()

    /// Worker threads of parallelFor, which every kernel (GEMM tiles included) runs on.
    public static var count: Int { _count }

    /// Set the budget (`--threads`).
    public static func set(_ n: Int) {
        _count = max(1, n)
        BLAS.pinSingleThreaded()
    }
}

/// Run `body(i)` for i in 0..<n, split into at most `Threads.count` contiguous chunks.
/// `body` receives a half-open range so kernels can keep per-chunk scratch.
@inline(__always)
public func parallelChunks(_ n: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let workers = min(Threads.count, max(1, n / max(1, minChunk)))
    if workers <= 1 || n <= 1 {
        if n > 0 { body(0..<n) }
        return
    }
    let per = (n + workers - 1) / workers
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let lo = w * per
        let hi = min(n, lo + per)
        if lo < hi { body(lo..<hi) }
    }
}

/// Run `body(i)` for each i in 0..<n across the thread budget.
@inline(__always)
public func parallelFor(_ n: Int, minChunk: Int = 1, _ body: (Int) -> Void) {
    parallelChunks(n, minChunk: minChunk) { r in for i in r { body(i) } }
}
