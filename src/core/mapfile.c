/* mapfile.c - mapping and reading whole files. */
#include "core/mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Addresses rounded down / up to a 2 MiB boundary. */
static uintptr_t huge_down(uintptr_t a) { return a & ~(uintptr_t)(OB_HUGE_PAGE - 1); }
static uintptr_t huge_up(uintptr_t a) { return huge_down(a + OB_HUGE_PAGE - 1); }

/* Maps size bytes of fd read-only; from OB_HUGE_PAGE bytes on at a 2 MiB
 * boundary (a reservation of size + 2 MiB, the file mapped over its
 * aligned part, the rest given back) with MADV_HUGEPAGE. */
static void *map_file(int fd, size_t size) {
    if (size < OB_HUGE_PAGE) return mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    size_t span = size + OB_HUGE_PAGE;
    char *res = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED) return MAP_FAILED;
    char *at = (char *)huge_up((uintptr_t)res);
    void *p = mmap(at, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        munmap(res, span);
        errno = e;
        return MAP_FAILED;
    }
    /* give back the reservation around the file: before it, and after its
     * last page */
    size_t page = (size_t)sysconf(_SC_PAGESIZE), mapped = (size + page - 1) / page * page;
    if (at > res) munmap(res, (size_t)(at - res));
    if (at + mapped < res + span) munmap(at + mapped, (size_t)(res + span - (at + mapped)));
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#endif
    return p;
}

int ob_mapfile_open(const char *path, int use_mmap, ob_mapfile *out, ob_err *err) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return ob_fail(err, OB_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ob_fail(err, OB_EIO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    out->size = size;
    if (size == 0) {
        close(fd);
        return 0;
    }
    if (use_mmap) {
        out->path = strdup(path);
        void *p = out->path ? map_file(fd, size) : MAP_FAILED;
        int e = errno;
        close(fd);
        if (p == MAP_FAILED) {
            free(out->path);
            out->path = NULL;
            return ob_fail(err, OB_EIO, "%s: cannot map: %s", path, strerror(e));
        }
        out->data = p;
        out->mapped = 1;
        return 0;
    }
    unsigned char *buf = malloc(size);
    if (!buf) {
        close(fd);
        return ob_fail(err, OB_ENOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(buf);
            close(fd);
            return ob_fail(err, OB_EIO, "%s: read failed at byte %zu", path, got);
        }
        got += (size_t)r;
    }
    close(fd);
    out->data = buf;
    return 0;
}

void ob_mapfile_close(ob_mapfile *mf) {
    if (!mf) return;
    if (mf->data && mf->mapped) munmap((void *)mf->data, mf->size);
    else free((void *)mf->data);
    free(mf->path);
    memset(mf, 0, sizeof *mf);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

/* The 2 MiB-aligned part of [p, p + size): its length. */
static size_t aligned_part(const void *p, size_t size) {
    uintptr_t a = huge_up((uintptr_t)p), b = huge_down((uintptr_t)p + size);
    return b > a ? (size_t)(b - a) : 0;
}

size_t ob_mapfile_populate(ob_mapfile *mf, int reload) {
    if (!mf || !mf->mapped || !mf->data) return 0;
    void *p = (void *)mf->data;
    if (madvise(p, mf->size, MADV_POPULATE_READ) != 0) return ob_huge_bytes(p, mf->size);
    size_t want = aligned_part(p, mf->size), got = ob_huge_bytes(p, mf->size);
    if (!reload || !want || (reload == 1 && got >= want / 10 * 9) || !mf->path) return got;
    int fd = open(mf->path, O_RDONLY);
    if (fd < 0) return got;
    madvise(p, mf->size, MADV_DONTNEED); /* a private read-only mapping: drops our page tables only */
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    madvise(p, mf->size, MADV_POPULATE_READ);
    return ob_huge_bytes(p, mf->size);
}

void ob_release_pages(const void *p, size_t size) {
    const uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), lo = ((uintptr_t)p + pg - 1) & ~(pg - 1), hi = ((uintptr_t)p + size) & ~(pg - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

size_t ob_huge_bytes(const void *p, size_t size) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return 0;
    const uintptr_t lo = (uintptr_t)p, hi = lo + size;
    uintptr_t vlo = 0, vhi = 0;
    size_t total = 0, in_vma = 0;
    char line[512];
    /* a mapping's header line ("start-end perms ..."), then "Key: value kB" lines */
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b, kb;
        char key[64];
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
            total += in_vma;
            in_vma = 0;
            vlo = a;
            vhi = b;
            continue;
        }
        if (vhi <= lo || vlo >= hi) continue;
        if (sscanf(line, "%63[A-Za-z]: %lu kB", key, &kb) == 2 &&
            (!strcmp(key, "FilePmdMapped") || !strcmp(key, "AnonHugePages"))) {
            size_t overlap = (size_t)((vhi < hi ? vhi : hi) - (vlo > lo ? vlo : lo));
            in_vma += (size_t)kb * 1024;
            if (in_vma > overlap) in_vma = overlap;
        }
    }
    total += in_vma;
    fclose(f);
    return total;
}

void *ob_alloc_huge(size_t size) {
    size_t rounded = (size + 63) & ~(size_t)63;
    if (!rounded) rounded = 64;
    if (size < 2 * OB_HUGE_PAGE) return aligned_alloc(64, rounded);
    void *p = NULL;
    if (posix_memalign(&p, OB_HUGE_PAGE, rounded) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, (size_t)huge_down(size), MADV_HUGEPAGE);
#endif
    return p;
}

int ob_read_text(const char *path, char **out, size_t *len, ob_err *err) {
    *out = NULL;
    ob_mapfile mf;
    int rc = ob_mapfile_open(path, 0, &mf, err);
    if (rc) return rc;
    char *s = malloc(mf.size + 1);
    if (!s) {
        ob_mapfile_close(&mf);
        return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    }
    if (mf.size) memcpy(s, mf.data, mf.size);
    s[mf.size] = 0;
    if (len) *len = mf.size;
    ob_mapfile_close(&mf);
    *out = s;
    return 0;
}

int ob_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ob_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
