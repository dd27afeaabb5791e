// AVX-512 (F/BW/DQ/VL) variant: 16 floats per vector, 32 zmm registers (16 accumulators per tile).
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))), apply_to = function)
#define VW 16
#define SUFFIX _avx512
#define MR_S 8
#define NV_S 2
#define MR_O 8
#define NV_O 2
#include "kernels_params.h"
#include "sd_kernels.h"
#include "kernels_impl.h"
#include "kernels_winograd.h"
#pragma clang attribute pop
