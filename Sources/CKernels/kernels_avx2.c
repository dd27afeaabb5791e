// AVX2 + FMA variant: 8 floats per vector, 16 ymm registers (12 accumulators per tile; 6×2 was the
// fastest of 6 tilings measured: docs/benchmarks.md, "Why the kernel rules are what they are").
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define VW 8
#define SUFFIX _avx2
#define MR_S 6
#define NV_S 2
#define MR_O 6
#define NV_O 2
#include "kernels_params.h"
#include "sd_kernels.h"
#include "kernels_impl.h"
#include "kernels_winograd.h"
#pragma clang attribute pop
