/* sensors.c - RAPL energy counters and temperature sensors from sysfs. */
#include "bench/sensors.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Reads one decimal from a sysfs file; -1 when unreadable. */
static int read_i64(const char *path, int64_t *v) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int ok = fscanf(f, "%" SCNd64, v) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

/* A counter (energy_uj, max_energy_range_uj): non-negative. */
static int read_u64(const char *path, uint64_t *v) {
    int64_t x;
    if (read_i64(path, &x) || x < 0) return -1;
    *v = (uint64_t)x;
    return 0;
}

/* A package zone's folder name: "intel-rapl:N" with N all digits. */
static int is_package_zone(const char *name) {
    const char *pre = "intel-rapl:";
    size_t n = strlen(pre);
    if (strncmp(name, pre, n) || !name[n]) return 0;
    for (const char *c = name + n; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return 1;
}

int ob_rapl_open(const char *root, ob_rapl *r) {
    memset(r, 0, sizeof *r);
    if (!root) root = OB_SENSOR_POWERCAP;
    if (!*root) return 0;
    DIR *d = opendir(root);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)) && r->n < OB_RAPL_MAX_ZONES) {
        if (!is_package_zone(e->d_name)) continue;
        char *p = r->path[r->n], range[600];
        uint64_t v;
        if ((size_t)snprintf(p, sizeof r->path[0], "%s/%s/energy_uj", root, e->d_name) >= sizeof r->path[0]) continue;
        if (read_u64(p, &v)) continue; /* absent, or root-only (the usual case since 2020) */
        snprintf(range, sizeof range, "%s/%s/max_energy_range_uj", root, e->d_name);
        if (read_u64(range, &r->max_uj[r->n])) r->max_uj[r->n] = 0;
        r->start[r->n] = v;
        r->n++;
    }
    closedir(d);
    return r->n;
}

int ob_rapl_start(ob_rapl *r) {
    for (int i = 0; i < r->n; i++)
        if (read_u64(r->path[i], &r->start[i])) return -1;
    return 0;
}

uint64_t ob_rapl_delta(uint64_t start, uint64_t end, uint64_t max_range) {
    if (end >= start) return end - start;
    if (max_range == 0 || start > max_range) return UINT64_MAX;
    return (max_range - start) + end; /* wrapped once: counted up to max_range, then from 0 */
}

double ob_rapl_joules(const ob_rapl *r) {
    if (r->n == 0) return NAN;
    double uj = 0;
    for (int i = 0; i < r->n; i++) {
        uint64_t now, d;
        if (read_u64(r->path[i], &now)) return NAN;
        if ((d = ob_rapl_delta(r->start[i], now, r->max_uj[i])) == UINT64_MAX) return NAN;
        uj += (double)d;
    }
    return uj * 1e-6;
}

/* The hottest plausible reading among root/<entries starting with prefix>/
 * <files starting with fprefix and ending in fsuffix>, in C; NAN if none.
 * An empty fsuffix asks for the file named fprefix exactly. */
static double scan_max(const char *root, const char *prefix, const char *fprefix, const char *fsuffix) {
    double best = NAN;
    DIR *d = opendir(root);
    if (!d) return best;
    struct dirent *e;
    size_t np = strlen(prefix), nf = strlen(fprefix), ns = strlen(fsuffix);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, np)) continue;
        char sub[1024];
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", root, e->d_name) >= sizeof sub) continue;
        DIR *s = opendir(sub);
        if (!s) continue;
        struct dirent *f;
        while ((f = readdir(s))) {
            size_t n = strlen(f->d_name);
            if (ns == 0 ? strcmp(f->d_name, fprefix)
                        : n < nf + ns || strncmp(f->d_name, fprefix, nf) || strcmp(f->d_name + n - ns, fsuffix))
                continue;
            char path[1400];
            int64_t milli;
            if ((size_t)snprintf(path, sizeof path, "%s/%s", sub, f->d_name) >= sizeof path) continue;
            if (read_i64(path, &milli)) continue;
            double c = (double)milli / 1000.0;
            if (c <= -100 || c >= 250) continue;
            if (isnan(best) || c > best) best = c;
        }
        closedir(s);
    }
    closedir(d);
    return best;
}

double ob_temp_max_c(const char *hwmon_root, const char *thermal_root) {
    if (!hwmon_root) hwmon_root = OB_SENSOR_HWMON;
    if (!thermal_root) thermal_root = OB_SENSOR_THERMAL;
    double h = *hwmon_root ? scan_max(hwmon_root, "hwmon", "temp", "_input") : NAN;
    double t = *thermal_root ? scan_max(thermal_root, "thermal_zone", "temp", "") : NAN;
    if (isnan(h)) return t;
    if (isnan(t)) return h;
    return h > t ? h : t;
}
