// Winograd F(4×4, 3×3) and F(2×2, 3×3) filter, input and output transforms (Lavin & Gray 2016, "Fast Algorithms for
// Convolutional Neural Networks"; the points 0, ±1, ±2, ±1/2 of ncnn's and MNN's F(4,3)), compiled
// once per ISA by kernels_<isa>.c after kernels_impl.h. Vectors run across VW tiles, so every tile's
// arithmetic is the same sequence of operations whatever block or thread holds it.
// A 3×3 stride-1 convolution with padding 1 becomes, per 4×4 output tile and its 6×6 input patch d:
//   y = Aᵀ·[Σ_c (G·g·Gᵀ) ⊙ (Bᵀ·d·B)]·A, the channel sum being 36 GEMMs [O×C]·[C×tiles].
#include <stdlib.h>
#define vf FN(vf_t)

// t[0..5] = Bᵀ·d for d[0..5] (each element a vector); s: stride between d's elements.
#define WG_BT(d, s, t)                                                                 \
    do {                                                                               \
        vf d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s]; \
        t[0] = 4.0f * d0 - 5.0f * d2 + d4;                                             \
        t[1] = d3 + d4 - 4.0f * (d1 + d2);                                             \
        t[2] = 4.0f * (d1 - d2) + d4 - d3;                                             \
        t[3] = 2.0f * (d3 - d1) + d4 - d2;                                             \
        t[4] = 2.0f * (d1 - d3) + d4 - d2;                                             \
        t[5] = 4.0f * d1 - 5.0f * d3 + d5;                                             \
    } while (0)

// o[0..3] = Aᵀ·m for m[0..5]; s: stride between m's elements.
#define WG_AT(m, s, o)                                                                 \
    do {                                                                               \
        vf m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s], m5 = m[5 * s]; \
        vf p12 = m1 + m2, d12 = m1 - m2, p34 = m3 + m4, d34 = m3 - m4;                 \
        o[0] = m0 + p12 + p34;                                                         \
        o[1] = d12 + 2.0f * d34;                                                       \
        o[2] = p12 + 4.0f * p34;                                                       \
        o[3] = d12 + 8.0f * d34 + m5;                                                  \
    } while (0)

// r = G·(x0, x1, x2) with G's common terms shared, for F(4, 3)'s G (the interpolation points 0, ±1,
// ±2, ±1/2 and ∞) = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1] (r[0..5]) and for
// F(2, 3)'s G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1] (r[0..3]). In doubles, where a sum of a few floats is exact.
#define WG_G4(x0, x1, x2, r)                                                           \
    do {                                                                               \
        const double s_ = x0 + x2, p_ = x0 * (1.0 / 24) + x2 * (1.0 / 6), q_ = x1 * (1.0 / 12); \
        r[0] = x0 * 0.25;                                                              \
        r[1] = (s_ + x1) * (-1.0 / 6);                                                 \
        r[2] = (s_ - x1) * (-1.0 / 6);                                                 \
        r[3] = p_ + q_;                                                                \
        r[4] = p_ - q_;                                                                \
        r[5] = x2;                                                                     \
    } while (0)
#define WG_G2(x0, x1, x2, r)                                                           \
    do {                                                                               \
        const double s_ = x0 + x2;                                                     \
        r[0] = x0;                                                                     \
        r[1] = (s_ + x1) * 0.5;                                                        \
        r[2] = (s_ - x1) * 0.5;                                                        \
        r[3] = x2;                                                                     \
    } while (0)

// The filter G·g·Gᵀ of output channels [o0, o1), in double over blocks of CB input channels (the
// loops over a block vectorise) and rounded once to float: the transformed filter adds no error
// of its own. g: [O, C, 3, 3] → u: [a²][O][C], a = 6 (WG_G4) or 4 (WG_G2).
#define WG_FILTER(NAME, A, GMAC)                                                                       \
    INL void NAME(const float *g, long o, long c, long o0, long o1, float *u) {                        \
        enum { CB = 64 };                                                                              \
        double k[9][CB], t[A][3][CB];                                                                  \
        for (long oi = o0; oi < o1; oi++)                                                              \
            for (long c0 = 0; c0 < c; c0 += CB) {                                                      \
                const int cn = c - c0 < CB ? (int)(c - c0) : CB;                                       \
                const float *src = g + (oi * c + c0) * 9;                                              \
                for (int l = 0; l < cn; l++)                                                           \
                    for (int q = 0; q < 9; q++) k[q][l] = src[l * 9 + q];                              \
                for (int j = 0; j < 3; j++)                                                            \
                    for (int l = 0; l < cn; l++) {                                                     \
                        double r[A];                                                                   \
                        GMAC(k[j][l], k[3 + j][l], k[6 + j][l], r);                                    \
                        for (int i = 0; i < A; i++) t[i][j][l] = r[i];                                 \
                    }                                                                                  \
                for (int i = 0; i < A; i++) {                                                          \
                    float *dst = u + ((long)i * A * o + oi) * c + c0;                                  \
                    const long js = o * c;                                                             \
                    for (int l = 0; l < cn; l++) {                                                     \
                        double r[A];                                                                   \
                        GMAC(t[i][0][l], t[i][1][l], t[i][2][l], r);                                   \
                        for (int j = 0; j < A; j++) dst[j * js + l] = (float)r[j];                     \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
    }
WG_FILTER(FN(wg_filter4), 6, WG_G4)
WG_FILTER(FN(wg_filter2), 4, WG_G2)

// Lane l of buf [a²][VW] = the a×a patch of `plane` [H, W] at (y0, x0), zero outside the image.
INL void FN(wg_gather)(const float *plane, long h, long w, long y0, long x0, int a, float *buf, int l) {
    if (y0 >= 0 && y0 + a <= h && x0 >= 0 && x0 + a <= w) {
        const float *p = plane + y0 * w + x0;
        for (int i = 0; i < a; i++)
            for (int j = 0; j < a; j++) buf[(i * a + j) * VW + l] = p[i * w + j];
    } else {
        for (int i = 0; i < a; i++)
            for (int j = 0; j < a; j++) {
                const long yy = y0 + i, xx = x0 + j;
                buf[(i * a + j) * VW + l] = yy >= 0 && yy < h && xx >= 0 && xx < w ? plane[yy * w + xx] : 0.0f;
            }
    }
}

// Lanes [0, lanes) of buf [m²][VW], each an m×m output tile of tiles t0.. of a grid tw wide, into
// `plane` [H, W]; the parts of edge tiles outside H×W are dropped.
// res: the residual's plane (added after the bias) or NULL; relu: then max(·, 0) as torch.relu —
// the same operations in the same order as the separate add and relu ops, so the same bits.
INL void FN(wg_scatter)(const float *buf, int m, int lanes, long t0, long tw, long h, long w, float *plane,
                        const float *res, int relu) {
    for (int l = 0; l < lanes; l++) {
        const long tt = t0 + l;
        const long y0 = tt / tw * m, x0 = tt % tw * m;
        const int rows = h - y0 < m ? (int)(h - y0) : m, cols = w - x0 < m ? (int)(w - x0) : m;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
                const long at = (y0 + i) * w + x0 + j;
                float v = buf[(i * m + j) * VW + l];
                if (res) v += res[at];
                if (relu && v < 0) v = 0;
                plane[at] = v;
            }
    }
}

// Lane shuffles for the whole-vector patch loads and tile stores: even / odd lanes of the pair (a, b),
// and the interleave of a's and b's low / high halves.
#if VW == 4
#define WG_EVEN 0, 2, 4, 6
#define WG_ODD 1, 3, 5, 7
#define WG_ZIPLO 0, 4, 1, 5
#define WG_ZIPHI 2, 6, 3, 7
#elif VW == 8
#define WG_EVEN 0, 2, 4, 6, 8, 10, 12, 14
#define WG_ODD 1, 3, 5, 7, 9, 11, 13, 15
#define WG_ZIPLO 0, 8, 1, 9, 2, 10, 3, 11
#define WG_ZIPHI 4, 12, 5, 13, 6, 14, 7, 15
#elif VW == 16
#define WG_EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define WG_ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define WG_ZIPLO 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define WG_ZIPHI 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#endif
INL vf FN(wg_even)(vf a, vf b) { return __builtin_shufflevector(a, b, WG_EVEN); }
INL vf FN(wg_odd)(vf a, vf b) { return __builtin_shufflevector(a, b, WG_ODD); }
INL vf FN(wg_ziplo)(vf a, vf b) { return __builtin_shufflevector(a, b, WG_ZIPLO); }
INL vf FN(wg_ziphi)(vf a, vf b) { return __builtin_shufflevector(a, b, WG_ZIPHI); }

// The input rows of one tile row of a plane, zero-padded, so that its patches load as whole vectors:
// rows m·ty − 1 … m·ty + m of `plane` [H, W] from column −1, each ldr ≥ m·tw + 2·VW floats.
typedef struct {
    float *p;
    long ldr, ty;
} FN(wg_rows_t);

// d[a²] (lane l: tile t + l of the tw-wide grid, row-major) = the a×a input patches, a = m + 2, of
// `lanes` tiles from t (the other lanes repeat tile t). VW whole tiles of one tile row load from the
// padded rows with shuffles (the patch of tile tx starts at column m·tx of each row, element j of
// lane l at m·l + j); others, or all where the row buffer could not be allocated, element by element.
INL void FN(wg_patches)(const float *plane, long h, long w, int m, long tw, long t, int lanes, FN(wg_rows_t) *rows, vf *d) {
    const int a = m + 2;
    const long ty = t / tw, tx = t % tw;
    if (rows->p && lanes == VW && tx + VW <= tw) {
        if (rows->ty != ty) {
            for (int i = 0; i < a; i++) {
                float *r = rows->p + i * rows->ldr;
                const long y = ty * m - 1 + i;
                memset(r, 0, (size_t)rows->ldr * 4);
                if (y >= 0 && y < h) memcpy(r + 1, plane + y * w, (size_t)w * 4);
            }
            rows->ty = ty;
        }
        for (int i = 0; i < a; i++) {
            const float *r = rows->p + i * rows->ldr + m * tx;
            vf *di = d + i * a;
            if (m == 4) {        // element j of lane l at r[4l + j], j = 0 … 5
                vf e0 = FN(wg_even)(FN(ld)(r), FN(ld)(r + VW)), o0 = FN(wg_odd)(FN(ld)(r), FN(ld)(r + VW));
                vf e1 = FN(wg_even)(FN(ld)(r + 2 * VW), FN(ld)(r + 3 * VW)), o1 = FN(wg_odd)(FN(ld)(r + 2 * VW), FN(ld)(r + 3 * VW));
                di[0] = FN(wg_even)(e0, e1), di[1] = FN(wg_even)(o0, o1), di[2] = FN(wg_odd)(e0, e1), di[3] = FN(wg_odd)(o0, o1);
                r += 4;
                e0 = FN(wg_even)(FN(ld)(r), FN(ld)(r + VW)), o0 = FN(wg_odd)(FN(ld)(r), FN(ld)(r + VW));
                e1 = FN(wg_even)(FN(ld)(r + 2 * VW), FN(ld)(r + 3 * VW)), o1 = FN(wg_odd)(FN(ld)(r + 2 * VW), FN(ld)(r + 3 * VW));
                di[4] = FN(wg_even)(e0, e1), di[5] = FN(wg_even)(o0, o1);
            } else {             // element j of lane l at r[2l + j], j = 0 … 3
                di[0] = FN(wg_even)(FN(ld)(r), FN(ld)(r + VW)), di[1] = FN(wg_odd)(FN(ld)(r), FN(ld)(r + VW));
                di[2] = FN(wg_even)(FN(ld)(r + 2), FN(ld)(r + 2 + VW)), di[3] = FN(wg_odd)(FN(ld)(r + 2), FN(ld)(r + 2 + VW));
            }
        }
        return;
    }
    float buf[36 * VW] __attribute__((aligned(64)));
    for (int l = 0; l < VW; l++) {
        const long tt = t + (l < lanes ? l : 0);
        FN(wg_gather)(plane, h, w, tt / tw * m - 1, tt % tw * m - 1, a, buf, l);
    }
    for (int k = 0; k < a * a; k++) d[k] = FN(ld)(buf + k * VW);
}

// One vector of output pixels at `at` in the plane, with wg_scatter's residual and ReLU.
INL void FN(wg_put)(float *plane, long at, vf v, const float *res, int relu) {
    if (res) v += FN(ld)(res + at);
    FN(st)(plane + at, relu ? FN(vrelu)(v) : v);
}

// Output tiles o[m²] (lane l: tile t + l) into `plane` [H, W]: VW whole tiles of one tile row, all
// inside H×W, as interleaved whole-vector rows (element j of lane l at column m·l + j); others
// through wg_scatter, dropping what lies outside. res, relu: as wg_scatter's.
INL void FN(wg_tiles)(const vf *o, int m, long tw, long t, int lanes, long h, long w, float *plane,
                      const float *res, int relu) {
    const long ty = t / tw, tx = t % tw;
    if (lanes == VW && tx + VW <= tw && (ty + 1) * m <= h && (tx + VW) * m <= w) {
        for (int i = 0; i < m; i++) {
            const vf *oi = o + i * m;
            const long at = (ty * m + i) * w + tx * m;
            if (m == 4) {
                vf plo = FN(wg_ziplo)(oi[0], oi[2]), phi = FN(wg_ziphi)(oi[0], oi[2]);
                vf qlo = FN(wg_ziplo)(oi[1], oi[3]), qhi = FN(wg_ziphi)(oi[1], oi[3]);
                FN(wg_put)(plane, at, FN(wg_ziplo)(plo, qlo), res, relu);
                FN(wg_put)(plane, at + VW, FN(wg_ziphi)(plo, qlo), res, relu);
                FN(wg_put)(plane, at + 2 * VW, FN(wg_ziplo)(phi, qhi), res, relu);
                FN(wg_put)(plane, at + 3 * VW, FN(wg_ziphi)(phi, qhi), res, relu);
            } else {
                FN(wg_put)(plane, at, FN(wg_ziplo)(oi[0], oi[1]), res, relu);
                FN(wg_put)(plane, at + VW, FN(wg_ziphi)(oi[0], oi[1]), res, relu);
            }
        }
        return;
    }
    float buf[16 * VW] __attribute__((aligned(64)));
    for (int k = 0; k < m * m; k++) FN(st)(buf + k * VW, o[k]);
    FN(wg_scatter)(buf, m, lanes, t, tw, h, w, plane, res, relu);
}

// g: [O, C, 3, 3] → u: [36][O][C]
void FN(sd_winograd_filter)(const float *g, long o, long c, long o0, long o1, float *u) {
    FN(wg_filter4)(g, o, c, o0, o1, u);
}

// The 6×6 input patches of tiles [t0, t1) of one image, transformed, as the GEMM's right operand.
// x: [C, H, W]; tiles row-major over the ceil(H/4)×ceil(W/4) grid, patch of tile (ty, tx) at rows
// 4ty−1…4ty+4, columns 4tx−1…4tx+4 (zero outside the image) → v: [36][C][ldv], column t − t0
void FN(sd_winograd_input)(const float *x, long c, long h, long w, long t0, long t1, float *v, long ldv) {
    const long tw = (w + 3) / 4, nt = t1 - t0;
    FN(wg_rows_t) rows = {.ldr = 4 * tw + 2 * VW};
    rows.p = malloc((size_t)(6 * rows.ldr) * 4);
    for (long ch = 0; ch < c; ch++) {
        const float *plane = x + ch * h * w;
        rows.ty = -1;
        for (long t = 0; t < nt; t += VW) {
            const int lanes = nt - t < VW ? (int)(nt - t) : VW;
            vf d[36], r[36];
            FN(wg_patches)(plane, h, w, 4, tw, t0 + t, lanes, &rows, d);
            for (int j = 0; j < 6; j++) {          // columns: r[·][j] = Bᵀ·d[·][j]
                vf t6[6];
                WG_BT((d + j), 6, t6);
                for (int i = 0; i < 6; i++) r[i * 6 + j] = t6[i];
            }
            for (int i = 0; i < 6; i++) {          // rows: (Bᵀ·d)·B
                vf t6[6];
                WG_BT((r + i * 6), 1, t6);
                for (int j = 0; j < 6; j++) {
                    float *dst = v + ((long)(i * 6 + j) * c + ch) * ldv + t;
                    if (lanes == VW) FN(st)(dst, t6[j]);
                    else memcpy(dst, &t6[j], (size_t)lanes * 4);
                }
            }
        }
    }
    free(rows.p);
}

// The GEMM's products back to 4×4 output tiles, bias added, for output channels [0, oc) of the
// block: m: rows (ξ, k) at m + ξ·ms + k·ldm, column t − t0; bias: [oc] or NULL; res: [oc, H, W]
// added after the bias, or NULL; relu: then max(·, 0) (TAESD's blocks: relu(conv(h) + x));
// y: [oc, H, W] (channel k of the block at y + k·H·W); parts of edge tiles outside H×W are dropped.
void FN(sd_winograd_output)(const float *m, long ms, long ldm, long oc, long h, long w, long t0, long t1,
                            const float *bias, const float *res, int relu, float *y) {
    const long tw = (w + 3) / 4, nt = t1 - t0;
    for (long k = 0; k < oc; k++) {
        const float b = bias ? bias[k] : 0.0f;
        float *plane = y + k * h * w;
        const float *rplane = res ? res + k * h * w : NULL;
        for (long t = 0; t < nt; t += VW) {
            const int lanes = nt - t < VW ? (int)(nt - t) : VW;
            vf a[36], r[24];
            for (int q = 0; q < 36; q++) {
                const float *src = m + q * ms + k * ldm + t;
                if (lanes == VW) a[q] = FN(ld)(src);
                else { a[q] = FN(splat)(0); memcpy(&a[q], src, (size_t)lanes * 4); }
            }
            for (int j = 0; j < 6; j++) {          // columns: r[·][j] = Aᵀ·a[·][j], r: [4][6]
                vf o4[4];
                WG_AT((a + j), 6, o4);
                for (int i = 0; i < 4; i++) r[i * 6 + j] = o4[i];
            }
            vf out[16];
            for (int i = 0; i < 4; i++) {          // rows: (Aᵀ·a)·A, then the bias
                vf o4[4];
                WG_AT((r + i * 6), 1, o4);
                for (int j = 0; j < 4; j++) out[i * 4 + j] = o4[j] + b;
            }
            FN(wg_tiles)(out, 4, tw, t0 + t, lanes, h, w, plane, rplane, relu);
        }
    }
}

// ---- F(2×2, 3×3): the points 0, ±1 and ∞ (Lavin & Gray's F(2,3)); 16 multiplies per 2×2 output
// tile and input channel instead of 36. Its input and output transforms only add and subtract (no
// scaling by 4, 5 or 8 as in F(4,3)), so its error stays near im2col's.

// t[0..3] = Bᵀ·d for d[0..3]; s: stride between d's elements.
#define WG2_BT(d, s, t)                                                                \
    do {                                                                               \
        vf d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];                         \
        t[0] = d0 - d2;                                                                \
        t[1] = d1 + d2;                                                                \
        t[2] = d2 - d1;                                                                \
        t[3] = d1 - d3;                                                                \
    } while (0)

// o[0..1] = Aᵀ·m for m[0..3]; s: stride between m's elements.
#define WG2_AT(m, s, o)                                                                \
    do {                                                                               \
        vf m1 = m[s], m2 = m[2 * s];                                                   \
        o[0] = m[0] + m1 + m2;                                                         \
        o[1] = m1 - m2 - m[3 * s];                                                     \
    } while (0)

// g: [O, C, 3, 3] → u: [16][O][C]
void FN(sd_winograd2_filter)(const float *g, long o, long c, long o0, long o1, float *u) {
    FN(wg_filter2)(g, o, c, o0, o1, u);
}

// The 4×4 input patches of tiles [t0, t1) of one image, transformed. x: [C, H, W]; tiles row-major
// over the ceil(H/2)×ceil(W/2) grid, patch of tile (ty, tx) at rows 2ty−1…2ty+2, columns 2tx−1…2tx+2
// (zero outside the image) → v: [16][C][ldv], column t − t0
void FN(sd_winograd2_input)(const float *x, long c, long h, long w, long t0, long t1, float *v, long ldv) {
    const long tw = (w + 1) / 2, nt = t1 - t0;
    FN(wg_rows_t) rows = {.ldr = 2 * tw + 2 * VW};
    rows.p = malloc((size_t)(4 * rows.ldr) * 4);
    for (long ch = 0; ch < c; ch++) {
        const float *plane = x + ch * h * w;
        rows.ty = -1;
        for (long t = 0; t < nt; t += VW) {
            const int lanes = nt - t < VW ? (int)(nt - t) : VW;
            vf d[16], r[16];
            FN(wg_patches)(plane, h, w, 2, tw, t0 + t, lanes, &rows, d);
            for (int j = 0; j < 4; j++) {          // columns: r[·][j] = Bᵀ·d[·][j]
                vf t4[4];
                WG2_BT((d + j), 4, t4);
                for (int i = 0; i < 4; i++) r[i * 4 + j] = t4[i];
            }
            for (int i = 0; i < 4; i++) {          // rows: (Bᵀ·d)·B
                vf t4[4];
                WG2_BT((r + i * 4), 1, t4);
                for (int j = 0; j < 4; j++) {
                    float *dst = v + ((long)(i * 4 + j) * c + ch) * ldv + t;
                    if (lanes == VW) FN(st)(dst, t4[j]);
                    else memcpy(dst, &t4[j], (size_t)lanes * 4);
                }
            }
        }
    }
    free(rows.p);
}

// The GEMM's products back to 2×2 output tiles, bias added (layout as sd_winograd_output's).
void FN(sd_winograd2_output)(const float *m, long ms, long ldm, long oc, long h, long w, long t0, long t1,
                             const float *bias, const float *res, int relu, float *y) {
    const long tw = (w + 1) / 2, nt = t1 - t0;
    for (long k = 0; k < oc; k++) {
        const float b = bias ? bias[k] : 0.0f;
        float *plane = y + k * h * w;
        const float *rplane = res ? res + k * h * w : NULL;
        for (long t = 0; t < nt; t += VW) {
            const int lanes = nt - t < VW ? (int)(nt - t) : VW;
            vf a[16], r[8];
            for (int q = 0; q < 16; q++) {
                const float *src = m + q * ms + k * ldm + t;
                if (lanes == VW) a[q] = FN(ld)(src);
                else { a[q] = FN(splat)(0); memcpy(&a[q], src, (size_t)lanes * 4); }
            }
            for (int j = 0; j < 4; j++) {          // columns: r[·][j] = Aᵀ·a[·][j], r: [2][4]
                vf o2[2];
                WG2_AT((a + j), 4, o2);
                for (int i = 0; i < 2; i++) r[i * 4 + j] = o2[i];
            }
            vf out[4];
            for (int i = 0; i < 2; i++) {          // rows: (Aᵀ·a)·A, then the bias
                vf o2[2];
                WG2_AT((r + i * 4), 1, o2);
                for (int j = 0; j < 2; j++) out[i * 2 + j] = o2[j] + b;
            }
            FN(wg_tiles)(out, 2, tw, t0 + t, lanes, h, w, plane, rplane, relu);
        }
    }
}

// ---- The tile GEMMs where channels are few ----
// Per point ξ: M [O × n] = U [O × C] · V [C × n], every operand read as the transforms lay it out.
// At a few dozen channels (TAESD's 64) a BLAS call's packing of both operands and zeroing of M cost
// as much as the product; here U's rows are broadcast and V's rows loaded as they lie (U [ξ] of 64
// channels is 16 KiB: it stays in L1 across a block's column tiles). Each output element is one sum
// over C in order, so the result does not depend on the block or thread that computes it.
GEMM_TILE(FN(wg_mm_tile), MR_S, NV_S, 0)
GEMM_TILE(FN(wg_mm_row), 1, NV_S, 0)
GEMM_TILE(FN(wg_mm_tile1), MR_S, 1, 0)
GEMM_TILE(FN(wg_mm_row1), 1, 1, 0)

// u: [O][C] row stride ldu; v: [C][n] row stride ldv; m: [O][n] row stride ldm; n a multiple of VW
void FN(sd_winograd_gemm)(const float *u, long ldu, const float *v, long ldv, float *m, long ldm, long o, long c, long n) {
    long j = 0;
    for (; j + NV_S * VW <= n; j += NV_S * VW) {
        long i = 0;
        for (; i + MR_S <= o; i += MR_S) FN(wg_mm_tile)(u + i * ldu, ldu, 1, v + j, ldv, (int)c, m + i * ldm + j, ldm, 1.0f);
        for (; i < o; i++) FN(wg_mm_row)(u + i * ldu, ldu, 1, v + j, ldv, (int)c, m + i * ldm + j, ldm, 1.0f);
    }
    for (; j < n; j += VW) {
        long i = 0;
        for (; i + MR_S <= o; i += MR_S) FN(wg_mm_tile1)(u + i * ldu, ldu, 1, v + j, ldv, (int)c, m + i * ldm + j, ldm, 1.0f);
        for (; i < o; i++) FN(wg_mm_row1)(u + i * ldu, ldu, 1, v + j, ldv, (int)c, m + i * ldm + j, ldm, 1.0f);
    }
}

#undef WG2_BT
#undef WG2_AT

#undef WG_BT
#undef WG_AT
#undef WG_EVEN
#undef WG_ODD
#undef WG_ZIPLO
#undef WG_ZIPHI
#undef vf
