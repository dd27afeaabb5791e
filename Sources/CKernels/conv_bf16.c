// Data movement for the bf16 convolution on packed weights (SDCore Tensor+Convolution.swift,
// conv2dPacked): the conv runs as a linear layer over pixels, out[pixel, O] = rows[pixel, K]·Wᵀ,
// with K ordered (ky, kx, c) so each tap of a pixel is one run of C channels in an NHWC image.
// Plain C; each function is cloned for AVX-512, AVX2 and SSE2 and picked from cpuid at load.
#include "sd_kernels.h"
#include "bf16_round.h"
#include <string.h>

#define CLONES __attribute__((target_clones("avx512bw", "avx2", "default")))

// src: [C, HW] fp32 → dst: [HW, C] bf16 (one image, NCHW → NHWC) for pixels [p0, p1).
// Channel pairs become 32-bit words (contiguous, vectorised), then 16 × 16 word tiles are transposed
// through an L1 buffer: half the moves of an element-wise transpose.
CLONES void sd_nchw_to_nhwc_bf16(const float *src, uint16_t *dst, long c, long hw, long p0, long p1) {
    uint32_t tile[16][16];
    const long c2 = c / 2;
    uint32_t *dw = (uint32_t *)dst;   // [HW, C/2] words when C is even
    for (long b0 = p0; b0 < p1; b0 += 16) {
        const long bn = p1 - b0 < 16 ? p1 - b0 : 16;
        long j0 = 0;
        for (; (c & 1) == 0 && j0 < c2; j0 += 16) {
            const long jn = c2 - j0 < 16 ? c2 - j0 : 16;
            for (long j = 0; j < jn; j++) {
                const float *lo = src + (2 * (j0 + j)) * hw + b0, *hi = lo + hw;
                for (long i = 0; i < bn; i++) tile[j][i] = (uint32_t)sd_bf16_rne(lo[i]) | ((uint32_t)sd_bf16_rne(hi[i]) << 16);
            }
            for (long i = 0; i < bn; i++)
                for (long j = 0; j < jn; j++) dw[(b0 + i) * c2 + j0 + j] = tile[j][i];
        }
        if (c & 1)   // odd channel counts (an RGB stem): element by element
            for (long p = b0; p < b0 + bn; p++)
                for (long ch = 0; ch < c; ch++) dst[p * c + ch] = sd_bf16_rne(src[ch * hw + p]);
    }
}

// The K = kh·kw·C row of every output pixel in rows [oy0, oy1) of one image.
// src: [H, W, C] bf16 → dst: [(oy1 − oy0)·OW, kh·kw·C], zeros where a tap falls in the padding.
CLONES void sd_im2row_bf16(const uint16_t *src, int h, int w, int c, int kh, int kw, int stride, int pad_top,
                           int pad_left, int oy0, int oy1, int ow, uint16_t *dst) {
    const long k = (long)kh * kw * c;
    for (int oy = oy0; oy < oy1; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            uint16_t *row = dst + ((long)(oy - oy0) * ow + ox) * k;
            for (int ky = 0; ky < kh; ky++) {
                // The kw taps of one kernel row are kw neighbouring pixels: one run of kw·C values.
                const int iy = oy * stride - pad_top + ky, ix0 = ox * stride - pad_left;
                uint16_t *taps = row + (long)ky * kw * c;
                if (iy < 0 || iy >= h) { memset(taps, 0, (size_t)kw * c * 2); continue; }
                // Valid taps kx in [lo, hi), 0 ≤ lo ≤ hi ≤ kw: 0 ≤ ix0 + kx < w.
                int lo = ix0 < 0 ? -ix0 : 0, hi = w - ix0;
                if (lo > kw) lo = kw;
                if (hi > kw) hi = kw;
                if (hi < lo) hi = lo;
                if (lo > 0) memset(taps, 0, (size_t)lo * c * 2);
                if (hi > lo) memcpy(taps + (long)lo * c, src + ((long)iy * w + ix0 + lo) * c, (size_t)(hi - lo) * c * 2);
                if (hi < kw) memset(taps + (long)hi * c, 0, (size_t)(kw - hi) * c * 2);
            }
        }
    }
}

// dst[ch·ldd + p] = src[p·cols + ch]: a [rows, cols] pixel-major GEMM result stored into NCHW
// planes (rows = pixels, cols = channels), in 32 × 32 blocks.
CLONES void sd_store_transposed(const float *src, long rows, long cols, float *dst, long ldd) {
    for (long c0 = 0; c0 < cols; c0 += 32) {
        const long c1 = c0 + 32 < cols ? c0 + 32 : cols;
        for (long p0 = 0; p0 < rows; p0 += 32) {
            const long p1 = p0 + 32 < rows ? p0 + 32 : rows;
            for (long ch = c0; ch < c1; ch++)
                for (long p = p0; p < p1; p++) dst[ch * ldd + p] = src[p * cols + ch];
        }
    }
}
