// SIMD transcendental functions for the elementwise kernels (softmax exp, GELU erf, SiLU sigmoid).
// exp: Cephes expf range reduction + degree-6 polynomial (≤ 2 ulp on [-87, 88]).
// erf: Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), the same formula ATen's Vectorized<float>::erf uses.

public typealias Vec = SIMD16<Float>
public typealias VecI = SIMD16<Int32>

@inline(__always)
public func vexp(_ input: Vec) -> Vec {
    var x = input.clamped(lowerBound: Vec(repeating: -87.3365), upperBound: Vec(repeating: 88.3762626647949))
    var fx = (x * 1.44269504088896341 + 0.5).rounded(.down)
    x = x - fx * 0.693359375
    x = x + fx * 2.12194440e-4
    let z = x * x
    var y: Vec = Vec(repeating: 1.9875691500e-4)
    y = y * x + 1.3981999507e-3
    y = y * x + 8.3334519073e-3
    y = y * x + 4.1665795894e-2
    y = y * x + 1.6666665459e-1
    y = y * x + 5.0000001201e-1
    y = y * z + x + 1
    // 2^fx by building the exponent bits.
    fx = fx.clamped(lowerBound: Vec(repeating: -126), upperBound: Vec(repeating: 127))
    let e = (VecI(fx) &+ 127) &<< 23
    return y * unsafeBitCast(e, to: Vec.self)
}

@inline(__always)
public func verf(_ x: Vec) -> Vec {
    let a = x.replacing(with: -x, where: x .< 0)
    let t = 1 / (a * 0.3275911 + 1)
    var p = Vec(repeating: 1.061405429)
    p = p * t - 1.453152027
    p = p * t + 1.421413741
    p = p * t - 0.284496736
    p = p * t + 0.254829592
    p = p * t
    let r = 1 - p * vexp(-a * a)
    return r.replacing(with: -r, where: x .< 0)
}

@inline(__always)
public func vsigmoid(_ x: Vec) -> Vec { 1 / (1 + vexp(-x)) }

/// Exact (erf) GELU: 0.5·x·(1 + erf(x/√2)).
@inline(__always)
public func vgelu(_ x: Vec) -> Vec {
    let e: Vec = verf(x * Float(0.7071067811865476))
    let h: Vec = x * Float(0.5)
    return h * (e + Float(1))
}

/// Apply a SIMD function over a buffer, scalar-padded tail.
@inline(__always)
func mapSIMD(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Vec) -> Vec) {
    var i = 0
    while i + 16 <= n {
        let v = UnsafeRawPointer(src + i).loadUnaligned(as: Vec.self)
        UnsafeMutableRawPointer(dst + i).storeBytes(of: f(v), as: Vec.self)
        i += 16
    }
    if i < n {
        var v = Vec(repeating: 0)
        for j in 0..<(n - i) { v[j] = src[i + j] }
        let r = f(v)
        for j in 0..<(n - i) { dst[i + j] = r[j] }
    }
}
