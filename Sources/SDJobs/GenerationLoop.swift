// The one generation loop every job runs: for each of `count` seeds, prompt warnings, the seed,
// the task's image-level pipeline, and the A1111 infotext; each image is handed to `emit` as soon as
// it exists (the CLI writes it atomically, the server encodes it). A1111's n_iter loop
// (modules/processing.py `process_images_inner`) with its interrupt/skip checks.
import Foundation
import SDCore
import SDModels
import SDPipelines

extension LoadedModel {
    /// Run `job`; `stop` ends it early between denoising steps (an interrupt ends the job, a skip the
    /// image in progress); each finished image goes to `emit`. `lastJob`: the caller runs nothing else
    /// on this model (a command's one job), so a one-image job's text encoder is done once the prompts
    /// are encoded and its pages can leave the resident set
    /// (StableDiffusionModel.releasesTextEncoderAfterUse).
    @discardableResult
    public func run(_ job: ImageJob, observer: JobObserver, stop: StopSignal? = nil, lastJob: Bool = false,
                    emit: (JobImage) throws -> Void) throws -> RunRecord {
        var record = RunRecord(model: name, loras: loras)
        sd.releasesTextEncoderAfterUse = lastJob && job.count == 1
        let scheduler = try job.settings.scheduler ?? defaultScheduler()
        // Before the first image: the model checked against the task, the depth a depth2img job
        // conditions on (estimated once for every seed), and where an inpaint will run.
        var depth: Tensor?
        switch job.task {
        case .txt2img: _ = try Txt2ImgPipeline(model: sd)
        case .img2img: _ = try Img2ImgPipeline(model: sd)
        case .upscale: _ = try upscalePipeline()
        case .depth2img(let image, let source):
            switch source {
            case .estimate: depth = try depth2img(estimator: true).estimateDepth(image)
            case .estimated(let d), .map(let d): depth = d
            }
            record.depth = depth
        case .inpaint(_, let mask, let options, _):
            let area = try inpaintPipeline().area(mask: mask, options: options)
            if let box = area.box {
                observer.message("sdedit: inpainting the \(box) crop around the mask at \(area.width)x\(area.height)")
            }
        }
        for i in 0..<job.count {
            if stop?.isInterrupted == true { record.interrupted = true; break }
            var r = job.settings
            r.seed = job.settings.seed &+ UInt64(i)
            r.scheduler = scheduler
            r.stop = stop
            if !job.task.isUpscale { r.onLatents = { [observer] z in observer.latents(z) } }
            for n in try sd.promptNotes(r.prompt, negative: r.negativePrompt, syntax: r.promptSyntax) {
                observer.message("sdedit: warning: \(n)")
            }
            observer.message("sdedit: seed \(r.seed)")
            observer.begin(job.count > 1 ? "\(job.label) \(i + 1)/\(job.count)" : job.label)
            let t0 = Stopwatch.now()
            let (image, fields) = try generate(job.task, r, depth: depth, progress: observer.update)
            record.seconds.append(Stopwatch.now() - t0)
            let out = JobImage(index: i, image: image, seed: r.seed, parameters: try infotext(r, fields: fields, latentSpaceTask: !job.task.isUpscale))
            record.images.append(out)
            try emit(out)
            if stop?.isInterrupted == true { record.interrupted = true; break }
            stop?.clearSkip()
        }
        return record
    }

    /// One image of a task and its task-specific infotext fields (between the common leading ones and
    /// the trailing DeepCache/TAESD/precision/version ones).
    func generate(_ task: JobTask, _ r: GenerationRequest, depth: Tensor?, progress: @escaping SDPipelines.Progress) throws
        -> (Image, [(String, String)]) {
        let sampled = { (size: (Int, Int)) -> [(String, String)] in
            [("Steps", "\(r.steps)")] + r.scheduler!.a1111Fields.map { ($0.key, $0.value) } + [
                ("CFG scale", "\(r.guidance)"), ("Seed", "\(r.seed)"), ("Size", "\(size.0)x\(size.1)"), ("Model", self.name)]
        }
        switch task {
        case .txt2img(let width, let height):
            let pipe = try Txt2ImgPipeline(model: sd)
            let w = width ?? pipe.defaultSize, h = height ?? pipe.defaultSize
            let out = try pipe(width: w, height: h, r, progress: progress)
            return (out, sampled((w, h)))
        case .img2img(let image):
            let out = try Img2ImgPipeline(model: sd)(image: image, r, progress: progress)
            return (out, sampled((out.width, out.height)) + [("Denoising strength", "\(r.strength)")])
        case .inpaint(let image, let mask, let o, let extra):
            let result = try inpaintPipeline()(image: image, mask: mask, r, options: o, progress: progress)
            return (result.image, sampled((image.width, image.height)) + [
                ("Denoising strength", "\(r.strength)"), ("Mask blur", o.composite ? "\(o.maskBlur)" : "0"),
                ("Inpaint area", result.box == nil ? "Whole picture" : "Only masked"),
                ("Masked area padding", "\(o.padding)"), ("Mask grow", "\(o.maskGrow)"),
            ] + (o.content == .original ? [] : [("Masked content", o.content.a1111Name)]) + extra)
        case .depth2img(let image, let source):
            let out = try depth2img(estimator: false)(image: image, depth: depth, r, progress: progress)
            var userMap = false
            if case .map = source { userMap = true }
            return (out, sampled((out.width, out.height)) + [
                ("Denoising strength", "\(r.strength)"), ("Depth", userMap ? "depth map" : "DPT-hybrid"),
            ])
        case .upscale(let image, let noiseLevel, let tile, let overlap):
            let pipe = try upscalePipeline()
            var u = UpscaleRequest(r)
            u.noiseLevel = noiseLevel
            u.tile = tile
            u.tileOverlap = overlap
            let out = try pipe(image: image, u, progress: progress)
            return (out, sampled((out.width, out.height)) + [
                ("Noise level", "\(noiseLevel)"), ("Tile", tile.map { "\($0)" } ?? "off"),
            ])
        }
    }

    /// Generation parameters in the text format AUTOMATIC1111 writes to a PNG "parameters" chunk:
    /// the prompt (with a `<lora:NAME:W>` tag for each merged LoRA it lacks), the negative prompt,
    /// then the fields, `Lora hashes` last.
    /// The infotext, as A1111's create_infotext writes it (Infotext.formatted quotes values holding
    /// ",", ":" or newlines): the prompt with a `<lora:NAME:W>` tag for each merged LoRA it lacks,
    /// the negative prompt, the task's fields, then DeepCache and the TAESD halves (not on the
    /// upscaler, whose VAE has its own latent space), precision, version, `Lora hashes` and `TI hashes`.
    func infotext(_ r: GenerationRequest, fields: [(String, String)], latentSpaceTask: Bool) throws -> String {
        var all = fields
        if r.deepCache > 1 { all.append(("Deep cache", "\(r.deepCache)")) }
        if latentSpaceTask { all += spec.tinyVAEFields }
        all += [("Precision", precision.rawValue), ("Version", "sdedit \(sdeditVersion)")]
        var prompt = r.prompt
        for l in loras where !prompt.contains("<lora:\(l.name):") && !prompt.contains("<lora:\(l.name)>") {
            prompt += (prompt.isEmpty ? "" : " ") + "<lora:\(l.name):\(Self.formatWeight(l.weight))>"
        }
        func listed(_ items: [(String, String)]) -> String {
            items.map { "\($0.0.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: ",", with: "")): \($0.1)" }
                .joined(separator: ", ")
        }
        if !loras.isEmpty { all.append(("Lora hashes", listed(loras.map { ($0.name, $0.hash) }))) }
        if let ti = try EmbeddingHashes.infotextField(prompt: r.prompt, negative: r.negativePrompt, syntax: r.promptSyntax,
                                                      tokenizer: sd.tokenizer, embeddings: source.embeddings) {
            all.append(ti)
        }
        return Infotext(prompt: prompt, negativePrompt: r.negativePrompt ?? "", fields: all.map { (key: $0.0, value: $0.1) }).formatted()
    }

    static func formatWeight(_ w: Float) -> String {
        w == w.rounded() && abs(w) < 1e6 ? String(Int(w)) : "\(w)"
    }
}
