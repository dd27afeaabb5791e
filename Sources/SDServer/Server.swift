// `sdedit serve`: the AUTOMATIC1111 web API (modules/api/api.py) on Hummingbird 2. Routes under
// /sdapi/v1/ answer with A1111's shapes; jobs run one at a time on the job queue; every client error
// is a 4xx with a JSON detail (APIError). SIGTERM/SIGINT: stop accepting, interrupt the running job,
// let it answer, exit 0 (Hummingbird's ServiceLifecycle graceful shutdown).
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SDCore

public final class SDServer: @unchecked Sendable {
    public let config: ServerConfiguration
    let jobs: ServerJobs
    let control = JobControl()
    let queue = JobQueue()
    private let lock = NSLock()
    /// Options set through POST options (A1111 keeps every key; sdedit acts on sd_model_checkpoint).
    private var storedOptions: [(String, JSONValue)] = []
    private var savedCount = 0

    public init(config: ServerConfiguration, jobs: ServerJobs) {
        self.config = config
        self.jobs = jobs
    }

    /// The router with every route and middleware (also what the in-process tests drive).
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        if !config.corsOrigins.isEmpty { router.add(middleware: CORSOriginsMiddleware(origins: config.corsOrigins)) }
        if let auth = config.apiAuth { router.add(middleware: BasicAuthMiddleware(expected: Array(auth.utf8))) }
        addRoutes(router)
        return router
    }

    /// Serve until SIGTERM or SIGINT; `onRunning` gets the bound port (0 asks the OS for one).
    public func run(onRunning: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        var logger = Logger(label: "sdedit.serve")
        logger.logLevel = .warning
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "sdedit"),
            services: [ShutdownWatcher(server: self)],
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await app.runService()
    }

    /// Shutdown began: no new jobs, and the running one stops after its current step.
    func beginShutdown() {
        queue.close()
        control.interrupt()
    }

    // MARK: Helpers the routes share

    /// The body as bytes, refused with 413 past --max-body-mb (from Content-Length when sent, else
    /// while reading).
    func body(_ request: Request) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > config.maxBodyBytes {
            throw APIError(.contentTooLarge, "request body of \(length) bytes exceeds --max-body-mb (\(config.maxBodyBytes) bytes)")
        }
        do {
            let buffer = try await request.body.collect(upTo: config.maxBodyBytes)
            return Data(buffer.readableBytesView)
        } catch let e as HTTPResponseError where e.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "request body exceeds --max-body-mb (\(config.maxBodyBytes) bytes)")
        }
    }

    /// The body parsed as a JSON object (422 when it is not one) and decoded as `T`.
    func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> (T, JSONValue) {
        let raw: JSONValue
        do { raw = try JSONDecoder().decode(JSONValue.self, from: data.isEmpty ? Data("{}".utf8) : data) } catch {
            throw APIError.unprocessable("body: malformed JSON")
        }
        guard case .object = raw else { throw APIError.unprocessable("body: expected a JSON object") }
        do { return (try JSONDecoder().decode(T.self, from: data.isEmpty ? Data("{}".utf8) : data), raw) } catch let e as DecodingError {
            throw APIError.unprocessable(APIError.describe(e))
        }
    }

    /// A JSON answer.
    func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Run `work` on the job queue with the progress state set for `images` images.
    func runJob<T: Sendable>(images: Int, label: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await queue.run { [control] in
            control.begin(images: images, label: label)
            defer { control.end() }
            return try work()
        }
    }

    /// Options as GET options answers them: the stored keys with the current checkpoint.
    func options() -> JSONValue {
        var o: JSONValue = .object(lock.withLock { storedOptions })
        for (k, v) in [("samples_format", JSONValue.string("png")), ("sd_checkpoint_hash", .null),
                       ("CLIP_stop_at_last_layers", .number(1)), ("sd_vae", .string("Automatic"))] where o[k] == nil {
            o = o.setting(k, v)
        }
        return o.setting("sd_model_checkpoint", .string(jobs.currentCheckpoint))
    }

    /// Keep `o`'s keys; at most 1000 distinct keys are kept (A1111 knows a fixed set, sdedit stores
    /// any, so repeated posts of new keys must not grow memory without bound).
    func storeOptions(_ o: [(String, JSONValue)]) throws {
        try lock.withLock {
            let new = Set(o.map(\.0)).subtracting(storedOptions.map(\.0))
            if storedOptions.count + new.count > 1000 { throw APIError.unprocessable("options: more than 1000 keys") }
            for (k, v) in o {
                if let i = storedOptions.firstIndex(where: { $0.0 == k }) { storedOptions[i].1 = v } else { storedOptions.append((k, v)) }
            }
        }
    }

    /// Write the job's PNGs under --outdir (A1111's NNNNN-SEED.png names); nothing without --outdir.
    func save(_ out: JobOutput) throws {
        guard let dir = config.outdir else { return }
        for (png, seed) in zip(out.images, out.seeds) {
            let n = lock.withLock { () -> Int in savedCount += 1; return savedCount }
            let name = String(format: "%05d-%@.png", n, String(seed))
            // Foundation's atomic write, not ImageIO's: that one installs a SIGTERM handler that would
            // end the process instead of the graceful shutdown.
            let path = (dir as NSString).appendingPathComponent(name)
            do { try Data(png).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw SDError.ioWrite(path: path, message: "\(error.localizedDescription)")
            }
        }
    }

    /// Start numbering after the files already in --outdir.
    public func prepareOutdir() throws {
        guard let dir = config.outdir else { return }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw SDError.invalidInput("--outdir \(dir): no such folder")
        }
        savedCount = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".png") }.count
    }
}

/// Waits for graceful shutdown (SIGTERM/SIGINT through the ServiceGroup) and then stops the job.
struct ShutdownWatcher: Service {
    let server: SDServer
    func run() async throws {
        try? await gracefulShutdown()
        server.beginShutdown()
    }
}
