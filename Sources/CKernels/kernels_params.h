// Block sizes shared by every ISA variant (and by the scratch-size function in dispatch.c).
// BK keys × BQ queries of scores = 32 KiB: the block stays in L1/L2 on every x86 core.
#ifndef SD_KERNELS_PARAMS_H
#define SD_KERNELS_PARAMS_H
#define SD_ATTN_BQ 64
#define SD_ATTN_BK 128
#endif
