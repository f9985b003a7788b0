/* proc.c - the process's peak memory and CPU time, file sizes on disk, and
 * wall-clock timestamps for the bench. */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "bench/sensors.h"

int64_t ob_proc_peak_rss(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        int64_t kib = -1;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %" SCNd64 " kB", &kib) == 1) break;
        fclose(f);
        if (kib > 0) return kib * 1024;
    }
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) == 0 && u.ru_maxrss > 0) return (int64_t)u.ru_maxrss * 1024; /* KiB on Linux */
    return -1;
}

int ob_proc_reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

double ob_proc_cpu_seconds(void) {
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u)) return NAN;
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_sec +
           1e-6 * (double)u.ru_stime.tv_usec;
}

int64_t ob_path_bytes(const char *path) {
    struct stat st;
    if (!path || stat(path, &st)) return -1;
    if (S_ISREG(st.st_mode)) return (int64_t)st.st_size;
    if (!S_ISDIR(st.st_mode)) return -1;
    DIR *d = opendir(path);
    if (!d) return -1;
    int64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char p[4096];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", path, e->d_name) >= sizeof p) continue;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) sum += (int64_t)st.st_size;
    }
    closedir(d);
    return sum;
}

void ob_utc_now(char *buf, size_t size) {
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, size, "unknown");
}
