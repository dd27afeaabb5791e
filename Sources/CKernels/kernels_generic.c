// SSE2 variant (every x86-64 CPU): 4 floats per vector, 16 registers.
#define VW 4
#define SUFFIX _generic
#define MR_S 6
#define NV_S 2
#define MR_O 6
#define NV_O 2
#include "kernels_params.h"
#include "sd_kernels.h"
#include "kernels_impl.h"
#include "kernels_winograd.h"
