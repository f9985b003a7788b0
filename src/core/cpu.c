/* cpu.c - which SIMD level the kernels use, decided once from cpuid.
 *
 * OPTIBENCH_SIMD=scalar|avx2|avx512 lowers the level (never raises it past
 * what the CPU has), so tests can run every path on one machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optibench.h"

#if defined(__x86_64__) || defined(__i386__)
#define OB_X86 1
#include <cpuid.h>
#endif

/* F16C from cpuid leaf 1, ECX bit 29 (clang 14's __builtin_cpu_supports
 * does not know "f16c"). */
int ob_cpu_has_f16c(void) {
#ifdef OB_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c >> 29) & 1;
#else
    return 0;
#endif
}

ob_simd ob_cpu_simd_max(void) {
#ifdef OB_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return OB_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return OB_SIMD_AVX2;
#endif
    return OB_SIMD_SCALAR;
}

int ob_cpu_has_vnni(void) {
#ifdef OB_X86
    __builtin_cpu_init();
    return ob_cpu_simd() >= OB_SIMD_AVX512 && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

/* AVX-512 VBMI2 from cpuid leaf 7, ECX bit 6 (Ice Lake, Zen 4 and later;
 * Cascade Lake has VNNI without it), at the AVX-512 level only. */
static int cpuid_vbmi2(void) {
#ifdef OB_X86
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (c >> 6) & 1;
#else
    return 0;
#endif
}

int ob_cpu_has_vbmi2(void) { return ob_cpu_simd() >= OB_SIMD_AVX512 && cpuid_vbmi2(); }

ob_simd ob_cpu_simd(void) {
    ob_simd best = ob_cpu_simd_max();
    const char *e = getenv("OPTIBENCH_SIMD");
    if (e) {
        ob_simd want = best;
        if (!strcmp(e, "scalar")) want = OB_SIMD_SCALAR;
        else if (!strcmp(e, "avx2")) want = OB_SIMD_AVX2;
        else if (!strcmp(e, "avx512")) want = OB_SIMD_AVX512;
        if (want < best) best = want;
    }
    return best;
}

const char *ob_simd_name(ob_simd s) {
    switch (s) {
    case OB_SIMD_AVX512: return "avx512";
    case OB_SIMD_AVX2: return "avx2";
    default: return "scalar";
    }
}

void ob_cpu_describe(char *buf, size_t size) {
    char model[160] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "model name", 10)) {
                char *p = strchr(line, ':');
                if (p) {
                    p++;
                    while (*p == ' ') p++;
                    snprintf(model, sizeof model, "%s", p);
                    model[strcspn(model, "\n")] = 0;
                }
                break;
            }
        }
        fclose(f);
    }
    char feats[256] = "";
#ifdef OB_X86
    static const char *names[] = {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vnni",
                                  "avx512bf16", "avx512vbmi2"};
    __builtin_cpu_init();
    int has[8] = {__builtin_cpu_supports("avx2"),     __builtin_cpu_supports("fma"),
                  ob_cpu_has_f16c(),                  __builtin_cpu_supports("avx512f"),
                  __builtin_cpu_supports("avx512bw"), __builtin_cpu_supports("avx512vnni"),
                  __builtin_cpu_supports("avx512bf16"), cpuid_vbmi2()};
    for (int i = 0; i < 8; i++)
        if (has[i]) {
            strncat(feats, " ", sizeof feats - strlen(feats) - 1);
            strncat(feats, names[i], sizeof feats - strlen(feats) - 1);
        }
#endif
    snprintf(buf, size, "%s |%s | kernels: %s", model, feats[0] ? feats : " none",
             ob_simd_name(ob_cpu_simd()));
}
