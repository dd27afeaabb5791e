// `sdedit bench upscale --model FOLDER`: one x4 UNet step on a 128² input with CFG (batch 2) and the
// f=4 VAE decode to 512², beside the same work in PyTorch (scripts/bench_torch.py --suite upscale) in
// the same run. Use real-size random weights: scripts/make_bench_models.py.
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDPipelines

struct BenchUpscale: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscale", abstract: "Time the x4 upscaler's UNet step and VAE decode against PyTorch.")

    @Option(help: "x4 upscaler folder (real-size weights; see scripts/make_bench_models.py).")
    var model: String = "bench-models/sd2-x4-upscaler"
    @OptionGroup var bench: BenchModelOptions
    var threads: Int { bench.threads }
    var repeats: Int { bench.repeats }
    var torchPython: String? { bench.torchPython }
    var precisions: String { bench.precisions }


    func run() throws {
        try runReportingErrors {
            try startBench(threads: threads)
            let folder = try ModelLocator.resolve(model)
            FileHandleStderr.write("sdedit bench upscale: \(folder), \(threads) threads\n")
            var step: [Precision: Double] = [:], dec: [Precision: Double] = [:]
            for p in try parsePrecisions(precisions) {
                let unet = try ModelSource(folder: folder).loadUNet(precision: p)
                let g = TorchGenerator(seed: 0)
                let x = g.randn([2, unet.config.inChannels, 128, 128])
                let ctx = g.randn([2, 77, unet.config.crossAttentionDim])
                step[p] = Stopwatch.median(warmup: 1, repeats: repeats) { _ = unet(x, timestep: 963, context: ctx, classLabel: 20) }
                FileHandleStderr.write(String(format: "  %@ x4 unet step: %.2f s\n", p.rawValue, step[p]!))
                let vae = try ModelSource(folder: folder).loadVAE(precision: p)
                let z = g.randn([1, 4, 128, 128])
                dec[p] = Stopwatch.median(warmup: 1, repeats: repeats) { _ = vae.decode(z) }
                FileHandleStderr.write(String(format: "  %@ x4 vae decode: %.2f s\n", p.rawValue, dec[p]!))
            }
            let torch = runTorchTwin(torchPython, ["--suite", "upscale", "--model", folder, "--threads", "\(threads)",
                                                   "--repeat", "\(repeats)"] + (step[.bf16] != nil && CPU.hasNativeBF16 ? ["--bf16"] : []))
            let ts = torch?["seconds"] as? [String: Double] ?? [:]
            let ratio = { (a: Double?, b: Double?) -> String in a.flatMap { a in b.map { String(format: "%.2f", a / $0) } } ?? "–" }
            let cell = { (v: Double?) -> String in v.map(f3) ?? "–" }
            print("| work | sdedit fp32 s | torch fp32 s | fp32 ratio | sdedit bf16 s | torch bf16 autocast s | bf16 ratio |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for (name, key, d) in [("x4 UNet step, 128² input, CFG batch 2", "unet_step", step), ("x4 VAE decode 128² → 512²", "vae_decode", dec)] {
                print("| \(name) | \(cell(d[.fp32])) | \(cell(ts[key])) | \(ratio(d[.fp32], ts[key])) | \(cell(d[.bf16])) | "
                      + "\(cell(ts[key + "_bf16"])) | \(ratio(d[.bf16], ts[key + "_bf16"])) |")
            }
            print("peak RSS \(ProcessMemory.peakRSS() >> 20) MiB (both precisions loaded in turn)")
        }
    }
}
