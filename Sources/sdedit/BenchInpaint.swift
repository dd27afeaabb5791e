// `sdedit bench inpaint --model FOLDER`: one UNet step at 512² with CFG (batch 2), VAE encode and
// decode at 512², and a full 20-step `sdedit inpaint` run in a child process (its own peak RSS), each
// beside the same work in PyTorch/diffusers (scripts/bench_torch.py --suite inpaint) in the same run.
// Use real-size random weights: scripts/make_bench_models.py.
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDPipelines

struct BenchInpaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inpaint", abstract: "Time the inpainting model's UNet step, VAE and a full run against PyTorch.")

    @Option(help: "Inpainting model folder (real-size weights; see scripts/make_bench_models.py).")
    var model: String = "bench-models/sd2-inpainting"
    @OptionGroup var bench: BenchModelOptions
    var threads: Int { bench.threads }
    var repeats: Int { bench.repeats }
    var torchPython: String? { bench.torchPython }
    var precisions: String { bench.precisions }
    @Option(help: "Steps of the full run.") var steps: Int = 20
    @Flag(help: "Skip the full pipeline runs.") var noFull = false
    @Option(help: "DeepCache interval of the cached rows (1 = skip them).") var deepCache: Int = 3
    @Option(help: "Steps of the short in-process inpaint run whose --deep-cache image is compared with the uncached one (PSNR); 0 = skip.")
    var deepCacheSteps: Int = 8
    @OptionGroup var roundsOption: BenchRoundsOption
    var rounds: Int { roundsOption.rounds }

    /// torch's bf16 autocast only where the CPU has native bf16: elsewhere torch falls back to a scalar
    /// GEMM (cpublas_gemm_impl, measured here: many minutes per UNet step), which compares nothing.
    var torchBF16: Bool { CPU.hasNativeBF16 }

    struct Timings {
        var load = 0.0, unet = 0.0, enc = 0.0, dec = 0.0, full: (Double, Int)? = nil, relL2: Double? = nil
        /// Mean UNet step with DeepCache: one whole call (storing the features) and N − 1 shallow ones.
        var unetCached: Double? = nil
        /// PSNR (8-bit RGB) of the short --deep-cache run's image against the uncached one.
        var psnr: Double? = nil
    }

    func run() throws {
        try runReportingErrors {
            try startBench(threads: threads)
            let folder = try ModelLocator.resolve(model)
            let list = try parsePrecisions(precisions)
            FileHandleStderr.write("sdedit bench inpaint: \(folder), \(threads) threads\n")
            var results: [Precision: Timings] = [:]
            var fp32Out: Tensor? = nil
            // Full runs first, while this process is small: a spawned child starts in its parent's
            // address space, and Linux carries that RSS into the child's ru_maxrss across exec.
            var full: [Precision: (Double, Int)] = [:]
            if !noFull { for p in list { full[p] = try fullRun(folder, precision: p) } }
            // The same fp32 job with DeepCache (the issue's ≤ 0.35× diffusers row).
            let fullCached = !noFull && deepCache > 1 ? try fullRun(folder, precision: .fp32, extra: ["--deep-cache", "\(deepCache)"]) : nil
            for p in list {
                var r = try components(folder, precision: p, reference: &fp32Out)
                r.full = full[p]
                results[p] = r
            }
            let torch = runTorchTwin(torchPython, ["--suite", "inpaint", "--model", folder, "--threads", "\(threads)",
                                                   "--repeat", "\(repeats)", "--steps", "\(steps)"]
                                     + (noFull ? ["--no-full"] : []) + (list.contains(.bf16) && torchBF16 ? ["--bf16"] : []))
            let ts = torch?["seconds"] as? [String: Double] ?? [:]
            let ratio = { (a: Double?, b: Double?) -> String in
                guard let a = a, let b = b else { return "–" }
                return String(format: "%.2f", a / b)
            }
            let cell = { (v: Double?) -> String in v.map(f3) ?? "–" }
            print("| work | sdedit fp32 s | torch fp32 s | fp32 ratio | sdedit bf16 s | torch bf16 autocast s | bf16 ratio | sdedit bf16 / torch fp32 |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            let f = results[.fp32], b = results[.bf16]
            for (name, _, key, get) in Self.componentRows {
                let sf = f.map(get), sb = b.map(get), tf = ts[key], tb = ts[key + "_bf16"]
                print("| \(name) | \(cell(sf)) | \(cell(tf)) | \(ratio(sf, tf)) | \(cell(sb)) | \(cell(tb)) | \(ratio(sb, tb)) | \(ratio(sb, tf)) |")
            }
            if let sf = f?.unetCached {
                let sb = b?.unetCached, tf = ts["unet_step"]
                print("| UNet step 512², CFG batch 2, --deep-cache \(deepCache) (mean of 1 whole + \(deepCache - 1) shallow) | \(cell(sf)) | "
                      + "\(cell(tf)) (uncached) | \(ratio(sf, tf)) | \(cell(sb)) | – | – | \(ratio(sb, tf)) |")
            }
            if !noFull {
                let sf = f?.full?.0, sb = b?.full?.0, tf = ts["full"]
                print("| full inpaint 512², \(steps) steps PNDM, CFG | \(cell(sf)) | \(cell(tf)) | \(ratio(sf, tf)) | \(cell(sb)) | – | – | \(ratio(sb, tf)) |")
                if let c = fullCached {
                    print("| the same, --deep-cache \(deepCache) (peak RSS \(c.1 >> 20) MiB) | \(f3(c.0)) | \(cell(tf)) (uncached) | \(ratio(c.0, tf)) | – | – | – | – |")
                }
                let trss = (torch?["full_peak_rss_mib"] as? Double).map { String(format: "%.0f MiB", $0) } ?? "–"
                let rss = { (t: Timings?) in t?.full.map { "\($0.1 >> 20) MiB" } ?? "–" }
                print("\npeak RSS of the full run: sdedit fp32 \(rss(f)), sdedit bf16 \(rss(b)), diffusers fp32 \(trss)")
            }
            if list.contains(.bf16) && !torchBF16 {
                print("torch bf16 autocast not run: this CPU has no AVX512-BF16/AMX, so torch would use its scalar bf16 GEMM")
            }
            for p in list {
                if let q = results[p]?.psnr {
                    print(String(format: "--deep-cache %d, %@, %d-step inpaint 512² on this model: PSNR %.2f dB against the uncached image (8-bit RGB)",
                                 deepCache, p.rawValue, deepCacheSteps, q))
                }
            }
            if let e = b?.relL2 {
                let te = (torch?["unet_bf16_rel_l2"] as? Double).map { String(format: "%.2e", $0) } ?? "–"
                print(String(format: "UNet step output, relative L2 error vs fp32: sdedit bf16 %.2e, torch bf16 autocast %@", e, te))
            }
            if rounds > 1, let f = f, torch != nil { try moreRounds(folder, first: (f, ts)) }
        }
    }

    /// The component rows: table name, rounds-table name, bench_torch.py key, the sdedit time.
    static let componentRows: [(String, String, String, @Sendable (Timings) -> Double)] = [
        ("model load (text encoder, UNet, VAE; warm page cache)", "model load", "model_load", { $0.load }),
        ("UNet step 512², CFG batch 2", "UNet step", "unet_step", { $0.unet }),
        ("VAE encode 512²", "VAE encode", "vae_encode", { $0.enc }),
        ("VAE decode 512²", "VAE decode", "vae_decode", { $0.dec })]

    /// Rounds 2…N of the fp32 component rows, each sdedit's components then PyTorch's, and the median
    /// of each row's per-round ratios.
    func moreRounds(_ folder: String, first: (Timings, [String: Double])) throws {
        var all = [first]
        for _ in 2...rounds {
            var none: Tensor? = nil
            let r = try components(folder, precision: .fp32, reference: &none, extras: false)
            let torch = runTorchTwin(torchPython, ["--suite", "inpaint", "--model", folder, "--threads", "\(threads)",
                                                   "--repeat", "\(repeats)", "--no-full"])
            all.append((r, torch?["seconds"] as? [String: Double] ?? [:]))
        }
        printRounds("fp32, \(rounds) rounds (sdedit s / torch s = ratio; round 1 is the table above)",
                    rows: Self.componentRows.map(\.1),
                    rounds: all.map { r, ts in Self.componentRows.map { ($0.3(r), ts[$0.2]) } })
    }

    /// UNet step, VAE encode and decode in one precision; the bf16 UNet output is compared with fp32's.
    /// `extras: false` leaves out the --deep-cache rows (the rounds after the first).
    func components(_ folder: String, precision: Precision, reference: inout Tensor?, extras: Bool = true) throws -> Timings {
        // Model load from a warm page cache (the first load warms it), as diffusers' from_pretrained is timed.
        var r = Timings()
        var loadError: Error?
        r.load = Stopwatch.median(warmup: 1, repeats: repeats) {
            do { _ = try StableDiffusionModel(folder: folder, precision: precision) } catch { loadError = error }
        }
        if let e = loadError { throw e }
        let sd = try StableDiffusionModel(folder: folder, precision: precision)
        FileHandleStderr.write(String(format: "  %@: model load %.2f s, RSS %d MiB\n", precision.rawValue,
                                      r.load, ProcessMemory.currentRSS() >> 20))
        let g = TorchGenerator(seed: 0)
        let x = g.randn([2, sd.unet.config.inChannels, 64, 64])
        let ctx = g.randn([2, 77, sd.unet.config.crossAttentionDim])
        OpProfile.reset()
        r.unet = Stopwatch.median(warmup: 1, repeats: repeats) { _ = sd.unet(x, timestep: 981, context: ctx) }
        FileHandleStderr.write(String(format: "  %@ unet step: %.2f s\n", precision.rawValue, r.unet))
        printProfile()
        let y = sd.unet(x, timestep: 981, context: ctx)
        if let ref = reference {
            r.relL2 = relativeL2(y, ref)
        } else if precision == .fp32 {
            reference = y
        }
        if extras && deepCache > 1 {
            // Consecutive steps at interval N, as a --deep-cache run takes them (the UNet is warm).
            let cache = UNetDeepCache()
            r.unetCached = Stopwatch.median(warmup: 0, repeats: repeats) {
                _ = sd.unet(x, timestep: 981, context: ctx, storingIn: cache)
                for _ in 1..<deepCache { _ = sd.unet.shallow(x, timestep: 961, context: ctx, from: cache) }
            } / Double(deepCache)
            FileHandleStderr.write(String(format: "  %@ unet step, --deep-cache %d: %.2f s\n", precision.rawValue, deepCache, r.unetCached!))
            if deepCacheSteps > 0 { r.psnr = try deepCachePSNR(sd) }
        }
        let img = g.rand([1, 3, 512, 512]) * 2 - 1
        OpProfile.reset()
        let vae = try sd.requireVAE()
        r.enc = Stopwatch.median(warmup: 1, repeats: repeats) { _ = vae.encode(img).sample(g) }
        FileHandleStderr.write(String(format: "  %@ vae encode: %.2f s\n", precision.rawValue, r.enc))
        printProfile()
        let z = g.randn([1, 4, 64, 64])
        OpProfile.reset()
        r.dec = Stopwatch.median(warmup: 1, repeats: repeats) { _ = vae.decode(z) }
        FileHandleStderr.write(String(format: "  %@ vae decode: %.2f s\n", precision.rawValue, r.dec))
        printProfile()
        return r
    }

    /// What --deep-cache costs in fidelity on this model: a short 512² inpaint (the full run's photo
    /// and mask) with and without it, PSNR of the 8-bit images.
    func deepCachePSNR(_ sd: StableDiffusionModel) throws -> Double {
        let (photo, mask) = benchInputs()
        let pipe = try InpaintPipeline(model: sd)
        var r = InpaintRequest(prompt: "a red brick wall", strength: 1)
        r.steps = deepCacheSteps
        let image = photo.toTensor(), m = mask.toTensor(normalize: false)
        let plain = try pipe(image: image, mask: m, r)
        r.deepCache = deepCache
        let cached = try pipe(image: image, mask: m, r)
        let a = Image(tensor: plain).samples8, b = Image(tensor: cached).samples8
        let mse = zip(a, b).reduce(0.0) { $0 + Double((Int($1.0) - Int($1.1)) * (Int($1.0) - Int($1.1))) } / Double(a.count)
        let q = mse == 0 ? Double.infinity : 10 * log10(255 * 255 / mse)
        FileHandleStderr.write(String(format: "  %@ --deep-cache %d PSNR (%d steps): %.2f dB\n", sd.precision.rawValue, deepCache, deepCacheSteps, q))
        return q
    }

    /// The full run's inputs: a random 512² photo and a centred 256² mask.
    func benchInputs() -> (Image, Image) {
        let photo = Image(tensor: TorchGenerator(seed: 1).rand([1, 3, 512, 512]), denormalize: false)
        let mask = Image(width: 512, height: 512, channels: 1,
                         samples8: (0..<(512 * 512)).map { i in (i / 512 >= 128 && i / 512 < 384 && i % 512 >= 128 && i % 512 < 384) ? 255 : 0 })
        return (photo, mask)
    }

    /// `sdedit inpaint` on a 512² image in a child process: wall time and the child's peak RSS.
    func fullRun(_ folder: String, precision: Precision, extra: [String] = []) throws -> (Double, Int) {
        let dir = NSTemporaryDirectory() + "/sdedit-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (photo, mask) = benchInputs()
        try ImageIO.write(photo, to: dir + "/photo.png")
        try ImageIO.write(mask, to: dir + "/mask.png")
        let args = ["inpaint", dir + "/photo.png", dir + "/mask.png", "a red brick wall", "--model", folder,
                    "--steps", "\(steps)", "--seed", "0", "--threads", "\(threads)", "--precision", precision.rawValue,
                    "-q", "-o", dir + "/out.png"] + extra
        return try timedChildRun(args, label: ([precision.rawValue] + extra).joined(separator: " "))
    }
}

/// ‖a − b‖ / ‖b‖ in double.
func relativeL2(_ a: Tensor, _ b: Tensor) -> Double {
    var num = 0.0, den = 0.0
    for (x, y) in zip(a.storage, b.storage) {
        num += Double(x - y) * Double(x - y)
        den += Double(y) * Double(y)
    }
    return (num / den).squareRoot()
}

/// Run a child and wait for it with wait4, which gives that child's own peak RSS in bytes
/// (getrusage(RUSAGE_CHILDREN) would report the largest of all children so far).
func spawnAndWait(_ path: String, _ args: [String]) throws -> (Int32, Int) {
    var pid: pid_t = 0
    var cargs = args.map { strdup($0) } + [nil]
    defer { for a in cargs { free(a) } }
    let rc = posix_spawn(&pid, path, nil, nil, &cargs, environ)
    guard rc == 0 else { throw SDError.invalidInput("cannot start \(path): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exit, Int(usage.ru_maxrss) * 1024)
}
