// sdedit's own C kernels: CPU feature detection, the BLAS loader, and the SIMD kernels that are
// compiled once per ISA and chosen at run time (never from the build machine's CPU).
#ifndef SD_KERNELS_H
#define SD_KERNELS_H
#include <stddef.h>
#include <stdint.h>

// Atomic fetch-and-add (Swift has no atomics without a package): the work counter of parallelChunks.
static inline long sd_fetch_add(long *p, long v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

// ---- CPU features (cpuid + xgetbv: an ISA counts only if the OS saves its registers) ----
typedef struct {
    char vendor[13];
    char brand[49];
    int family, model, stepping;
    int sse41, avx, avx2, fma, f16c;
    int avx512f, avx512bw, avx512dq, avx512vl, avx512_vnni, avx512_bf16;
    int amx_tile, amx_bf16, amx_int8;
} sd_cpu_info;

const sd_cpu_info *sd_cpu(void);

// Kernel ISA levels, lowest to highest. SD_ISA_GENERIC is SSE2, which every x86-64 CPU has.
enum { SD_ISA_GENERIC = 0, SD_ISA_AVX2 = 1, SD_ISA_AVX512 = 2 };
int sd_isa_best(void);               // the highest level this CPU and OS support
const char *sd_isa_name(int isa);

// ---- BLAS: OpenBLAS loaded at run time, its kernels chosen from the CPU's features ----
// coretype: the OPENBLAS_CORETYPE to load with (the kernel plan's), or NULL for OpenBLAS's own choice.
// Returns 0 on success; otherwise writes a one-line reason into err.
int sd_blas_load(const char *coretype, char *err, size_t errlen);
const char *sd_blas_coretype_for_cpu(void); // OpenBLAS kernels for this CPU's widest ISA, or NULL (SSE only)
const char *sd_blas_corename(void);   // what OpenBLAS runs ("Haswell", "SkylakeX", …)
const char *sd_blas_config(void);
void sd_blas_set_threads(int n);
// Row-major C[M,N] = alpha·op(A)·op(B) + beta·C.
void sd_sgemm(int transA, int transB, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

// ---- Fused attention (flash style: scores stay in a cache-sized block) ----
// One head, query rows [q0, q1): out = softmax(alpha·Q·Kᵀ [causal]) · V.
// q: [Tq, dq] row stride qs; k: [Tk, dq] row stride ks; v: [Tk, dv] row stride vs; out: [Tq, dv] row stride os.
// scratch: sd_attention_scratch_floats(tk, dq, dv) floats, private to the caller's thread.
// round_p != 0: the softmax numerators are rounded to bf16 before P·V (portable --precision bf16).
size_t sd_attention_scratch_floats(int tk, int dq, int dv);
void sd_attention_head(int isa, const float *q, const float *k, const float *v, float *out,
                       int tq, int tk, int dq, int dv, long qs, long ks, long vs, long os,
                       float alpha, int causal, int round_p, int q0, int q1, float *scratch);
// The same in bf16 (attention_bf16.c): q, k, v and the numerators rounded to bf16, fp32
// accumulation, on AMX tiles (only after sd_amx_enable() returned 1: AMX-BF16 + AVX512-BF16, and
// Linux granted the tile state) or on AVX512-BF16 registers (VDPBF16PS; only where cpuid reports
// avx512_bf16 and AVX-512 is usable). scratch: sd_attention_bf16_scratch_bytes(tk, dq, dv) bytes.
int sd_amx_enable(void);
size_t sd_attention_bf16_scratch_bytes(int tk, int dq, int dv);
void sd_attention_head_amx(const float *q, const float *k, const float *v, float *out, int tk, int dq, int dv,
                           long qs, long ks, long vs, long os, float alpha, int causal, int q0, int q1,
                           void *scratch);
void sd_attention_head_dpbf16(const float *q, const float *k, const float *v, float *out, int tk, int dq, int dv,
                              long qs, long ks, long vs, long os, float alpha, int causal, int q0, int q1,
                              void *scratch);

// ---- Softmax of contiguous rows, in place (max-subtracted, as torch) ----
// x: [rows, n]
void sd_softmax_rows(int isa, float *x, long rows, long n);

// ---- Elementwise activations, GEGLU, GroupNorm ----
enum { SD_UNARY_EXP = 0, SD_UNARY_SIGMOID = 1, SD_UNARY_SILU = 2, SD_UNARY_GELU = 3, SD_UNARY_RELU = 4 };
// src, dst: [n] (may alias)
void sd_unary(int isa, int op, const float *src, float *dst, long n);
// src: [rows, 2d] → dst: [rows, d] = src[:, :d] · GELU(src[:, d:])
void sd_geglu_rows(int isa, const float *src, float *dst, long rows, long d);
// One (image, group) of GroupNorm in place, SiLU fused when silu != 0. p: [cpg, spatial]; gamma, beta: [cpg] or NULL
void sd_groupnorm_group(int isa, float *p, long spatial, long cpg, const float *gamma, const float *beta,
                        float eps, int silu);

// ---- bfloat16 (round to nearest even, as torch and oneDNN) ----
void sd_f32_to_bf16(const float *src, uint16_t *dst, long n);
void sd_bf16_to_f32(const uint16_t *src, float *dst, long n);
// dst = float(bf16(src)); src and dst may alias.
void sd_round_bf16(const float *src, float *dst, long n);

// ---- bf16 convolution as a GEMM over pixels (conv_bf16.c) ----
// src: [C, HW] fp32 → dst: [HW, C] bf16, pixels [p0, p1)
void sd_nchw_to_nhwc_bf16(const float *src, uint16_t *dst, long c, long hw, long p0, long p1);
// src: [H, W, C] bf16 → dst: [(oy1 − oy0)·OW, kh·kw·C], K ordered (ky, kx, c)
void sd_im2row_bf16(const uint16_t *src, int h, int w, int c, int kh, int kw, int stride, int pad_top,
                    int pad_left, int oy0, int oy1, int ow, uint16_t *dst);
// dst[ch·ldd + p] = src[p·cols + ch] for p < rows, ch < cols
void sd_store_transposed(const float *src, long rows, long cols, float *dst, long ldd);

// ---- oneDNN (libdnnl.so.2), loaded at run time for GEMMs in bf16 on CPUs with AMX/AVX512-BF16 ----
// Returns 0 on success; otherwise writes a one-line reason into err. Sets OMP_NUM_THREADS=1 first:
// every call runs on one of sdedit's threads (one thread budget, and tiles fixed by the shape).
int sd_dnnl_load(char *err, size_t errlen);
const char *sd_dnnl_version(void);
// The implementation oneDNN picks for a bf16 (bf16 != 0) or fp32 matmul, or NULL when it has none
// on this CPU (oneDNN 2.x has no bf16 below AVX-512).
const char *sd_dnnl_matmul_impl(int bf16);
// Row-major C[M,N] (fp32) = op(A)·op(B) + beta·C, beta 0 or 1; A, B bf16 (uint16_t) when bf16 != 0,
// else float. transA/transB as BLAS. Returns 0, or a dnnl_status_t.
int sd_dnnl_gemm(int bf16, int transA, int transB, int m, int n, int k, const void *a, int lda,
                 const void *b, int ldb, float beta, float *c, int ldc);
// A linear weight w [N, K] (bf16, row-major) packed once into the layout the bf16 matmul reads as
// B = wᵀ; NULL when oneDNN is not loaded or refuses. Free with sd_dnnl_packed_free.
void *sd_dnnl_pack_weight(int n, int k, const uint16_t *w);
void sd_dnnl_packed_free(void *p);
// Back to w [N, K] row-major. Returns 0, or a dnnl_status_t.
int sd_dnnl_unpack_weight(const void *p, int n, int k, uint16_t *w);
// Row-major C[M,N] (fp32) = A[M,K]·wᵀ + (bias [N] broadcast over rows, when not NULL, else beta·C),
// A bf16 and w packed. Returns 0, or a dnnl_status_t.
int sd_dnnl_gemm_packed(const void *p, int m, int n, int k, const uint16_t *a, int lda, const float *bias,
                        float beta, float *c, int ldc);

// ---- Winograd F(m×m, 3×3), m = 4 or 2, for 3×3 stride-1 convolutions with padding 1 (winograd.c) ----
// α = m + 2 points per side, α² per tile (36 for F(4×4), 16 for F(2×2)).
// Filter G·g·Gᵀ (computed in double) for output channels [o0, o1), on the given ISA's kernels: g: [O, C, 3, 3] → u: [α²][O][C]
void sd_winograd_filter(int isa, int m, const float *g, long o, long c, long o0, long o1, float *u);
// Input patches Bᵀ·d·B of tiles [t0, t1) (row-major over the ceil(H/m)×ceil(W/m) grid) of one image:
// x: [C, H, W] → v: [α²][C][ldv], column t − t0
void sd_winograd_input(int isa, int m, const float *x, long c, long h, long w, long t0, long t1, float *v, long ldv);
// Aᵀ·m·A + bias for oc output channels: m row (ξ, k) at m + ξ·ms + k·ldm, column t − t0;
// bias: [oc] or NULL; res: [oc, H, W] added after the bias, or NULL; relu: then max(·, 0)
// → y: [oc, H, W] (the tiles' pixels inside H×W)
void sd_winograd_output(int isa, int m, const float *mm, long ms, long ldm, long oc, long h, long w, long t0, long t1,
                        const float *bias, const float *res, int relu, float *y);
// One point's tile GEMM without packing, for few channels: m [O][n] = u [O][C] · v [C][n] (row
// strides ldu, ldv, ldm); n a multiple of 16
void sd_winograd_gemm(int isa, const float *u, long ldu, const float *v, long ldv, float *m, long ldm, long o, long c, long n);

// ---- Validation ----
// How many of x[0..<n] are NaN or ±Inf.
long sd_count_nonfinite(const float *x, long n);
long sd_count_nonfinite_bf16(const unsigned short *x, long n);

#endif
