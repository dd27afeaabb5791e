// --lora / --lora-dir: the LoRA files a run merges, and how they are recorded in the PNG
// parameters the way AUTOMATIC1111 records them (extensions-builtin/Lora/extra_networks_lora.py:
// `<lora:NAME:W>` in the prompt, `Lora hashes: "NAME: <12-digit addnet hash>, …"`), so an image
// made by sdedit re-runs in A1111.
import Foundation
import SDCore
import SDModels

/// The LoRAs merged into this run's model, for every image's parameters text (one model per run).
enum LoRARecord {
    nonisolated(unsafe) static var merged: [(name: String, weight: Float, hash: String)] = []

    /// The prompt with a `<lora:NAME:W>` tag for each merged LoRA it does not already carry, and
    /// the `Lora hashes` field (nil without LoRAs).
    static func infotext(prompt: String) -> (prompt: String, field: (String, String)?) {
        guard !merged.isEmpty else { return (prompt, nil) }
        var p = prompt
        for l in merged where !p.contains("<lora:\(l.name):") && !p.contains("<lora:\(l.name)>") {
            p += (p.isEmpty ? "" : " ") + "<lora:\(l.name):\(formatWeight(l.weight))>"
        }
        let hashes = merged.map { "\($0.name.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: ",", with: "")): \($0.hash)" }
        return (p, ("Lora hashes", "\"" + hashes.joined(separator: ", ") + "\""))
    }

    static func formatWeight(_ w: Float) -> String {
        w == w.rounded() && abs(w) < 1e6 ? String(Int(w)) : "\(w)"
    }
}

extension ModelOption {
    /// The LoRA folder: --lora-dir, else $SDEDIT_LORA_DIR.
    var loraDirectory: String? { loraDir ?? ProcessInfo.processInfo.environment["SDEDIT_LORA_DIR"] }

    /// `<lora:NAME:W>` → NAME.safetensors in the LoRA folder (prompt tags are parsed elsewhere).
    func resolveLoRATag(name: String, weight: Float = 1) throws -> LoRASpec {
        try LoRASpec.resolve(tag: name, weight: weight, directory: loraDirectory)
    }

    /// Open the LoRAs on `source` (headers and keys: a bad file fails before any model load) and
    /// record them for the parameters text.
    func addLoRAs(to source: ModelSource, _ specs: [LoRASpec]) throws {
        guard !specs.isEmpty else { return }
        try source.addLoRAs(specs)
        // Set, not appended: a command that opens its model source twice records its LoRAs once.
        LoRARecord.merged = try specs.map { s in
            (((s.path as NSString).lastPathComponent as NSString).deletingPathExtension, s.weight, try LoRAFile.shortHash(path: s.path))
        }
    }
}
