// One thread budget for the whole process. OpenBLAS runs single-threaded inside our jobs
// (BLAS.parallelSgemm), so there is one pool and it cannot oversubscribe the cores.
import CKernels
import Dispatch
import Foundation

public enum Threads {
    /// Worker threads of parallelFor, which every kernel (GEMM tiles included) runs on: the
    /// recorded plan's budget (`--threads`).
    public static var count: Int { Backend.plan.threads }
}

/// Run `body` over 0..<n in pieces of at least `minChunk`, on at most `Threads.count` threads.
/// `body` receives a half-open range so kernels can keep per-piece scratch.
/// Pieces are handed out dynamically (each worker takes the next one when it is done), so a core
/// that runs slower (a busy VM neighbour, an efficiency core) cannot hold the others up. Which
/// thread computes a piece never changes what it computes: the result is the same bits.
@inline(__always)
public func parallelChunks(_ n: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let workers = min(Threads.count, max(1, n / max(1, minChunk)))
    if workers <= 1 || n <= 1 {
        if n > 0 { body(0..<n) }
        return
    }
    let pieces = min(n / max(1, minChunk), workers * 8)
    let grain = (n + pieces - 1) / pieces
    let next = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    next.initialize(to: 0)
    defer { next.deallocate() }
    withoutActuallyEscaping(body) { body in
        let shared = SharedWork(next: next, body: body)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let lo = sd_fetch_add(shared.next, grain)
                if lo >= n { break }
                shared.body(lo..<min(n, lo + grain))
            }
        }
    }
}

/// What the workers of one parallelChunks call share: the piece counter, only touched through an
/// atomic fetch-add, and the body, which every kernel writes for disjoint ranges (its contract: the
/// pieces never write the same memory). Sendable by that contract, not by the types.
private struct SharedWork: @unchecked Sendable {
    let next: UnsafeMutablePointer<Int>
    let body: (Range<Int>) -> Void
}

/// Run `body(i)` for each i in 0..<n across the thread budget.
@inline(__always)
public func parallelFor(_ n: Int, minChunk: Int = 1, _ body: (Int) -> Void) {
    parallelChunks(n, minChunk: minChunk) { r in for i in r { body(i) } }
}
