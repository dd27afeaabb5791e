// oneDNN, loaded at run time (dlopen) for bf16 GEMMs on CPUs with AMX or AVX512-BF16, where its
// brgemm kernels reach several times the fp32 rate (oneDNN picks them from cpuid, not model numbers).
// Built only where the oneDNN 2.x header is present (Debian 12's libdnnl-dev); otherwise every
// entry point reports "not built in" and sdedit's portable bf16 path runs instead.
// Calls come from sdedit's own pool, one tile per call, so oneDNN must not start threads of its own:
// OMP_NUM_THREADS=1 is set before the library (and its OpenMP runtime) loads.
#include "sd_kernels.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>

// Every entry point used, once: declared as a function pointer p_<name> and resolved with dlsym.
#define DNNL_FUNCS(X) \
    X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_stream_wait) X(dnnl_stream_destroy) \
    X(dnnl_memory_desc_init_by_strides) X(dnnl_matmul_desc_init) \
    X(dnnl_primitive_attr_create) X(dnnl_primitive_attr_destroy) X(dnnl_primitive_attr_set_post_ops) \
    X(dnnl_post_ops_create) X(dnnl_post_ops_append_sum) X(dnnl_post_ops_destroy) \
    X(dnnl_primitive_desc_create) X(dnnl_primitive_desc_query) X(dnnl_primitive_desc_query_md) \
    X(dnnl_primitive_desc_destroy) X(dnnl_primitive_create) X(dnnl_primitive_execute) \
    X(dnnl_primitive_destroy) X(dnnl_memory_create) X(dnnl_memory_destroy) X(dnnl_version) \
    X(dnnl_memory_desc_init_by_tag) X(dnnl_memory_desc_get_size) X(dnnl_reorder_primitive_desc_create)
#define DECLARE(name) static __typeof__(name) *p_##name;
DNNL_FUNCS(DECLARE)
#undef DECLARE

static dnnl_engine_t engine;
static char version[32] = "not loaded";
static char impl[2][96];

int sd_dnnl_load(char *err, size_t errlen) {
    if (engine) return 0;
    setenv("OMP_NUM_THREADS", "1", 1);
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load oneDNN (libdnnl.so.2): %s", dlerror());
        return 1;
    }
#define LOAD(name) if (!(p_##name = (__typeof__(p_##name))dlsym(h, #name))) { \
        snprintf(err, errlen, "libdnnl.so.2 has no %s", #name); return 1; }
    DNNL_FUNCS(LOAD)
#undef LOAD
    // The OpenMP runtime may have been loaded before with another default; pin this thread too.
    void (*set_threads)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (set_threads) set_threads(1);
    dnnl_engine_t e;
    if (p_dnnl_engine_create(&e, dnnl_cpu, 0) != dnnl_success) {
        snprintf(err, errlen, "oneDNN could not create a CPU engine");
        return 1;
    }
    const dnnl_version_t *v = p_dnnl_version();
    snprintf(version, sizeof version, "%d.%d.%d", v->major, v->minor, v->patch);
    engine = e;
    return 0;
}

const char *sd_dnnl_version(void) { return version; }

// The matmul primitive descriptor for row-major operands given by leading dimensions.
// bmd: B's descriptor when it is packed (or "any" to ask for the layout), else NULL for strided B.
// with_bias: C = A·B + bias (bias [N] fp32, broadcast over rows) instead of beta·C.
static dnnl_status_t make_pd(dnnl_primitive_desc_t *pd, int bf16, int transA, int transB, int m, int n, int k,
                             int lda, int ldb, float beta, int ldc, const dnnl_memory_desc_t *bmd, int with_bias) {
    dnnl_data_type_t in = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t ad = {m, k}, as = {transA ? 1 : lda, transA ? lda : 1};
    dnnl_dims_t bd = {k, n}, bs = {transB ? 1 : ldb, transB ? ldb : 1};
    dnnl_dims_t cd = {m, n}, cs = {ldc, 1};
    dnnl_status_t st;
    if ((st = p_dnnl_memory_desc_init_by_strides(&a, 2, ad, in, as)) != dnnl_success) return st;
    if (bmd) b = *bmd;
    else if ((st = p_dnnl_memory_desc_init_by_strides(&b, 2, bd, in, bs)) != dnnl_success) return st;
    if ((st = p_dnnl_memory_desc_init_by_strides(&c, 2, cd, dnnl_f32, cs)) != dnnl_success) return st;
    dnnl_memory_desc_t bias;
    dnnl_dims_t biasd = {1, n}, biass = {n, 1};
    if (with_bias && (st = p_dnnl_memory_desc_init_by_strides(&bias, 2, biasd, dnnl_f32, biass)) != dnnl_success) return st;
    dnnl_matmul_desc_t op;
    if ((st = p_dnnl_matmul_desc_init(&op, &a, &b, with_bias ? &bias : NULL, &c)) != dnnl_success) return st;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    if (beta != 0) {
        // C += A·B: the "sum" post-op accumulates into what dst holds.
        p_dnnl_primitive_attr_create(&attr);
        p_dnnl_post_ops_create(&ops);
        p_dnnl_post_ops_append_sum(ops, beta);
        p_dnnl_primitive_attr_set_post_ops(attr, ops);
    }
    st = p_dnnl_primitive_desc_create(pd, &op, attr, engine, NULL);
    if (ops) p_dnnl_post_ops_destroy(ops);
    if (attr) p_dnnl_primitive_attr_destroy(attr);
    return st;
}

const char *sd_dnnl_matmul_impl(int bf16) {
    if (!engine) return NULL;
    char *out = impl[bf16 ? 1 : 0];
    if (!out[0]) {
        dnnl_primitive_desc_t pd;
        if (make_pd(&pd, bf16, 0, 1, 256, 256, 256, 256, 256, 0, 256, NULL, 0) != dnnl_success) return NULL;
        const char *s = NULL;
        p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
        snprintf(out, sizeof impl[0], "%s", s ? s : "unknown");
        p_dnnl_primitive_desc_destroy(pd);
    }
    return out;
}

// Run a primitive descriptor's matmul on a, b, c (and bias when not NULL), then free everything made here.
static int execute(dnnl_primitive_desc_t pd, const void *a, const void *b, float *c, const float *bias) {
    // An equal descriptor hits oneDNN's primitive cache, so kernels are generated once per shape.
    dnnl_primitive_t prim = NULL;
    dnnl_status_t st = p_dnnl_primitive_create(&prim, pd);
    const dnnl_memory_desc_t *mds[3] = {p_dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
                                        p_dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
                                        p_dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0)};
    if (st == dnnl_success && (!mds[0] || !mds[1] || !mds[2])) st = dnnl_runtime_error;
    dnnl_memory_t mem[3] = {NULL, NULL, NULL};
    dnnl_stream_t stream = NULL;
    if (st == dnnl_success) st = p_dnnl_memory_create(&mem[0], mds[0], engine, (void *)a);
    if (st == dnnl_success) st = p_dnnl_memory_create(&mem[1], mds[1], engine, (void *)b);
    if (st == dnnl_success) st = p_dnnl_memory_create(&mem[2], mds[2], engine, c);
    dnnl_memory_t bmem = NULL;
    if (st == dnnl_success && bias) {
        const dnnl_memory_desc_t *bmd = p_dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1);
        st = bmd ? p_dnnl_memory_create(&bmem, bmd, engine, (void *)bias) : dnnl_runtime_error;
    }
    if (st == dnnl_success) st = p_dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, mem[0]}, {DNNL_ARG_WEIGHTS, mem[1]}, {DNNL_ARG_DST, mem[2]},
                                   {DNNL_ARG_BIAS, bmem}};
        st = p_dnnl_primitive_execute(prim, stream, bias ? 4 : 3, args);
        if (st == dnnl_success) st = p_dnnl_stream_wait(stream);
    }
    if (stream) p_dnnl_stream_destroy(stream);
    if (bmem) p_dnnl_memory_destroy(bmem);
    for (int i = 0; i < 3; i++) if (mem[i]) p_dnnl_memory_destroy(mem[i]);
    if (prim) p_dnnl_primitive_destroy(prim);
    p_dnnl_primitive_desc_destroy(pd);
    return st;
}

int sd_dnnl_gemm(int bf16, int transA, int transB, int m, int n, int k, const void *a, int lda,
                 const void *b, int ldb, float beta, float *c, int ldc) {
    if (!engine) return dnnl_runtime_error;
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = make_pd(&pd, bf16, transA, transB, m, n, k, lda, ldb, beta, ldc, NULL, 0);
    if (st != dnnl_success) return st;
    return execute(pd, a, b, c, NULL);
}

// ---- linear weights packed once into the layout the bf16 matmul reads ----
// Without this the matmul re-packs a plain B into its blocked (VNNI) layout on every call and runs
// at about 2/3 of its rate (figures in docs/benchmarks.md, "Why the kernel rules are what they are"). The
// layout oneDNN asks for depends on N, K and the ISA, not on M (checked for M = 1 … 8192), so one
// packed copy serves every call; a call that wants another layout fails and the caller unpacks.
typedef struct {
    dnnl_memory_desc_t md;
    void *data;
} packed_weight;

// plain B = wᵀ for w [N, K] row-major.
static dnnl_status_t plain_b(dnnl_memory_desc_t *md, int n, int k) {
    dnnl_dims_t d = {k, n}, s = {1, k};
    return p_dnnl_memory_desc_init_by_strides(md, 2, d, dnnl_bf16, s);
}

static dnnl_status_t reorder(const dnnl_memory_desc_t *from, const void *src, const dnnl_memory_desc_t *to, void *dst) {
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t ms = NULL, md = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_status_t st = p_dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL);
    if (st == dnnl_success) st = p_dnnl_primitive_create(&prim, pd);
    if (st == dnnl_success) st = p_dnnl_memory_create(&ms, from, engine, (void *)src);
    if (st == dnnl_success) st = p_dnnl_memory_create(&md, to, engine, dst);
    if (st == dnnl_success) st = p_dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, md}};
        st = p_dnnl_primitive_execute(prim, stream, 2, args);
        if (st == dnnl_success) st = p_dnnl_stream_wait(stream);
    }
    if (stream) p_dnnl_stream_destroy(stream);
    if (ms) p_dnnl_memory_destroy(ms);
    if (md) p_dnnl_memory_destroy(md);
    if (prim) p_dnnl_primitive_destroy(prim);
    if (pd) p_dnnl_primitive_desc_destroy(pd);
    return st;
}

void *sd_dnnl_pack_weight(int n, int k, const uint16_t *w) {
    if (!engine) return NULL;
    dnnl_memory_desc_t any, plain;
    dnnl_dims_t d = {k, n};
    if (p_dnnl_memory_desc_init_by_tag(&any, 2, d, dnnl_bf16, dnnl_format_tag_any) != dnnl_success) return NULL;
    if (plain_b(&plain, n, k) != dnnl_success) return NULL;
    dnnl_primitive_desc_t pd;
    if (make_pd(&pd, 1, 0, 0, 256, n, k, k, 0, 0, n, &any, 0) != dnnl_success) return NULL;
    packed_weight *p = calloc(1, sizeof *p);
    const dnnl_memory_desc_t *wmd = p_dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if (p && wmd) {
        p->md = *wmd;
        size_t size = (p_dnnl_memory_desc_get_size(&p->md) + 63) & ~(size_t)63;
        p->data = aligned_alloc(64, size);
    }
    p_dnnl_primitive_desc_destroy(pd);
    if (!p || !p->data || reorder(&plain, w, &p->md, p->data) != dnnl_success) {
        if (p) free(p->data);
        free(p);
        return NULL;
    }
    return p;
}

void sd_dnnl_packed_free(void *p) {
    if (!p) return;
    free(((packed_weight *)p)->data);
    free(p);
}

int sd_dnnl_unpack_weight(const void *p, int n, int k, uint16_t *w) {
    dnnl_memory_desc_t plain;
    dnnl_status_t st = plain_b(&plain, n, k);
    if (st != dnnl_success) return st;
    return reorder(&((const packed_weight *)p)->md, ((const packed_weight *)p)->data, &plain, w);
}

int sd_dnnl_gemm_packed(const void *p, int m, int n, int k, const uint16_t *a, int lda, const float *bias,
                        float beta, float *c, int ldc) {
    if (!engine) return dnnl_runtime_error;
    const packed_weight *pw = (const packed_weight *)p;
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = make_pd(&pd, 1, 0, 0, m, n, k, lda, 0, bias ? 0 : beta, ldc, &pw->md, bias != NULL);
    if (st != dnnl_success) return st;
    return execute(pd, a, pw->data, c, bias);
}

#else // no oneDNN header at build time

int sd_dnnl_load(char *err, size_t errlen) {
    snprintf(err, errlen, "oneDNN support not built in (install libdnnl-dev and rebuild)");
    return 1;
}
const char *sd_dnnl_version(void) { return "not built in"; }
const char *sd_dnnl_matmul_impl(int bf16) { (void)bf16; return NULL; }
int sd_dnnl_gemm(int bf16, int transA, int transB, int m, int n, int k, const void *a, int lda,
                 const void *b, int ldb, float beta, float *c, int ldc) {
    (void)bf16; (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b;
    (void)ldb; (void)beta; (void)c; (void)ldc;
    return 1;
}
void *sd_dnnl_pack_weight(int n, int k, const uint16_t *w) { (void)n; (void)k; (void)w; return NULL; }
void sd_dnnl_packed_free(void *p) { (void)p; }
int sd_dnnl_unpack_weight(const void *p, int n, int k, uint16_t *w) { (void)p; (void)n; (void)k; (void)w; return 1; }
int sd_dnnl_gemm_packed(const void *p, int m, int n, int k, const uint16_t *a, int lda, const float *bias,
                        float beta, float *c, int ldc) {
    (void)p; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)bias; (void)beta; (void)c; (void)ldc;
    return 1;
}
#endif
