// torch-compatible CPU random numbers: MT19937 seeded like torch.Generator("cpu").manual_seed(n),
// torch.rand / torch.randn float32 bit-exact with torch 2.15 on x86-64.
// Ports: ATen/core/MT19937RNGEngine.h, ATen/core/DistributionsHelper.h, ATen/core/TransformationHelper.h,
// ATen/native/cpu/DistributionTemplates.h (normal_fill / NormalFill16 AVX2) and the Cephes/Pommier
// polynomials of ATen/native/cpu/avx_mathfun.h with the FMA contractions of the shipped GCC build
// (spec §7.4). Swift's `addingProduct` is a fused multiply-add, so the contractions are reproduced exactly.

public final class TorchGenerator {
    private var state = [UInt32](repeating: 0, count: 624)
    private var left = 1
    private var next = 0
    /// Second Box–Muller value cached by normal_distribution<double> (the n < 16 path).
    private var cachedNormal: Double?
    public private(set) var seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        manualSeed(seed)
    }

    /// torch.Generator.manual_seed: only the low 32 bits seed MT19937.
    public func manualSeed(_ seed: UInt64) {
        self.seed = seed
        state[0] = UInt32(truncatingIfNeeded: seed)
        for j in 1..<624 {
            state[j] = 1_812_433_253 &* (state[j - 1] ^ (state[j - 1] >> 30)) &+ UInt32(j)
        }
        left = 1
        next = 0
        cachedNormal = nil
    }

    private func twist() {
        @inline(__always) func mix(_ u: UInt32, _ v: UInt32) -> UInt32 {
            ((u & 0x8000_0000) | (v & 0x7fff_ffff)) >> 1 ^ ((v & 1) != 0 ? 0x9908_b0df : 0)
        }
        for j in 0..<(624 - 397) { state[j] = state[j + 397] ^ mix(state[j], state[j + 1]) }
        for j in (624 - 397)..<623 { state[j] = state[j - 227] ^ mix(state[j], state[j + 1]) }
        state[623] = state[396] ^ mix(state[623], state[0])
        left = 624
        next = 0
    }

    /// One tempered 32-bit MT19937 output (at::mt19937::operator()).
    public func nextUInt32() -> UInt32 {
        left -= 1
        if left == 0 { twist() }
        var y = state[next]
        next += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// CPUGeneratorImpl::random64: first draw is the high half.
    public func nextUInt64() -> UInt64 {
        let hi = UInt64(nextUInt32()), lo = UInt64(nextUInt32())
        return hi << 32 | lo
    }

    /// uniform_real_distribution<float>: 24 random bits · 2⁻²⁴.
    @inline(__always)
    func uniformFloat() -> Float { Float(nextUInt32() & 0xff_ffff) * 0x1p-24 }

    /// uniform_real_distribution<double>: 53 random bits of random64 · 2⁻⁵³.
    func uniformDouble() -> Double { Double(nextUInt64() & ((1 << 53) - 1)) * 0x1p-53 }

    /// torch.rand(shape, generator=g) in float32.
    public func rand(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape) { out in for i in 0..<out.count { out[i] = uniformFloat() } }
    }

    /// torch.randn(shape, generator=g) in float32.
    public func randn(_ shape: [Int]) -> Tensor {
        let n = Tensor.count(shape)
        if n < 16 {
            // normal_distribution<double>, one value per element, second value cached.
            return Tensor(shape: shape) { out in for i in 0..<n { out[i] = Float(normalDouble()) } }
        }
        return Tensor(shape: shape) { out in
            let d = out.baseAddress!
            for i in 0..<n { d[i] = uniformFloat() }
            var i = 0
            while i + 16 <= n { normalFill16(d + i); i += 16 }
            if n % 16 != 0 {
                // Tail: redo the last 16 values from 16 fresh uniforms.
                let tail = d + (n - 16)
                for j in 0..<16 { tail[j] = uniformFloat() }
                normalFill16(tail)
            }
        }
    }

    private func normalDouble() -> Double {
        if let c = cachedNormal { cachedNormal = nil; return c }
        let u1 = uniformDouble(), u2 = uniformDouble()
        let r = (-2.0 * log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = r * sin(theta)
        return r * cos(theta)
    }
}

/// Box–Muller over one block of 16 uniforms in place: element j pairs with j+8 (cos → j, sin → j+8).
func normalFill16(_ d: UnsafeMutablePointer<Float>) {
    for j in 0..<8 {
        let u1 = 1 - d[j]
        let u2 = d[j + 8]
        let radius = (-2 * avx2Log(u1)).squareRoot()
        let theta = Float(6.2831855) * u2
        let (s, c) = avx2SinCos(theta)
        d[j] = radius * c
        d[j + 8] = radius * s
    }
}

@inline(__always) func fma(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }

/// log256_ps from avx_mathfun.h, lane by lane, with GCC's FMA contractions.
func avx2Log(_ input: Float) -> Float {
    let x = max(input, Float.leastNormalMagnitude)  // 1.17549435e-38
    let bits = x.bitPattern
    var e = Float(Int32(bitPattern: bits >> 23) - 127) + 1
    var m = Float(bitPattern: (bits & ~0x7f80_0000) | Float(0.5).bitPattern)
    if m < 0.707106781186547524 {
        e -= 1
        m = (m - 1) + m
    } else {
        m -= 1
    }
    let z = m * m
    var y: Float = 7.0376836292e-2
    for p: Float in [-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                     -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1] {
        y = fma(y, m, p)
    }
    let t1 = y * m
    y = fma(t1, z, e * -2.12194440e-4)
    y = fma(z, -0.5, y)
    return fma(e, 0.693359375, m + y)
}

/// sincos256_ps from avx_mathfun.h for θ ≥ 0, with GCC's FMA contractions. Returns (sin, cos).
func avx2SinCos(_ theta: Float) -> (Float, Float) {
    var y = theta * 1.27323954473516
    let j = (Int32(y) &+ 1) & ~1
    y = Float(j)
    var x = fma(y, -0.78515625, theta)
    x = fma(y, -2.4187564849853515625e-4, x)
    x = fma(y, -3.77489497744594108e-8, x)
    let z = x * x
    var c = fma(2.443315711809948e-5, z, -1.388731625493765e-3)
    c = fma(c, z, 4.166664568298827e-2)
    c = c * z
    c = fma(c, z, -(z * 0.5))
    c = c + 1
    var s = fma(-1.9515295891e-4, z, 8.3321608736e-3)
    s = fma(s, z, -1.6666654611e-1)
    s = s * z
    s = fma(s, x, x)
    var sinV = (j & 2) == 0 ? s : c
    var cosV = (j & 2) == 0 ? c : s
    if (j & 4) != 0 { sinV = -sinV }
    if ((j &- 2) & 4) == 0 { cosV = -cosV }
    return (sinV, cosV)
}

import Foundation
