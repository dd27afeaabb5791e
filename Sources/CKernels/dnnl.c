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
    X(dnnl_primitive_destroy) X(dnnl_memory_create) X(dnnl_memory_destroy) X(dnnl_version)
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
static dnnl_status_t make_pd(dnnl_primitive_desc_t *pd, int bf16, int transA, int transB, int m, int n, int k,
                             int lda, int ldb, float beta, int ldc) {
    dnnl_data_type_t in = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t ad = {m, k}, as = {transA ? 1 : lda, transA ? lda : 1};
    dnnl_dims_t bd = {k, n}, bs = {transB ? 1 : ldb, transB ? ldb : 1};
    dnnl_dims_t cd = {m, n}, cs = {ldc, 1};
    dnnl_status_t st;
    if ((st = p_dnnl_memory_desc_init_by_strides(&a, 2, ad, in, as)) != dnnl_success) return st;
    if ((st = p_dnnl_memory_desc_init_by_strides(&b, 2, bd, in, bs)) != dnnl_success) return st;
    if ((st = p_dnnl_memory_desc_init_by_strides(&c, 2, cd, dnnl_f32, cs)) != dnnl_success) return st;
    dnnl_matmul_desc_t op;
    if ((st = p_dnnl_matmul_desc_init(&op, &a, &b, NULL, &c)) != dnnl_success) return st;
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
        if (make_pd(&pd, bf16, 0, 1, 256, 256, 256, 256, 256, 0, 256) != dnnl_success) return NULL;
        const char *s = NULL;
        p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
        snprintf(out, sizeof impl[0], "%s", s ? s : "unknown");
        p_dnnl_primitive_desc_destroy(pd);
    }
    return out;
}

int sd_dnnl_gemm(int bf16, int transA, int transB, int m, int n, int k, const void *a, int lda,
                 const void *b, int ldb, float beta, float *c, int ldc) {
    if (!engine) return dnnl_runtime_error;
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = make_pd(&pd, bf16, transA, transB, m, n, k, lda, ldb, beta, ldc);
    if (st != dnnl_success) return st;
    // An equal descriptor hits oneDNN's primitive cache, so kernels are generated once per shape.
    dnnl_primitive_t prim = NULL;
    st = p_dnnl_primitive_create(&prim, pd);
    const dnnl_memory_desc_t *mds[3] = {p_dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
                                        p_dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
                                        p_dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0)};
    if (st == dnnl_success && (!mds[0] || !mds[1] || !mds[2])) st = dnnl_runtime_error;
    dnnl_memory_t mem[3] = {NULL, NULL, NULL};
    dnnl_stream_t stream = NULL;
    if (st == dnnl_success) st = p_dnnl_memory_create(&mem[0], mds[0], engine, (void *)a);
    if (st == dnnl_success) st = p_dnnl_memory_create(&mem[1], mds[1], engine, (void *)b);
    if (st == dnnl_success) st = p_dnnl_memory_create(&mem[2], mds[2], engine, c);
    if (st == dnnl_success) st = p_dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, mem[0]}, {DNNL_ARG_WEIGHTS, mem[1]}, {DNNL_ARG_DST, mem[2]}};
        st = p_dnnl_primitive_execute(prim, stream, 3, args);
        if (st == dnnl_success) st = p_dnnl_stream_wait(stream);
    }
    if (stream) p_dnnl_stream_destroy(stream);
    for (int i = 0; i < 3; i++) if (mem[i]) p_dnnl_memory_destroy(mem[i]);
    if (prim) p_dnnl_primitive_destroy(prim);
    p_dnnl_primitive_desc_destroy(pd);
    return st;
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
#endif
