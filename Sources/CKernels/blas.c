// OpenBLAS, loaded at run time so that its kernels can be chosen from the CPU's feature flags.
// A DYNAMIC_ARCH OpenBLAS picks kernels from a table of CPU model numbers when it loads; a CPU newer
// than the build (Debian 12's 0.3.21 on Sapphire/Emerald Rapids) falls back to its SSE3 "Prescott"
// kernels, ~7× slower. OPENBLAS_CORETYPE, read by OpenBLAS's constructor (driver/others/dynamic.c),
// overrides that table, so it is set before dlopen to the kernel set of the caller's plan (KernelPlan:
// from cpuid here, sd_blas_coretype_for_cpu, unless the user's OPENBLAS_CORETYPE names one).
#include "sd_kernels.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
static sgemm_fn p_sgemm;
static void (*p_set_threads)(int);
static char *(*p_corename)(void);
static char *(*p_config)(void);

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

// Kernels for the widest vector ISA the CPU has (OpenBLAS core names, all in 0.3.21's DYNAMIC_ARCH list).
static const char *coretype_for_features(const sd_cpu_info *c) {
    int avx512 = c->avx512f && c->avx512bw && c->avx512dq && c->avx512vl;
    if (avx512 && c->avx512_bf16) return "COOPERLAKE";
    if (avx512) return "SKYLAKEX";
    if (c->avx2 && c->fma) {
        int amd = strcmp(c->vendor, "AuthenticAMD") == 0 || strcmp(c->vendor, "HygonGenuine") == 0;
        return amd ? "ZEN" : "HASWELL";
    }
    return NULL; // SSE-only CPU: OpenBLAS's own choice is all there is.
}

const char *sd_blas_coretype_for_cpu(void) { return coretype_for_features(sd_cpu()); }

int sd_blas_load(const char *coretype, char *err, size_t errlen) {
    if (p_sgemm) return 0;
    if (coretype && *coretype) setenv("OPENBLAS_CORETYPE", coretype, 1);
    // sdedit runs every sgemm single-threaded inside its own thread pool (BLAS.parallelSgemm), so
    // OpenBLAS need not start threads of its own.
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    static const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp-r0.3.21.so"};
    void *h = NULL;
    char first[256] = "";   // the error for the usual name, not the last fallback's
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !h; i++) {
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h && !first[0]) snprintf(first, sizeof first, "%s", dlerror());
    }
    if (!h) {
        snprintf(err, errlen, "OpenBLAS unavailable (every GEMM runs on it): %s; install libopenblas0 "
                 "(make deps, or apt-get install libopenblas0)", first);
        return 1;
    }
    p_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
    p_set_threads = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    p_corename = (char *(*)(void))dlsym(h, "openblas_get_corename");
    p_config = (char *(*)(void))dlsym(h, "openblas_get_config");
    if (!p_sgemm || !p_set_threads) {
        p_sgemm = NULL;
        snprintf(err, errlen, "the loaded libopenblas has no cblas_sgemm/openblas_set_num_threads");
        return 1;
    }
    return 0;
}

const char *sd_blas_corename(void) { return p_corename ? p_corename() : "unknown"; }
const char *sd_blas_config(void) { return p_config ? p_config() : "unknown"; }
void sd_blas_set_threads(int n) { if (p_set_threads) p_set_threads(n); }

void sd_sgemm(int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc) {
    p_sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
