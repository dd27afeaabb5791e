// `sdedit bench turbo --model FOLDER --taesd FOLDER`: the interactive few-step edit, timed as a user
// waits for it — one whole `sdedit img2img` process (model load included) on a 512² image, 2 steps at
// strength 0.5, no CFG — with the full VAE and with TAESD, beside diffusers' same job
// (StableDiffusionImg2ImgPipeline, AutoencoderTiny as its vae; scripts/bench_torch.py --suite turbo).
import ArgumentParser
import Foundation
import SDCore

struct BenchTurbo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "turbo", abstract: "Time a whole SD-Turbo 2-step img2img job (load included) against diffusers.")

    @Option(help: "SD-Turbo-shaped model folder (see scripts/make_bench_models.py).")
    var model: String = "bench-models/sd-turbo"
    @Option(help: "TAESD folder (diffusers AutoencoderTiny layout).")
    var taesd: String = "bench-models/taesd"
    @OptionGroup var bench: BenchModelOptions
    @Option(help: "Steps.") var steps: Int = 2
    @Option(help: "Strength.") var strength: Double = 0.5
    @OptionGroup var roundsOption: BenchRoundsOption

    func run() throws {
        try runReportingErrors {
            try startBench(threads: bench.threads)
            let dir = NSTemporaryDirectory() + "/sdedit-bench-turbo-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let photo = Image(tensor: TorchGenerator(seed: 1).rand([1, 3, 512, 512]), denormalize: false)
            try ImageIO.write(photo, to: dir + "/photo.png")
            let base = ["img2img", dir + "/photo.png", "a red brick wall", "--model", model, "--steps", "\(steps)",
                        "--strength", "\(strength)", "--guidance", "0", "--seed", "0", "--threads", "\(bench.threads)",
                        "--precision", "fp32", "-q", "-o", dir + "/out.png"]
            let tiny = ["--vae-encoder", "taesd:" + taesd, "--vae-decoder", "taesd:" + taesd]
            // Median of the repeats, after one warm-up run that brings the files into the page cache.
            func job(_ args: [String], _ label: String, warm: Bool = true) throws -> (Double, Int) {
                if warm { _ = try timedChildRun(args, label: label + " warm-up") }
                let runs = try (0..<max(1, bench.repeats)).map { _ in try timedChildRun(args, label: label) }
                return runs.sorted { $0.0 < $1.0 }[runs.count / 2]
            }
            let full = try job(base, "fp32 VAE")
            let fast = try job(base + tiny, "fp32 TAESD")
            let torchArgs = ["--suite", "turbo", "--model", model, "--taesd", taesd, "--threads", "\(bench.threads)",
                             "--repeat", "\(bench.repeats)", "--steps", "\(steps)", "--strength", "\(strength)"]
            let torch = runTorchTwin(bench.torchPython, torchArgs)
            let ts = torch?["seconds"] as? [String: Double] ?? [:]
            let rss = torch?["peak_rss_mib"] as? [String: Double] ?? [:]
            let cell = { (v: Double?) -> String in v.map(f3) ?? "–" }
            let ratio = { (a: Double, b: Double?) -> String in b.map { String(format: "%.2f", a / $0) } ?? "–" }
            print("| whole job, 512² img2img, \(steps) steps × strength \(strength), no CFG, fp32 | sdedit s | diffusers s | ratio | sdedit peak RSS MiB | diffusers peak RSS MiB |")
            print("|---|---:|---:|---:|---:|---:|")
            for (name, r, key) in [("full VAE", full, "job_vae"), ("TAESD encode + decode", fast, "job_taesd")] {
                print("| \(name) | \(f3(r.0)) | \(cell(ts[key])) | \(ratio(r.0, ts[key])) | \(r.1 >> 20) | \(rss[key].map { String(format: "%.0f", $0) } ?? "–") |")
            }
            if let imp = ts["python_imports"] {
                print(String(format: "\ndiffusers' times start at from_pretrained; importing torch and diffusers took %.2f s more.", imp))
            }
            guard roundsOption.rounds > 1, torch != nil else { return }
            // Rounds 2…N of the TAESD job, each sdedit's runs then diffusers' (the page cache is warm).
            var all: [[(Double, Double?)]] = [[(fast.0, ts["job_taesd"])]]
            for _ in 2...roundsOption.rounds {
                let s = try job(base + tiny, "fp32 TAESD", warm: false)
                let t = runTorchTwin(bench.torchPython, torchArgs + ["--only", "job_taesd"])
                all.append([(s.0, (t?["seconds"] as? [String: Double])?["job_taesd"])])
            }
            printRounds("\(roundsOption.rounds) rounds (sdedit s / diffusers s = ratio; round 1 is the table above)",
                        rows: ["TAESD job"], rounds: all)
        }
    }
}
