/* fileio.c - write to a temporary file, fsync, rename over the target. */
#include "report/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mapfile.h"

/* Splits path into its folder ("." when none) and writes the temp template. */
static int temp_name(const char *path, char *tmp, size_t tsize, char *dir, size_t dsize) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int n;
    if (!slash)
        n = snprintf(dir, dsize, ".");
    else if (slash == path)
        n = snprintf(dir, dsize, "/");
    else
        n = snprintf(dir, dsize, "%.*s", (int)(slash - path), path);
    if (n < 0 || (size_t)n >= dsize) return -1;
    n = snprintf(tmp, tsize, "%s/.%s.tmp.XXXXXX", dir, base);
    return n < 0 || (size_t)n >= tsize ? -1 : 0;
}

static int write_all(int fd, const unsigned char *p, size_t len) {
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int ob_write_atomic(const char *path, const void *data, size_t len, ob_err *err) {
    char tmp[4200], dir[4096];
    if (!*path) return ob_fail(err, OB_EINVAL, "empty output file name");
    if (temp_name(path, tmp, sizeof tmp, dir, sizeof dir))
        return ob_fail(err, OB_EINVAL, "%.200s...: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return ob_fail(err, OB_EIO, "%s: cannot create a file in %s: %s", path, dir, strerror(errno));
    const char *step = "cannot write";
    int ok = write_all(fd, data, len) == 0;
    if (ok && fchmod(fd, 0644) != 0) ok = 0;
    if (ok && fsync(fd) != 0) ok = 0, step = "cannot flush to disk";
    int e = errno;
    if (close(fd) != 0 && ok) ok = 0, e = errno;
    if (ok && rename(tmp, path) != 0) ok = 0, e = errno, step = "cannot rename into place";
    if (!ok) {
        unlink(tmp);
        return ob_fail(err, OB_EIO, "%s: %s: %s", path, step, strerror(e));
    }
    /* make the rename itself durable */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int ob_copy_atomic(const char *src, const char *dst, ob_err *err) {
    ob_mapfile mf;
    int rc = ob_mapfile_open(src, 1, &mf, err);
    if (rc) return rc;
    rc = ob_write_atomic(dst, mf.data, mf.size, err);
    ob_mapfile_close(&mf);
    return rc;
}
