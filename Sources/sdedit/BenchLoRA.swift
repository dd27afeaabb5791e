// `sdedit bench lora`: what merging a LoRA adds to a model load — the SD-Turbo-shaped model loaded
// in-process with and without the real-size rank-32 kohya LoRA of scripts/make_bench_models.py — beside
// diffusers' from_pretrained and from_pretrained + load_lora_weights + fuse_lora in the same run.
import ArgumentParser
import Foundation
import SDCore
import SDJobs
import SDModels

struct BenchLoRA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora", abstract: "Time a model load with and without a LoRA merged, against diffusers.")

    @Option(help: "Model folder (a 4-channel SD 2.x UNet; see scripts/make_bench_models.py).")
    var model: String = "bench-models/sd-turbo"
    @Option(help: "LoRA file (kohya format).") var lora: String = "bench-models/lora-r32.safetensors"
    @OptionGroup var bench: BenchModelOptions

    func run() throws {
        try runReportingErrors {
            try startBench(threads: bench.threads)
            let plain = ModelSpec(path: model, precision: .fp32)
            var merged = plain
            merged.loras = [LoRASpec(path: lora, weight: 1)]
            // Median of the repeats after one warm-up load (page cache); the model is released each time.
            func load(_ spec: ModelSpec) throws -> Double {
                var times: [Double] = []
                for i in 0...max(1, bench.repeats) {
                    let t0 = Stopwatch.now()
                    _ = try LoadedModel(spec, observer: SilentObserver())
                    if i > 0 { times.append(Stopwatch.now() - t0) }
                }
                return times.sorted()[times.count / 2]
            }
            let base = try load(plain), withLoRA = try load(merged)
            let torch = runTorchTwin(bench.torchPython, ["--suite", "lora", "--model", model, "--lora", lora,
                                                         "--threads", "\(bench.threads)", "--repeat", "\(bench.repeats)"])
            let ts = torch?["seconds"] as? [String: Double] ?? [:]
            let cell = { (v: Double?) -> String in v.map(f3) ?? "–" }
            print("| fp32 load, warm page cache | sdedit s | diffusers s | ratio |")
            print("|---|---:|---:|---:|")
            for (name, s, key) in [("model", base, "load"), ("model + rank-32 LoRA merged", withLoRA, "load_lora")] {
                print("| \(name) | \(f3(s)) | \(cell(ts[key])) | \(ts[key].map { String(format: "%.2f", s / $0) } ?? "–") |")
            }
            print(String(format: "\nthe merge adds %.3f s to sdedit's load (%.0f %% of it)", withLoRA - base, 100 * (withLoRA - base) / base)
                  + (ts["load"].flatMap { l in ts["load_lora"].map { String(format: "; diffusers' LoRA load + fuse adds %.3f s", $0 - l) } } ?? ""))
        }
    }
}
