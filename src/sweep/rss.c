/* rss.c - resident memory from /proc (rss.h). */
#include "sweep/rss.h"

#include <stdio.h>
#include <string.h>

int ob_rss_reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The "<key>:   N kB" line of /proc/self/status, in bytes. */
static int64_t status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    size_t kl = strlen(key);
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':' && sscanf(line + kl + 1, "%lld", &kb) == 1) break;
    fclose(f);
    return kb < 0 ? -1 : (int64_t)kb * 1024;
}

int64_t ob_rss_peak(void) { return status_kb("VmHWM"); }
int64_t ob_rss_now(void) { return status_kb("VmRSS"); }
