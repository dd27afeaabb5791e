// Winograd F(4×4, 3×3) and F(2×2, 3×3) filter, input and output transforms (Lavin & Gray 2016, "Fast Algorithms for
// Convolutional Neural Networks"; the points 0, ±1, ±2, ±1/2 of ncnn's and MNN's F(4,3)), compiled
// once per ISA by kernels_<isa>.c after kernels_impl.h. Vectors run across VW tiles, so every tile's
// arithmetic is the same sequence of operations whatever block or thread holds it.
// A 3×3 stride-1 convolution with padding 1 becomes, per 4×4 output tile and its 6×6 input patch d:
//   y = Aᵀ·[Σ_c (G·g·Gᵀ) ⊙ (Bᵀ·d·B)]·A, the channel sum being 36 GEMMs [O×C]·[C×tiles].
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

// G for F(4, 3): the interpolation points 0, ±1, ±2, ±1/2 and ∞.
static const double FN(wg_g)[6][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};

// The filter G·g·Gᵀ (G: [a][3], a = 6 or 4) of output channels [o0, o1), in double (the loops over a
// block of input channels vectorise) and rounded once to float: the transformed filter adds no error
// of its own. g: [O, C, 3, 3] → u: [a²][O][C]
INL void FN(wg_filter)(const double (*G)[3], int a, const float *g, long o, long c, long o0, long o1, float *u) {
    enum { CB = 64 };
    double k[9][CB], t[6][3][CB];
    for (long oi = o0; oi < o1; oi++)
        for (long c0 = 0; c0 < c; c0 += CB) {
            const int cn = c - c0 < CB ? (int)(c - c0) : CB;
            for (int l = 0; l < cn; l++)
                for (int q = 0; q < 9; q++) k[q][l] = g[(oi * c + c0 + l) * 9 + q];
            for (int i = 0; i < a; i++)
                for (int j = 0; j < 3; j++)
                    for (int l = 0; l < cn; l++) t[i][j][l] = G[i][0] * k[j][l] + G[i][1] * k[3 + j][l] + G[i][2] * k[6 + j][l];
            for (int i = 0; i < a; i++)
                for (int j = 0; j < a; j++) {
                    float *dst = u + ((long)(i * a + j) * o + oi) * c + c0;
                    for (int l = 0; l < cn; l++) dst[l] = (float)(t[i][0][l] * G[j][0] + t[i][1][l] * G[j][1] + t[i][2][l] * G[j][2]);
                }
        }
}

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
INL void FN(wg_scatter)(const float *buf, int m, int lanes, long t0, long tw, long h, long w, float *plane) {
    for (int l = 0; l < lanes; l++) {
        const long tt = t0 + l;
        const long y0 = tt / tw * m, x0 = tt % tw * m;
        const int rows = h - y0 < m ? (int)(h - y0) : m, cols = w - x0 < m ? (int)(w - x0) : m;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) plane[(y0 + i) * w + x0 + j] = buf[(i * m + j) * VW + l];
    }
}

// g: [O, C, 3, 3] → u: [36][O][C]
void FN(sd_winograd_filter)(const float *g, long o, long c, long o0, long o1, float *u) {
    FN(wg_filter)(FN(wg_g), 6, g, o, c, o0, o1, u);
}

// The 6×6 input patches of tiles [t0, t1) of one image, transformed, as the GEMM's right operand.
// x: [C, H, W]; tiles row-major over the ceil(H/4)×ceil(W/4) grid, patch of tile (ty, tx) at rows
// 4ty−1…4ty+4, columns 4tx−1…4tx+4 (zero outside the image) → v: [36][C][ldv], column t − t0
void FN(sd_winograd_input)(const float *x, long c, long h, long w, long t0, long t1, float *v, long ldv) {
    const long tw = (w + 3) / 4, nt = t1 - t0;
    float buf[36 * VW] __attribute__((aligned(64)));
    for (long ch = 0; ch < c; ch++) {
        const float *plane = x + ch * h * w;
        for (long t = 0; t < nt; t += VW) {
            const int lanes = nt - t < VW ? (int)(nt - t) : VW;
            for (int l = 0; l < VW; l++) {
                const long tt = t0 + t + (l < lanes ? l : 0);
                FN(wg_gather)(plane, h, w, tt / tw * 4 - 1, tt % tw * 4 - 1, 6, buf, l);
            }
            vf d[36], r[36];
            for (int k = 0; k < 36; k++) d[k] = FN(ld)(buf + k * VW);
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
}

// The GEMM's products back to 4×4 output tiles, bias added, for output channels [0, oc) of the
// block: m: rows (ξ, k) at m + ξ·ms + k·ldm, column t − t0; bias: [oc] or NULL;
// y: [oc, H, W] (channel k of the block at y + k·H·W); parts of edge tiles outside H×W are dropped.
void FN(sd_winograd_output)(const float *m, long ms, long ldm, long oc, long h, long w, long t0, long t1,
                            const float *bias, float *y) {
    const long tw = (w + 3) / 4, nt = t1 - t0;
    float buf[16 * VW] __attribute__((aligned(64)));
    for (long k = 0; k < oc; k++) {
        const float b = bias ? bias[k] : 0.0f;
        float *plane = y + k * h * w;
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
            for (int i = 0; i < 4; i++) {          // rows: (Aᵀ·a)·A, then the bias
                vf o4[4];
                WG_AT((r + i * 6), 1, o4);
                for (int j = 0; j < 4; j++) FN(st)(buf + (i * 4 + j) * VW, o4[j] + b);
            }
            FN(wg_scatter)(buf, 4, lanes, t0 + t, tw, h, w, plane);
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
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    FN(wg_filter)(G, 4, g, o, c, o0, o1, u);
}

// The 4×4 input patches of tiles [t0, t1) of one image, transformed. x: [C, H, W]; tiles row-major
// over the ceil(H/2)×ceil(W/2) grid, patch of tile (ty, tx) at rows 2ty−1…2ty+2, columns 2tx−1…2tx+2
// (zero outside the image) → v: [16][C][ldv], column t − t0
void FN(sd_winograd2_input)(const float *x, long c, long h, long w, long t0, long t1, float *v, long ldv) {
    const long tw = (w + 1) / 2, nt = t1 - t0;
    float buf[16 * VW] __attribute__((aligned(64)));
    for (long ch = 0; ch < c; ch++) {
        const float *plane = x + ch * h * w;
        for (long t = 0; t < nt; t += VW) {
            const int lanes = nt - t < VW ? (int)(nt - t) : VW;
            for (int l = 0; l < VW; l++) {
                const long tt = t0 + t + (l < lanes ? l : 0);
                FN(wg_gather)(plane, h, w, tt / tw * 2 - 1, tt % tw * 2 - 1, 4, buf, l);
            }
            vf d[16], r[16];
            for (int k = 0; k < 16; k++) d[k] = FN(ld)(buf + k * VW);
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
}

// The GEMM's products back to 2×2 output tiles, bias added (layout as sd_winograd_output's).
void FN(sd_winograd2_output)(const float *m, long ms, long ldm, long oc, long h, long w, long t0, long t1,
                             const float *bias, float *y) {
    const long tw = (w + 1) / 2, nt = t1 - t0;
    float buf[4 * VW] __attribute__((aligned(64)));
    for (long k = 0; k < oc; k++) {
        const float b = bias ? bias[k] : 0.0f;
        float *plane = y + k * h * w;
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
            for (int i = 0; i < 2; i++) {          // rows: (Aᵀ·a)·A, then the bias
                vf o2[2];
                WG2_AT((r + i * 4), 1, o2);
                for (int j = 0; j < 2; j++) FN(st)(buf + (i * 2 + j) * VW, o2[j] + b);
            }
            FN(wg_scatter)(buf, 2, lanes, t0 + t, tw, h, w, plane);
        }
    }
}

#undef WG2_BT
#undef WG2_AT

#undef WG_BT
#undef WG_AT
#undef vf
