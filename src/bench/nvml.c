/* nvml.c - GPU utilisation, memory, power and temperature through NVML,
 * loaded with dlopen so that optibench neither needs NVIDIA's headers to
 * build nor its driver to run.
 *
 * The few types and functions used are declared here from NVML's documented
 * C ABI: nvmlReturn_t is an int enum (NVML_SUCCESS = 0), nvmlDevice_t an
 * opaque pointer, nvmlUtilization_t { unsigned gpu, memory } in percent,
 * nvmlMemory_t { unsigned long long total, free, used } in bytes, power in
 * milliwatts, temperature sensor 0 (NVML_TEMPERATURE_GPU) in degrees C. */
#include <dlfcn.h>
#include <math.h>
#include <string.h>

#include "bench/sensors.h"

typedef int nvml_ret;
typedef void *nvml_dev;
typedef struct {
    unsigned int gpu, memory;
} nvml_util;
typedef struct {
    unsigned long long total, free, used;
} nvml_mem;

typedef struct nvml_api {
    nvml_ret (*init)(void);
    nvml_ret (*shutdown)(void);
    nvml_ret (*count)(unsigned int *);
    nvml_ret (*handle)(unsigned int, nvml_dev *);
    nvml_ret (*name)(nvml_dev, char *, unsigned int);
    nvml_ret (*util)(nvml_dev, nvml_util *);
    nvml_ret (*mem)(nvml_dev, nvml_mem *);
    nvml_ret (*power)(nvml_dev, unsigned int *);
    nvml_ret (*temp)(nvml_dev, int, unsigned int *);
} nvml_api;

/* dlsym into a function pointer of any type (POSIX guarantees the
 * conversion; the copy keeps compilers quiet about it). */
static int sym(void *lib, const char *name, void *fnp, size_t size) {
    void *p = dlsym(lib, name);
    if (!p) return -1;
    memcpy(fnp, &p, size);
    return 0;
}
#define SYM(lib, name, fn) sym(lib, name, &(fn), sizeof(fn))

static void unavailable(ob_gpu_info *g) {
    memset(g, 0, sizeof *g);
    g->count = -1;
    g->util_pct = g->power_w = g->temp_c = NAN;
    g->mem_used_bytes = g->mem_total_bytes = -1;
}

static void sample_device(const nvml_api *a, nvml_dev d, ob_gpu_info *g) {
    nvml_util u;
    nvml_mem m;
    unsigned int mw, c;
    if (a->name(d, g->name, sizeof g->name)) g->name[0] = '\0';
    g->name[sizeof g->name - 1] = '\0';
    if (!a->util(d, &u)) g->util_pct = u.gpu;
    if (!a->mem(d, &m)) {
        g->mem_used_bytes = (int64_t)m.used;
        g->mem_total_bytes = (int64_t)m.total;
    }
    if (!a->power(d, &mw)) g->power_w = mw / 1000.0;
    if (!a->temp(d, 0, &c)) g->temp_c = c;
}

void ob_nvml_sample(const char *lib, ob_gpu_info *g) {
    unavailable(g);
    if (!lib) lib = OB_SENSOR_NVML;
    if (!*lib) return;
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    nvml_api a;
    unsigned int n = 0;
    if (SYM(h, "nvmlInit_v2", a.init) || SYM(h, "nvmlShutdown", a.shutdown) ||
        SYM(h, "nvmlDeviceGetCount_v2", a.count) || SYM(h, "nvmlDeviceGetHandleByIndex_v2", a.handle) ||
        SYM(h, "nvmlDeviceGetName", a.name) || SYM(h, "nvmlDeviceGetUtilizationRates", a.util) ||
        SYM(h, "nvmlDeviceGetMemoryInfo", a.mem) || SYM(h, "nvmlDeviceGetPowerUsage", a.power) ||
        SYM(h, "nvmlDeviceGetTemperature", a.temp) || a.init()) {
        dlclose(h);
        return;
    }
    if (!a.count(&n)) {
        g->count = (int)n;
        nvml_dev d;
        if (n > 0 && !a.handle(0, &d)) sample_device(&a, d, g);
    }
    a.shutdown();
    dlclose(h);
}
