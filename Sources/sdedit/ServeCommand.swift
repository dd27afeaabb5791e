// `sdedit serve`: parse the options and hand over to SDServer (the AUTOMATIC1111 web API).
import ArgumentParser
import Foundation
import SDCore
import SDServer

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the AUTOMATIC1111 web API (/sdapi/v1/...) so painting apps and webuiapi edit with sdedit.",
        discussion: """
        Routes: /sdapi/v1/ txt2img, img2img (with mask: inpainting), progress, interrupt, skip, options, sd-models, \
        samplers, schedulers, upscalers, loras, embeddings, prompt-styles, png-info, extra-single-image; \
        /sdedit/v1/depth2img (img2img's fields on a depth checkpoint); /openapi.json and /docs. Jobs run one at a time; \
        models stay loaded between requests. Checkpoints come from --model and --models-dir only (a request names a \
        listed title, never a path); no file is written except under --outdir. SIGTERM or Ctrl-C interrupts the \
        running job, answers it and exits 0.
        """)

    @Option(help: "Address to listen on (loopback by default; 0.0.0.0 exposes the server to the network).") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port, printed on stderr).") var port = 7860
    @Option(help: ArgumentHelp("Default checkpoint: a diffusers folder, a .safetensors file or a hub id (default: the first in --models-dir).", valueName: "model"))
    var model: String?
    @Option(help: ArgumentHelp("Folder of checkpoints (diffusers folders and .safetensors files) clients may choose by name.", valueName: "dir"))
    var modelsDir: String?
    @Option(help: ArgumentHelp("Folder of LoRA files: GET loras lists them, <lora:NAME:W> in a prompt loads NAME.safetensors.", valueName: "dir")) var loraDir: String?
    @Option(help: ArgumentHelp("Folder of textual-inversion embeddings: each NAME.safetensors defines the prompt word NAME.", valueName: "dir"))
    var embeddings: String?
    @OptionGroup var vae: TinyVAEOptions
    @Option(help: ArgumentHelp("Require HTTP basic auth with these credentials on every route.", valueName: "user:pass"))
    var apiAuth: String?
    @Option(help: ArgumentHelp("Comma-separated origins a browser page may call from ('*' for any).", valueName: "origins"))
    var corsAllowOrigins: String?
    @Option(help: "Refuse images (and sizes) with more pixels than this, from the header, before decoding.")
    var maxPixels: Int = Image.defaultMaxPixels
    @Option(help: "Refuse request bodies larger than this many MiB (413).") var maxBodyMb: Int = 64
    @Option(help: ArgumentHelp("Also write every generated PNG here (nothing is written without it).", valueName: "dir"))
    var outdir: String?
    @Option(help: "Threads for all numeric work (default: all cores).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Numeric precision: auto, fp32 (diffusers parity) or bf16.") var precision: PrecisionChoice = .auto

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard (1...4096).contains(maxBodyMb) else { throw ValidationError("--max-body-mb must be 1…4096") }
        guard (1...(1 << 30)).contains(maxPixels) else { throw ValidationError("--max-pixels must be 1…\(1 << 30)") }
        guard threads >= 1 && threads <= 1024 else { throw ValidationError("--threads must be at least 1") }
        if let a = apiAuth { do { try ServerConfiguration.checkAuth(a) } catch { throw ValidationError("--api-auth must be USER:PASS") } }
        guard model != nil || modelsDir != nil else { throw ValidationError("give --model or --models-dir") }
    }

    func run() throws {
        try runReportingErrors {
            for w in try Backend.start(threads: threads) { printError("sdedit: warning: \(w)") }
            var config = ServerConfiguration()
            config.host = host
            config.port = port
            config.apiAuth = apiAuth
            config.corsOrigins = (corsAllowOrigins ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            config.maxPixels = maxPixels
            config.maxBodyBytes = maxBodyMb << 20
            config.outdir = outdir
            var o = PipelineJobsOptions()
            o.model = model
            o.modelsDir = modelsDir
            o.loraDir = loraDir
            o.embeddings = embeddings
            o.precision = precision.resolved
            o.tinyEncoder = vae.vaeEncoder.map(TinyVAEOptions.path)
            o.tinyDecoder = vae.vaeDecoder.map(TinyVAEOptions.path)
            if !["127.0.0.1", "localhost", "::1"].contains(host) && apiAuth == nil {
                printError("sdedit: warning: serving on \(host) without --api-auth: anyone who reaches this port can run jobs")
            }
            let server = SDServer(config: config, jobs: try PipelineJobs(options: o))
            try server.prepareOutdir()
            let host = self.host
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var failure: Error?
            Task.detached {
                do {
                    try await server.run { port in printError("sdedit: serving the A1111 API on http://\(host):\(port)/sdapi/v1 (docs: /docs)") }
                } catch { failure = error }
                done.signal()
            }
            done.wait()
            if let e = failure { throw SDError.invalidInput("serve: \(e)") }
        }
    }
}
