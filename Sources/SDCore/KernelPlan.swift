// The run-time configuration of the numeric core as one value: which SIMD kernels run, which library
// runs fp32 GEMM tiles and with which OpenBLAS kernels, when 3×3 convolutions take the Winograd
// path, the thread budget and profiling. The CLI builds it from its options and the environment
// (KernelPlan.from) and Backend.start records it; SDCore reads the recorded plan (Backend.plan) and
// never the environment, so tests and library users set the same switches by value. Fixed rules
// from cpuid, never timings, so a plan gives the same image on every run.
import CKernels
import Foundation

public struct KernelPlan: Sendable, Equatable {
    /// Time per op family (OpProfile): off, per family, or the GEMM-backed families split by shape.
    public enum Profile: String, Sendable { case off, ops, shapes }

    /// SIMD level of sdedit's own kernels (attention, softmax, GroupNorm, activations, Winograd
    /// transforms); at most CPU.best.
    public var isa: KernelISA
    /// Library for large fp32 GEMM tiles; oneDNN falls back to OpenBLAS where it cannot load.
    public var fp32GEMM: FP32GEMM.Backend
    /// OPENBLAS_CORETYPE to load OpenBLAS with (nil: OpenBLAS's own model table), and who chose it:
    /// "cpu features", "environment" or "openblas".
    public var openblasCore: String?
    public var openblasCoreSource: String
    public var winograd: Winograd.Mode
    /// Bytes of transformed Winograd filters kept with their layers.
    public var winogradCacheBytes: Int
    /// Worker threads of parallelFor (Backend.start caps it at the CPUs online).
    public var threads: Int
    public var profile: Profile
    /// im2col scratch budget, in floats (one band holds at most half); tests shrink it to drive the
    /// banded path on small inputs.
    public var im2colFloats: Int
    /// The bf16 attention kernel; nil = the best this plan's ISA allows (tests pin each one).
    public var bf16Attention: BF16Attention.Kernel?
    /// Settings the builder could not read, one line each, for the user to see.
    public var ignored: [String]
    /// Tiles per call (batch-wide) from which a Winograd filter is transformed per call rather than
    /// kept (Winograd.filter); SDEDIT_WINOGRAD_TILES=N.
    public var winogradPerCallTiles = Winograd.defaultPerCallTiles
    /// Library for fp32 GEMM tiles with a narrow activation side (FP32GEMM.narrow: the 8² convs and
    /// the small maps' Winograd tile GEMMs without CFG); SDEDIT_FP32_GEMM sets both.
    public var fp32NarrowGEMM: FP32GEMM.Backend = .onednn

    /// Whether bf16 GEMMs run on native bf16 instructions under this plan.
    public var bf16Native: Bool { BF16GEMM.isNative(isa: isa) }

    /// The plan for `threads` and the SDEDIT_* settings in `environment`:
    /// SDEDIT_MAX_ISA=generic|avx2|avx512 caps the SIMD level (tests force the fallback paths, as
    /// oneDNN's ONEDNN_MAX_CPU_ISA does); SDEDIT_FP32_GEMM=openblas|onednn overrides the GEMM rule;
    /// SDEDIT_WINOGRAD=0|off|1|on|auto and SDEDIT_WINOGRAD_CACHE_MB=N; SDEDIT_PROFILE=1|shapes;
    /// OPENBLAS_CORETYPE, OpenBLAS's own variable, overrides the kernels chosen from cpuid.
    public static func from(environment env: [String: String], threads: Int) -> KernelPlan {
        var ignored: [String] = []
        func unreadable(_ key: String, _ expected: String) {
            ignored.append("\(key)=\(env[key]!) ignored: expected \(expected)")
        }
        var isa = CPU.best
        if let cap = env["SDEDIT_MAX_ISA"], !cap.isEmpty {
            if let c = KernelISA(name: cap) { isa = Swift.min(c, CPU.best) } else { unreadable("SDEDIT_MAX_ISA", "generic, avx2 or avx512") }
        }
        // oneDNN on Intel cores with AVX-512 only: BLAS+OneDNN.swift says why.
        var gemm: FP32GEMM.Backend = CPU.vendor == "GenuineIntel" && isa >= .avx512 ? .onednn : .openblas
        var narrow = FP32GEMM.Backend.onednn
        if let g = env["SDEDIT_FP32_GEMM"], !g.isEmpty {
            if let b = FP32GEMM.Backend(rawValue: g.lowercased()) { (gemm, narrow) = (b, b) } else { unreadable("SDEDIT_FP32_GEMM", "openblas or onednn") }
        }
        var winograd = Winograd.Mode.auto
        switch env["SDEDIT_WINOGRAD"]?.lowercased() {
        case nil, "", "auto": break
        case "0", "off": winograd = .off
        case "1", "on": winograd = .on
        default: unreadable("SDEDIT_WINOGRAD", "0, 1 or auto")
        }
        var cacheBytes = 384 << 20
        if let s = env["SDEDIT_WINOGRAD_CACHE_MB"], !s.isEmpty {
            if let mb = Int(s), (0...(1 << 30)).contains(mb) { cacheBytes = mb << 20 } else { unreadable("SDEDIT_WINOGRAD_CACHE_MB", "a number of MiB") }
        }
        var perCallTiles = Winograd.defaultPerCallTiles
        if let s = env["SDEDIT_WINOGRAD_TILES"], !s.isEmpty {
            if let n = Int(s), n >= 1 { perCallTiles = n } else { unreadable("SDEDIT_WINOGRAD_TILES", "a number of tiles ≥ 1") }
        }
        var profile = Profile.off
        switch env["SDEDIT_PROFILE"] {
        case nil, "", "0": break
        case "1": profile = .ops
        case "shapes": profile = .shapes
        default: unreadable("SDEDIT_PROFILE", "1 or shapes")
        }
        var core = sd_blas_coretype_for_cpu().map { String(cString: $0) }
        var coreSource = core == nil ? "openblas" : "cpu features"
        if let user = env["OPENBLAS_CORETYPE"], !user.isEmpty { (core, coreSource) = (user, "environment") }
        return KernelPlan(isa: isa, fp32GEMM: gemm, openblasCore: core, openblasCoreSource: coreSource,
                          winograd: winograd, winogradCacheBytes: cacheBytes, threads: Swift.max(1, threads),
                          profile: profile, im2colFloats: 8 << 20, bf16Attention: nil, ignored: ignored,
                          winogradPerCallTiles: perCallTiles, fp32NarrowGEMM: narrow)
    }

    /// The plan with no settings: every choice from cpuid, all CPUs.
    public static let defaults = from(environment: [:], threads: ProcessInfo.processInfo.activeProcessorCount)

    /// One line: "isa avx512, fp32 gemm onednn (narrow onednn), openblas COOPERLAKE (cpu features), winograd auto
    /// (cache 384 MiB), bf16 gemm native, 2 threads, profile off".
    public var summary: String {
        "isa \(isa), fp32 gemm \(FP32GEMM.effective(fp32GEMM).rawValue) (narrow \(FP32GEMM.effective(fp32NarrowGEMM).rawValue)), openblas \(openblasCore ?? "own choice") (\(openblasCoreSource)), "
            + "winograd \(winograd.rawValue) (cache \(winogradCacheBytes >> 20) MiB), bf16 gemm \(bf16Native ? "native" : "portable"), "
            + "\(threads) thread\(threads == 1 ? "" : "s"), profile \(profile.rawValue)"
    }

    /// The plain-language line for `sdedit info`: whether the kernels are this CPU's fast path, or a
    /// fallback and roughly how much slower. The factor is rough, from vector width alone: fp32
    /// lanes per instruction, doubled by FMA (SSE2 4, AVX2 8×2, AVX-512 16×2), an upper bound for
    /// compute-bound kernels; memory-bound ops lose less, and cores that split 512-bit vectors into
    /// two 256-bit halves (AMD Zen 4) gain little from AVX-512 over AVX2.
    public var kernelsLine: String {
        let best = CPU.best
        if isa == best {
            return best == .generic
                ? "kernels: SSE2 (this CPU has no AVX2/FMA: about 4× slower than on an AVX2 CPU, a rough factor from vector width)"
                : "kernels: \(isa.displayName) (fast path for this CPU)"
        }
        let factor = best.flopsPerInstruction / isa.flopsPerInstruction
        return "kernels: \(isa.displayName) fallback (about \(factor)× slower than this CPU's fast path, \(best.displayName); "
            + "a rough factor from vector width)"
    }
}

extension KernelISA {
    /// The name users know: SSE2, AVX2, AVX-512.
    public var displayName: String {
        switch self {
        case .generic: return "SSE2"
        case .avx2: return "AVX2"
        case .avx512: return "AVX-512"
        }
    }

    /// fp32 multiply-adds' flops per vector instruction: lanes, ×2 with FMA (SSE2 has none).
    var flopsPerInstruction: Int {
        switch self {
        case .generic: return 4
        case .avx2: return 16
        case .avx512: return 32
        }
    }
}
