/* machine.c - CPU, cores, memory, OS and measured bandwidth as JSON. */
#include "report/machine.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench/membw.h"

/* ob_cpu_describe writes "MODEL | FEATURES | kernels: LEVEL". */
static void split_cpu(json_t *o) {
    char desc[1024];
    ob_cpu_describe(desc, sizeof desc);
    char *feats = strstr(desc, " | ");
    if (feats) {
        *feats = '\0';
        feats += 3;
        char *kern = strstr(feats, " | kernels: ");
        if (kern) {
            *kern = '\0';
            json_object_set_new(o, "kernels", json_string(kern + 12));
        }
        while (*feats == ' ') feats++;
        json_object_set_new(o, "features", json_string(feats));
    }
    json_object_set_new(o, "cpu", json_string(desc));
}

int ob_machine_describe(ob_pool *pool, size_t bw_bytes, json_t **out, ob_err *err) {
    *out = NULL;
    json_t *o = json_object();
    if (!o) return ob_fail(err, OB_ENOMEM, "out of memory");
    split_cpu(o);
    long cores = sysconf(_SC_NPROCESSORS_ONLN), pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (cores > 0) json_object_set_new(o, "cores", json_integer(cores));
    if (pages > 0 && page > 0) json_object_set_new(o, "memory_bytes", json_integer((json_int_t)pages * page));
    struct utsname u;
    if (uname(&u) == 0) {
        char os[400];
        snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
        json_object_set_new(o, "os", json_string(os));
    }
    if (pool && bw_bytes > 0) {
        ob_stats bw;
        int rc = ob_measure_read_bw(pool, bw_bytes, 5, &bw, err);
        if (rc) {
            json_decref(o);
            return rc;
        }
        json_object_set_new(o, "bandwidth_gbs", json_real(bw.median));
        json_object_set_new(o, "bandwidth_threads", json_integer(ob_pool_size(pool)));
    }
    *out = o;
    return 0;
}
