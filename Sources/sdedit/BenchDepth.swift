// `sdedit bench depth --model FOLDER`: DPT-hybrid at 384², one depth-UNet step at 512² with CFG
// (batch 2, 5 channels), and a full 512² `sdedit depth2img` run in a child process (its own peak
// RSS), each beside the same work in PyTorch/transformers/diffusers (scripts/bench_torch.py --suite
// depth) in the same run. Use real-size random weights: scripts/make_bench_models.py.
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDPipelines

struct BenchDepth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "depth", abstract: "Time DPT-hybrid, the depth UNet step and a full depth2img run against PyTorch.")

    @Option(help: "Depth model folder (real-size weights; see scripts/make_bench_models.py).")
    var model: String = "bench-models/sd2-depth"
    @OptionGroup var bench: BenchModelOptions
    var threads: Int { bench.threads }
    var repeats: Int { bench.repeats }
    var torchPython: String? { bench.torchPython }
    var precisions: String { bench.precisions }
    @Option(help: "Steps of the full run (strength 0.8 runs 80 % of them).") var steps: Int = 20
    @Flag(help: "Skip the full pipeline runs.") var noFull = false

    func run() throws {
        try runReportingErrors {
            try startBench(threads: threads)
            let folder = try ModelLocator.resolve(model)
            let list = try parsePrecisions(precisions)
            FileHandleStderr.write("sdedit bench depth: \(folder), \(threads) threads\n")
            // Full runs first, while this process is small (see BenchInpaint).
            var full: [Precision: (Double, Int)] = [:]
            if !noFull { for p in list { full[p] = try fullRun(folder, precision: p) } }
            var dpt: [Precision: Double] = [:], step: [Precision: Double] = [:]
            for p in list {
                let est = try DepthEstimator(folder: folder, precision: p)
                let g = TorchGenerator(seed: 0)
                let px = g.rand([1, 3, est.processor.height, est.processor.width]) * 2 - 1
                OpProfile.reset()
                dpt[p] = Stopwatch.median(warmup: 1, repeats: repeats) { _ = est.model(px) }
                FileHandleStderr.write(String(format: "  %@ DPT-hybrid %d²: %.2f s\n", p.rawValue, est.processor.width, dpt[p]!))
                printProfile()
                let unet = try ModelSource(folder: folder).loadUNet(precision: p)
                let x = g.randn([2, unet.config.inChannels, 64, 64])
                let ctx = g.randn([2, 77, unet.config.crossAttentionDim])
                step[p] = Stopwatch.median(warmup: 1, repeats: repeats) { _ = unet(x, timestep: 801, context: ctx) }
                FileHandleStderr.write(String(format: "  %@ depth unet step: %.2f s\n", p.rawValue, step[p]!))
            }
            let torch = runTorchTwin(torchPython, ["--suite", "depth", "--model", folder, "--threads", "\(threads)",
                                                   "--repeat", "\(repeats)", "--steps", "\(steps)"]
                                     + (noFull ? ["--no-full"] : []) + (list.contains(.bf16) && CPU.hasNativeBF16 ? ["--bf16"] : []))
            let ts = torch?["seconds"] as? [String: Double] ?? [:]
            let ratio = { (a: Double?, b: Double?) -> String in a.flatMap { a in b.map { String(format: "%.2f", a / $0) } } ?? "–" }
            let cell = { (v: Double?) -> String in v.map(f3) ?? "–" }
            print("| work | sdedit fp32 s | torch fp32 s | fp32 ratio | sdedit bf16 s | torch bf16 autocast s | bf16 ratio | sdedit bf16 / torch fp32 |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            for (name, key, d) in [("DPT-hybrid 384²", "dpt", dpt), ("depth UNet step 512², CFG batch 2", "unet_step", step)] {
                print("| \(name) | \(cell(d[.fp32])) | \(cell(ts[key])) | \(ratio(d[.fp32], ts[key])) | \(cell(d[.bf16])) | "
                      + "\(cell(ts[key + "_bf16"])) | \(ratio(d[.bf16], ts[key + "_bf16"])) | \(ratio(d[.bf16], ts[key])) |")
            }
            if !noFull {
                let sf = full[.fp32]?.0, sb = full[.bf16]?.0, tf = ts["full"]
                print("| full depth2img 512², \(steps) steps × 0.8 PNDM, CFG | \(cell(sf)) | \(cell(tf)) | \(ratio(sf, tf)) | \(cell(sb)) | – | – | \(ratio(sb, tf)) |")
                let trss = (torch?["full_peak_rss_mib"] as? Double).map { String(format: "%.0f MiB", $0) } ?? "–"
                let rss = { (p: Precision) in full[p].map { "\($0.1 >> 20) MiB" } ?? "–" }
                print("\npeak RSS of the full run: sdedit fp32 \(rss(.fp32)), sdedit bf16 \(rss(.bf16)), diffusers fp32 \(trss)")
            }
        }
    }

    /// `sdedit depth2img` on a 512² image in a child process: wall time and the child's peak RSS.
    func fullRun(_ folder: String, precision: Precision) throws -> (Double, Int) {
        let dir = NSTemporaryDirectory() + "/sdedit-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ImageIO.write(Image(tensor: TorchGenerator(seed: 1).rand([1, 3, 512, 512]), denormalize: false), to: dir + "/photo.png")
        let args = ["depth2img", dir + "/photo.png", "a marble statue", "--model", folder, "--steps", "\(steps)",
                    "--seed", "0", "--threads", "\(threads)", "--precision", precision.rawValue, "-q", "-o", dir + "/out.png"]
        return try timedChildRun(args, label: precision.rawValue)
    }
}
