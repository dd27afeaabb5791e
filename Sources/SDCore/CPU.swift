// What the CPU that runs us can do, read once from cpuid, and the kernel ISA chosen from it.
// Nothing here depends on the build machine: every SIMD kernel in CKernels is compiled for each ISA
// and picked at run time; the kernel plan (KernelPlan.isa) may cap the choice below the best.
import CKernels
import Foundation

public enum KernelISA: Int32, CaseIterable, Comparable, CustomStringConvertible, Sendable {
    case generic = 0, avx2 = 1, avx512 = 2

    public init?(name: String) {
        guard let isa = KernelISA.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = isa
    }
    public var description: String { String(cString: sd_isa_name(rawValue)) }
    public static func < (a: KernelISA, b: KernelISA) -> Bool { a.rawValue < b.rawValue }
}

public enum CPU {
    static let info = sd_cpu().pointee

    /// The highest kernel ISA this CPU and OS support.
    public static let best = KernelISA(rawValue: sd_isa_best()) ?? .generic

    /// Every kernel ISA this CPU can run, lowest first (tests run each of them).
    public static var available: [KernelISA] { KernelISA.allCases.filter { $0 <= best } }

    /// The ISA the kernels use: the recorded plan's (the best one unless the plan caps it).
    public static var isa: KernelISA { Backend.plan.isa }

    public static var vendor: String { withUnsafeBytes(of: info.vendor) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
    public static var brand: String { withUnsafeBytes(of: info.brand) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
    public static var family: Int { Int(info.family) }
    public static var model: Int { Int(info.model) }

    /// The vector and matrix extensions that matter to us, as cpuid names them.
    public static var features: [String] {
        let flags: [(String, Int32)] = [
            ("avx2", info.avx2), ("fma", info.fma), ("f16c", info.f16c), ("avx512f", info.avx512f),
            ("avx512bw", info.avx512bw), ("avx512dq", info.avx512dq), ("avx512vl", info.avx512vl),
            ("avx512_vnni", info.avx512_vnni), ("avx512_bf16", info.avx512_bf16),
            ("amx_tile", info.amx_tile), ("amx_bf16", info.amx_bf16), ("amx_int8", info.amx_int8),
        ]
        return flags.filter { $0.1 != 0 }.map(\.0)
    }

    /// Native bf16 arithmetic (AVX512_BF16 dot products or AMX tiles).
    public static var hasNativeBF16: Bool { info.avx512_bf16 != 0 || info.amx_bf16 != 0 }
    /// AMX bf16 tiles the OS lets us use (XCR0 tile state; a hypervisor may hide them).
    public static var hasAMX: Bool { info.amx_bf16 != 0 }

    /// Whether bf16 GEMMs beat fp32 ones on this core, from its features and vendor (a fixed rule,
    /// never a timing, so `--precision auto` gives the same image on every run): AMX, yes; AVX512-BF16
    /// on AMD Zen 4/5, yes (its FMAs run 512-bit vectors as two 256-bit halves while a VDPBF16PS does
    /// twice the multiplies); AVX512-BF16 on Intel without AMX (Cooper Lake, or a Xeon whose AMX the
    /// hypervisor hides), no: its two 512-bit FMA ports outrun VDPBF16PS. The measurements behind the
    /// rule are in docs/benchmarks.md ("Why the kernel rules are what they are").
    public static var bf16OutrunsFP32: Bool { hasAMX || (info.avx512_bf16 != 0 && vendor == "AuthenticAMD") }

    /// One line: "AMD EPYC (family 25 model 1, AuthenticAMD): avx2 fma f16c".
    public static var summary: String {
        "\(brand.isEmpty ? "unknown CPU" : brand) (family \(family) model \(model), \(vendor)): \(features.joined(separator: " "))"
    }
}
