// fp32 → bf16, round to nearest even, as torch's c10::BFloat16 round_to_nearest_even (NaN stays a
// quiet NaN). Branch-free, so loops over it vectorise. The one copy for bf16.c, conv_bf16.c and
// attention_bf16.c.
#ifndef SD_BF16_ROUND_H
#define SD_BF16_ROUND_H
#include <stdint.h>
#include <string.h>

static inline uint16_t sd_bf16_rne(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    const uint32_t quiet = (u >> 16) | 0x40u;
    return (uint16_t)(((u & 0x7FFFFFFFu) > 0x7F800000u) ? quiet : rounded);
}
#endif
