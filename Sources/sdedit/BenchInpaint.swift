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
    @Option(help: "Threads for sdedit, OpenBLAS and torch.") var threads: Int = 2
    @Option(name: .customLong("repeat"), help: "Timed repetitions per component (median, after one warm-up).") var repeats: Int = 2
    @Option(help: "Steps of the full run.") var steps: Int = 20
    @Option(help: "Python interpreter with torch and diffusers; 'none' to skip. Default: ./venv/bin/python.") var torchPython: String?
    @Flag(help: "Skip the full pipeline runs.") var noFull = false

    func run() throws {
        try runReportingErrors {
            try startBench(threads: threads)
            let folder = try ModelLocator.resolve(model)
            FileHandleStderr.write("sdedit bench inpaint: \(folder), \(threads) threads\n")
            var rows: [(String, Double?, Double?)] = []
            var loadSeconds = 0.0, componentRSS = 0
            do {
                let t0 = Stopwatch.now()
                let sd = try StableDiffusionModel(folder: folder)
                loadSeconds = Stopwatch.now() - t0
                let g = TorchGenerator(seed: 0)
                let x = g.randn([2, sd.unet.config.inChannels, 64, 64])
                let ctx = g.randn([2, 77, sd.unet.config.crossAttentionDim])
                OpProfile.reset()
                let unet = Stopwatch.median(warmup: 1, repeats: repeats) { _ = sd.unet(x, timestep: 981, context: ctx) }
                FileHandleStderr.write(String(format: "  unet step: %.2f s\n", unet))
                printProfile()
                let img = g.rand([1, 3, 512, 512]) * 2 - 1
                OpProfile.reset()
                let enc = Stopwatch.median(warmup: 1, repeats: repeats) { _ = sd.vae.encode(img).sample(g) }
                FileHandleStderr.write(String(format: "  vae encode: %.2f s\n", enc))
                printProfile()
                let z = g.randn([1, 4, 64, 64])
                OpProfile.reset()
                let dec = Stopwatch.median(warmup: 1, repeats: repeats) { _ = sd.vae.decode(z) }
                FileHandleStderr.write(String(format: "  vae decode: %.2f s\n", dec))
                printProfile()
                rows = [("UNet step 512², CFG batch 2", unet, nil), ("VAE encode 512²", enc, nil), ("VAE decode 512²", dec, nil)]
                componentRSS = ProcessMemory.peakRSS()
            }
            var full: (Double, Int)? = nil
            if !noFull { full = try fullRun(folder) }
            let torch = runTorchTwin(torchPython, ["--suite", "inpaint", "--model", folder, "--threads", "\(threads)",
                                                   "--repeat", "\(repeats)", "--steps", "\(steps)"] + (noFull ? ["--no-full"] : []))
            let ts = torch?["seconds"] as? [String: Double] ?? [:]
            let keys = ["unet_step", "vae_encode", "vae_decode"]
            print("| work | sdedit s | torch s | sdedit time / torch time |")
            print("|---|---:|---:|---:|")
            for (i, row) in rows.enumerated() {
                let t = ts[keys[i]]
                print("| \(row.0) | \(f3(row.1!)) | \(t.map(f3) ?? "–") | \(t.map { String(format: "%.2f", row.1! / $0) } ?? "–") |")
            }
            if let (s, rss) = full {
                let t = ts["full"]
                print("| full inpaint 512², \(steps) steps PNDM (\(steps + 1) UNet calls), CFG | \(f1(s)) | \(t.map(f1) ?? "–") | "
                      + "\(t.map { String(format: "%.2f", s / $0) } ?? "–") |")
                let trss = (torch?["full_peak_rss_mib"] as? Double).map { String(format: "%.0f MiB", $0) } ?? "–"
                print("\npeak RSS of the full run: sdedit \(rss >> 20) MiB, torch \(trss)")
            }
            print(String(format: "model load %.1fs; peak RSS of the component benchmarks %d MiB", loadSeconds, componentRSS >> 20))
        }
    }

    /// `sdedit inpaint` on a 512² image in a child process: wall time and the child's peak RSS.
    func fullRun(_ folder: String) throws -> (Double, Int) {
        let dir = NSTemporaryDirectory() + "/sdedit-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let g = TorchGenerator(seed: 1)
        let photo = Image(tensor: g.rand([1, 3, 512, 512]), denormalize: false)
        let mask = Image(width: 512, height: 512, channels: 1,
                         samples: (0..<(512 * 512)).map { i in (i / 512 >= 128 && i / 512 < 384 && i % 512 >= 128 && i % 512 < 384) ? 255 : 0 })
        try ImageIO.write(photo, to: dir + "/photo.png")
        try ImageIO.write(mask, to: dir + "/mask.png")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        p.arguments = ["inpaint", dir + "/photo.png", dir + "/mask.png", "a red brick wall", "--model", folder,
                       "--steps", "\(steps)", "--seed", "0", "--threads", "\(threads)", "-q", "-o", dir + "/out.png"]
        let t0 = Stopwatch.now()
        try p.run()
        p.waitUntilExit()
        let s = Stopwatch.now() - t0
        guard p.terminationStatus == 0 else { throw SDError.invalidInput("full run failed (exit \(p.terminationStatus))") }
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        FileHandleStderr.write(String(format: "  full run: %.1f s, peak RSS %d MiB\n", s, usage.ru_maxrss / 1024))
        return (s, Int(usage.ru_maxrss) * 1024)
    }
}
