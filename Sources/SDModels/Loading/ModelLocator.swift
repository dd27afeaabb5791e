// Where a model comes from: a diffusers folder, a single-file .safetensors checkpoint, or a hub id
// ("org/name") resolved offline in the local Hugging Face cache (huggingface_hub's layout:
// models--org--name/snapshots/<refs/main>). Nothing is ever downloaded. Pickle checkpoints are
// refused. ModelSource reads what this finds.
import Foundation
import SDCore

public enum ModelLocator {
    /// Cache roots in huggingface_hub's order of precedence.
    public static func cacheRoots(environment env: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var roots: [String] = []
        if let c = env["HF_HUB_CACHE"], !c.isEmpty { roots.append(c) }
        if let h = env["HF_HOME"], !h.isEmpty { roots.append(h + "/hub") }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { roots.append(x + "/huggingface/hub") }
        let home = env["HOME"] ?? NSHomeDirectory()
        roots.append(home + "/.cache/huggingface/hub")
        var seen = Set<String>()
        return roots.filter { seen.insert($0).inserted }
    }

    /// The diffusers folder or single file for `spec` (a path or an org/name hub id). `pipeline`: a
    /// folder must be a pipeline's (model_index.json or unet/); false for one component (a TAESD).
    public static func resolve(_ spec: String, pipeline: Bool = true,
                               environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let lower = spec.lowercased()
        if fm.fileExists(atPath: spec, isDirectory: &isDir) {
            if isDir.boolValue {
                guard !pipeline || fm.fileExists(atPath: spec + "/model_index.json") || fm.fileExists(atPath: spec + "/unet") else {
                    throw SDError.missingModel("\(spec): not a diffusers model folder (no model_index.json or unet/)")
                }
                return spec
            }
            if lower.hasSuffix(".ckpt") || lower.hasSuffix(".bin") || lower.hasSuffix(".pt") || lower.hasSuffix(".pth") {
                throw SDError.missingModel("\(spec): pickle checkpoints are refused (loading one can run arbitrary code); "
                    + "use the .safetensors version of the same checkpoint (Stability AI publishes both), or convert once with "
                    + "`python -c \"import torch, safetensors.torch as s; s.save_file(torch.load('F', weights_only=True)"
                    + "['state_dict'], 'F.safetensors')\"` on a machine where you trust the file")
            }
            if lower.hasSuffix(".safetensors") { return spec }
            throw SDError.missingModel("\(spec): not a model folder or a .safetensors checkpoint")
        }
        // Only "org/name" can be a hub id; anything else (a file name, ./dir, /abs/path, a/b/c) is a
        // path that does not exist.
        let parts = spec.split(separator: "/", omittingEmptySubsequences: false)
        let fileSuffixes = [".safetensors", ".ckpt", ".bin", ".pt", ".pth"]
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !spec.hasPrefix("."), !spec.hasPrefix("~"),
              !fileSuffixes.contains(where: { lower.hasSuffix($0) }) else {
            throw SDError.io(path: spec, message: "no such file or folder")
        }
        var tried: [String] = [spec + " (as a folder)"]
        let repo = "models--\(parts[0])--\(parts[1])"
        for root in cacheRoots(environment: env) {
            let base = root + "/" + repo
            tried.append(base)
            guard fm.fileExists(atPath: base + "/snapshots") else { continue }
            if let ref = try? String(contentsOfFile: base + "/refs/main", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines), !ref.isEmpty,
               fm.fileExists(atPath: base + "/snapshots/" + ref) {
                return base + "/snapshots/" + ref
            }
            // No refs/main (e.g. a pinned revision only): take the most recently modified snapshot.
            let snaps = ((try? fm.contentsOfDirectory(atPath: base + "/snapshots")) ?? []).map { base + "/snapshots/" + $0 }
            if let newest = snaps.max(by: { modified($0) < modified($1) }) { return newest }
        }
        throw SDError.missingModel("model \(spec) not found; looked in: " + tried.joined(separator: ", ")
                                   + ". sdedit never downloads: fetch it once with `huggingface-cli download \(spec)`.")
    }

    /// A short name for messages and metadata: "name" for a hub cache snapshot, else the folder's name.
    public static func displayName(_ folder: String) -> String {
        let parts = folder.split(separator: "/")
        if let repo = parts.last(where: { $0.hasPrefix("models--") }) {
            return repo.dropFirst("models--".count).replacingOccurrences(of: "--", with: "/")
        }
        return parts.last.map(String.init) ?? folder
    }

    static func modified(_ path: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
    }
}
