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
    @Option(help: "Threads for sdedit, OpenBLAS and torch.") var threads: Int = 2
    @Option(name: .customLong("repeat"), help: "Timed repetitions (median, after one warm-up).") var repeats: Int = 2
    @Option(help: "Python interpreter with torch and diffusers; 'none' to skip. Default: ./venv/bin/python.") var torchPython: String?

    func run() throws {
        try runReportingErrors {
            try startBench(threads: threads)
            let folder = try ModelLocator.resolve(model)
            FileHandleStderr.write("sdedit bench upscale: \(folder), \(threads) threads\n")
            let unet = try Component.loadUNet(folder + "/unet")
            let g = TorchGenerator(seed: 0)
            let x = g.randn([2, unet.config.inChannels, 128, 128])
            let ctx = g.randn([2, 77, unet.config.crossAttentionDim])
            let step = Stopwatch.median(warmup: 1, repeats: repeats) { _ = unet(x, timestep: 963, context: ctx, classLabel: 20) }
            FileHandleStderr.write(String(format: "  x4 unet step: %.2f s\n", step))
            let vae = try Component.loadVAE(folder + "/vae")
            let z = g.randn([1, 4, 128, 128])
            let dec = Stopwatch.median(warmup: 1, repeats: repeats) { _ = vae.decode(z) }
            FileHandleStderr.write(String(format: "  x4 vae decode: %.2f s\n", dec))
            let torch = runTorchTwin(torchPython, ["--suite", "upscale", "--model", folder, "--threads", "\(threads)",
                                                   "--repeat", "\(repeats)"])
            let ts = torch?["seconds"] as? [String: Double] ?? [:]
            print("| work | sdedit s | torch s | sdedit time / torch time |")
            print("|---|---:|---:|---:|")
            for (name, key, s) in [("x4 UNet step, 128² input, CFG batch 2", "unet_step", step), ("x4 VAE decode 128² → 512²", "vae_decode", dec)] {
                let t = ts[key]
                print("| \(name) | \(f3(s)) | \(t.map(f3) ?? "–") | \(t.map { String(format: "%.2f", s / $0) } ?? "–") |")
            }
            print("peak RSS \(ProcessMemory.peakRSS() >> 20) MiB")
        }
    }
}
