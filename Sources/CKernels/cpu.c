// CPU feature detection from cpuid and xgetbv. An ISA counts only when the CPU has it *and* the OS
// saves its registers (XCR0), as the Intel SDM §13.3 and oneDNN's cpu_isa_traits require.
#include "sd_kernels.h"
#include <cpuid.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static sd_cpu_info info;
static int detected;

static void detect(void) {
    unsigned a, b, c, d, max;
    memset(&info, 0, sizeof info);
    __cpuid(0, max, b, c, d);
    memcpy(info.vendor + 0, &b, 4);
    memcpy(info.vendor + 4, &d, 4);
    memcpy(info.vendor + 8, &c, 4);
    __cpuid(1, a, b, c, d);
    int base_family = (a >> 8) & 0xF, base_model = (a >> 4) & 0xF;
    info.family = base_family == 0xF ? base_family + ((a >> 20) & 0xFF) : base_family;
    info.model = (base_family == 0x6 || base_family == 0xF) ? base_model + (((a >> 16) & 0xF) << 4) : base_model;
    info.stepping = a & 0xF;
    info.sse41 = (c >> 19) & 1;
    int osxsave = (c >> 27) & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    int os_avx = (xcr0 & 0x6) == 0x6;
    int os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0;
    int os_amx = (xcr0 & 0x60000) == 0x60000;
    info.avx = os_avx && ((c >> 28) & 1);
    info.fma = info.avx && ((c >> 12) & 1);
    info.f16c = info.avx && ((c >> 29) & 1);
    if (max >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        unsigned leaf7_max = a;
        info.avx2 = info.avx && ((b >> 5) & 1);
        info.avx512f = os_avx512 && ((b >> 16) & 1);
        info.avx512dq = os_avx512 && ((b >> 17) & 1);
        info.avx512bw = os_avx512 && ((b >> 30) & 1);
        info.avx512vl = os_avx512 && ((b >> 31) & 1);
        info.avx512_vnni = os_avx512 && ((c >> 11) & 1);
        info.amx_bf16 = os_amx && ((d >> 22) & 1);
        info.amx_tile = os_amx && ((d >> 24) & 1);
        info.amx_int8 = os_amx && ((d >> 25) & 1);
        if (leaf7_max >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            info.avx512_bf16 = os_avx512 && ((a >> 5) & 1);
        }
    }
    __cpuid(0x80000000, max, b, c, d);
    if (max >= 0x80000004) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++) __cpuid(0x80000002 + i, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
        memcpy(info.brand, r, 48);
        // Trim the padding some CPUs put around the name.
        char *s = info.brand;
        while (*s == ' ') s++;
        memmove(info.brand, s, strlen(s) + 1);
        for (size_t n = strlen(info.brand); n > 0 && info.brand[n - 1] == ' '; n--) info.brand[n - 1] = 0;
    }
    detected = 1;
}

const sd_cpu_info *sd_cpu(void) {
    if (!detected) detect();
    return &info;
}

int sd_isa_best(void) {
    const sd_cpu_info *c = sd_cpu();
    if (c->avx512f && c->avx512bw && c->avx512dq && c->avx512vl && c->fma) return SD_ISA_AVX512;
    if (c->avx2 && c->fma) return SD_ISA_AVX2;
    return SD_ISA_GENERIC;
}

const char *sd_isa_name(int isa) {
    switch (isa) {
    case SD_ISA_AVX512: return "avx512";
    case SD_ISA_AVX2: return "avx2";
    default: return "generic";
    }
}
