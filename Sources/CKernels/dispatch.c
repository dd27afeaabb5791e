// Run-time choice among the per-ISA kernel variants (kernels_<isa>.c).
#include "sd_kernels.h"
#include "kernels_params.h"
#include <xmmintrin.h>

#define DECLARE(sfx)                                                                                     \
    void sd_attention_head##sfx(const float *, const float *, const float *, float *, int, int, int, int, \
                                long, long, long, long, float, int, int, int, int, float *);              \
    void sd_softmax_rows##sfx(float *, long, long);                                                       \
    void sd_unary##sfx(int, const float *, float *, long);                                               \
    void sd_geglu_rows##sfx(const float *, float *, long, long);                                         \
    void sd_groupnorm_group##sfx(float *, long, long, const float *, const float *, float, int);
DECLARE(_generic)
DECLARE(_avx2)
DECLARE(_avx512)

size_t sd_attention_scratch_floats(int tk, int dq, int dv) {
    size_t nkb = ((size_t)tk + SD_ATTN_BK - 1) / SD_ATTN_BK;
    return nkb * (size_t)dq * SD_ATTN_BK + SD_ATTN_BQ * SD_ATTN_BK + (size_t)SD_ATTN_BQ * (size_t)dv + 2 * SD_ATTN_BQ + (size_t)SD_ATTN_BQ * (size_t)dq + (size_t)tk * (size_t)dv;
}

// The caller passes an ISA no higher than sd_isa_best(); clamp anyway so a stale value cannot fault.
static int clamp(int isa) { int best = sd_isa_best(); return isa > best ? best : isa; }

void sd_attention_head(int isa, const float *q, const float *k, const float *v, float *out, int tq, int tk,
                       int dq, int dv, long qs, long ks, long vs, long os, float alpha, int causal, int round_p,
                       int q0, int q1, float *scratch) {
    // Flush denormals to zero while the kernel runs: peaked softmax rows make many exp() terms
    // tiny, and arithmetic on subnormal operands takes a slow microcode path on many x86 cores.
    // Subnormals are < 1.2e-38, so no output that is not itself subnormal changes (the goldens
    // confirm it). MXCSR is per thread; restored on return.
    const unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);   // FTZ | DAZ
    switch (clamp(isa)) {
    case SD_ISA_AVX512:
        sd_attention_head_avx512(q, k, v, out, tq, tk, dq, dv, qs, ks, vs, os, alpha, causal, round_p, q0, q1, scratch);
        break;
    case SD_ISA_AVX2:
        sd_attention_head_avx2(q, k, v, out, tq, tk, dq, dv, qs, ks, vs, os, alpha, causal, round_p, q0, q1, scratch);
        break;
    default:
        sd_attention_head_generic(q, k, v, out, tq, tk, dq, dv, qs, ks, vs, os, alpha, causal, round_p, q0, q1, scratch);
    }
    _mm_setcsr(csr);
}

void sd_softmax_rows(int isa, float *x, long rows, long n) {
    switch (clamp(isa)) {
    case SD_ISA_AVX512: sd_softmax_rows_avx512(x, rows, n); break;
    case SD_ISA_AVX2: sd_softmax_rows_avx2(x, rows, n); break;
    default: sd_softmax_rows_generic(x, rows, n);
    }
}

void sd_unary(int isa, int op, const float *src, float *dst, long n) {
    switch (clamp(isa)) {
    case SD_ISA_AVX512: sd_unary_avx512(op, src, dst, n); break;
    case SD_ISA_AVX2: sd_unary_avx2(op, src, dst, n); break;
    default: sd_unary_generic(op, src, dst, n);
    }
}

void sd_geglu_rows(int isa, const float *src, float *dst, long rows, long d) {
    switch (clamp(isa)) {
    case SD_ISA_AVX512: sd_geglu_rows_avx512(src, dst, rows, d); break;
    case SD_ISA_AVX2: sd_geglu_rows_avx2(src, dst, rows, d); break;
    default: sd_geglu_rows_generic(src, dst, rows, d);
    }
}

void sd_groupnorm_group(int isa, float *p, long spatial, long cpg, const float *gamma, const float *beta,
                        float eps, int silu) {
    switch (clamp(isa)) {
    case SD_ISA_AVX512: sd_groupnorm_group_avx512(p, spatial, cpg, gamma, beta, eps, silu); break;
    case SD_ISA_AVX2: sd_groupnorm_group_avx2(p, spatial, cpg, gamma, beta, eps, silu); break;
    default: sd_groupnorm_group_generic(p, spatial, cpg, gamma, beta, eps, silu);
    }
}

long sd_count_nonfinite(const float *x, long n) {
    // Exponent all ones = Inf or NaN. Plain C: memory-bound, the compiler vectorises it for SSE2.
    const unsigned int *u = (const unsigned int *)x;
    long bad = 0;
    for (long i = 0; i < n; i++) bad += (u[i] & 0x7F800000u) == 0x7F800000u;
    return bad;
}

long sd_count_nonfinite_bf16(const unsigned short *x, long n) {
    // The same test on bfloat16 bits (exponent 0x7F80 all ones).
    long bad = 0;
    for (long i = 0; i < n; i++) bad += (x[i] & 0x7F80u) == 0x7F80u;
    return bad;
}
