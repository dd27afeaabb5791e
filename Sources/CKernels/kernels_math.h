// Vector types and math shared by the per-ISA kernels (kernels_impl.h) and the AMX attention
// (attention_bf16.c): the includer sets VW (floats per vector) and SUFFIX, under its target attribute.
#include <math.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SUFFIX)
#define INL static inline __attribute__((always_inline))

typedef float FN(vf_t) __attribute__((vector_size(VW * 4)));
typedef int FN(vi_t) __attribute__((vector_size(VW * 4)));
#define vf FN(vf_t)
#define vi FN(vi_t)

INL vf FN(ld)(const float *p) { vf v; __builtin_memcpy(&v, p, sizeof v); return v; }
INL void FN(st)(float *p, vf v) { __builtin_memcpy(p, &v, sizeof v); }
// A loop, not `v + x`: x + 0 is no identity in IEEE arithmetic (-0 + 0 = +0), so that would cost an add.
INL vf FN(splat)(float x) { vf v; for (int i = 0; i < VW; i++) v[i] = x; return v; }
INL float FN(hmax)(vf v) { float m = v[0]; for (int i = 1; i < VW; i++) m = v[i] > m ? v[i] : m; return m; }
INL float FN(hsum)(vf v) { float s = v[0]; for (int i = 1; i < VW; i++) s += v[i]; return s; }

// exp: Cephes expf range reduction + degree-6 polynomial (≤ 2 ulp on [-87, 88]), as VectorMath.swift.
INL vf FN(vexp)(vf x) {
    x = __builtin_elementwise_min(__builtin_elementwise_max(x, FN(splat)(-87.3365f)), FN(splat)(88.3762626647949f));
    const vf magic = FN(splat)(12582912.0f);
    vf t = magic + x * 1.44269504088896341f;
    vf n = t - magic;
    vf r = x + n * -0.693359375f;
    r = r + n * 2.12194440e-4f;
    vf z = r * r;
    vf y = FN(splat)(1.9875691500e-4f);
    y = 1.3981999507e-3f + y * r;
    y = 8.3334519073e-3f + y * r;
    y = 4.1665795894e-2f + y * r;
    y = 1.6666665459e-1f + y * r;
    y = 5.0000001201e-1f + y * r;
    y = (r + 1.0f) + y * z;
    vi bits = (vi)t - 0x4B400000;
    vf scale = (vf)((bits + 127) << 23);
    return y * scale;
}

// exp(x - m), exactly 0 where x is -inf (masked), so masked keys never contribute.
INL vf FN(vexp_masked)(vf x, float m) {
    vi masked = x == FN(splat)(-INFINITY);
    vf e = FN(vexp)(x - m);
    return (vf)((vi)e & ~masked);
}

// erf: Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), the formula ATen's Vectorized<float>::erf uses.
INL vf FN(verf)(vf x) {
    vi neg = x < FN(splat)(0);
    vf a = (vf)((vi)x & 0x7FFFFFFF);
    vf t = 1.0f / (1.0f + a * 0.3275911f);
    vf p = FN(splat)(1.061405429f);
    p = -1.453152027f + p * t;
    p = 1.421413741f + p * t;
    p = -0.284496736f + p * t;
    p = 0.254829592f + p * t;
    p = p * t;
    vf r = 1.0f - p * FN(vexp)(-a * a);
    return (vf)((vi)r ^ (neg & (int)0x80000000));
}
INL vf FN(vsigmoid)(vf x) { return 1.0f / (1.0f + FN(vexp)(-x)); }
INL vf FN(vgelu)(vf x) { vf e = FN(verf)(x * 0.7071067811865476f); return (x * 0.5f) * (e + 1.0f); }
