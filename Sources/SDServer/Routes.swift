// The routes, with A1111's request and response shapes (modules/api/api.py add_api_route calls and
// modules/api/models.py). Hummingbird's router drops empty path components, so each route also
// answers with a trailing slash (openOutpaint posts to /sdapi/v1/options/); a test checks it.
import Foundation
import Hummingbird
import SDCore
import SDPipelines

extension SDServer {
    func addRoutes(_ router: Router<BasicRequestContext>) {
        func route(_ method: HTTPRequest.Method, _ path: String,
                   _ handler: @escaping @Sendable (Request) async throws -> Response) {
            router.on(RouterPath(path), method: method) { request, _ in try await handler(request) }
        }
        let v1 = "/sdapi/v1"
        route(.post, "\(v1)/txt2img") { try await self.txt2img($0) }
        route(.post, "\(v1)/img2img") { try await self.img2img($0, depth: false) }
        route(.post, "/sdedit/v1/depth2img") { try await self.img2img($0, depth: true) }
        route(.get, "\(v1)/progress") { request in
            try self.progress(skipImage: request.uri.queryParameters["skip_current_image"].map { $0.lowercased() == "true" } ?? false)
        }
        route(.post, "\(v1)/interrupt") { _ in self.control.interrupt(); return try self.json(.object([])) }
        route(.post, "\(v1)/skip") { _ in self.control.skip(); return try self.json(.object([])) }
        route(.get, "\(v1)/options") { _ in try self.json(self.options()) }
        route(.post, "\(v1)/options") { try await self.setOptions($0) }
        route(.get, "\(v1)/sd-models") { _ in try self.json(self.sdModels()) }
        route(.get, "\(v1)/samplers") { _ in try self.json(Self.samplerList()) }
        route(.get, "\(v1)/schedulers") { _ in try self.json(Self.schedulerList()) }
        route(.get, "\(v1)/upscalers") { _ in try self.json(self.upscalerList()) }
        route(.get, "\(v1)/loras") { _ in try self.json(.array(self.jobs.loras().map {
            .object([("name", .string($0.name)), ("alias", .string($0.name)), ("path", .string($0.path)), ("metadata", .object([]))])
        })) }
        route(.get, "\(v1)/embeddings") { _ in
            let (loaded, skipped) = self.jobs.embeddings()
            let listed = { (list: [EmbeddingEntry]) -> JSONValue in
                .object(list.map { e in (e.name, .object([("step", .null), ("sd_checkpoint", .null), ("sd_checkpoint_name", .null),
                                                          ("shape", e.width.map { .number(Double($0)) } ?? .null),
                                                          ("vectors", e.vectors.map { .number(Double($0)) } ?? .null)])) })
            }
            return try self.json(.object([("loaded", listed(loaded)), ("skipped", listed(skipped))]))
        }
        route(.get, "\(v1)/prompt-styles") { _ in try self.json(.array([])) }
        route(.get, "\(v1)/scripts") { _ in try self.json(.object([("txt2img", .array([])), ("img2img", .array([]))])) }
        route(.post, "\(v1)/png-info") { try await self.pngInfo($0) }
        route(.post, "\(v1)/extra-single-image") { try await self.extraSingleImage($0) }
        route(.get, "/openapi.json") { _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        route(.get, "/docs") { _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.docsPage)))
        }
    }

    // MARK: Generation

    func txt2img(_ request: Request) async throws -> Response {
        let data = try await body(request)
        let (fields, raw) = try decode(GenerationFields.self, data)
        let s = try generationSettings(fields, maxPixels: config.maxPixels)
        try checkCheckpoint(s.checkpoint)
        let out = try await runJob(images: s.imageCount, label: "txt2img") { [jobs, control] in
            try Self.timed { try jobs.txt2img(s, control: control) }
        }
        try save(out)
        return try generated(out, settings: s, echo: raw, strength: nil)
    }

    func img2img(_ request: Request, depth: Bool) async throws -> Response {
        let data = try await body(request)
        let (fields, raw) = try decode(GenerationFields.self, data)
        let (edit, _) = try decode(Img2ImgFields.self, data)
        var s = try generationSettings(fields, maxPixels: config.maxPixels)
        let e = try editSettings(edit, maxPixels: config.maxPixels)
        // img2img answers at the input's size unless width/height were sent (A1111 resizes to them;
        // sdedit keeps the image's own size: see docs/notes/serve.md).
        s.width = e.image.width; s.height = e.image.height
        try checkCheckpoint(s.checkpoint)
        let label = depth ? "depth2img" : "img2img"
        let out = try await runJob(images: s.imageCount, label: label) { [jobs, control, s] in
            try Self.timed { depth ? try jobs.depth2img(s, e, control: control) : try jobs.img2img(s, e, control: control) }
        }
        try save(out)
        // A1111 echoes the request without its images unless include_init_images is set.
        let echo = raw.setting("init_images", .null).setting("mask", .null)
        return try generated(out, settings: s, echo: echo, strength: e.denoisingStrength)
    }

    /// A checkpoint named in a request must be one of the listed titles (never a path).
    func checkCheckpoint(_ title: String?) throws {
        guard let t = title else { return }
        guard jobs.checkpoints().contains(where: { $0.title == t || $0.modelName == t }) else {
            throw APIError.notFound("sd_model_checkpoint: no checkpoint '\(t)' (GET /sdapi/v1/sd-models lists them)")
        }
    }

    /// {images, parameters, info} with info a JSON string (A1111's Processed.js()).
    func generated(_ out: JobOutput, settings s: GenerationSettings, echo: JSONValue, strength: Double?) throws -> Response {
        let seeds = out.seeds.map { JSONValue.number(Double($0)) }
        var info: [(String, JSONValue)] = [
            ("prompt", .string(s.prompt)),
            ("all_prompts", .array(out.seeds.map { _ in .string(s.prompt) })),
            ("negative_prompt", .string(s.negativePrompt)),
            ("all_negative_prompts", .array(out.seeds.map { _ in .string(s.negativePrompt) })),
            ("seed", seeds.first ?? .null), ("all_seeds", .array(seeds)),
            ("subseed", seeds.first ?? .null), ("all_subseeds", .array(seeds)), ("subseed_strength", .number(0)),
            ("width", .number(Double(out.width))), ("height", .number(Double(out.height))),
            ("sampler_name", .string(out.samplerName)), ("cfg_scale", .number(Double(s.cfgScale))),
            ("steps", .number(Double(s.steps))), ("batch_size", .number(Double(s.batchSize))),
            ("restore_faces", .bool(false)), ("face_restoration_model", .null),
            ("sd_model_name", .string(out.modelName)), ("sd_model_hash", .null),
            ("sd_vae_name", .null), ("sd_vae_hash", .null),
            ("seed_resize_from_w", .number(-1)), ("seed_resize_from_h", .number(-1)),
            ("denoising_strength", strength.map { .number($0) } ?? .null),
            ("extra_generation_params", .object([])), ("index_of_first_image", .number(0)),
            ("infotexts", .array(out.infotexts.map { .string($0) })), ("styles", .array([])),
            ("job_timestamp", .string(Self.timestamp())), ("clip_skip", .number(1)),
            ("is_using_inpainting_conditioning", .bool(false)), ("version", .string("sdedit")),
            // Not A1111's: the job's own time, so a client can tell the request overhead from it.
            ("sdedit_job_seconds", .number(out.seconds)),
        ]
        if out.interrupted || out.images.count < s.imageCount { info.append(("interrupted", .bool(true))) }
        let infoText = String(decoding: try JSONEncoder().encode(JSONValue.object(info)), as: UTF8.self)
        return try json(.object([
            ("images", .array(out.images.map { .string(ImagePayload.encode($0)) })),
            ("parameters", echo),
            ("info", .string(infoText)),
        ]))
    }

    /// The job's output with its run time.
    static func timed(_ job: () throws -> JobOutput) rethrows -> JobOutput {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var out = try job()
        out.seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return out
    }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMddHHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date())
    }

    // MARK: State

    /// A1111's progressapi: the numbers, and current_image as a base64 PNG of the latest step's
    /// latents through the "Approx cheap" preview (1/8 of the image size; null between jobs or when
    /// skip_current_image is true).
    func progress(skipImage: Bool = false) throws -> Response {
        let p = control.snapshot()
        let preview = skipImage ? nil : control.previewPNG()
        return try json(.object([
            ("progress", .number(p.progress)), ("eta_relative", .number(p.etaRelative)),
            ("state", .object([
                ("skipped", .bool(p.skipped)), ("interrupted", .bool(p.interrupted)),
                ("job", .string(p.text)), ("job_count", .number(Double(p.jobCount))),
                ("job_timestamp", .string("0")), ("job_no", .number(Double(p.jobNo))),
                ("sampling_step", .number(Double(p.step))), ("sampling_steps", .number(Double(p.steps))),
                ("queued", .number(Double(max(queue.pending - (p.jobCount > 0 ? 1 : 0), 0)))),
            ])),
            ("current_image", preview.map { .string(Data($0).base64EncodedString()) } ?? .null),
            ("textinfo", p.jobCount > 0 ? .string("\(p.text) \(p.jobNo + 1)/\(p.jobCount), step \(p.step)/\(p.steps)") : .null),
        ]))
    }

    func setOptions(_ request: Request) async throws -> Response {
        let data = try await body(request)
        let (_, raw) = try decode(JSONValue.self, data)
        guard case .object(let pairs) = raw else { throw APIError.unprocessable("body: expected a JSON object") }
        if let c = raw["sd_model_checkpoint"], c != .null {
            guard let title = c.stringValue else { throw APIError.unprocessable("sd_model_checkpoint must be a string") }
            try checkCheckpoint(title)
            if title != jobs.currentCheckpoint {
                try await runJob(images: 0, label: "load \(title)") { [jobs] in try jobs.selectCheckpoint(title) }
            }
        }
        try storeOptions(pairs.filter { $0.0 != "sd_model_checkpoint" })
        return try json(options())
    }

    func sdModels() -> JSONValue {
        .array(jobs.checkpoints().map {
            .object([("title", .string($0.title)), ("model_name", .string($0.modelName)), ("hash", .null),
                     ("sha256", .null), ("filename", .string($0.filename)), ("config", .null)])
        })
    }

    static func samplerList() -> JSONValue {
        .array(SchedulerKind.a1111Samplers.map { s in
            .object([("name", .string(s.name)), ("aliases", .array(s.aliases.map { .string($0) })),
                     ("options", .object(s.options.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))])
        })
    }

    static func schedulerList() -> JSONValue {
        .array(SchedulerKind.a1111ScheduleTypes.filter { Samplers.schedules.contains($0.name) }.map { t in
            .object([("name", .string(t.name)), ("label", .string(t.label)), ("aliases", t.aliases.isEmpty ? .null : .array(t.aliases.map { .string($0) })),
                     ("default_rho", .number(-1)), ("need_inner_model", .bool(false))])
        })
    }

    func upscalerList() -> JSONValue {
        .array(jobs.upscalers().map {
            .object([("name", .string($0)), ("model_name", $0 == "None" ? .null : .string($0)), ("model_path", .null),
                     ("model_url", .null), ("scale", .number($0 == "None" ? 1 : 4))])
        })
    }

    // MARK: Images

    func pngInfo(_ request: Request) async throws -> Response {
        let data = try await body(request)
        let (r, _) = try decode(PNGInfoRequest.self, data)
        guard let text = r.image, !text.isEmpty else { throw APIError.unprocessable("image: field required") }
        // The pixels are decoded under --max-pixels like any input; the text is A1111's
        // read_info_from_image (SDCore's ImageText) parsed as parse_generation_parameters (Infotext).
        let bytes = try ImagePayload.bytes(text, field: "image")
        _ = try ImagePayload.decode(text, field: "image", maxPixels: config.maxPixels)
        let parameters: String
        do { parameters = try ImageText.parameters(in: bytes, name: "image") ?? "" } catch let e as SDError {
            throw APIError.unprocessable("\(e)")
        }
        let parsed = Infotext.parse(parameters)
        let values = [("Prompt", parsed.prompt), ("Negative prompt", parsed.negativePrompt)] + parsed.a1111Values.map { ($0.key, $0.value) }
        return try json(.object([
            ("info", .string(parameters)),
            ("items", .object([])),
            ("parameters", .object(values.map { ($0.0, .string($0.1)) })),
        ]))
    }

    func extraSingleImage(_ request: Request) async throws -> Response {
        let data = try await body(request)
        let (r, _) = try decode(ExtraSingleImageRequest.self, data)
        guard let text = r.image, !text.isEmpty else { throw APIError.unprocessable("image: field required") }
        let name = r.upscaler1 ?? "None"
        guard name != "None" else { throw APIError.unprocessable("upscaler_1: choose an upscaler (GET /sdapi/v1/upscalers)") }
        guard jobs.upscalers().contains(name) else {
            throw APIError.unprocessable("upscaler_1: unknown upscaler '\(name)' (GET /sdapi/v1/upscalers lists them)")
        }
        if let f = r.upscalingResize, f != 4 { throw APIError.unprocessable("upscaling_resize: the x4 upscaler scales by 4 only") }
        let input = EditSettings(image: try ImagePayload.decode(text, field: "image", maxPixels: config.maxPixels))
        let png = try await runJob(images: 1, label: "upscale") { [jobs, control] in
            try jobs.upscale(input.image, upscaler: name, control: control)
        }
        return try json(.object([("html_info", .string("")), ("image", .string(ImagePayload.encode(png)))]))
    }
}
