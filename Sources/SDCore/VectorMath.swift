// SIMD transcendental functions for the elementwise kernels (softmax exp, GELU erf, SiLU sigmoid).
// exp: Cephes expf range reduction + degree-6 polynomial (≤ 2 ulp on [-87, 88]).
// erf: Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), the same formula ATen's Vectorized<float>::erf uses.

public typealias Vec = SIMD16<Float>
public typealias VecI = SIMD16<Int32>

@inline(__always)
public func vexp(_ input: Vec) -> Vec {
    let x0 = pointwiseMin(pointwiseMax(input, Vec(repeating: -87.3365)), Vec(repeating: 88.3762626647949))
    // n = round(x·log2 e) by the 1.5·2²³ trick: the sum's low mantissa bits hold n, and it stays in
    // vector registers (Swift's generic SIMD Float→Int conversion is scalarised).
    let magic = Vec(repeating: 12582912)
    let t = magic.addingProduct(x0, Vec(repeating: 1.44269504088896341))
    let n = t - magic
    var x = x0.addingProduct(n, Vec(repeating: -0.693359375))
    x = x.addingProduct(n, Vec(repeating: 2.12194440e-4))
    let z = x * x
    var y: Vec = Vec(repeating: 1.9875691500e-4)
    y = Vec(repeating: 1.3981999507e-3).addingProduct(y, x)
    y = Vec(repeating: 8.3334519073e-3).addingProduct(y, x)
    y = Vec(repeating: 4.1665795894e-2).addingProduct(y, x)
    y = Vec(repeating: 1.6666665459e-1).addingProduct(y, x)
    y = Vec(repeating: 5.0000001201e-1).addingProduct(y, x)
    y = (x + 1).addingProduct(y, z)
    // 2ⁿ from the integer in t's mantissa: ((bits(t) − bits(magic)) + 127) << 23. n ∈ [−126, 128];
    // n = 128 only for x ≥ 88.38, which the clamp keeps out of reach.
    let bits = unsafeBitCast(t, to: VecI.self) &- 0x4B40_0000
    let scale = unsafeBitCast((bits &+ 127) &<< 23, to: Vec.self)
    return y * scale
}

@inline(__always)
public func verf(_ x: Vec) -> Vec {
    let a = x.replacing(with: -x, where: x .< 0)
    let t = 1 / Vec(repeating: 1).addingProduct(a, Vec(repeating: 0.3275911))
    var p = Vec(repeating: 1.061405429)
    p = Vec(repeating: -1.453152027).addingProduct(p, t)
    p = Vec(repeating: 1.421413741).addingProduct(p, t)
    p = Vec(repeating: -0.284496736).addingProduct(p, t)
    p = Vec(repeating: 0.254829592).addingProduct(p, t)
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
