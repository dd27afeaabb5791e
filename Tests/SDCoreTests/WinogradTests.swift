// Winograd F(4×4, 3×3) and F(2×2, 3×3) against a direct convolution in double, at the input-channel counts of every
// model's 3×3 convs (the channel sum is where the error grows; the map size only sets how many tiles
// there are), against the im2col path's own error on the same data; and the job plan's corners.
@testable import SDCore
import SDTestSupport
import XCTest

final class WinogradTests: XCTestCase {
    /// Direct 3×3 stride-1 padding-1 convolution accumulated in double.
    // x: [N, C, H, W], w: [O, C, 3, 3], b: [O] → [N, O, H, W]
    func direct(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> [Double] {
        let (n, c, h, wd, o) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0])
        var y = [Double](repeating: 0, count: n * o * h * wd)
        x.storage.withUnsafeBufferPointer { px in w.storage.withUnsafeBufferPointer { pw in y.withUnsafeMutableBufferPointer { py in
            for bi in 0..<n { for oi in 0..<o {
                let out = py.baseAddress! + (bi * o + oi) * h * wd
                let bias = b.map { Double($0.storage[oi]) } ?? 0
                for i in 0..<(h * wd) { out[i] = bias }
                for ci in 0..<c {
                    let plane = px.baseAddress! + (bi * c + ci) * h * wd
                    for ky in 0..<3 { for kx in 0..<3 {
                        let k = Double(pw[((oi * c + ci) * 3 + ky) * 3 + kx])
                        for oy in 0..<h {
                            let iy = oy + ky - 1
                            if iy < 0 || iy >= h { continue }
                            let lo = max(0, 1 - kx), hi = min(wd, wd + 1 - kx)
                            let row = plane + iy * wd + kx - 1, dst = out + oy * wd
                            for ox in lo..<hi { dst[ox] += k * Double(row[ox]) }
                        }
                    } }
                }
            } }
        } } }
        return y
    }

    /// Weights with PyTorch's default conv init scale (uniform ±1/√(9C)), so outputs are O(1) as in the models.
    func problem(n: Int, c: Int, o: Int, h: Int, w: Int, seed: UInt64) -> (Tensor, Tensor, Tensor) {
        let g = TorchGenerator(seed: seed)
        let x = g.randn([n, c, h, w])
        let bound = 1 / Float(9 * c).squareRoot()
        let wt = g.rand([o, c, 3, 3]).map { (2 * $0 - 1) * bound }
        return (x, wt, g.rand([o]).map { (2 * $0 - 1) * bound })
    }

    func maxError(_ y: Tensor, _ ref: [Double]) -> (abs: Double, peak: Double) {
        var e = 0.0, peak = 0.0
        for i in 0..<ref.count { e = max(e, abs(Double(y.storage[i]) - ref[i])); peak = max(peak, abs(ref[i])) }
        return (e, peak)
    }

    func conv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ mode: Winograd.Mode) -> Tensor {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        KernelPlan.current.winograd = mode
        return x.conv2d(weight: w, bias: b, padding: .symmetric(1))
    }

    /// Input channels of the 3×3 convs: VAE 128/256/512, UNet 320/640/1280 and the up blocks'
    /// concatenations 960/1920/2560, DPT's neck 256, x4's 256/512. Edge tiles cut (18×22).
    func testErrorAgainstDirectAtEveryChannelCount() {
        var worst = 0.0
        for c in [128, 256, 320, 512, 640, 960, 1280, 1920, 2560] {
            let (x, w, b) = problem(n: 1, c: c, o: 8, h: 18, w: 22, seed: UInt64(c))
            let ref = direct(x, w, b)
            let (ew, peak) = maxError(conv(x, w, b, .on), ref)
            let (ei, _) = maxError(conv(x, w, b, .off), ref)
            print(String(format: "winograd C=%4d: max |Δ| %.2e (im2col %.2e) on outputs up to %.2f", c, ew, ei, peak))
            worst = max(worst, ew)
            XCTAssertLessThanOrEqual(Float(ew), Tolerances.winograd.atol, "C=\(c)")
        }
        XCTAssertGreaterThan(worst, 0, "the Winograd path was not taken")
    }

    /// F(2×2, 3×3) at the same channel counts: its error must be within the same row, and no larger
    /// than F(4×4)'s on the same data (its transforms do not scale).
    func testTwoByTwoErrorAgainstDirect() {
        for c in [320, 640, 1280, 1920, 2560] {
            let (x, w, b) = problem(n: 2, c: c, o: 8, h: 16, w: 14, seed: UInt64(c) + 7)
            let ref = direct(x, w, b)
            let (e2, _) = maxError(x.conv2dWinograd(filter: .transform(w, tile: 2), bias: b), ref)
            let (e4, _) = maxError(x.conv2dWinograd(filter: .transform(w, tile: 4), bias: b), ref)
            print(String(format: "winograd F(2x2) C=%4d: max |Δ| %.2e (F(4x4) %.2e)", c, e2, e4))
            XCTAssertGreaterThan(e2, 0)
            XCTAssertLessThanOrEqual(Float(e2), Tolerances.winograd.atol, "C=\(c)")
            XCTAssertLessThanOrEqual(e2, e4, "C=\(c)")
        }
    }

    /// F(2×2)'s transforms on every ISA: odd maps (partial tiles), maps below one tile, batch 2.
    func testTwoByTwoShapesAndISAs() {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        // The last two: rows of whole vector groups of tiles (the shuffled loads and stores) beside partial
        // ones, on the own tile GEMM (40 output rows: 6-row tiles and a tail) and on the BLAS (160 channels).
        for (n, c, o, h, w) in [(2, 16, 24, 13, 9), (1, 8, 4, 3, 5), (1, 3, 70, 1, 1), (2, 32, 16, 17, 16),
                                (1, 64, 40, 19, 70), (2, 160, 8, 12, 66)] {
            let (x, wt, b) = problem(n: n, c: c, o: o, h: h, w: w, seed: UInt64(h * 100 + w + 1))
            let ref = direct(x, wt, b)
            for isa in CPU.available {
                KernelPlan.current.isa = isa
                let (e, _) = maxError(x.conv2dWinograd(filter: .transform(wt, tile: 2), bias: b), ref)
                XCTAssertLessThanOrEqual(Float(e), Tolerances.winograd.atol, "\(n)×\(c)×\(h)×\(w) → \(o) on \(isa)")
            }
        }
    }

    /// The residual add and the ReLU fused into the output transform give the bits of the separate
    /// ops, on both tile sizes, every ISA, whole-vector rows and edges, the own tile GEMM and the BLAS;
    /// and conv2d(residual:relu:) off Winograd is the separate ops.
    func testFusedResidualAndReLUAreTheSeparateOps() {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        for (n, c, o, h, w) in [(2, 64, 64, 19, 70), (1, 64, 64, 32, 32), (2, 96, 160, 12, 66)] {
            let (x, wt, b) = problem(n: n, c: c, o: o, h: h, w: w, seed: UInt64(h * 100 + w + 7))
            let r = TorchGenerator(seed: UInt64(h + w)).randn([n, o, h, w])
            for isa in CPU.available {
                KernelPlan.current.isa = isa
                for tile in [4, 2] {
                    let f = WinogradFilter.transform(wt, tile: tile)
                    var sum = x.conv2dWinograd(filter: f, bias: b)
                    XCTAssertEqual(x.conv2dWinograd(filter: f, bias: b, relu: true).storage, sum.relu().storage, "relu \(tile) \(isa)")
                    sum.add(r)
                    XCTAssertEqual(x.conv2dWinograd(filter: f, bias: b, residual: r).storage, sum.storage, "add \(tile) \(isa)")
                    XCTAssertEqual(x.conv2dWinograd(filter: f, bias: b, residual: r, relu: true).storage, sum.relu().storage,
                                   "add + relu, F(\(tile)×\(tile)) on \(isa), \(n)×\(c)×\(h)×\(w) → \(o)")
                }
            }
            KernelPlan.current = saved
            KernelPlan.current.winograd = .off
            let lw = LayerWeight(wt)
            var sep = x.conv2d(weight: lw, bias: b, padding: .symmetric(1))
            sep.add(r)
            XCTAssertEqual(x.conv2d(weight: lw, bias: b, padding: .symmetric(1), residual: r, relu: true).storage, sep.relu().storage)
        }
    }

    /// The auto rule's tile sizes: a 16² map with CFG (32 4×4 tiles, 128 2×2 tiles) whose F(4×4)
    /// filter cannot be kept takes F(2×2) per call; 32² (128 4×4 tiles) takes F(4×4) per call; 8²
    /// (32 2×2 tiles) is not chosen at all.
    func testTileSizeByMap() {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        KernelPlan.current.winograd = .auto
        KernelPlan.current.winogradCacheBytes = Winograd.cached
        let (_, w, _) = problem(n: 1, c: 64, o: 64, h: 1, w: 1, seed: 5)
        let layer = LayerWeight(w)
        XCTAssertEqual(Winograd.filter(for: layer, x: [2, 64, 16, 16])?.tile, 2)
        XCTAssertEqual(Winograd.filter(for: layer, x: [2, 64, 16, 16])?.tile, 2)
        XCTAssertEqual(Winograd.filter(for: layer, x: [2, 64, 32, 32])?.tile, 4)
        XCTAssertNil(Winograd.filter(for: LayerWeight(w), x: [1, 64, 8, 8]))
        withExtendedLifetime(layer) {}
    }

    /// Every ISA's transforms, batch 2, no bias, a single partial tile row, maps below one tile.
    func testShapesAndISAs() {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        for (n, c, o, h, w) in [(2, 16, 24, 13, 9), (1, 8, 4, 3, 5), (1, 3, 70, 1, 1), (2, 32, 16, 40, 36),
                                (1, 64, 40, 33, 140), (2, 160, 8, 16, 132), (1, 3, 64, 20, 128), (1, 64, 3, 24, 136)] {
            let (x, wt, b) = problem(n: n, c: c, o: o, h: h, w: w, seed: UInt64(h * 100 + w))
            let ref = direct(x, wt, nil)
            for isa in CPU.available {
                KernelPlan.current.isa = isa
                let (e, _) = maxError(conv(x, wt, nil, .on), ref)
                XCTAssertLessThanOrEqual(Float(e), Tolerances.winograd.atol, "\(n)×\(c)×\(h)×\(w) → \(o) on \(isa)")
            }
            let (eb, _) = maxError(conv(x, wt, b, .on), direct(x, wt, b))
            XCTAssertLessThanOrEqual(Float(eb), Tolerances.winograd.atol, "with bias")
        }
    }

    /// The auto rule takes 3×3 stride-1 padding-1 convs of ≥ 64 channels at ≥ 16², nothing else.
    func testChoice() {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        KernelPlan.current.winograd = .auto
        XCTAssertTrue(Winograd.chosen(x: [2, 320, 64, 64], weight: [320, 320, 3, 3], stride: 1, padding: .symmetric(1), groups: 1))
        XCTAssertTrue(Winograd.chosen(x: [2, 1280, 16, 16], weight: [1280, 1280, 3, 3], stride: 1, padding: .symmetric(1), groups: 1))
        XCTAssertFalse(Winograd.chosen(x: [2, 1280, 8, 8], weight: [1280, 1280, 3, 3], stride: 1, padding: .symmetric(1), groups: 1))
        XCTAssertFalse(Winograd.chosen(x: [2, 9, 64, 64], weight: [320, 9, 3, 3], stride: 1, padding: .symmetric(1), groups: 1))
        // Few channels (TAESD's first and last convs) only from a 128² map, on the own tile GEMM.
        XCTAssertTrue(Winograd.chosen(x: [1, 3, 512, 512], weight: [64, 3, 3, 3], stride: 1, padding: .symmetric(1), groups: 1))
        XCTAssertTrue(Winograd.chosen(x: [1, 64, 128, 128], weight: [3, 64, 3, 3], stride: 1, padding: .symmetric(1), groups: 1))
        XCTAssertFalse(Winograd.chosen(x: [1, 32, 64, 64], weight: [32, 32, 3, 3], stride: 1, padding: .symmetric(1), groups: 1))
        XCTAssertFalse(Winograd.chosen(x: [1, 128, 64, 64], weight: [128, 128, 3, 3], stride: 2, padding: .symmetric(1), groups: 1))
        XCTAssertFalse(Winograd.chosen(x: [1, 128, 64, 64], weight: [128, 64, 3, 3], stride: 1, padding: .symmetric(1), groups: 2))
        XCTAssertFalse(Winograd.chosen(x: [1, 128, 64, 64], weight: [128, 128, 1, 1], stride: 1, padding: .symmetric(0), groups: 1))
        KernelPlan.current.winograd = .off
        XCTAssertFalse(Winograd.chosen(x: [2, 320, 64, 64], weight: [320, 320, 3, 3], stride: 1, padding: .symmetric(1), groups: 1))
    }

    /// Past the budget a layer's filter is transformed per call and nothing is kept.
    func testBudget() {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        KernelPlan.current.winograd = .on
        let (x, w, b) = problem(n: 1, c: 16, o: 8, h: 12, w: 12, seed: 3)
        let layer = LayerWeight(w)
        let before = Winograd.cached
        KernelPlan.current.winogradCacheBytes = before
        let perCall = x.conv2d(weight: layer, bias: b, padding: .symmetric(1))
        XCTAssertEqual(Winograd.cached, before)
        let other = LayerWeight(w)
        KernelPlan.current.winogradCacheBytes = before + 36 * 16 * 8 * 4
        let kept = x.conv2d(weight: other, bias: b, padding: .symmetric(1))
        XCTAssertEqual(Winograd.cached, before + 36 * 16 * 8 * 4)
        XCTAssertEqual(perCall.storage, kept.storage)
        withExtendedLifetime(layer) {}
        withExtendedLifetime(other) {}
    }

    /// In auto mode a call over ≥ perCallTiles tiles transforms its filter per call and keeps
    /// nothing; a smaller one keeps its filter from the layer's second call: F(2×2)'s where the map
    /// has ≥ perCallTiles 2×2 tiles, else F(4×4)'s.
    func testKeptOnlyBelowPerCallTiles() {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        KernelPlan.current.winograd = .auto
        let (x, w, b) = problem(n: 1, c: 64, o: 64, h: 16, w: 16, seed: 4)   // 16 tiles
        let before = Winograd.cached
        KernelPlan.current.winogradCacheBytes = before + (64 << 20)
        KernelPlan.current.winogradPerCallTiles = 16
        let big = LayerWeight(w)
        for _ in 0..<2 { _ = x.conv2d(weight: big, bias: b, padding: .symmetric(1)) }
        XCTAssertEqual(Winograd.cached, before)
        KernelPlan.current.winogradPerCallTiles = 17
        let small = LayerWeight(w)
        _ = x.conv2d(weight: small, bias: b, padding: .symmetric(1))
        XCTAssertEqual(Winograd.cached, before)
        _ = x.conv2d(weight: small, bias: b, padding: .symmetric(1))
        XCTAssertEqual(Winograd.cached, before + 16 * 64 * 64 * 4, "64 2×2 tiles: F(2×2) kept")
        XCTAssertEqual(Winograd.filter(for: small, x: x.shape)?.tile, 2)
        KernelPlan.current.winogradPerCallTiles = 65
        let fewer = LayerWeight(w)
        for _ in 0..<2 { _ = x.conv2d(weight: fewer, bias: b, padding: .symmetric(1)) }
        XCTAssertEqual(Winograd.cached, before + (16 + 36) * 64 * 64 * 4, "fewer 2×2 tiles than the rule's: F(4×4) kept")
        XCTAssertEqual(Winograd.filter(for: fewer, x: x.shape)?.tile, 4)
        withExtendedLifetime(big) {}
        withExtendedLifetime(small) {}
        withExtendedLifetime(fewer) {}
    }
}
