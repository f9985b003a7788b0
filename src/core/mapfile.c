/* mapfile.c - mapping and reading whole files. */
#include "core/mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
        void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p == MAP_FAILED) return ob_fail(err, OB_EIO, "%s: cannot map: %s", path, strerror(errno));
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
    if (!mf || !mf->data) return;
    if (mf->mapped) munmap((void *)mf->data, mf->size);
    else free((void *)mf->data);
    memset(mf, 0, sizeof *mf);
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
