// Winograd F(4×4, 3×3) and F(2×2, 3×3): the run-time choice among the per-ISA filter, input and output
// transforms (kernels_winograd.h).
#include "sd_kernels.h"

#define DECLARE(sfx)                                                                                  \
    void sd_winograd_filter##sfx(const float *, long, long, long, long, float *);                     \
    void sd_winograd_input##sfx(const float *, long, long, long, long, long, float *, long);          \
    void sd_winograd_output##sfx(const float *, long, long, long, long, long, long, long, const float *, const float *, int, float *); \
    void sd_winograd2_filter##sfx(const float *, long, long, long, long, float *);                    \
    void sd_winograd2_input##sfx(const float *, long, long, long, long, long, float *, long);         \
    void sd_winograd2_output##sfx(const float *, long, long, long, long, long, long, long, const float *, const float *, int, float *); \
    void sd_winograd_gemm##sfx(const float *, long, const float *, long, float *, long, long, long, long);
DECLARE(_generic)
DECLARE(_avx2)
DECLARE(_avx512)

static int clamp(int isa) { int best = sd_isa_best(); return isa > best ? best : isa; }

// One switch per entry point: ISA × tile size.
#define PICK(name, m, isa, args)                                                                      \
    do {                                                                                              \
        switch (clamp(isa)) {                                                                         \
        case SD_ISA_AVX512: if (m == 2) sd_winograd2_##name##_avx512 args; else sd_winograd_##name##_avx512 args; break; \
        case SD_ISA_AVX2: if (m == 2) sd_winograd2_##name##_avx2 args; else sd_winograd_##name##_avx2 args; break;       \
        default: if (m == 2) sd_winograd2_##name##_generic args; else sd_winograd_##name##_generic args;                 \
        }                                                                                             \
    } while (0)

void sd_winograd_filter(int isa, int m, const float *g, long o, long c, long o0, long o1, float *u) {
    PICK(filter, m, isa, (g, o, c, o0, o1, u));
}

void sd_winograd_input(int isa, int m, const float *x, long c, long h, long w, long t0, long t1, float *v, long ldv) {
    PICK(input, m, isa, (x, c, h, w, t0, t1, v, ldv));
}

void sd_winograd_output(int isa, int m, const float *mm, long ms, long ldm, long oc, long h, long w, long t0, long t1,
                        const float *bias, const float *res, int relu, float *y) {
    PICK(output, m, isa, (mm, ms, ldm, oc, h, w, t0, t1, bias, res, relu, y));
}

void sd_winograd_gemm(int isa, const float *u, long ldu, const float *v, long ldv, float *m, long ldm, long o, long c, long n) {
    switch (clamp(isa)) {
    case SD_ISA_AVX512: sd_winograd_gemm_avx512(u, ldu, v, ldv, m, ldm, o, c, n); break;
    case SD_ISA_AVX2: sd_winograd_gemm_avx2(u, ldu, v, ldv, m, ldm, o, c, n); break;
    default: sd_winograd_gemm_generic(u, ldu, v, ldv, m, ldm, o, c, n);
    }
}
