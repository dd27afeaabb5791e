// Winograd F(4×4, 3×3): the run-time choice among the per-ISA filter, input and output transforms
// (kernels_winograd.h).
#include "sd_kernels.h"

#define DECLARE(sfx)                                                                                  \
    void sd_winograd_filter##sfx(const float *, long, long, long, long, float *);                     \
    void sd_winograd_input##sfx(const float *, long, long, long, long, long, float *, long);          \
    void sd_winograd_output##sfx(const float *, long, long, long, long, long, long, long, const float *, float *);
DECLARE(_generic)
DECLARE(_avx2)
DECLARE(_avx512)

static int clamp(int isa) { int best = sd_isa_best(); return isa > best ? best : isa; }

void sd_winograd_filter(int isa, const float *g, long o, long c, long o0, long o1, float *u) {
    switch (clamp(isa)) {
    case SD_ISA_AVX512: sd_winograd_filter_avx512(g, o, c, o0, o1, u); break;
    case SD_ISA_AVX2: sd_winograd_filter_avx2(g, o, c, o0, o1, u); break;
    default: sd_winograd_filter_generic(g, o, c, o0, o1, u);
    }
}

void sd_winograd_input(int isa, const float *x, long c, long h, long w, long t0, long t1, float *v, long ldv) {
    switch (clamp(isa)) {
    case SD_ISA_AVX512: sd_winograd_input_avx512(x, c, h, w, t0, t1, v, ldv); break;
    case SD_ISA_AVX2: sd_winograd_input_avx2(x, c, h, w, t0, t1, v, ldv); break;
    default: sd_winograd_input_generic(x, c, h, w, t0, t1, v, ldv);
    }
}

void sd_winograd_output(int isa, const float *m, long ms, long ldm, long oc, long h, long w, long t0, long t1,
                        const float *bias, float *y) {
    switch (clamp(isa)) {
    case SD_ISA_AVX512: sd_winograd_output_avx512(m, ms, ldm, oc, h, w, t0, t1, bias, y); break;
    case SD_ISA_AVX2: sd_winograd_output_avx2(m, ms, ldm, oc, h, w, t0, t1, bias, y); break;
    default: sd_winograd_output_generic(m, ms, ldm, oc, h, w, t0, t1, bias, y);
    }
}
