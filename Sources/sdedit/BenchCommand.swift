// `sdedit bench core`: times the tensor core on UNet-sized work and, in the same run, the same
// shapes in PyTorch (scripts/bench_torch.py) when a Python with torch is available.
import ArgumentParser
import Foundation
import SDCore

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks with the PyTorch ratio measured in the same run.",
        subcommands: [BenchCore.self, BenchInpaint.self, BenchUpscale.self, BenchDepth.self, BenchTurbo.self, BenchLoRA.self], defaultSubcommand: BenchCore.self)
}

struct BenchCore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core",
        abstract: "Time the tensor core on UNet-sized work, with the PyTorch ratio from the same run.")

    @Option(help: "Threads for sdedit and OpenBLAS (and for torch in the comparison).")
    var threads: Int = 2

    @Option(name: .customLong("repeat"), help: "Timed repetitions per case (median reported, after one warm-up).")
    var repeats: Int = 3

    @Option(help: "Python interpreter with torch for the comparison; 'none' to skip. Default: ./venv/bin/python if present.")
    var torchPython: String?

    @Option(help: "Run only cases whose name contains this text.")
    var only: String = ""

    @Option(help: "Precisions to time, comma-separated: fp32, bf16 (bf16 cases end in _bf16; torch runs them under bf16 autocast, on CPUs with native bf16 only).")
    var precisions: String = "fp32,bf16"

    func run() throws {
        try startBench(threads: threads)
        let wanted = try parsePrecisions(precisions)
        let cases = wanted.flatMap { coreCases(precision: $0) }.filter { only.isEmpty || $0.name.contains(only) }
        FileHandleStderr.write("sdedit bench: \(threads) threads, median of \(repeats)\n")
        var swiftSeconds: [String: Double] = [:]
        for c in cases {
            let s = Stopwatch.median(warmup: 1, repeats: repeats, c.run)
            swiftSeconds[c.name] = s
            FileHandleStderr.write("  \(c.name): \(String(format: "%.4f", s)) s\n")
        }
        let torchBF16 = wanted.contains(.bf16) && CPU.hasNativeBF16
        let torch = runTorchTwin(torchPython, ["--threads", "\(threads)", "--repeat", "\(repeats)", "--only", only]
                                 + (torchBF16 ? ["--bf16"] : []))?["seconds"] as? [String: Double]
        print("| case | GFLOP | sdedit s | sdedit GFLOP/s | torch s | torch GFLOP/s | speed vs torch |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for c in cases {
            let s = swiftSeconds[c.name]!
            var row = "| \(c.name) | \(f1(c.gflop)) | \(f3(s)) | \(f1(c.gflop / s))"
            if let t = torch?[c.name] {
                row += " | \(f3(t)) | \(f1(c.gflop / t)) | \(String(format: "%.2f×", t / s)) |"
            } else {
                row += " | – | – | – |"
            }
            print(row)
        }
        print("\npeak RSS \(ProcessMemory.peakRSS() >> 20) MiB; speed vs torch = torch time / sdedit time (> 1 is faster)")
    }

}

struct BenchCase {
    let name: String
    let gflop: Double
    let run: () -> Void
}

/// The UNet-sized shapes of the foundation issue (same names as scripts/bench_torch.py); in bf16
/// the GEMM weights are bf16 and the attention runs its bf16 kernel, as a bf16 model runs them.
func coreCases(precision: Precision) -> [BenchCase] {
    let g = TorchGenerator(seed: 0)
    let x = g.randn([2, 320, 64, 64]), w32 = g.randn([320, 320, 3, 3]), b = g.randn([320])
    let x2 = g.randn([2, 1280, 8, 8]), w2_32 = g.randn([1280, 1280, 3, 3]), b2 = g.randn([1280])
    let lx = g.randn([8192, 320]), lw32 = g.randn([2560, 320]), lb = g.randn([2560])
    // Attention on [B, T, H·D] = [2, 4096, 5·64].
    let q = g.randn([2, 4096, 320]), k = g.randn([2, 4096, 320]), v = g.randn([2, 4096, 320])
    let x3 = g.randn([2, 1280, 16, 16]), w3_32 = g.randn([1280, 1280, 3, 3]), b3 = g.randn([1280])
    let w3 = LayerWeight(w3_32, precision: precision)
    let x1 = x2.narrowed(dim: 0, start: 0, length: 1), x3b1 = x3.narrowed(dim: 0, start: 0, length: 1)
    let x4 = g.randn([1, 64, 512, 512]), w4 = LayerWeight(g.randn([64, 64, 3, 3]), precision: precision), b4 = g.randn([64])
    let x5 = g.randn([1, 640, 32, 32]), w5 = LayerWeight(g.randn([640, 640, 3, 3]), precision: precision), b5 = g.randn([640])
    let (w, w2, lw) = (LayerWeight(w32, precision: precision), LayerWeight(w2_32, precision: precision),
                       LayerWeight(lw32, precision: precision))
    let suffix = precision == .fp32 ? "" : "_bf16"
    return [
        BenchCase(name: "conv3x3_320_64x64_b2", gflop: 2 * 2 * 320 * 4096 * 2880 / 1e9) {
            _ = x.conv2d(weight: w, bias: b, padding: .symmetric(1))
        },
        BenchCase(name: "conv3x3_1280_16x16_b2", gflop: 2 * 2 * 1280 * 256 * 11520 / 1e9) {
            _ = x3.conv2d(weight: w3, bias: b3, padding: .symmetric(1))
        },
        // Batch 1 at 16² and 32²: the few-step models' shapes, where each layer runs once per job, so
        // every call is the layer's first (nothing prepared is kept from the call before).
        BenchCase(name: "conv3x3_1280_16x16_b1", gflop: 2 * 1280 * 256 * 11520 / 1e9) {
            w3.dropPrepared()
            _ = x3b1.conv2d(weight: w3, bias: b3, padding: .symmetric(1))
        },
        BenchCase(name: "conv3x3_640_32x32_b1", gflop: 2 * 640 * 1024 * 5760 / 1e9) {
            w5.dropPrepared()
            _ = x5.conv2d(weight: w5, bias: b5, padding: .symmetric(1))
        },
        BenchCase(name: "conv3x3_1280_8x8_b2", gflop: 2 * 2 * 1280 * 64 * 11520 / 1e9) {
            _ = x2.conv2d(weight: w2, bias: b2, padding: .symmetric(1))
        },
        // Batch 1 (few-step models without CFG): 64 pixels against a 59 MB weight.
        BenchCase(name: "conv3x3_1280_8x8_b1", gflop: 2 * 1280 * 64 * 11520 / 1e9) {
            _ = x1.conv2d(weight: w2, bias: b2, padding: .symmetric(1))
        },
        // TAESD's encoder: a stride-2 conv from the 512² image's features.
        BenchCase(name: "conv3x3s2_64_512x512_b1", gflop: 2 * 64 * 256 * 256 * 576 / 1e9) {
            _ = x4.conv2d(weight: w4, bias: b4, stride: 2, padding: .symmetric(1))
        },
        BenchCase(name: "linear_8192x320_2560", gflop: 2 * 8192 * 320 * 2560 / 1e9) {
            _ = lx.linear(weight: lw, bias: lb)
        },
        BenchCase(name: "attention_2x5x4096x64", gflop: 2 * 2 * 10 * 4096 * 4096 * 64 / 1e9) {
            _ = Tensor.attention(q: q, k: k, v: v, heads: 5, precision: precision)
        },
    ].map { BenchCase(name: $0.name + suffix, gflop: $0.gflop, run: $0.run) }
}

/// Run scripts/bench_torch.py with `args` and return its JSON, or nil (with a note on stderr).
func runTorchTwin(_ torchPython: String?, _ args: [String]) -> [String: Any]? {
    var python = torchPython
    if python == nil && FileManager.default.isExecutableFile(atPath: "venv/bin/python") { python = "venv/bin/python" }
    guard let py = python, py != "none" else {
        FileHandleStderr.write("sdedit bench: no torch comparison (pass --torch-python PATH)\n")
        return nil
    }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/bench_torch.py").standardized.path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: py)
    p.arguments = [script] + args
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch {
        FileHandleStderr.write("sdedit bench: cannot run \(py): \(error)\n")
        return nil
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0, let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        FileHandleStderr.write("sdedit bench: torch comparison failed\n")
        return nil
    }
    return obj
}

/// Thread budget, BLAS, and the CPU/kernel lines every benchmark prints first (stderr), so no
/// figure is read without the CPU it was measured on.
func startBench(threads: Int) throws {
    let warnings = try Backend.start(threads: threads)
    for line in Backend.summary + [Backend.finiteRecordLine] + warnings.map({ "warning: " + $0 }) { FileHandleStderr.write("sdedit bench: \(line)\n") }
}

/// With SDEDIT_PROFILE=1: where the time of the last component went, by op family (stderr).
func printProfile() {
    if OpProfile.enabled { FileHandleStderr.write(OpProfile.report() + "\n") }
}

/// "fp32,bf16" → [.fp32, .bf16], for every bench's --precisions.
func parsePrecisions(_ list: String) throws -> [Precision] {
    try list.split(separator: ",").map { name in
        guard let p = Precision(rawValue: String(name)) else { throw SDError.invalidInput("--precisions: unknown precision \(name)") }
        return p
    }
}

func f1(_ v: Double) -> String { String(format: "%.1f", v) }
/// What every model benchmark (inpaint, upscale, depth) takes besides its model.
struct BenchModelOptions: ParsableArguments {
    @Option(help: "Threads for sdedit, OpenBLAS and torch.") var threads: Int = 2
    @Option(name: .customLong("repeat"), help: "Timed repetitions per component (median, after one warm-up).") var repeats: Int = 2
    @Option(help: "Python interpreter with torch and diffusers; 'none' to skip. Default: ./venv/bin/python.") var torchPython: String?
    @Option(help: "Precisions to time, comma-separated: fp32, bf16 (PyTorch runs its counterpart: fp32, bf16 autocast).")
    var precisions: String = "fp32,bf16"
}

/// `--rounds N` of the benches that alternate sdedit's rows with PyTorch's: on a VM whose speed drifts
/// from minute to minute a single pair can land on either side of a target.
struct BenchRoundsOption: ParsableArguments {
    @Option(help: "Rounds of the compared rows, each sdedit's then PyTorch's, with every round's ratio and the median (a machine whose speed drifts needs more than one).")
    var rounds: Int = 1

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
    }
}

/// The rounds table: per round and row "sdedit s / torch s = ratio", then each row's median ratio.
func printRounds(_ title: String, rows: [String], rounds: [[(Double, Double?)]]) {
    print("\n| \(title) | " + rows.joined(separator: " | ") + " |")
    print("|---|" + rows.map { _ in "---:|" }.joined())
    var ratios = rows.map { _ in [Double]() }
    for (i, round) in rounds.enumerated() {
        let cells = round.enumerated().map { j, st -> String in
            guard let t = st.1 else { return "–" }
            ratios[j].append(st.0 / t)
            return String(format: "%.2f / %.2f = %.2f", st.0, t, st.0 / t)
        }
        print("| round \(i + 1) | " + cells.joined(separator: " | ") + " |")
    }
    print("| median ratio | " + ratios.map { $0.isEmpty ? "–" : String(format: "%.2f", Stopwatch.median($0)) }.joined(separator: " | ") + " |")
}

/// One full `sdedit` run in a child process (argv after "sdedit"): wall time and the child's own peak RSS.
func timedChildRun(_ args: [String], label: String) throws -> (Double, Int) {
    let t0 = Stopwatch.now()
    let (status, rss) = try spawnAndWait("/proc/self/exe", ["sdedit"] + args)
    let s = Stopwatch.now() - t0
    guard status == 0 else { throw SDError.invalidInput("full run failed (exit \(status))") }
    FileHandleStderr.write(String(format: "  %@ full run: %.1f s, peak RSS %d MiB\n", label, s, rss >> 20))
    return (s, rss)
}

func f3(_ v: Double) -> String { String(format: "%.3f", v) }
