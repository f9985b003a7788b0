/* resolve.c - turning a model argument into a path: an existing file or
 * folder as is, else a name `optibench pull` put in the cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/mapfile.h"
#include "formats/fetch.h"

static int put(char *buf, size_t size, const char *path, ob_err *err) {
    size_t n = strlen(path);
    if (n >= size) return ob_fail(err, OB_EINVAL, "%.200s...: path too long", path);
    memcpy(buf, path, n + 1);
    return 0;
}

int cli_resolve_model(const char *arg, char *buf, size_t size, ob_err *err) {
    struct stat st;
    if (!arg || !*arg) return ob_fail(err, OB_EINVAL, "no model given");
    if (stat(arg, &st) == 0) return put(buf, size, arg, err);

    char path[4200];
    if (!strcmp(arg, "stories15M")) {
        char cache[4096];
        int rc = ob_cache_dir(NULL, 0, cache, sizeof cache, err);
        if (rc) return rc;
        if ((size_t)snprintf(path, sizeof path, "%s/stories15M/model.bin", cache) >= sizeof path)
            return ob_fail(err, OB_EINVAL, "%s: path too long", cache);
        if (stat(path, &st) != 0)
            return ob_fail(err, OB_EIO, "stories15M is not in the cache (%s): run `optibench pull stories15M`",
                           cache);
        return put(buf, size, path, err);
    }

    ob_hub_ref ref;
    ob_err perr = {0};
    if (strchr(arg, '/') && ob_hub_parse_ref(arg, &ref, &perr) == 0) {
        int rc = ob_hub_local_dir(NULL, &ref, path, sizeof path, err);
        if (rc) return rc;
        if (ob_hub_is_complete(path)) return put(buf, size, path, err);
        if (stat(path, &st) == 0)
            return ob_fail(err, OB_EIO,
                           "%s: no such file, and its download in %s is incomplete: run `optibench pull %s`",
                           arg, path, arg);
        return ob_fail(err, OB_EIO, "%s: no such file, and not in the cache: run `optibench pull %s`", arg,
                       arg);
    }
    return ob_fail(err, OB_EIO, "%s: no such file or folder (and not a model name: stories15M or org/name[@rev])",
                   arg);
}

int cli_npm_data(const char *subdir, const char *inner, char *buf, size_t size, char *spec, size_t spec_size) {
    char cand[3][4096], cache[3000];
    int n = 0;
    const char *root = getenv("OB_ROOT");
    ob_err e = {0};
    if (root && *root) snprintf(cand[n++], sizeof cand[0], "%.3000s/.cache/npm/%s", root, subdir);
    snprintf(cand[n++], sizeof cand[0], ".cache/npm/%s", subdir);
    if (!ob_cache_dir(NULL, 0, cache, sizeof cache, &e)) snprintf(cand[n++], sizeof cand[0], "%s/corpora/%s", cache, subdir);
    for (int i = 0; i < n; i++) {
        char data[4200];
        snprintf(data, sizeof data, "%.4000s/%s", cand[i], inner);
        if (!ob_is_dir(data)) continue;
        snprintf(buf, size, "%s", data);
        if (spec && spec_size) { /* scripts/npm-fetch.sh records the package it unpacked */
            spec[0] = '\0';
            char done[4200];
            snprintf(done, sizeof done, "%.4000s/.done", cand[i]);
            FILE *f = fopen(done, "r");
            if (f) {
                if (fgets(spec, (int)spec_size, f)) spec[strcspn(spec, "\r\n")] = '\0';
                fclose(f);
            }
        }
        return 0;
    }
    return -1;
}
