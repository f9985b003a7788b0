/* args.c - option parsing helpers for the subcommands. */
#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int arg_str(int argc, char **argv, int *i, const char *name, const char *alias, const char **val) {
    if (strcmp(argv[*i], name) && !(alias && !strcmp(argv[*i], alias))) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "optibench: option %s needs a value\n", argv[*i]);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "optibench %s: %s must be an integer in [%d, %d], not '%s'\n", cmd, opt, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int parse_float(const char *cmd, const char *opt, const char *s, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || v != v) {
        fprintf(stderr, "optibench %s: %s must be a number, not '%s'\n", cmd, opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int parse_double(const char *cmd, const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) {
        fprintf(stderr, "optibench %s: %s must be a number, not '%s'\n", cmd, opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int parse_int_list(const char *cmd, const char *opt, const char *s, int32_t **out, int *n) {
    int cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int32_t *v = malloc((size_t)cap * sizeof *v);
    if (!v) return -1;
    int k = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || x < INT32_MIN || x > INT32_MAX) {
            fprintf(stderr, "optibench %s: %s must be a comma-separated list of integers, not '%s'\n", cmd, opt, s);
            free(v);
            return -1;
        }
        v[k++] = (int32_t)x;
        p = *end ? end + 1 : end;
    }
    if (!k) {
        fprintf(stderr, "optibench %s: %s is empty\n", cmd, opt);
        free(v);
        return -1;
    }
    *out = v;
    *n = k;
    return 0;
}
