// --lora-dir: where `<lora:NAME:W>` prompt tags find their files. How merged LoRAs are recorded in
// the infotext (A1111's `<lora:NAME:W>` and `Lora hashes`) is the job layer's (SDJobs).
import Foundation
import SDCore
import SDModels

extension ModelOption {
    /// The LoRA folder: --lora-dir, else $SDEDIT_LORA_DIR.
    var loraDirectory: String? { loraDir ?? ProcessInfo.processInfo.environment["SDEDIT_LORA_DIR"] }

    /// `<lora:NAME:W>` → NAME.safetensors in the LoRA folder (prompt tags are parsed elsewhere).
    func resolveLoRATag(name: String, weight: Float = 1) throws -> LoRASpec {
        try LoRASpec.resolve(tag: name, weight: weight, directory: loraDirectory)
    }
}
