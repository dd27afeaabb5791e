// The same bits for any --threads (issue 11, item 6): work is split over output rows, channels,
// heads and query ranges, never over a reduction, so every output element is computed by the same
// sequence of operations whatever the thread count. Checked for 1–3 threads on every path that
// partitions differently: banded and batch-folded conv, Winograd conv (by tiles and by output
// channels), 1×1 conv, linear, attention split by head and by query range (fewer heads than
// threads, or a head count the threads do not divide), GroupNorm, softmax, on every ISA this CPU has;
// and the bf16 GEMM paths (native oneDNN where the CPU has it, portable elsewhere).
import SDCore
import SDTestSupport
import XCTest

final class ThreadInvarianceTests: XCTestCase {
    func outputs() -> [String: Tensor] {
        let g = TorchGenerator(seed: 7)
        let x = g.randn([2, 24, 19, 21]), w = g.randn([16, 24, 3, 3]), b = g.randn([16])
        let small = g.randn([2, 24, 9, 7])
        let lx = g.randn([3, 130, 48]), lw = g.randn([40, 48]), lb = g.randn([40])
        let q = g.randn([2, 150, 4 * 16]), k = g.randn([2, 150, 4 * 16]), v = g.randn([2, 150, 4 * 16])
        let q1 = g.randn([1, 300, 40]), k1 = g.randn([1, 200, 40]), v1 = g.randn([1, 200, 24])
        let q5 = g.randn([1, 150, 5 * 16]), k5 = g.randn([1, 90, 5 * 16]), v5 = g.randn([1, 90, 5 * 16])
        let tall = g.randn([1, 600, 48])   // 2 GEMM tiles along M
        let wide = g.randn([64, 24, 3, 3]), big = g.randn([1, 24, 61, 58])   // Winograd: 2 channel blocks; 2 tile blocks
        let w16 = LayerWeight(w, precision: .bf16), lw16 = LayerWeight(lw, precision: .bf16)
        return [
            "linear tiled": tall.linear(weight: lw, bias: lb),
            "bf16 linear tiled": tall.linear(weight: lw16, bias: lb),
            "bf16 conv banded": x.conv2d(weight: w16, bias: b, padding: .symmetric(1)),
            "bf16 conv folded": small.conv2d(weight: w16, bias: b, padding: .symmetric(1)),
            "conv banded": x.conv2d(weight: w, bias: b, padding: .symmetric(1)),
            "conv stride 2": x.conv2d(weight: w, bias: b, stride: 2, padding: .symmetric(1)),
            "conv folded": small.conv2d(weight: w, bias: b, padding: .symmetric(1)),
            "conv winograd": winograd { x.conv2d(weight: w, bias: b, padding: .symmetric(1)) },
            "conv winograd channel blocks": winograd { x.conv2d(weight: wide, bias: nil, padding: .symmetric(1)) },
            "conv winograd tile blocks": winograd { big.conv2d(weight: w, bias: b, padding: .symmetric(1)) },
            "conv 1x1": x.conv2d(weight: g.randn([16, 24, 1, 1]), bias: b),
            "linear": lx.linear(weight: lw, bias: lb),
            "attention by head": Tensor.attention(q: q, k: k, v: v, heads: 4),
            "attention causal": Tensor.attention(q: q, k: k, v: v, heads: 4, causal: true),
            "attention by query range": Tensor.attention(q: q1, k: k1, v: v1, heads: 1),
            "attention 5 heads by query range": Tensor.attention(q: q5, k: k5, v: v5, heads: 5),
            "groupNorm silu": x.groupNorm(groups: 4, weight: nil, bias: nil, eps: 1e-5, silu: true),
            "softmax": lx.softmax(),
        ]
    }

    func winograd(_ body: () -> Tensor) -> Tensor {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        KernelPlan.current.winograd = .on
        return body()
    }

    func testSameBitsForAnyThreadCount() {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        KernelPlan.current.im2colFloats = 2 * 24 * 9 * 21 * 3   // bands of 3 output rows: several bands per thread
        for isa in CPU.available {
            KernelPlan.current.isa = isa
            KernelPlan.current.threads = 1
            let one = outputs()
            for n in [2, 3] {
                KernelPlan.current.threads = n
                for (name, t) in outputs() {
                    let ref = one[name]!.storage
                    let differing = zip(t.storage, ref).filter { $0.0.bitPattern != $0.1.bitPattern }.count
                    XCTAssertEqual(differing, 0, "\(name): \(differing) of \(ref.count) values differ between 1 and \(n) threads (\(isa))")
                }
            }
        }
    }
}
