// bfloat16 conversions. bf16 is the top half of an IEEE float; fp32 → bf16 rounds to nearest even,
// as torch's c10::BFloat16 (round_to_nearest_even) and oneDNN's cvt do, so a weight stored here is
// the value PyTorch's .to(torch.bfloat16) gives. NaN stays NaN (weights are checked before this).
#include "sd_kernels.h"
#include "bf16_round.h"
#include <string.h>

// Compiled for AVX-512, AVX2 and SSE2; the loader picks the clone from cpuid (every clone gives the
// same bits, so SDEDIT_MAX_ISA need not reach these).
#define CLONES __attribute__((target_clones("avx512bw", "avx2", "default")))

CLONES void sd_f32_to_bf16(const float *src, uint16_t *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = sd_bf16_rne(src[i]);
}

CLONES void sd_bf16_to_f32(const uint16_t *src, float *dst, long n) {
    uint32_t *d = (uint32_t *)dst;
    for (long i = 0; i < n; i++) d[i] = (uint32_t)src[i] << 16;
}

CLONES void sd_round_bf16(const float *src, float *dst, long n) {
    uint32_t *d = (uint32_t *)dst;
    for (long i = 0; i < n; i++) d[i] = (uint32_t)sd_bf16_rne(src[i]) << 16;
}
