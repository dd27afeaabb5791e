// The running job's state for GET progress and its stop requests (POST interrupt / skip): A1111's
// shared.state (modules/shared_state.py). Written by the job thread, read by request handlers.
import Foundation
import SDCore
import SDPipelines

public final class JobControl: @unchecked Sendable {
    private let lock = NSLock()
    private var jobCount = 0, jobNo = 0, step = 0, steps = 0
    private var interrupted = false, skipped = false
    private var started: Double = 0
    private var text = ""
    private var busy = false
    /// The running job's stop signal (SDJobs' loop checks it between denoising steps).
    private var stop: StopSignal?
    /// The latest step's latents (a reference to the job's value, no copy): the preview is computed
    /// only when a progress poll asks for it.
    private var latents: Tensor?

    public init() {}

    /// The latents after a denoising step (job thread).
    public func latest(_ z: Tensor) { lock.withLock { latents = z } }

    /// GET progress's current_image: A1111's "Approx cheap" preview of the latest latents, as PNG.
    public func previewPNG() -> [UInt8]? {
        guard let z = lock.withLock({ latents }) else { return nil }
        return try? LatentPreview.cheapRGB(z).encodePNG()
    }

    /// Interrupt and skip reach `signal` from now until the job ends.
    public func attach(_ signal: StopSignal) {
        lock.withLock {
            stop = signal
            if interrupted { signal.interrupt() }
        }
    }

    /// A job of `images` images starts (called on the job thread).
    public func begin(images: Int, label: String) {
        lock.withLock {
            jobCount = images; jobNo = 0; step = 0; steps = 0
            interrupted = false; skipped = false; busy = true
            started = Date().timeIntervalSince1970; text = label
        }
    }

    /// Image `index` (0-based) of the job starts: a pending skip of the previous image is spent.
    public func beginImage(_ index: Int) { lock.withLock { jobNo = index; step = 0; skipped = false; latents = nil } }

    /// A denoising step finished.
    public func step(_ done: Int, of total: Int) { lock.withLock { step = done; steps = total } }

    public func end() { lock.withLock { busy = false; stop = nil; latents = nil; jobCount = 0; jobNo = 0; step = 0; steps = 0; text = "" } }

    public func interrupt() { lock.withLock { if busy { interrupted = true; stop?.interrupt() } } }
    public func skip() { lock.withLock { if busy { skipped = true; stop?.skip() } } }

    /// The whole job should stop (interrupt, or the server is shutting down).
    public var isInterrupted: Bool { lock.withLock { interrupted } }
    /// The image in progress should stop after the current step.
    public var isStopRequested: Bool { lock.withLock { interrupted || skipped } }

    /// GET progress's numbers: A1111's progressapi (modules/api/api.py) computes progress from the
    /// image number and the step, and eta_relative by linear extrapolation of the elapsed time.
    struct Snapshot {
        var progress: Double, etaRelative: Double, jobCount: Int, jobNo: Int
        var step: Int, steps: Int, interrupted: Bool, skipped: Bool, text: String
    }

    func snapshot(now: Double = Date().timeIntervalSince1970) -> Snapshot {
        lock.withLock {
            var p = 0.0
            if busy && jobCount > 0 {
                p = Double(jobNo) / Double(jobCount)
                if steps > 0 { p += Double(step) / Double(steps) / Double(jobCount) }
            }
            p = min(max(p, 0), 1)
            let elapsed = now - started
            let eta = busy && p > 0.01 ? max(elapsed / p - elapsed, 0) : 0
            return Snapshot(progress: p, etaRelative: eta, jobCount: busy ? jobCount : 0, jobNo: jobNo,
                            step: step, steps: steps, interrupted: interrupted, skipped: skipped, text: text)
        }
    }
}

/// The serial job queue: model work is synchronous CPU work, so it runs on one dedicated thread (a
/// serial DispatchQueue) off the NIO event loops, one job at a time, while other requests answer.
final class JobQueue: @unchecked Sendable {
    private let queue = DispatchQueue(label: "sdedit.jobs", qos: .userInitiated)
    private let lock = NSLock()
    private var waiting = 0
    private var closed = false

    /// Jobs waiting or running.
    var pending: Int { lock.withLock { waiting } }

    /// Refuse new jobs from now on (shutdown).
    func close() { lock.withLock { closed = true } }

    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try lock.withLock {
            if closed { throw APIError(.serviceUnavailable, "the server is shutting down") }
            waiting += 1
        }
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            queue.async {
                defer { self.lock.withLock { self.waiting -= 1 } }
                // A job still waiting when shutdown began is answered, not run.
                if self.lock.withLock({ self.closed }) {
                    return c.resume(throwing: APIError(.serviceUnavailable, "the server is shutting down"))
                }
                c.resume(with: Result { try work() })
            }
        }
    }
}
