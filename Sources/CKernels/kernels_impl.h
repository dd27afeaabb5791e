// SIMD kernels written once with clang/GCC vector extensions and compiled once per ISA: each
// kernels_<isa>.c sets VW (floats per vector), the register tiles and a target attribute, then
// includes this file. dispatch.c picks the variant at run time. Shape comments come first.
//
// Attention follows the flash-attention recurrence (Dao et al. 2022; torch's CPU kernel
// aten/src/ATen/native/cpu/FlashAttentionKernel.cpp does the same): for a block of BQ queries, walk
// the keys in blocks of BK, keep the running row max m and row sum l, rescale the output
// accumulator when m grows, and divide by l at the end. Scores exist only as one BQ×BK block.
// Every output row is computed by the same sequence of operations whatever rows share its block
// or thread, so the result does not depend on the thread count.
#include "kernels_math.h"

// max(v, 0) as torch.relu: negative lanes cleared by a compare mask, so NaN passes through as in torch.
INL vf FN(vrelu)(vf v) {
    const vf zero = FN(splat)(0);
    return (vf)((FN(vi_t))v & ~(FN(vi_t))(v < zero));
}

INL vf FN(unary1)(int op, vf v) {
    switch (op) {
    case SD_UNARY_EXP: return FN(vexp)(v);
    case SD_UNARY_SIGMOID: return FN(vsigmoid)(v);
    case SD_UNARY_SILU: return v * FN(vsigmoid)(v);
    case SD_UNARY_RELU: return FN(vrelu)(v);
    default: return FN(vgelu)(v);
    }
}

// ---- elementwise exp / sigmoid / SiLU / exact GELU ----
// src, dst: [n] (may alias)
void FN(sd_unary)(int op, const float *src, float *dst, long n) {
    long i = 0;
    switch (op) {   // one loop per op, so the switch is not inside the loop
    case SD_UNARY_EXP: for (; i + VW <= n; i += VW) FN(st)(dst + i, FN(vexp)(FN(ld)(src + i))); break;
    case SD_UNARY_SIGMOID: for (; i + VW <= n; i += VW) FN(st)(dst + i, FN(vsigmoid)(FN(ld)(src + i))); break;
    case SD_UNARY_SILU: for (; i + VW <= n; i += VW) { vf v = FN(ld)(src + i); FN(st)(dst + i, v * FN(vsigmoid)(v)); } break;
    case SD_UNARY_RELU: for (; i + VW <= n; i += VW) FN(st)(dst + i, FN(vrelu)(FN(ld)(src + i))); break;
    default: for (; i + VW <= n; i += VW) FN(st)(dst + i, FN(vgelu)(FN(ld)(src + i)));
    }
    if (i < n) {
        vf t = FN(splat)(0);
        memcpy(&t, src + i, (size_t)(n - i) * 4);
        t = FN(unary1)(op, t);
        memcpy(dst + i, &t, (size_t)(n - i) * 4);
    }
}

// ---- GEGLU: x · GELU(gate) with the last dim split in halves (diffusers GEGLU.forward) ----
// src: [rows, 2d] → dst: [rows, d]
void FN(sd_geglu_rows)(const float *src, float *dst, long rows, long d) {
    for (long r = 0; r < rows; r++) {
        const float *x = src + r * 2 * d, *gate = x + d;
        float *y = dst + r * d;
        long j = 0;
        for (; j + VW <= d; j += VW) FN(st)(y + j, FN(ld)(x + j) * FN(vgelu)(FN(ld)(gate + j)));
        if (j < d) {
            vf g = FN(splat)(0), v = FN(splat)(0);
            memcpy(&g, gate + j, (size_t)(d - j) * 4);
            memcpy(&v, x + j, (size_t)(d - j) * 4);
            vf o = v * FN(vgelu)(g);
            memcpy(y + j, &o, (size_t)(d - j) * 4);
        }
    }
}

// ---- GroupNorm of one (image, group), in place, optionally fused with SiLU ----
// Mean and variance accumulate in double (biased variance, eps inside the sqrt, as torch).
// p: [cpg, spatial]; gamma, beta: [cpg] or NULL
typedef double FN(vd_t) __attribute__((vector_size(VW * 8)));
void FN(sd_groupnorm_group)(float *p, long spatial, long cpg, const float *gamma, const float *beta,
                            float eps, int silu) {
    const long len = spatial * cpg;
    FN(vd_t) vs = {0}, vss = {0};
    long i = 0;
    for (; i + VW <= len; i += VW) {
        FN(vd_t) v = __builtin_convertvector(FN(ld)(p + i), FN(vd_t));
        vs += v;
        vss += v * v;
    }
    double s = 0, ss = 0;
    for (int l = 0; l < VW; l++) { s += vs[l]; ss += vss[l]; }
    for (; i < len; i++) { double v = p[i]; s += v; ss += v * v; }
    const double mean = s / (double)len;
    double var = ss / (double)len - mean * mean;
    if (var < 0) var = 0;
    const float inv = (float)(1 / sqrt(var + (double)eps));
    for (long ch = 0; ch < cpg; ch++) {
        const float scale = inv * (gamma ? gamma[ch] : 1.0f);
        const float shift = (beta ? beta[ch] : 0.0f) - (float)mean * scale;
        float *q = p + ch * spatial;
        long j = 0;
        if (silu) {
            for (; j + VW <= spatial; j += VW) { vf y = FN(ld)(q + j) * scale + shift; FN(st)(q + j, y * FN(vsigmoid)(y)); }
        } else {
            for (; j + VW <= spatial; j += VW) FN(st)(q + j, FN(ld)(q + j) * scale + shift);
        }
        if (j < spatial) {
            vf t = FN(splat)(0);
            memcpy(&t, q + j, (size_t)(spatial - j) * 4);
            vf y = t * scale + shift;
            if (silu) y = y * FN(vsigmoid)(y);
            memcpy(q + j, &y, (size_t)(spatial - j) * 4);
        }
    }
}

// ---- softmax over rows, in place ----
// x: [rows, n]
void FN(sd_softmax_rows)(float *x, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        float *row = x + r * n;
        vf vm = FN(splat)(-INFINITY);
        long j = 0;
        for (; j + VW <= n; j += VW) vm = __builtin_elementwise_max(vm, FN(ld)(row + j));
        float m = FN(hmax)(vm);
        for (; j < n; j++) m = row[j] > m ? row[j] : m;
        if (m == -INFINITY) m = 0;
        vf acc = FN(splat)(0);
        for (j = 0; j + VW <= n; j += VW) {
            vf e = FN(vexp_masked)(FN(ld)(row + j), m);
            FN(st)(row + j, e);
            acc += e;
        }
        float s = FN(hsum)(acc);
        if (j < n) {
            vf t = FN(splat)(-INFINITY);
            memcpy(&t, row + j, (size_t)(n - j) * 4);
            vf e = FN(vexp_masked)(t, m);
            memcpy(row + j, &e, (size_t)(n - j) * 4);
            for (long i = 0; i < n - j; i++) s += e[i];
        }
        // A row with every entry masked has no distribution; write zeros rather than NaN.
        float inv = s > 0 ? 1 / s : 0;
        for (j = 0; j + VW <= n; j += VW) FN(st)(row + j, FN(ld)(row + j) * inv);
        for (; j < n; j++) row[j] *= inv;
    }
}

// ---- attention ----
// Query rows per block: a whole number of MR_S-row tiles, so no row of a full block takes the
// one-row path (SD_ATTN_BQ sizes the scratch and is the upper bound).
#define BQ (SD_ATTN_BQ / MR_S * MR_S)
#define BK SD_ATTN_BK
#define WS (NV_S * VW)   // keys per Q·Kᵀ register tile
#define WO (NV_O * VW)   // output columns per P·V register tile

// One register tile of a small GEMM, for both products of the attention:
// C[MR, NV·VW] (+)= alpha · Σ_k A(i, k) · B[k, NV·VW], with A(i, k) = a[i·sai + k·sak].
// b: rows stride ldb; c: rows stride ldc. A macro, so MR, NV and ACC are constants and the
// accumulators live in registers (not a VLA); the strides are constants at every call site.
#define GEMM_TILE(NAME, MR, NV, ACC)                                                                   \
    INL void NAME(const float *a, long sai, long sak, const float *b, long ldb, int kdim, float *c,    \
                  long ldc, float alpha) {                                                             \
        vf acc[MR][NV];                                                                                \
        for (int i = 0; i < MR; i++)                                                                   \
            for (int j = 0; j < NV; j++) acc[i][j] = ACC ? FN(ld)(c + i * ldc + j * VW) : FN(splat)(0); \
        for (int k = 0; k < kdim; k++) {                                                               \
            vf bv[NV];                                                                                 \
            for (int j = 0; j < NV; j++) bv[j] = FN(ld)(b + (long)k * ldb + j * VW);                   \
            for (int i = 0; i < MR; i++) {                                                             \
                vf av = FN(splat)(a[i * sai + k * sak]);                                               \
                for (int j = 0; j < NV; j++) acc[i][j] += av * bv[j];                                  \
            }                                                                                          \
        }                                                                                              \
        for (int i = 0; i < MR; i++)                                                                   \
            for (int j = 0; j < NV; j++) FN(st)(c + i * ldc + j * VW, acc[i][j] * alpha);              \
    }
// S = alpha · Q·Kᵀ: q packed [dq][MR]; kt one key tile, packed [dq][WS]; s row stride BK.
GEMM_TILE(FN(qk_tile_), MR_S, NV_S, 0)
GEMM_TILE(FN(qk_row_), 1, NV_S, 0)
INL void FN(qk_tile)(const float *q, const float *kt, int dq, float *s, float alpha) { FN(qk_tile_)(q, 1, MR_S, kt, WS, dq, s, BK, alpha); }
INL void FN(qk_row)(const float *q, const float *kt, int dq, float *s, float alpha) { FN(qk_row_)(q, 1, 1, kt, WS, dq, s, BK, alpha); }
// O += P·V: p row stride BK; v one column tile, packed [keys][WO]; o row stride ldo.
GEMM_TILE(FN(pv_tile_), MR_O, NV_O, 1)
GEMM_TILE(FN(pv_row_), 1, NV_O, 1)
GEMM_TILE(FN(pv_vec_), 1, 1, 1)
INL void FN(pv_tile)(const float *p, int kn, const float *v, float *o, long ldo) { FN(pv_tile_)(p, BK, 1, v, WO, kn, o, ldo, 1.0f); }
INL void FN(pv_row)(const float *p, int kn, const float *v, float *o, long ldo) { FN(pv_row_)(p, BK, 1, v, WO, kn, o, ldo, 1.0f); }
INL void FN(pv_vec)(const float *p, int kn, const float *v, long vs, float *o, long ldo) { FN(pv_vec_)(p, BK, 1, v, vs, kn, o, ldo, 1.0f); }

// The same product for the columns left over after whole WO tiles: MR_O rows × one vector where a
// vector's worth is left, then one row at a time. v: the leftover columns of the block's keys, [keys][vs].
GEMM_TILE(FN(pv_col_), MR_O, 1, 1)
INL void FN(pv_rows_tail)(int rn, int c0, int dv, const float *p, int kn, const float *v, long vs, float *o) {
    const int rto = rn / MR_O * MR_O;
    int c = 0;
    for (; c0 + c + VW <= dv; c += VW) {
        int r = 0;
        for (; r < rto; r += MR_O) FN(pv_col_)(p + r * BK, BK, 1, v + c, vs, kn, o + (long)r * dv + c0 + c, dv, 1.0f);
        for (; r < rn; r++) FN(pv_vec)(p + r * BK, kn, v + c, vs, o + (long)r * dv + c0 + c, dv);
    }
    for (int r = 0; r < rn; r++)
        for (int cc = c; c0 + cc < dv; cc++) {
            float acc = o[(long)r * dv + c0 + cc];
            for (int kk = 0; kk < kn; kk++) acc += p[r * BK + kk] * v[(long)kk * vs + cc];
            o[(long)r * dv + c0 + cc] = acc;
        }
}

// One head, query rows [q0, q1).
// q: [Tq, dq] stride qs; k: [Tk, dq] stride ks; v: [Tk, dv] stride vs; out: [Tq, dv] stride os
// round_p: round the softmax numerators to bf16 before P·V (the portable --precision bf16 path,
// called on bf16-rounded q, k, v: the inputs of both products are then those of attention_bf16.c).
// K and V are packed once per head into register-tile panels, so each tile's operand is one
// contiguous run that stays in L1 while every query tile of the block passes over it.
void FN(sd_attention_head)(const float *q, const float *k, const float *v, float *out, int tq, int tk,
                           int dq, int dv, long qs, long ks, long vs, long os, float alpha, int causal,
                           int round_p, int q0, int q1, float *scratch) {
    (void)tq;
    const int nkb = (tk + BK - 1) / BK;
    const int ct = dv / WO * WO;              // columns in whole P·V tiles
    float *kt = scratch;                      // [nkb][BK/WS][dq][WS], zero past tk
    float *S = kt + (long)nkb * dq * BK;      // [BQ][BK]
    float *O = S + BQ * BK;                   // [BQ][dv]
    float *M = O + (long)BQ * dv, *L = M + BQ;
    float *QP = L + BQ;                       // [BQ·dq]: tiles of MR_S rows as [dq][MR_S], then rows as [dq]
    float *VP = QP + (long)BQ * dq;           // [dv/WO][Tk][WO], then the leftover columns as [Tk][dv − ct]
    float *VT = VP + (long)ct * tk;
    const int kneed = causal ? (tk < q1 ? tk : q1) : tk;
    for (int kb = 0; kb * BK < kneed; kb++) {
        float *blk = kt + (long)kb * dq * BK;
        int kn = tk - kb * BK < BK ? tk - kb * BK : BK;
        for (int c = 0; c < BK; c++) {
            float *dst = blk + (long)(c / WS) * dq * WS + c % WS;
            if (c < kn) {
                const float *src = k + (long)(kb * BK + c) * ks;
                for (int d = 0; d < dq; d++) dst[(long)d * WS] = src[d];
            } else {
                for (int d = 0; d < dq; d++) dst[(long)d * WS] = 0;
            }
        }
    }
    for (int c = 0; c < kneed; c++) {
        const float *src = v + (long)c * vs;
        for (int j = 0; j < ct; j += WO) memcpy(VP + (long)j * tk + (long)c * WO, src + j, sizeof(float) * WO);
        if (ct < dv) memcpy(VT + (long)c * (dv - ct), src + ct, sizeof(float) * (size_t)(dv - ct));
    }
    for (int r0 = q0; r0 < q1; r0 += BQ) {
        const int rn = q1 - r0 < BQ ? q1 - r0 : BQ;
        const int rt = rn / MR_S * MR_S;      // rows in whole Q·Kᵀ tiles
        const int rto = rn / MR_O * MR_O;     // rows in whole P·V tiles
        memset(O, 0, sizeof(float) * (size_t)rn * (size_t)dv);
        for (int r = 0; r < rn; r++) { M[r] = -INFINITY; L[r] = 0; }
        // Pack the query block so each tile's broadcasts read consecutive floats.
        {
            int r = 0;
            for (; r < rt; r += MR_S)
                for (int d = 0; d < dq; d++)
                    for (int i = 0; i < MR_S; i++) QP[(long)r * dq + d * MR_S + i] = q[(long)(r0 + r + i) * qs + d];
            for (; r < rn; r++)
                for (int d = 0; d < dq; d++) QP[(long)r * dq + d] = q[(long)(r0 + r) * qs + d];
        }
        const int kend = causal ? (tk < r0 + rn ? tk : r0 + rn) : tk;
        for (int kb = 0; kb * BK < kend; kb++) {
            const int c0 = kb * BK, kn = tk - c0 < BK ? tk - c0 : BK;
            const float *blk = kt + (long)kb * dq * BK;
            const int kt_end = (kn + WS - 1) / WS * WS;   // key tiles past tk are masked below
            for (int c = 0; c < kt_end; c += WS) {
                const float *kp = blk + (long)c * dq;
                int r = 0;
                for (; r < rt; r += MR_S) FN(qk_tile)(QP + (long)r * dq, kp, dq, S + r * BK + c, alpha);
                for (; r < rn; r++) FN(qk_row)(QP + (long)r * dq, kp, dq, S + r * BK + c, alpha);
            }
            // Mask, then the online-softmax update of each row.
            for (int r = 0; r < rn; r++) {
                float *srow = S + r * BK;
                int valid = kn;
                if (causal && r0 + r - c0 + 1 < valid) valid = r0 + r - c0 + 1;
                if (valid < 0) valid = 0;
                for (int c = valid; c < BK; c++) srow[c] = -INFINITY;
                vf vm = FN(splat)(-INFINITY);
                for (int c = 0; c < BK; c += VW) vm = __builtin_elementwise_max(vm, FN(ld)(srow + c));
                float bmax = FN(hmax)(vm);
                float mnew = bmax > M[r] ? bmax : M[r];
                if (mnew == -INFINITY) { memset(srow, 0, sizeof(float) * BK); continue; }
                vf acc = FN(splat)(0);
                const int cv = valid / VW * VW;   // whole vectors of unmasked scores need no mask
                for (int c = 0; c < BK; c += VW) {
                    vf x = FN(ld)(srow + c);
                    vf e = c < cv ? FN(vexp)(x - mnew) : FN(vexp_masked)(x, mnew);
                    acc += e;
                    if (round_p) e = (vf)((((vi)e + 0x7FFF + (((vi)e >> 16) & 1)) & (int)0xFFFF0000));   // RNE, e in [0, 1]
                    FN(st)(srow + c, e);
                }
                float corr = M[r] == -INFINITY ? 0.0f : expf(M[r] - mnew);
                L[r] = L[r] * corr + FN(hsum)(acc);
                if (corr != 1.0f) {
                    float *orow = O + (long)r * dv;
                    for (int c = 0; c < dv; c++) orow[c] *= corr;
                }
                M[r] = mnew;
            }
            for (int c = 0; c < ct; c += WO) {
                const float *vb = VP + (long)c * tk + (long)c0 * WO;
                int r = 0;
                for (; r < rto; r += MR_O) FN(pv_tile)(S + r * BK, kn, vb, O + (long)r * dv + c, dv);
                for (; r < rn; r++) FN(pv_row)(S + r * BK, kn, vb, O + (long)r * dv + c, dv);
            }
            if (ct < dv) FN(pv_rows_tail)(rn, ct, dv, S, kn, VT + (long)c0 * (dv - ct), dv - ct, O);
        }
        for (int r = 0; r < rn; r++) {
            float inv = L[r] > 0 ? 1 / L[r] : 0;
            float *dst = out + (long)(r0 + r) * os;
            const float *src = O + (long)r * dv;
            for (int c = 0; c < dv; c++) dst[c] = src[c] * inv;
        }
    }
}

#undef WS
#undef WO
#undef BQ
#undef BK
#undef vf
#undef vi
