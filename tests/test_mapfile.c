/* test_mapfile.c - file mappings and weight memory on 2 MiB pages
 * (src/core/mapfile.h, ob_model_populate).
 *
 *  - ob_alloc_huge: 64-byte alignment, 2 MiB alignment from 4 MiB on, the
 *    whole block writable;
 *  - a 6 MiB file maps at a 2 MiB boundary and reads back exactly, before
 *    and after ob_mapfile_populate drops and re-reads its pages; a small
 *    file and a file read into memory are left alone;
 *  - ob_huge_bytes never reports more than the range (nor more than its
 *    2 MiB-aligned part for a file mapping);
 *  - stories15M loaded with and without populate gives the same logits
 *    bit for bit (skipped when the model is not in the cache).
 * How much the kernel put on 2 MiB pages depends on its settings and free
 * memory, so it is printed, not asserted.
 * Closing line: "test_mapfile: N passed, N failed". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/mapfile.h"
#include "optibench.h"
#include "stories_path.h"

#define MIB ((size_t)1 << 20)

static uint32_t pattern(size_t i) { return (uint32_t)(i * 2654435761u) ^ (uint32_t)(i >> 7); }

static int same_as_pattern(const unsigned char *d, size_t size) {
    for (size_t i = 0; i + 4 <= size; i += 4) {
        uint32_t v;
        memcpy(&v, d + i, 4);
        if (v != pattern(i / 4)) return 0;
    }
    return 1;
}

static void test_alloc(void) {
    static const size_t sizes[] = {1, 100, 3 * MIB, 4 * MIB, 5 * MIB + 12345};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        unsigned char *p = ob_alloc_huge(n);
        CHECK(p != NULL, "ob_alloc_huge(%zu) failed", n);
        if (!p) continue;
        CHECK(((uintptr_t)p & 63) == 0, "ob_alloc_huge(%zu) = %p: not 64-byte aligned", n, (void *)p);
        if (n >= 2 * OB_HUGE_PAGE)
            CHECK(((uintptr_t)p & (OB_HUGE_PAGE - 1)) == 0, "ob_alloc_huge(%zu) = %p: not on a 2 MiB boundary", n,
                  (void *)p);
        memset(p, 0xa5, n);
        CHECK(p[0] == 0xa5 && p[n - 1] == 0xa5, "ob_alloc_huge(%zu): block not writable to its end", n);
        size_t huge = ob_huge_bytes(p, n);
        CHECK(huge <= n, "ob_alloc_huge(%zu): %zu bytes on 2 MiB pages, more than the block", n, huge);
        if (n >= 2 * OB_HUGE_PAGE) printf("ob_alloc_huge(%zu): %zu bytes on 2 MiB pages\n", n, huge);
        free(p);
    }
}

static int write_file(const char *path, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    for (size_t i = 0; i + 4 <= size; i += 4) {
        uint32_t v = pattern(i / 4);
        fwrite(&v, 4, 1, f);
    }
    for (size_t i = size & ~(size_t)3; i < size; i++) fputc(0, f);
    /* written back, so that the kernel can drop the pages and read them again */
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

static void test_map(const char *dir) {
    char path[1024];
    ob_err err = {0};
    static const size_t sizes[] = {6 * MIB + 1000, 100 * 1000};
    for (size_t k = 0; k < 2; k++) {
        size_t n = sizes[k];
        snprintf(path, sizeof path, "%s/map%zu.bin", dir, k);
        CHECK(write_file(path, n) == 0, "cannot write %s", path);
        ob_mapfile mf;
        CHECK_OK(ob_mapfile_open(path, 1, &mf, &err), &err);
        if (!mf.data) continue;
        CHECK(mf.mapped && mf.size == n && mf.path && !strcmp(mf.path, path), "%s: mapping fields", path);
        if (n >= OB_HUGE_PAGE)
            CHECK(((uintptr_t)mf.data & (OB_HUGE_PAGE - 1)) == 0, "%s: mapped at %p, not a 2 MiB boundary", path,
                  (const void *)mf.data);
        CHECK(same_as_pattern(mf.data, n), "%s: mapped bytes differ from the file", path);
        size_t before = ob_mapfile_populate(&mf, 1);
        size_t after = ob_mapfile_populate(&mf, 2); /* drop the pages and read them again */
        CHECK(same_as_pattern(mf.data, n), "%s: bytes differ after the pages were re-read", path);
        size_t aligned = n >= OB_HUGE_PAGE ? (n & ~(OB_HUGE_PAGE - 1)) : 0;
        CHECK(before <= aligned && after <= aligned, "%s: %zu / %zu bytes on 2 MiB pages, more than the %zu aligned",
              path, before, after, aligned);
        printf("%s (%zu bytes): %zu bytes on 2 MiB pages, %zu after re-reading\n", path, n, before, after);
        ob_mapfile_close(&mf);
        CHECK(!mf.data && !mf.path, "%s: close left fields set", path);

        CHECK_OK(ob_mapfile_open(path, 0, &mf, &err), &err);
        CHECK(!mf.mapped && !mf.path && ob_mapfile_populate(&mf, 2) == 0 && same_as_pattern(mf.data, n),
              "%s: a file read into memory is not a mapping", path);
        ob_mapfile_close(&mf);
        unlink(path);
    }
    char stack[4096] = {0};
    CHECK(ob_huge_bytes(stack, sizeof stack) <= sizeof stack, "ob_huge_bytes of a stack buffer");
}

/* Last-position logits of a fixed prompt. */
static int logits_of(ob_model *m, float *out, ob_err *err) {
    ob_pool *pool = NULL;
    ob_ctx *ctx = NULL;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = 16;
    static const int32_t toks[] = {1, 403, 407, 263, 931, 29892};
    int rc = ob_pool_new(2, &pool, err);
    if (!rc) rc = ob_ctx_new(m, pool, &cp, &ctx, err);
    if (!rc) rc = ob_forward(ctx, 0, toks, 6, 0, 0, out, err);
    ob_ctx_free(ctx);
    ob_pool_free(pool);
    return rc;
}

static void test_model(void) {
    char path[1024];
    stories_path(path, sizeof path, "model.bin");
    if (access(path, R_OK) != 0) {
        printf("skip: %s not in the cache\n", path);
        return;
    }
    ob_err err = {0};
    ob_load_params lazy = ob_load_default_params(), eager = lazy;
    lazy.populate = 0;
    CHECK(eager.populate == 1, "populate is on by default");
    ob_model *a = NULL, *b = NULL;
    CHECK_OK(ob_model_load(path, &lazy, &a, &err), &err);
    CHECK_OK(ob_model_load(path, &eager, &b, &err), &err);
    if (!a || !b) goto out;
    int64_t huge = ob_model_huge_bytes(b), repop = ob_model_populate(b);
    CHECK(huge >= 0 && huge <= ob_model_weight_bytes(b) + (int64_t)OB_HUGE_PAGE && repop >= 0,
          "stories15M: %lld bytes on 2 MiB pages of %lld", (long long)huge, (long long)ob_model_weight_bytes(b));
    printf("stories15M: %.1f of %.1f MB on 2 MiB pages\n", (double)huge / 1e6, (double)ob_model_weight_bytes(b) / 1e6);
    int V = ob_model_config(a)->n_vocab;
    float *la = malloc(sizeof(float) * V), *lb = malloc(sizeof(float) * V);
    CHECK_OK(logits_of(a, la, &err), &err);
    CHECK_OK(logits_of(b, lb, &err), &err);
    CHECK(!memcmp(la, lb, sizeof(float) * V), "stories15M: logits differ with and without populate");
    free(la);
    free(lb);
out:
    ob_model_free(a);
    ob_model_free(b);
}

int main(void) {
    char dir[] = "/tmp/ob_test_mapfile_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_alloc();
    test_map(dir);
    test_model();
    rmdir(dir);
    return CHECK_DONE("test_mapfile");
}
