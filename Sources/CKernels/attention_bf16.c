// bf16 fused attention: the flash-attention recurrence of kernels_impl.h with both products
// (S = Q·Kᵀ, O += P·V) on bf16 dot-product instructions — AMX tiles (TDPBF16PS; Intel Sapphire
// Rapids and later) or AVX512-BF16 registers (VDPBF16PS; AMD Zen 4 and later, Intel Cooper Lake).
// Both kernels share the packing, the softmax update and the contract below.
// Contract (--precision bf16, as torch.autocast runs scaled_dot_product_attention in bf16 on CPU):
// Q, K, V and the softmax numerators P are rounded to bf16 (nearest even); products accumulate in
// fp32; scaling, the running max/sum and the final division stay fp32. Each output row depends only
// on its own query row and on the fixed key blocks, so the result is the same for any split of the
// queries over threads.
// AMX tiles (Intel SDM vol. 1, "Intel AMX"): A = 16 rows × 32 bf16, B = 16 rows of bf16 pairs
// (VNNI layout) × 16 columns, C = 16 × 16 fp32. Per step: 2 A, 2 B, 4 C tiles = all 8 registers.
// VDPBF16PS reads the same B layout one 16-column row of pairs per zmm register, so the packed K
// and V below serve both kernels.
#include "sd_kernels.h"
#include "bf16_round.h"
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AQ 32    // query rows per block: two A tiles
#define AK 128   // keys per block (multiple of 32)

static long up32(long x) { return (x + 31) & ~31L; }
static long upk(long x) { return (x + AK - 1) / AK * AK; }
static long al64(long bytes) { return (bytes + 63) & ~63L; }

// Linux keeps AMX tile data off until the process asks for it (arch_prctl ARCH_REQ_XCOMP_PERM,
// XFEATURE_XTILEDATA = 18; kernel Documentation/arch/x86/xstate.rst). Asked once, for every thread.
int sd_amx_enable(void) {
    static int state = -1;
    if (state < 0) {
        const sd_cpu_info *c = sd_cpu();
        state = c->amx_tile && c->amx_bf16 && c->avx512_bf16 && sd_isa_best() >= SD_ISA_AVX512
                && syscall(SYS_arch_prctl, 0x1023, 18) == 0;
    }
    return state;
}

size_t sd_attention_bf16_scratch_bytes(int tk, int dq, int dv) {
    long tkp = upk(tk), dqp = up32(dq), dvp = up32(dv);
    return (size_t)(al64(tkp * dqp * 2) + al64(tkp * dvp * 2) + al64(AQ * dqp * 2) + al64(AQ * AK * 4)
                    + al64(AQ * AK * 2) + al64(AQ * dvp * 4) + al64(2 * AQ * 4) + 64);
}

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma,amx-tile,amx-bf16"))), apply_to = function)
#define VW 16
#define SUFFIX _amx
#include "kernels_math.h"

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg;

// Keys as B tiles of Q·Kᵀ. kp: [tkp/16][dqp/32] tiles, each 16 rows (dq pairs) × 16 keys × 2;
// zero past tk and past dq. k: [tk, dq] stride ks.
static void pack_k(const float *k, long ks, int tk, int dq, long tkp, long dqp, uint16_t *kp) {
    const long ndc = dqp / 32;
    memset(kp, 0, (size_t)(tkp * dqp * 2));
    for (int j = 0; j < tk; j++) {
        const float *src = k + (long)j * ks;
        uint16_t *base = kp + (long)(j / 16) * ndc * 512 + (j % 16) * 2;
        for (int d = 0; d < dq; d++) base[(d / 32) * 512 + ((d % 32) / 2) * 32 + (d & 1)] = sd_bf16_rne(src[d]);
    }
}

// Values as B tiles of P·V. vp: [tkp/32][dvp/16] tiles, each 16 rows (key pairs) × 16 columns × 2;
// zero past tk and past dv. v: [tk, dv] stride vs.
static void pack_v(const float *v, long vs, int tk, int dv, long tkp, long dvp, uint16_t *vp) {
    const long nvb = dvp / 16;
    memset(vp, 0, (size_t)(tkp * dvp * 2));
    for (int j = 0; j < tk; j++) {
        const float *src = v + (long)j * vs;
        uint16_t *base = vp + (long)(j / 32) * nvb * 512 + ((j % 32) / 2) * 32 + (j & 1);
        for (int c = 0; c < dv; c++) base[(c / 16) * 512 + (c % 16) * 2] = sd_bf16_rne(src[c]);
    }
}

// C tiles 0–3 (a 32×32 fp32 block at c, row stride ldc floats) += A (32 rows of 32 bf16 at a, row
// stride lda elements) · B (tiles b0, b1: the block's two 16-column halves).
static inline __attribute__((always_inline)) void mma_32x32(const uint16_t *a, long lda, const uint16_t *b0, const uint16_t *b1) {
    _tile_loadd(4, a, lda * 2);
    _tile_loadd(5, a + 16 * lda, lda * 2);
    _tile_loadd(6, b0, 64);
    _tile_loadd(7, b1, 64);
    _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
}
static inline __attribute__((always_inline)) void store_32x32(float *c, long ldc) {
    _tile_stored(0, c, ldc * 4);
    _tile_stored(1, c + 16, ldc * 4);
    _tile_stored(2, c + 16 * ldc, ldc * 4);
    _tile_stored(3, c + 16 * ldc + 16, ldc * 4);
}
static inline __attribute__((always_inline)) void load_32x32(const float *c, long ldc) {
    _tile_loadd(0, c, ldc * 4);
    _tile_loadd(1, c + 16, ldc * 4);
    _tile_loadd(2, c + 16 * ldc, ldc * 4);
    _tile_loadd(3, c + 16 * ldc + 16, ldc * 4);
}

// Scale, mask and the online-softmax update of one [AQ][AK] score block (rows [0, rn)); the
// numerators go to PB in bf16 for the second product, O's rows are rescaled to the new maximum.
static inline __attribute__((always_inline)) void softmax_block(float *S, uint16_t *PB, float *M, float *L, float *O,
                                                                long dvp, int rn, int r0, int c0, int kn, int causal,
                                                                float alpha) {
    for (int r = 0; r < rn; r++) {
        float *srow = S + r * AK;
        int valid = kn;
        if (causal && r0 + r - c0 + 1 < valid) valid = r0 + r - c0 + 1;
        if (valid < 0) valid = 0;
        const __m512 va = _mm512_set1_ps(alpha);
        __m512 vm = _mm512_set1_ps(-INFINITY);
        for (int c = 0; c < AK; c += 16) {
            __mmask16 live = c >= valid ? 0 : (valid - c >= 16 ? 0xFFFF : (__mmask16)((1u << (valid - c)) - 1));
            __m512 s = _mm512_mask_mul_ps(_mm512_set1_ps(-INFINITY), live, _mm512_loadu_ps(srow + c), va);
            _mm512_storeu_ps(srow + c, s);
            vm = _mm512_max_ps(vm, s);
        }
        const float bmax = _mm512_reduce_max_ps(vm);
        const float mnew = bmax > M[r] ? bmax : M[r];
        uint16_t *prow = PB + r * AK;
        if (mnew == -INFINITY) { memset(prow, 0, AK * 2); continue; }
        __m512 acc = _mm512_setzero_ps();
        for (int c = 0; c < AK; c += 32) {
            __m512 e0 = (__m512)FN(vexp_masked)(FN(ld)(srow + c), mnew);
            __m512 e1 = (__m512)FN(vexp_masked)(FN(ld)(srow + c + 16), mnew);
            acc = _mm512_add_ps(acc, _mm512_add_ps(e0, e1));
            _mm512_storeu_si512(prow + c, (__m512i)_mm512_cvtne2ps_pbh(e1, e0));   // RNE
        }
        const float sum = _mm512_reduce_add_ps(acc);
        const float corr = M[r] == -INFINITY ? 0.0f : expf(M[r] - mnew);
        L[r] = L[r] * corr + sum;
        if (corr != 1.0f) {
            float *orow = O + (long)r * dvp;
            for (long c = 0; c < dvp; c++) orow[c] *= corr;
        }
        M[r] = mnew;
    }
}

// ---- the two back-ends: S = Q·Kᵀ and O += P·V for one [AQ] query block and one [AK] key block ----

// AMX: S[AQ][AK] 32 keys (two B tiles) at a time; O[AQ][dvp] 32 columns at a time in the C tiles.
static inline __attribute__((always_inline)) void qk_amx(const uint16_t *QP, long dqp, const uint16_t *KP, long ndc,
                                                         int c0, float *S) {
    for (int jj = 0; jj < AK / 32; jj++) {
        _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
        const uint16_t *b0 = KP + ((long)(c0 / 16 + 2 * jj) * ndc) * 512;
        const uint16_t *b1 = b0 + ndc * 512;
        for (long dc = 0; dc < ndc; dc++) mma_32x32(QP + dc * 32, dqp, b0 + dc * 512, b1 + dc * 512);
        store_32x32(S + jj * 32, AK);
    }
}
static inline __attribute__((always_inline)) void pv_amx(const uint16_t *PB, const uint16_t *VP, long nvb, int c0,
                                                         int kn, float *O, long dvp) {
    const int nkc = (kn + 31) / 32;
    for (long cb = 0; cb < nvb; cb += 2) {
        load_32x32(O + cb * 16, dvp);
        for (int kc = 0; kc < nkc; kc++) {
            const uint16_t *b0 = VP + ((long)(c0 / 32 + kc) * nvb + cb) * 512;
            mma_32x32(PB + kc * 32, AK, b0, b0 + 512);
        }
        store_32x32(O + cb * 16, dvp);
    }
}

// VDPBF16PS: register tiles of 8 rows × 32 fp32 (16 accumulators); the A operand is one bf16 pair
// broadcast, the B operand one 16-column row of pairs of the packed K or V (the AMX B layout).
#define DP_ROWS 8
static inline __attribute__((always_inline)) __m512 dp(__m512 acc, uint32_t pair, const uint16_t *b) {
    return _mm512_dpbf16_ps(acc, (__m512bh)_mm512_set1_epi32((int)pair), (__m512bh)_mm512_loadu_si512(b));
}
// S rows [0, ceil(rn/8)·8) = Q·Kᵀ. QP: [AQ][dqp] bf16, i.e. [AQ][dqp/2] pairs.
static inline __attribute__((always_inline)) void qk_dp(const uint16_t *QP, long dqp, const uint16_t *KP, long ndc,
                                                        int c0, int rn, float *S) {
    const uint32_t *qp = (const uint32_t *)QP;
    const long npair = dqp / 2;
    for (int r = 0; r < rn; r += DP_ROWS)
        for (int jj = 0; jj < AK / 32; jj++) {
            const uint16_t *b0 = KP + ((long)(c0 / 16 + 2 * jj) * ndc) * 512, *b1 = b0 + ndc * 512;
            __m512 acc[DP_ROWS][2];
            for (int i = 0; i < DP_ROWS; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
            for (long d = 0; d < npair; d++) {
                for (int i = 0; i < DP_ROWS; i++) {
                    const uint32_t a = qp[(r + i) * npair + d];
                    acc[i][0] = dp(acc[i][0], a, b0 + d * 32);
                    acc[i][1] = dp(acc[i][1], a, b1 + d * 32);
                }
            }
            for (int i = 0; i < DP_ROWS; i++) {
                _mm512_storeu_ps(S + (r + i) * AK + jj * 32, acc[i][0]);
                _mm512_storeu_ps(S + (r + i) * AK + jj * 32 + 16, acc[i][1]);
            }
        }
}
// O rows [0, ceil(rn/8)·8) += P·V over the block's ceil(kn/2) key pairs. PB: [AQ][AK/2] pairs.
static inline __attribute__((always_inline)) void pv_dp(const uint16_t *PB, const uint16_t *VP, long nvb, int c0,
                                                        int kn, int rn, float *O, long dvp) {
    const uint32_t *pp = (const uint32_t *)PB;
    const int npair = (kn + 1) / 2;
    for (int r = 0; r < rn; r += DP_ROWS)
        for (long cb = 0; cb < nvb; cb += 2) {
            __m512 acc[DP_ROWS][2];
            for (int i = 0; i < DP_ROWS; i++) {
                acc[i][0] = _mm512_loadu_ps(O + (r + i) * dvp + cb * 16);
                acc[i][1] = _mm512_loadu_ps(O + (r + i) * dvp + cb * 16 + 16);
            }
            for (int kp = 0; kp < npair; kp++) {
                const long g = c0 / 2 + kp;   // global key pair
                const uint16_t *b0 = VP + ((g / 16) * nvb + cb) * 512 + (g % 16) * 32;
                for (int i = 0; i < DP_ROWS; i++) {
                    const uint32_t a = pp[(r + i) * (AK / 2) + kp];
                    acc[i][0] = dp(acc[i][0], a, b0);
                    acc[i][1] = dp(acc[i][1], a, b0 + 512);
                }
            }
            for (int i = 0; i < DP_ROWS; i++) {
                _mm512_storeu_ps(O + (r + i) * dvp + cb * 16, acc[i][0]);
                _mm512_storeu_ps(O + (r + i) * dvp + cb * 16 + 16, acc[i][1]);
            }
        }
}

// One head, query rows [q0, q1), on either back-end (a constant at both call sites).
// Shapes and strides as sd_attention_head; scratch of sd_attention_bf16_scratch_bytes(tk, dq, dv) bytes.
static inline __attribute__((always_inline)) void attention_bf16(int amx, const float *q, const float *k, const float *v,
                                                                 float *out, int tk, int dq, int dv, long qs, long ks,
                                                                 long vs, long os, float alpha, int causal, int q0,
                                                                 int q1, void *scratch) {
    const long tkp = upk(tk), dqp = up32(dq), dvp = up32(dv), ndc = dqp / 32, nvb = dvp / 16;
    char *p = (char *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    uint16_t *KP = (uint16_t *)p; p += al64(tkp * dqp * 2);
    uint16_t *VP = (uint16_t *)p; p += al64(tkp * dvp * 2);
    uint16_t *QP = (uint16_t *)p; p += al64(AQ * dqp * 2);   // [AQ][dqp]
    float *S = (float *)p;       p += al64(AQ * AK * 4);      // [AQ][AK]
    uint16_t *PB = (uint16_t *)p; p += al64(AQ * AK * 2);     // [AQ][AK]
    float *O = (float *)p;       p += al64(AQ * dvp * 4);     // [AQ][dvp]
    float *M = (float *)p, *L = M + AQ;
    const int kneed = causal ? (tk < q1 ? tk : q1) : tk;
    pack_k(k, ks, kneed, dq, tkp, dqp, KP);
    pack_v(v, vs, kneed, dv, tkp, dvp, VP);
    memset(PB, 0, AQ * AK * 2);

    const unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);   // FTZ | DAZ, as dispatch.c does for the fp32 kernels (both instructions flush anyway)
    if (amx) {
        tilecfg cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.palette = 1;
        for (int t = 0; t < 8; t++) { cfg.rows[t] = 16; cfg.colsb[t] = 64; }
        _tile_loadconfig(&cfg);
    }
    for (int r0 = q0; r0 < q1; r0 += AQ) {
        const int rn = q1 - r0 < AQ ? q1 - r0 : AQ;
        memset(QP, 0, (size_t)(AQ * dqp * 2));
        for (int r = 0; r < rn; r++)
            for (int d = 0; d < dq; d++) QP[r * dqp + d] = sd_bf16_rne(q[(long)(r0 + r) * qs + d]);
        memset(O, 0, (size_t)(AQ * dvp * 4));
        for (int r = 0; r < AQ; r++) { M[r] = -INFINITY; L[r] = 0; }
        const int kend = causal ? (tk < r0 + rn ? tk : r0 + rn) : tk;
        for (int kb = 0; kb * AK < kend; kb++) {
            const int c0 = kb * AK, kn = tk - c0 < AK ? tk - c0 : AK;
            if (amx) qk_amx(QP, dqp, KP, ndc, c0, S); else qk_dp(QP, dqp, KP, ndc, c0, rn, S);
            softmax_block(S, PB, M, L, O, dvp, rn, r0, c0, kn, causal, alpha);
            if (amx) pv_amx(PB, VP, nvb, c0, kn, O, dvp); else pv_dp(PB, VP, nvb, c0, kn, rn, O, dvp);
        }
        for (int r = 0; r < rn; r++) {
            const float inv = L[r] > 0 ? 1 / L[r] : 0;
            float *dst = out + (long)(r0 + r) * os;
            const float *src = O + (long)r * dvp;
            for (int c = 0; c < dv; c++) dst[c] = src[c] * inv;
        }
    }
    if (amx) _tile_release();
    _mm_setcsr(csr);
}

void sd_attention_head_amx(const float *q, const float *k, const float *v, float *out, int tk, int dq, int dv,
                           long qs, long ks, long vs, long os, float alpha, int causal, int q0, int q1,
                           void *scratch) {
    attention_bf16(1, q, k, v, out, tk, dq, dv, qs, ks, vs, os, alpha, causal, q0, q1, scratch);
}

void sd_attention_head_dpbf16(const float *q, const float *k, const float *v, float *out, int tk, int dq, int dv,
                              long qs, long ks, long vs, long os, float alpha, int causal, int q0, int q1,
                              void *scratch) {
    attention_bf16(0, q, k, v, out, tk, dq, dv, qs, ks, vs, os, alpha, causal, q0, q1, scratch);
}

#pragma clang attribute pop
