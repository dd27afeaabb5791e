// Fuzz targets: every parser that reads a file a user (or an attacker) hands sdedit. Each takes raw
// bytes and must return, never trap, hang or read out of bounds, whatever they are; errors are
// fine. Run by scripts/fuzz/run.sh under libFuzzer + AddressSanitizer, and replayed over the
// committed corpus (scripts/fuzz/corpus/<target>/) by `swift test` (FuzzCorpusTests).
import Foundation
import SDCore
import SDModels
import SDPipelines
import Synchronization

public enum FuzzTargets {
    public static let names = ["safetensors", "png", "jpeg", "config", "tokenizer", "checkpoint", "taesd", "prompt", "lora", "infotext", "pngtext", "checkrecord", "vocab", "merges"]

    public static func run(_ name: String, _ data: [UInt8]) {
        switch name {
        case "safetensors": safetensors(data)
        // A small pixel limit: the limit logic is what is fuzzed, and big legal images would only
        // make the run slow and its RSS grow (ASan keeps freed memory in quarantine).
        case "png", "jpeg": _ = try? Image.decode(data, name: "fuzz", maxPixels: 1 << 18); _ = EXIF.orientation(in: data)
        case "config": config(data)
        case "tokenizer": tokenize(data)
        case "checkpoint": checkpoint(data)
        case "taesd": _ = scratchFile(data).map { try? TinyAutoencoderSource.load($0) }
        case "prompt": prompt(data)
        case "lora": lora(data)
        case "infotext": infotext(data)
        case "pngtext": _ = try? ImageText.parameters(in: data, name: "fuzz")
        case "checkrecord": checkRecord(data)
        case "vocab": vocab(data)
        case "merges": merges(data)
        default: fatalError("unknown fuzz target \(name); targets: \(names.joined(separator: ", "))")
        }
    }

    /// The safetensors reader through a real file (it maps files): header, offsets, every tensor.
    static func safetensors(_ data: [UInt8]) {
        guard let path = scratchFile(data), let f = try? SafetensorsFile(path: path) else { return }
        for k in f.keys { _ = try? f.tensor(k) }
    }

    /// A single-file checkpoint: kind detection, then every key through the LDM key tables.
    static func checkpoint(_ data: [UInt8]) {
        guard let path = scratchFile(data), let f = try? SingleFileCheckpoint(path: path) else { return }
        _ = try? f.checkKeys(layersPerBlock: 2, vaeLevels: 4, textLayers: 2)
    }

    /// A textual-inversion embedding; a LoRA-family file: key parsing (bundled embeddings too), then every module matched to a 16×16 weight of its own name
    /// (shape checks; a UNet name in LDM spelling through the LDM table) and its ΔW computed.
    static func lora(_ data: [UInt8]) {
        guard let path = scratchFile(data) else { return }
        _ = try? TextualInversion(path: path).tokens
        guard let f = try? LoRAFile(path: path) else { return }
        _ = f.embeddings.flatMap(\.tokens)
        for c in [LoRAComponent.unet, .textEncoder] {
            let spell = c == .unet ? LoRAFile.unetSpellings(layersPerBlock: 2) : LoRAFile.textEncoderSpellings(clipL: true)
            let keys = f.moduleNames.filter { $0.0 == c }.map { _, n -> String in
                if n.hasPrefix("lora_") { return String((spell(n) ?? n).dropFirst(c == .unet ? 10 : 8)) + ".weight" }
                return (c == .textEncoder && !n.hasPrefix("text_model.") ? "text_model." : "") + n + ".weight"
            }
            guard let deltas = try? f.deltas(for: c, modelKeys: keys, shapeOf: { _ in [16, 16] }, weight: 1, otherSpelling: spell) else { continue }
            for (_, d) in deltas { _ = try? d.compute(); _ = try? d.lowRank?() }
        }
    }

    /// A config.json as every component and scheduler reads it, then a schedule of its own steps.
    static func config(_ data: [UInt8]) {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(data)), let dict = obj as? [String: Any] else { return }
        let r = ConfigReader(dict: dict, path: "fuzz/config.json")
        _ = try? UNetConfig(r)
        _ = try? VAEConfig(r)
        _ = try? CLIPTextConfig(r)
        _ = try? AutoencoderTinyConfig(r)
        let steps = (dict["fuzz_steps"] as? Int).map { max(1, min($0, 1000)) } ?? 10
        for kind in SchedulerKind.allCases {
            guard let s = try? kind.make(config: r), (try? s.setTimesteps(steps)) != nil else { continue }
            _ = s.timesteps.reduce(0, +)
        }
    }

    /// A prompt through the real CLIP vocabulary and merges (the demo model's tokenizer files).
    static func tokenize(_ data: [UInt8]) {
        tokenizer.withLock { tok in _ = tok.encode(String(decoding: data, as: UTF8.self)) }
    }

    /// A prompt in A1111 syntax: <lora:…> tags, the attention parser, then chunks as SD 2.x tokenizes
    /// them (open_clip's cleaning) and as SD 1.x does.
    static func prompt(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        tokenizer.withLock { tok in
            // Parsed in here: values from outside the lock would tie the tokenizer to this task.
            guard let (stripped, _, _) = try? ExtraNetworks.parse(text), let parsed = try? PromptAttention.parse(stripped) else { return }
            for embedder in [PromptEmbedder.openCLIP, .clip] {
                for chunk in A1111PromptEncoder(tokenizer: tok, embedder: embedder).chunks(parsed) {
                    precondition(chunk.tokens.count == tok.maxLength && chunk.multipliers.count == tok.maxLength)
                }
            }
        }
    }

    /// An A1111 parameters text: parsed, every typed value and the dict A1111 builds, written and
    /// parsed again, and its sampler names looked up.
    static func infotext(_ data: [UInt8]) {
        let t = Infotext.parse(String(decoding: data, as: UTF8.self))
        _ = (t.steps, t.cfgScale, t.seed, t.denoisingStrength, t.width, t.height, t.a1111Values.count)
        let again = Infotext.parse(t.formatted())
        if let s = again.samplerName { _ = SchedulerKind(a1111Name: s, scheduleType: again.scheduleType) }
        _ = SchedulerKind.parse(t.prompt)
    }

    /// Loaded on first use. CLIPTokenizer keeps a BPE cache, so it is not Sendable: the one shared
    /// copy sits behind a mutex (the driver runs one input at a time, so it is never contended).
    static let tokenizer = Mutex(loadTokenizer())

    static func loadTokenizer() -> CLIPTokenizer {
        let dir = ProcessInfo.processInfo.environment["SDEDIT_FUZZ_TOKENIZER"] ?? "fixtures/models/tiny-sd2-inpainting/tokenizer"
        guard let t = try? CLIPTokenizer(folder: dir) else { fatalError("tokenizer target: no tokenizer in \(dir) (set SDEDIT_FUZZ_TOKENIZER)") }
        return t
    }

    /// vocab.json's fast reader against JSONSerialization: wherever it takes the bytes, both agree.
    static func vocab(_ data: [UInt8]) {
        guard let fast = VocabJSON.parse(Data(data)) else { return }
        let slow = (try? JSONSerialization.jsonObject(with: Data(data))) as? [String: Int]
        precondition(slow == fast, "VocabJSON: \(fast.count) entries, JSONSerialization: \(slow.map { "\($0.count)" } ?? "refused")")
    }

    /// merges.txt's byte-level reader: it never traps, and on ASCII text without carriage returns
    /// (where Characters are bytes) it agrees with splitting the String by Characters, the reader it
    /// replaced: the same merges, or both refuse.
    static func merges(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        let fast = try? CLIPTokenizer.parseMerges(text, path: "fuzz/merges.txt")
        guard data.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) else { return }
        var slow: [String]? = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#version") {
            guard line.split(separator: " ").count == 2 else { slow = nil; break }
            slow?.append(String(line))
        }
        precondition(fast == slow, "merges: byte reader \(fast?.count ?? -1) lines, Character reader \(slow?.count ?? -1)")
    }

    /// The record of weights found finite (FiniteCheckRecord): any bytes as the record file, then a
    /// lookup, an insert and a save that merges with it.
    static func checkRecord(_ data: [UInt8]) {
        let dir = scratch + "/record"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fd = open(dir + "/finite-checked.json", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        _ = writeAll(fd, data)
        close(fd)
        var st = stat()
        guard stat(dir, &st) == 0 else { return }
        let id = FileIdentity(st)
        let record = FiniteCheckRecord(directory: dir, settle: 0)
        _ = record.contains(id, "k")
        record.insert(id, "k")
        record.save()
    }

    /// The input as a real file (the safetensors reader maps files).
    static func scratchFile(_ data: [UInt8]) -> String? {
        let path = scratch + "/input.safetensors"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return nil }
        _ = writeAll(fd, data)
        close(fd)
        return path
    }

    static let scratch: String = {
        let dir = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()) + "/sdedit-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()
}
