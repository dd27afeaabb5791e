// Winograd F(4×4, 3×3) for fp32 3×3 stride-1 convolutions with padding 1 and one group (Lavin &
// Gray 2016; the F(4,3) of ncnn and MNN): 36 multiplies per 4×4 output tile and input channel
// instead of 144; F(2×2, 3×3) (16 instead of 36) where a map has too few 4×4 tiles for a per-call
// filter transform to pay. Per block of tiles of one image (CKernels/kernels_winograd.h):
//   1. the input patches Bᵀ·d·B, written straight into the GEMM's right operand V [α²][C][tiles];
//   2. α² GEMMs U[ξ] [O×C] · V[ξ] [C×tiles] on the fp32 GEMM backend (BLAS.sgemm: OpenBLAS or oneDNN);
//   3. the output tiles Aᵀ·m·A with the bias added, stored into the NCHW output.
// Jobs are (block of tiles across the batch, block of output channels), fixed by the shape; every
// channel sum runs inside one single-threaded GEMM, so the result does not depend on --threads.
import CKernels
import Foundation

/// A conv weight [O, C, 3, 3] transformed for F(m×m, 3×3), m = 4 or 2: U = G·g·Gᵀ as [α²][O][C],
/// α = m + 2.
public final class WinogradFilter: @unchecked Sendable {
    public let outChannels: Int, inChannels: Int
    /// m: the output tile's side (4 or 2).
    public let tile: Int
    /// α²: the transformed points per tile (36 or 16).
    public var points: Int { (tile + 2) * (tile + 2) }
    let values: UnsafeMutableBufferPointer<Float>
    /// Bytes counted against Winograd.cacheBudget (0 for a per-call transform).
    fileprivate var reserved = 0

    // weight: [O, C, 3, 3] → values: [α²][O][C]
    public init(weight: UnsafePointer<Float>, outChannels o: Int, inChannels c: Int, tile: Int = 4) {
        precondition(tile == 4 || tile == 2, "winograd: tile \(tile)")
        (outChannels, inChannels, self.tile) = (o, c, tile)
        values = .allocate(capacity: (tile + 2) * (tile + 2) * o * c)
        let chunk = Swift.max(1, (1 << 16) / Swift.max(1, 9 * c))
        let base = values.baseAddress!
        parallelChunks((o + chunk - 1) / chunk) { r in
            sd_winograd_filter(CPU.isa.rawValue, Int32(tile), weight, o, c, r.lowerBound * chunk, Swift.min(o, r.upperBound * chunk), base)
        }
    }

    /// weight: [O, C, 3, 3]
    public static func transform(_ weight: Tensor, tile: Int = 4) -> WinogradFilter {
        precondition(weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3, "winograd: weight \(weight.shape)")
        return weight.withUnsafeBufferPointer {
            WinogradFilter(weight: $0.baseAddress!, outChannels: weight.shape[0], inChannels: weight.shape[1], tile: tile)
        }
    }

    public var bytes: Int { values.count * MemoryLayout<Float>.size }

    deinit {
        values.deallocate()
        if reserved > 0 { Winograd.release(reserved) }
    }
}

/// When convolutions take the Winograd path, and how much memory its prepared filters may hold.
public enum Winograd {
    public enum Mode: String, Sendable {
        /// Where the shape rule says it is faster than im2col + GEMM.
        case auto
        /// Never (the im2col path: SDEDIT_WINOGRAD=0, the bench's comparison).
        case off
        /// At every 3×3 stride-1 padding-1 fp32 conv (tests: the error of the whole path).
        case on
    }

    /// The recorded plan's rule (KernelPlan.winograd; SDEDIT_WINOGRAD=0|off, 1|on, auto).
    public static var mode: Mode { Backend.plan.winograd }

    /// Whether F(4×4, 3×3) computes this convolution at all: 3×3, stride 1, padding 1, one group.
    public static func applies(weight w: [Int], stride: Int, padding: Padding2D, groups: Int) -> Bool {
        w.count == 4 && w[2] == 3 && w[3] == 3 && stride == 1 && padding == .symmetric(1) && groups == 1
    }

    /// Whether this run takes the Winograd path for x [N, C, H, W] and weight [O, C, 3, 3] by shape.
    /// The auto rule: ≥ 64 channels on both sides, so the tile GEMMs (K = C, M = O) run at the
    /// backend's full rate, and a map of at least 16² (16 tiles per image); 8² maps stay on im2col,
    /// whose batch-folded GEMM is as fast there. Fewer channels on either side (TAESD's 3→64 and
    /// 64→3, the VAE's 3→128 and 128→3 at the image's size) from a 128² map, where the own tile GEMM
    /// (WinogradPlan.ownGemm) takes them and im2col's GEMM with K = 27 or M = 3 runs far below the
    /// FMA rate. A layer whose filter is neither kept nor cheap to transform per call falls back to
    /// im2col (Winograd.filter).
    public static func chosen(x: [Int], weight w: [Int], stride: Int, padding: Padding2D, groups: Int) -> Bool {
        guard mode != .off, applies(weight: w, stride: stride, padding: padding, groups: groups) else { return false }
        if mode == .on { return true }
        return (x[1] >= 64 && w[0] >= 64 && x[2] * x[3] >= 16 * 16)
            || (WinogradPlan.ownGemm(c: x[1], o: w[0]) && x[2] * x[3] >= 128 * 128)
    }

    /// Cap on the bytes of transformed filters kept with their layers (each is 4× its weight):
    /// the recorded plan's (KernelPlan.winogradCacheBytes; SDEDIT_WINOGRAD_CACHE_MB).
    public static var cacheBudget: Int { Backend.plan.winogradCacheBytes }

    /// Let kept filters use `bytes` more: memory a job gave back (the text encoder's pages after a
    /// one-image job's prompt encoding), so its peak RSS does not grow. It joins the recorded plan's
    /// budget, which a test's saved plan puts back.
    public static func grant(_ bytes: Int) {
        if bytes > 0 { Backend.update { $0.winogradCacheBytes += bytes } }
    }
    /// Tiles per call (batch-wide) from which a layer's filter is transformed per call instead of
    /// kept: the transform is ~324 flops per (o, c) pair, the tile GEMMs 72 per pair and tile, so at
    /// 64 tiles it adds ~7 % to a conv that already does ~4× fewer multiplies than im2col. Kept
    /// filters are then the small maps' (16² with CFG, where per call would cost ~14 %), and the
    /// budget is not spent on 64² layers whose per-call transform is ~1 %.
    public static let defaultPerCallTiles = 64
    static var perCallTiles: Int { Backend.plan.winogradPerCallTiles }
    /// The bytes kept, behind a lock: layers on any thread reserve and release them.
    private final class Kept: @unchecked Sendable {
        let lock = NSLock()
        var bytes = 0
    }
    private static let kept = Kept()

    /// Bytes of transformed filters kept with layers now.
    public static var cached: Int { kept.lock.lock(); defer { kept.lock.unlock() }; return kept.bytes }

    static func reserve(_ bytes: Int) -> Bool {
        let budget = cacheBudget
        kept.lock.lock(); defer { kept.lock.unlock() }
        guard kept.bytes + bytes <= budget else { return false }
        kept.bytes += bytes
        return true
    }
    static func release(_ bytes: Int) { kept.lock.lock(); kept.bytes -= bytes; kept.lock.unlock() }

    /// One line for `sdedit info`.
    public static var summary: String {
        switch mode {
        case .off: return "off (SDEDIT_WINOGRAD=0): 3×3 convs on im2col + GEMM"
        case .on: return "F(4×4,3×3) at every 3×3 stride-1 padding-1 fp32 conv (SDEDIT_WINOGRAD=1)"
        case .auto: return "F(4×4,3×3) for fp32 3×3 stride-1 convs of ≥ 64 channels at ≥ 16², F(2×2,3×3) where too few 4×4 tiles "
            + "(SDEDIT_WINOGRAD=0: im2col), few channels (TAESD) also from 128² on sdedit's own tile GEMM; "
            + "filters of reused layers kept up to \(cacheBudget >> 20) MiB"
        }
    }

    /// A layer's Winograd state: its calls so far and the filter it keeps, if any.
    final class Slot: @unchecked Sendable {
        let lock = NSLock()
        var calls = 0
        var filter: WinogradFilter?
    }

    /// Batch-wide m×m tiles of x [N, C, H, W].
    static func tiles(_ x: [Int], _ m: Int) -> Int { x[0] * ((x[2] + m - 1) / m) * ((x[3] + m - 1) / m) }

    /// The layer's transformed filter for a call on x [N, C, H, W], or nil for im2col. A call with
    /// ≥ perCallTiles 4×4 tiles transforms its F(4×4) filter per call (cheap there) and keeps nothing;
    /// below that, from its second call a layer keeps a filter while the budget allows: F(2×2)'s
    /// where the call has ≥ perCallTiles 2×2 tiles (the 16² maps), as it saves more time per byte
    /// kept than F(4×4)'s, 16/36 of the size for most of the gain (docs/notes/winograd.md), else
    /// F(4×4)'s; past the budget a call with
    /// ≥ perCallTiles 2×2 tiles transforms an F(2×2) filter per call (2.25× fewer multiplies than
    /// im2col, 16/36 of F(4×4)'s filter to write and stream); else the call stays on im2col.
    static func filter(for weight: LayerWeight, x: [Int]) -> WinogradFilter? {
        let o = weight.shape[0], c = weight.shape[1]
        let tiles = tiles(x, 4)
        let keep = mode != .on && Winograd.tiles(x, 2) >= perCallTiles ? 2 : 4
        let bytes = (keep + 2) * (keep + 2) * o * c * MemoryLayout<Float>.size
        let build = { (m: Int) in weight.withFloats { WinogradFilter(weight: $0.baseAddress!, outChannels: o, inChannels: c, tile: m) } }
        let slot = weight.prepared("winograd.f43") { Slot() }
        slot.lock.lock()
        defer { slot.lock.unlock() }
        slot.calls += 1
        if let f = slot.filter { return f }
        if (slot.calls >= 2 && tiles < perCallTiles) || mode == .on, reserve(bytes) {
            slot.filter = build(keep)
            slot.filter?.reserved = bytes
            if slot.filter == nil { release(bytes) }
            return slot.filter
        }
        if tiles >= perCallTiles || mode == .on { return build(4) }
        return Winograd.tiles(x, 2) >= perCallTiles ? build(2) : nil
    }
}

extension Tensor {
    /// F.conv2d(x, weight, bias, stride=1, padding=1) with the weight transformed for F(m×m, 3×3);
    /// `residual` added and ReLU applied in the output transform, with the bits of the separate ops.
    // x: self [N, C, H, W]; filter: [α²][O][C]; bias: [O]; residual: [N, O, H, W] → [N, O, H, W]
    public func conv2dWinograd(filter u: WinogradFilter, bias: Tensor?, residual: Tensor? = nil, relu: Bool = false) -> Tensor {
        precondition(rank == 4 && shape[1] == u.inChannels, "conv2d winograd: input \(shape), filter for \(u.inChannels) channels")
        precondition(bias == nil || bias!.count == u.outChannels, "conv2d winograd: bias \(bias!.shape)")
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3], o = u.outChannels
        precondition(residual == nil || residual!.shape == [n, o, h, w], "conv2d winograd: residual \(residual!.shape)")
        let mt = u.tile, points = u.points, m32 = Int32(mt)
        let tiles = ((h + mt - 1) / mt) * ((w + mt - 1) / mt)
        let plan = WinogradPlan(n: n, c: c, o: o, tiles: tiles, points: points)
        let isa = CPU.isa.rawValue
        let ub = UnsafePointer(u.values.baseAddress!)
        return Tensor(shape: [n, o, h, w]) { ob in
            withUnsafeBufferPointer { px in (bias?.storage).withUnsafeOptionalPointer { pbias in
              (residual?.storage).withUnsafeOptionalPointer { pres in
                parallelChunks(plan.jobs) { jobs in
                    let v = UnsafeMutablePointer<Float>.allocate(capacity: points * c * plan.blockTiles)
                    // The own GEMM runs over whole vectors: the columns past a short last block are zeros.
                    if plan.ownGemm { v.initialize(repeating: 0, count: points * c * plan.blockTiles) }
                    let m = UnsafeMutablePointer<Float>.allocate(capacity: points * plan.blockChannels * plan.blockTiles)
                    defer { v.deallocate(); m.deallocate() }
                    for job in jobs {
                        let (t0, t1, o0, o1) = plan.job(job)
                        let ldt = plan.blockTiles, oc = o1 - o0
                        // A block's columns run over the images' tiles in turn (image b's tiles are the
                        // batch-wide tiles b·tiles…), so one GEMM per ξ covers the whole block.
                        for (b, s0, s1, col) in plan.segments(t0, t1) {
                            sd_winograd_input(isa, m32, px.baseAddress! + b * c * h * w, c, h, w, s0, s1, v + col, ldt)
                        }
                        for xi in 0..<points {
                            if plan.ownGemm {
                                sd_winograd_gemm(isa, ub + (xi * o + o0) * c, c, v + xi * c * ldt, ldt, m + xi * oc * ldt, ldt,
                                                 oc, c, (t1 - t0 + 15) / 16 * 16)
                            } else {
                                BLAS.sgemm(m: oc, n: t1 - t0, k: c, a: ub + (xi * o + o0) * c, lda: c, b: v + xi * c * ldt,
                                           ldb: ldt, c: m + xi * oc * ldt, ldc: ldt)
                            }
                        }
                        for (b, s0, s1, col) in plan.segments(t0, t1) {
                            sd_winograd_output(isa, m32, m + col, oc * ldt, ldt, oc, h, w, s0, s1, pbias.map { $0 + o0 },
                                               pres.map { $0 + (b * o + o0) * h * w }, relu ? 1 : 0,
                                               ob.baseAddress! + (b * o + o0) * h * w)
                        }
                    }
                }
            } } }
        }
    }
}

/// How a Winograd convolution is cut into jobs: blocks of up to 128 tiles taken across the batch
/// (fewer where the per-thread scratch α²·(C + O)·tiles would pass 16 MiB), and, where there are
/// fewer than 4 blocks, blocks of output channels as well, so two or four threads have work. Each
/// tile GEMM reads (packs) its whole filter slice, so the more tiles per GEMM the less that costs:
/// at 16² and 32² one image has only 16 / 64 tiles, and the CFG batch's two images share one GEMM.
/// Fixed by the shape.
struct WinogradPlan {
    let n: Int, o: Int, tiles: Int
    let blockTiles: Int, blocks: Int, blockChannels: Int, channelBlocks: Int
    var jobs: Int { blocks * channelBlocks }

    /// Whether the tile GEMMs run on sd_winograd_gemm (few channels) rather than the BLAS.
    let ownGemm: Bool

    init(n: Int, c: Int, o: Int, tiles: Int, points: Int = 36) {
        (self.n, self.o, self.tiles) = (n, o, tiles)
        ownGemm = WinogradPlan.ownGemm(c: c, o: o)
        let total = n * tiles
        let want = Swift.max(16, Swift.min(128, (4 << 20) / (points * (c + o)) / 16 * 16))
        let blocks = Swift.max(1, (total + want - 1) / want)
        // Even blocks, rounded up to whole vectors (16 floats: the widest ISA's lanes).
        blockTiles = ((total + blocks - 1) / blocks + 15) / 16 * 16
        self.blocks = (total + blockTiles - 1) / blockTiles
        var split = 1
        while self.blocks * split < 4 && o / (split * 2) >= 32 { split *= 2 }
        channelBlocks = split
        blockChannels = (o + split - 1) / split
    }

    /// The own tile GEMM's shapes: up to 64 channels on both sides (TAESD), or a few (≤ 16) on one
    /// side and up to 128 on the other (the VAEs' first and last convs). At 128 → 128 the BLAS's
    /// packed GEMM is faster again.
    static func ownGemm(c: Int, o: Int) -> Bool {
        Swift.max(c, o) <= 64 || (Swift.min(c, o) <= 16 && Swift.max(c, o) <= 128)
    }

    /// (batch-wide tiles t0..<t1, output channels o0..<o1) of job j.
    func job(_ j: Int) -> (Int, Int, Int, Int) {
        let cb = j % channelBlocks, blk = j / channelBlocks
        let t0 = blk * blockTiles, o0 = cb * blockChannels
        return (t0, Swift.min(n * tiles, t0 + blockTiles), o0, Swift.min(o, o0 + blockChannels))
    }

    /// The batch-wide tiles t0..<t1 per image: (image, its tiles s0..<s1, first column in the block).
    func segments(_ t0: Int, _ t1: Int) -> [(Int, Int, Int, Int)] {
        var out: [(Int, Int, Int, Int)] = []
        var t = t0
        while t < t1 {
            let b = t / tiles, end = Swift.min(t1, (b + 1) * tiles)
            out.append((b, t - b * tiles, end - b * tiles, t - t0))
            t = end
        }
        return out
    }
}
