// Every spelling of a checkpoint key that is not the one the models use, in one place: original LDM
// (CompVis / Stability AI) single files → diffusers names (diffusers loaders/single_file_utils.py:
// convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint, convert_open_clip_checkpoint,
// convert_ldm_clip_checkpoint; spec §10.2), and the older diffusers/transformers folder spellings.
// Each table takes a key with its component prefix removed and returns the model keys it feeds,
// [] for a key that is known and deliberately not read, or nil for a key it does not know (which
// strict loading reports).
import SDCore

enum KeyTables {
    typealias Mapped = [(key: String, transform: KeyTransform)]

    static func one(_ parts: [String], _ t: KeyTransform = .none) -> Mapped { [(parts.joined(separator: "."), t)] }
    static func parts(_ key: String) -> [String] { key.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }

    // MARK: diffusers folders

    /// transformers ≤ 4.x and 5.x spell CLIPTextModel keys with and without "text_model."; the int64
    /// position_ids buffer and a CLIPTextModelWithProjection's projection are not read.
    static func folderTextEncoder(_ key: String) -> Mapped {
        if key.hasSuffix("embeddings.position_ids") || key == "text_projection.weight" { return [] }
        return [(key.hasPrefix("text_model.") ? key : "text_model." + key, .none)]
    }

    /// diffusers ≤ 0.13 VAE files name the mid-block attention query/key/value/proj_attn.
    static func folderVAE(_ key: String) -> Mapped {
        for (old, new) in [("query", "to_q"), ("key", "to_k"), ("value", "to_v"), ("proj_attn", "to_out.0")]
        where key.contains(".attentions.0.\(old).") {
            return [(key.replacingOccurrences(of: ".attentions.0.\(old).", with: ".attentions.0.\(new)."), .none)]
        }
        return [(key, .none)]
    }

    // MARK: LDM single files

    /// model.diffusion_model.* (L = layers_per_block: LDM numbers input blocks 1 + level·(L+1) + j,
    /// the last of each level being the downsampler, and output blocks level·(L+1) + j).
    static func unet(_ key: String, layersPerBlock l: Int) -> Mapped? {
        let p = parts(key)
        guard p.count >= 3 else { return p == ["label_emb", "weight"] ? one(["class_embedding", "weight"]) : nil }
        func resnet(_ rest: ArraySlice<String>) -> [String]? {
            let r = Array(rest)
            let pairs = ["in_layers.0": "norm1", "in_layers.2": "conv1", "emb_layers.1": "time_emb_proj",
                         "out_layers.0": "norm2", "out_layers.3": "conv2"]
            if r.count >= 3, let n = pairs[r[0] + "." + r[1]] { return [n] + r[2...] }
            if r.count >= 2, r[0] == "skip_connection" { return ["conv_shortcut"] + r[1...] }
            return nil
        }
        switch p[0] {
        case "time_embed" where p[1] == "0" || p[1] == "2":
            return one(["time_embedding", p[1] == "0" ? "linear_1" : "linear_2"] + p[2...])
        case "out" where p[1] == "0" || p[1] == "2":
            return one([p[1] == "0" ? "conv_norm_out" : "conv_out"] + p[2...])
        case "input_blocks":
            guard let i = Int(p[1]), i >= 0, p.count >= 4 else { return nil }
            if i == 0 { return p[2] == "0" ? one(["conv_in"] + p[3...]) : nil }
            let b = "\((i - 1) / (l + 1))", j = "\((i - 1) % (l + 1))"
            if p[2] == "0", p[3] == "op" { return one(["down_blocks", b, "downsamplers", "0", "conv"] + p[4...]) }
            if p[2] == "0" { return resnet(p[3...]).map { one(["down_blocks", b, "resnets", j] + $0) } }
            if p[2] == "1" { return one(["down_blocks", b, "attentions", j] + p[3...]) }
        case "middle_block":
            switch p[1] {
            case "0", "2": return resnet(p[2...]).map { one(["mid_block", "resnets", p[1] == "0" ? "0" : "1"] + $0) }
            case "1": return one(["mid_block", "attentions", "0"] + p[2...])
            default: return nil
            }
        case "output_blocks":
            guard let i = Int(p[1]), i >= 0, p.count >= 4 else { return nil }
            let b = "\(i / (l + 1))", j = "\(i % (l + 1))"
            // The upsampler is output_blocks.i.1.conv after a plain block, .2.conv after an attention.
            if p[2] == "1" || p[2] == "2", p[3] == "conv" { return one(["up_blocks", b, "upsamplers", "0", "conv"] + p[4...]) }
            if p[2] == "0" { return resnet(p[3...]).map { one(["up_blocks", b, "resnets", j] + $0) } }
            if p[2] == "1" { return one(["up_blocks", b, "attentions", j] + p[3...]) }
        default: break
        }
        return nil
    }

    /// A kohya UNet module name in LDM spelling (`lora_unet_input_blocks_1_1_proj_in`, `…middle_block_0_in_layers_2`,
    /// `…output_blocks_2_1_conv`, `…input_blocks_3_0_op`, `…time_embed_0`, `…out_2`) → the diffusers-spelled
    /// one (`lora_unet_down_blocks_0_attentions_0_proj_in`), through the single-file table above. A1111
    /// (extensions-builtin/Lora/networks.py load_network) looks such a name up as `diffusion_model_…`
    /// among the LDM model's own modules. Inside an attention both spellings agree, so only the block
    /// prefix and a resnet's layer are parsed.
    static func kohyaLDMUNet(_ name: String, layersPerBlock l: Int) -> String? {
        guard name.hasPrefix("lora_unet_") else { return nil }
        let p = name.dropFirst(10).split(separator: "_", omittingEmptySubsequences: false)
        let head: [String], rest: ArraySlice<Substring>
        if p.count >= 4, p[0] == "input" || p[0] == "output", p[1] == "blocks", let i = index(p[2]), let j = index(p[3]) {
            (head, rest) = (["\(p[0])_blocks", "\(i)", "\(j)"], p[4...])
        } else if p.count >= 3, p[0] == "middle", p[1] == "block", let i = index(p[2]) {
            (head, rest) = (["middle_block", "\(i)"], p[3...])
        } else if p.count == 3, p[0] == "time", p[1] == "embed", let i = index(p[2]) {
            (head, rest) = (["time_embed", "\(i)"], [])
        } else if p.count == 2, p[0] == "out", let i = index(p[1]) {
            (head, rest) = (["out", "\(i)"], [])
        } else {
            return nil
        }
        // A resnet's in_layers_N / emb_layers_N / out_layers_N is two key parts; anything else
        // (skip_connection, op, conv, an attention's own path) stays one.
        var tail = rest.isEmpty ? [] : [rest.joined(separator: "_")]
        if rest.count == 3, rest[rest.startIndex + 1] == "layers", ["in", "emb", "out"].contains(rest.first!) {
            tail = ["\(rest.first!)_layers", String(rest.last!)]
        }
        guard let mapped = unet((head + tail + ["weight"]).joined(separator: "."), layersPerBlock: l), mapped.count == 1 else { return nil }
        return "lora_unet_" + String(mapped[0].key.dropLast(".weight".count)).replacingOccurrences(of: ".", with: "_")
    }

    /// `lora_te1_text_model_…` → `lora_te_text_model_…` on a CLIP ViT-L text encoder (SD 1.x): A1111
    /// maps `lora_te1_text_model` to SD 1.x's `transformer_text_model` when no SDXL module has the name
    /// ("some SD1 Loras also have correct compvis keys", networks.py load_network); on OpenCLIP (SD 2.x)
    /// it matches nothing.
    static func kohyaTE1(_ name: String, clipL: Bool) -> String? {
        clipL && name.hasPrefix("lora_te1_text_model_") ? "lora_te_" + name.dropFirst(9) : nil
    }

    /// first_stage_model.* (n = number of levels: LDM numbers decoder levels from the lowest
    /// resolution up, diffusers from the highest; the mid attention's 1×1 convs become Linears).
    static func vae(_ key: String, levels n: Int) -> Mapped? {
        let p = parts(key)
        guard p.count >= 2 else { return nil }
        if p[0] == "quant_conv" || p[0] == "post_quant_conv" { return one(p) }
        guard p[0] == "encoder" || p[0] == "decoder", p.count >= 3 else { return nil }
        let part = p[0], r = Array(p[1...])
        func renamed(_ x: ArraySlice<String>) -> [String] { x.map { $0 == "nin_shortcut" ? "conv_shortcut" : $0 } }
        switch r[0] {
        case "conv_in", "conv_out": return one([part] + r)
        case "norm_out": return one([part, "conv_norm_out"] + r[1...])
        case "down", "up":
            guard r.count >= 4, let k = Int(r[1]), k >= 0, k < n else { return nil }
            let down = r[0] == "down"
            let level = "\(down ? k : n - 1 - k)", blocks = down ? "down_blocks" : "up_blocks"
            if r[2] == "block" { return one([part, blocks, level, "resnets", r[3]] + renamed(r[4...])) }
            if r[2] == (down ? "downsample" : "upsample"), r[3] == "conv" {
                return one([part, blocks, level, down ? "downsamplers" : "upsamplers", "0", "conv"] + r[4...])
            }
        case "mid":
            if r[1] == "block_1" || r[1] == "block_2" {
                return one([part, "mid_block", "resnets", r[1] == "block_1" ? "0" : "1"] + renamed(r[2...]))
            }
            let names = ["norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"]
            if r[1] == "attn_1", r.count == 4, let name = names[r[2]] {
                return [([part, "mid_block", "attentions", "0", name, r[3]].joined(separator: "."),
                         name != "group_norm" && r[3] == "weight" ? .squeeze : .none)]
            }
        default: break
        }
        return nil
    }

    /// cond_stage_model.model.* (OpenCLIP ViT-H/14, SD 2.x): SD 2 conditions on the penultimate
    /// layer, so the file's last resblock (index `layers`) is not read, nor the contrastive head
    /// (text_projection, logit_scale) or the causal-mask buffer.
    static func openCLIP(_ key: String, layers: Int) -> Mapped? {
        switch key {
        case "token_embedding.weight": return one(["text_model", "embeddings", "token_embedding", "weight"])
        case "positional_embedding": return one(["text_model", "embeddings", "position_embedding", "weight"])
        case "ln_final.weight", "ln_final.bias": return one(["text_model", "final_layer_norm", String(key.dropFirst(9))])
        case "text_projection", "logit_scale", "attn_mask": return []
        default: break
        }
        let p = parts(key)
        guard p.count >= 5, p[0] == "transformer", p[1] == "resblocks", let i = Int(p[2]), i >= 0 else { return nil }
        if i == layers { return [] }
        guard i < layers else { return nil }
        let layer = "text_model.encoder.layers.\(i)."
        let rest = p[3...].joined(separator: ".")
        if rest == "attn.in_proj_weight" || rest == "attn.in_proj_bias" {
            let s = rest.hasSuffix("weight") ? "weight" : "bias"
            return ["q", "k", "v"].enumerated().map { (layer + "self_attn.\($1)_proj." + s, .rows(part: $0, of: 3)) }
        }
        let names = ["ln_1": "layer_norm1", "ln_2": "layer_norm2", "attn.out_proj": "self_attn.out_proj",
                     "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"]
        guard let dot = rest.lastIndex(of: "."), let n = names[String(rest[..<dot])] else { return nil }
        return [(layer + n + rest[dot...], .none)]
    }

    /// cond_stage_model.transformer.* (CLIP ViT-L/14, SD 1.x): already transformers' names.
    static func clipL(_ key: String) -> Mapped? {
        guard key.hasPrefix("text_model.") else { return nil }
        return key == "text_model.embeddings.position_ids" ? [] : [(key, .none)]
    }

    // MARK: MiDaS (the depth single file's depth_model.model.*)

    /// A decimal index as checkpoints write it (digits only: "+1" or "01" would alias another key).
    static func index(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.count <= 4, s.allSatisfy({ $0.isASCII && $0.isNumber }), s == "0" || s.first != "0" else { return nil }
        return Int(s)
    }

    /// depth_model.model.* of 512-depth-ema (LDM's MiDaSInference holding MiDaS's DPTDepthModel, saved
    /// with timm: `pretrained.model` = timm's ViT-hybrid with its BiT ResNet under patch_embed.backbone,
    /// `pretrained.act_postprocessK` = reassemble K, `scratch` = neck convs, fusion and head) →
    /// transformers' DPTForDepthEstimation names, as transformers models/dpt/
    /// convert_dpt_hybrid_to_pytorch.py renames them (rename_key; read_in_q_k_v splits the fused qkv
    /// into query, key, value rows). timm's ImageNet classifier (pretrained.model.head) is not read.
    static func midas(_ key: String) -> Mapped? {
        let p = parts(key)
        guard p.count >= 2 else { return nil }
        if p[0] == "scratch" { return midasNeck(Array(p[1...])) }
        guard p[0] == "pretrained", p.count >= 3 else { return nil }
        if p[1] == "model" { return midasViT(Array(p[2...])) }
        // act_postprocessK: .0.project.0 the readout Linear, .3 the 1×1 projection, .4 the resize conv.
        guard p[1].hasPrefix("act_postprocess"), let k = index(p[1].dropFirst(15)), (1...4).contains(k) else { return nil }
        let r = Array(p[2...]), stage = ["neck", "reassemble_stage"]
        if r.count == 4, r[0] == "0", r[1] == "project", r[2] == "0" { return one(stage + ["readout_projects", "\(k - 1)", "0", r[3]]) }
        if r.count == 2, r[0] == "3" || r[0] == "4" { return one(stage + ["layers", "\(k - 1)", r[0] == "3" ? "projection" : "resize", r[1]]) }
        return nil
    }

    /// pretrained.model.* (timm VisionTransformer with a HybridEmbed) → dpt.embeddings / dpt.encoder.
    static func midasViT(_ p: [String]) -> Mapped? {
        switch p.count {
        case 1 where p[0] == "cls_token": return one(["dpt", "embeddings", "cls_token"])
        case 1 where p[0] == "pos_embed": return one(["dpt", "embeddings", "position_embeddings"])
        case 2 where p[0] == "head": return []
        case 2 where p[0] == "norm": return one(["dpt", "layernorm", p[1]])
        default: break
        }
        if p.count == 3, p[0] == "patch_embed", p[1] == "proj" { return one(["dpt", "embeddings", "projection", p[2]]) }
        if p.count >= 4, p[0] == "patch_embed", p[1] == "backbone" {
            let bit = ["dpt", "embeddings", "backbone", "bit"]
            if p.count == 5, p[2] == "stem", p[3] == "conv" || p[3] == "norm" {
                return one(bit + ["embedder", p[3] == "conv" ? "convolution" : "norm", p[4]])
            }
            if p.count >= 7, p[2] == "stages", index(p[3][...]) != nil, p[4] == "blocks", index(p[5][...]) != nil {
                return one(bit + ["encoder", "stages", p[3], "layers", p[5]] + p[6...])
            }
            return nil
        }
        guard p.count >= 4, p[0] == "blocks", let i = index(p[1][...]) else { return nil }
        let layer = ["dpt", "encoder", "layer", "\(i)"], name = p[2...].dropLast().joined(separator: "."), last = p.last!
        if name == "attn.qkv" {
            return ["query", "key", "value"].enumerated().map {
                ((layer + ["attention", "attention", $1, last]).joined(separator: "."), .rows(part: $0, of: 3))
            }
        }
        let names = ["norm1": "layernorm_before", "norm2": "layernorm_after", "attn.proj": "attention.output.dense",
                     "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"]
        guard let n = names[name] else { return nil }
        return one(layer + [n, last])
    }

    /// scratch.* (MiDaS's neck and head): layerK_rn → neck.convs.K−1, refinenetK → the fusion layer
    /// 4−K (MiDaS fuses from refinenet4, the coarsest, down), output_conv → head.head.
    static func midasNeck(_ p: [String]) -> Mapped? {
        guard p.count >= 2 else { return nil }
        if p.count == 2, p[0].hasPrefix("layer"), p[0].hasSuffix("_rn"), let k = index(p[0].dropFirst(5).dropLast(3)), (1...4).contains(k) {
            return one(["neck", "convs", "\(k - 1)", p[1]])
        }
        if p.count == 3, p[0] == "output_conv", ["0", "2", "4"].contains(p[1]) { return one(["head", "head", p[1], p[2]]) }
        guard p[0].hasPrefix("refinenet"), let k = index(p[0].dropFirst(9)), (1...4).contains(k) else { return nil }
        let layer = ["neck", "fusion_stage", "layers", "\(4 - k)"]
        if p.count == 3, p[1] == "out_conv" { return one(layer + ["projection", p[2]]) }
        let units = ["resConfUnit1": "residual_layer1", "resConfUnit2": "residual_layer2"]
        let convs = ["conv1": "convolution1", "conv2": "convolution2"]
        guard p.count == 4, let u = units[p[1]], let c = convs[p[2]] else { return nil }
        return one(layer + [u, c, p[3]])
    }
}
