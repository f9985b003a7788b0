/* mlstore.c - MLflow file store: experiments, runs, params, metrics, tags
 * and artifacts, each file written whole and renamed into place. */
#include "report/mlstore.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/mapfile.h"
#include "formats/fetch.h"
#include "report/fileio.h"
#include "report/results.h"
#include "report/sbuf.h"
#include "report/yamlio.h"

enum { KEY_MAX = 250, PATH_CAP = 4096 };

struct ob_mlstore {
    char root[PATH_CAP];
};

struct ob_mlrun {
    ob_mlstore *store;
    char exp_id[OB_MLFLOW_ID_MAX], run_id[33];
    char *run_name, *user;
    char dir[PATH_CAP];
    int64_t start_ms;
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int join(char *buf, size_t size, ob_err *err, const char *fmt, const char *a, const char *b, const char *c) {
    int n = snprintf(buf, size, fmt, a, b, c);
    if (n < 0 || (size_t)n >= size) return ob_fail(err, OB_EINVAL, "%.200s...: path too long", a);
    return 0;
}

/* ------------------------------------------------------------------- keys */

static int key_char_ok(unsigned char c) {
    return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ' ' || c == '/';
}

/* Makes a "." or ".." segment s[0..n) harmless. */
static void fix_dots(char *s, size_t n) {
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) memset(s, '_', n);
}

void ob_mlflow_key(const char *key, char *out, size_t size) {
    size_t cap = size - 1 < KEY_MAX ? size - 1 : KEY_MAX, n = 0, seg = 0;
    for (const unsigned char *p = (const unsigned char *)key; *p && n < cap; p++) {
        char c = key_char_ok(*p) ? (char)*p : '_';
        if (c == '/') {
            if (n == seg) continue; /* empty segment (leading or doubled slash) */
            fix_dots(out + seg, n - seg);
            out[n++] = '/';
            seg = n;
            continue;
        }
        out[n++] = c;
    }
    while (n > 0 && out[n - 1] == '/') n--; /* trailing slash */
    seg = n;
    while (seg > 0 && out[seg - 1] != '/') seg--;
    fix_dots(out + seg, n - seg);
    if (n == 0) out[n++] = '_';
    out[n] = '\0';
}

/* Writes data under run_dir/folder/<cleaned key>, making subfolders. */
static int write_keyed(const ob_mlrun *r, const char *folder, const char *key, const char *data, size_t len,
                       ob_err *err) {
    char clean[KEY_MAX + 1], path[PATH_CAP], dir[PATH_CAP];
    ob_mlflow_key(key, clean, sizeof clean);
    int rc = join(path, sizeof path, err, "%s/%s/%s", r->dir, folder, clean);
    if (rc) return rc;
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') - path), path);
    if ((rc = ob_mkdir_p(dir, err))) return rc;
    return ob_write_atomic(path, data, len, err);
}

/* Writes every member of obj (may be NULL) into folder. */
static int write_object(ob_mlrun *r, const char *folder, const json_t *obj, ob_err *err) {
    const char *k;
    const json_t *v;
    int rc = 0;
    json_object_foreach((json_t *)obj, k, v) {
        ob_sbuf b = {0};
        ob_json_text(&b, v, 1);
        rc = b.oom ? ob_fail(err, OB_ENOMEM, "out of memory") : write_keyed(r, folder, k, b.s ? b.s : "", b.len, err);
        ob_sbuf_free(&b);
        if (rc) break;
    }
    return rc;
}

/* "file://" + path with every byte other than unreserved ones and '/'
 * percent-encoded, as Python's Path.as_uri() writes it. */
static int file_uri(const char *path, const char *suffix, char *buf, size_t size, ob_err *err) {
    ob_sbuf b = {0};
    ob_sbuf_puts(&b, "file://");
    for (int part = 0; part < 2; part++)
        for (const unsigned char *p = (const unsigned char *)(part ? suffix : path); *p; p++) {
            if (isalnum(*p) || strchr("/-._~", *p))
                ob_sbuf_putc(&b, (char)*p);
            else
                ob_sbuf_printf(&b, "%%%02X", *p);
        }
    int rc = 0;
    if (b.oom || b.len >= size)
        rc = ob_fail(err, OB_EINVAL, "%.200s...: path too long", path);
    else
        memcpy(buf, b.s, b.len + 1);
    ob_sbuf_free(&b);
    return rc;
}

/* ------------------------------------------------------------ experiments */

static int write_yaml(const char *path, const ob_yfield *f, size_t n, ob_err *err) {
    ob_sbuf b = {0};
    int rc = ob_yaml_mapping(f, n, &b, err);
    if (!rc) rc = ob_write_atomic(path, b.s, b.len, err);
    ob_sbuf_free(&b);
    return rc;
}

/* Makes ROOT/<id> (which must not exist) with its meta.yaml.  1 if taken. */
static int create_experiment(ob_mlstore *s, const char *id, const char *name, ob_err *err) {
    char dir[PATH_CAP], meta[PATH_CAP], loc[PATH_CAP];
    int rc = join(dir, sizeof dir, err, "%s/%s%s", s->root, id, "");
    if (rc) return rc;
    if (mkdir(dir, 0755) != 0) {
        if (errno == EEXIST) return -1;
        return ob_fail(err, OB_EIO, "%s: cannot create the experiment folder: %s", dir, strerror(errno));
    }
    if ((rc = join(meta, sizeof meta, err, "%s/%s%s", dir, "meta.yaml", "")) ||
        (rc = file_uri(dir, "", loc, sizeof loc, err)))
        return rc;
    int64_t t = now_ms();
    ob_yfield f[] = {
        {"artifact_location", OB_Y_STR, loc, 0}, {"creation_time", OB_Y_INT, NULL, t},
        {"experiment_id", OB_Y_STR, id, 0},      {"last_update_time", OB_Y_INT, NULL, t},
        {"lifecycle_stage", OB_Y_STR, "active", 0}, {"name", OB_Y_STR, name, 0},
    };
    return write_yaml(meta, f, sizeof f / sizeof f[0], err);
}

int ob_mlstore_open(const char *root, ob_mlstore **out, ob_err *err) {
    *out = NULL;
    int rc = ob_mkdir_p(root, err);
    if (rc) return rc;
    ob_mlstore *s = calloc(1, sizeof *s);
    if (!s) return ob_fail(err, OB_ENOMEM, "%s: out of memory", root);
    char real[PATH_MAX];
    if (!realpath(root, real)) {
        free(s);
        return ob_fail(err, OB_EIO, "%s: %s", root, strerror(errno));
    }
    snprintf(s->root, sizeof s->root, "%s", real);
    char path[PATH_CAP];
    if (!(rc = join(path, sizeof path, err, "%s/%s%s", s->root, ".trash", "")) && mkdir(path, 0755) != 0 &&
        errno != EEXIST)
        rc = ob_fail(err, OB_EIO, "%s: cannot create: %s", path, strerror(errno));
    if (!rc) {
        rc = create_experiment(s, "0", "Default", err);
        if (rc < 0) rc = 0; /* it exists already */
    }
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void ob_mlstore_close(ob_mlstore *s) { free(s); }

const char *ob_mlstore_root(const ob_mlstore *s) { return s->root; }

/* A folder name that is a decimal experiment id: its value, else -1. */
static long long numeric_id(const char *name) {
    if (!*name || strlen(name) > 18) return -1;
    for (const char *p = name; *p; p++)
        if (!isdigit((unsigned char)*p)) return -1;
    return atoll(name);
}

/* Scans folder for experiments: the id of the active one called name (if
 * name is not NULL) into id, and the largest numeric id into *max_id. */
static int scan_experiments(const char *folder, const char *name, char *id, long long *max_id, ob_err *err) {
    DIR *d = opendir(folder);
    if (!d) {
        if (errno == ENOENT) return 0;
        return ob_fail(err, OB_EIO, "%s: cannot list: %s", folder, strerror(errno));
    }
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        long long v = numeric_id(e->d_name);
        if (v > *max_id) *max_id = v;
        size_t len = strlen(e->d_name);
        if (!name || found || len >= OB_MLFLOW_ID_MAX) continue; /* MLflow ids have at most 64 */
        char meta[PATH_CAP], got[1024], stage[64];
        ob_err ignore;
        if (join(meta, sizeof meta, &ignore, "%s/%s/%s", folder, e->d_name, "meta.yaml")) continue;
        if (ob_yaml_get(meta, "name", got, sizeof got, &ignore) != 1 || strcmp(got, name)) continue;
        if (ob_yaml_get(meta, "lifecycle_stage", stage, sizeof stage, &ignore) == 1 && strcmp(stage, "active"))
            continue;
        memcpy(id, e->d_name, len + 1);
        found = 1;
    }
    closedir(d);
    return found;
}

int ob_mlstore_experiment(ob_mlstore *s, const char *name, char *id, ob_err *err) {
    if (!name || !*name) return ob_fail(err, OB_EINVAL, "%s: an experiment needs a name", s->root);
    long long max_id = 0;
    int rc = scan_experiments(s->root, name, id, &max_id, err);
    if (rc) return rc > 0 ? 0 : rc;
    char trash[PATH_CAP];
    if ((rc = join(trash, sizeof trash, err, "%s/%s%s", s->root, ".trash", "")) ||
        (rc = scan_experiments(trash, NULL, id, &max_id, err)))
        return rc;
    for (long long next = max_id + 1;; next++) {
        snprintf(id, OB_MLFLOW_ID_MAX, "%lld", next);
        rc = create_experiment(s, id, name, err);
        if (rc >= 0) return rc;
    }
}

/* -------------------------------------------------------------------- runs */

static int random_hex_id(char out[33], ob_err *err) {
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ob_fail(err, OB_EIO, "cannot draw a run id: %s", strerror(errno));
        }
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* UUID version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

static char *user_name(void) {
    const char *u = getenv("LOGNAME");
    if (!u || !*u) u = getenv("USER");
    if (u && *u) return dup_str(u);
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res) return dup_str(res->pw_name);
    return dup_str("unknown");
}

static int write_run_meta(const ob_mlrun *r, int status, int64_t end_ms, ob_err *err) {
    char meta[PATH_CAP], uri[PATH_CAP];
    int rc = join(meta, sizeof meta, err, "%s/%s%s", r->dir, "meta.yaml", "");
    if (rc || (rc = file_uri(r->dir, "/artifacts", uri, sizeof uri, err))) return rc;
    ob_yfield f[] = {
        {"artifact_uri", OB_Y_STR, uri, 0},
        {"end_time", end_ms >= 0 ? OB_Y_INT : OB_Y_NULL, NULL, end_ms},
        {"entry_point_name", OB_Y_STR, "", 0},
        {"experiment_id", OB_Y_STR, r->exp_id, 0},
        {"lifecycle_stage", OB_Y_STR, "active", 0},
        {"run_id", OB_Y_STR, r->run_id, 0},
        {"run_name", OB_Y_STR, r->run_name, 0},
        {"run_uuid", OB_Y_STR, r->run_id, 0},
        {"source_name", OB_Y_STR, "", 0},
        {"source_type", OB_Y_INT, NULL, 4},
        {"source_version", OB_Y_STR, "", 0},
        {"start_time", OB_Y_INT, NULL, r->start_ms},
        {"status", OB_Y_INT, NULL, status},
        {"tags", OB_Y_EMPTY_LIST, NULL, 0},
        {"user_id", OB_Y_STR, r->user, 0},
    };
    return write_yaml(meta, f, sizeof f / sizeof f[0], err);
}

static int make_run_dirs(const ob_mlrun *r, ob_err *err) {
    static const char *sub[] = {"", "/metrics", "/params", "/tags", "/artifacts"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        char p[PATH_CAP];
        int rc = join(p, sizeof p, err, "%s%s%s", r->dir, sub[i], "");
        if (rc) return rc;
        if (mkdir(p, 0755) != 0 && !(i > 0 && errno == EEXIST))
            return ob_fail(err, OB_EIO, "%s: cannot create: %s", p, strerror(errno));
    }
    return 0;
}

int ob_mlrun_start(ob_mlstore *s, const char *experiment_id, const char *run_name, const json_t *params,
                   const json_t *tags, ob_mlrun **out, ob_err *err) {
    *out = NULL;
    char exp_dir[PATH_CAP];
    int rc = join(exp_dir, sizeof exp_dir, err, "%s/%s%s", s->root, experiment_id, "");
    if (rc) return rc;
    if (!ob_is_dir(exp_dir)) return ob_fail(err, OB_EINVAL, "%s: no such experiment", exp_dir);
    ob_mlrun *r = calloc(1, sizeof *r);
    if (!r) return ob_fail(err, OB_ENOMEM, "out of memory");
    r->store = s;
    snprintf(r->exp_id, sizeof r->exp_id, "%s", experiment_id);
    r->start_ms = now_ms();
    if (!(rc = random_hex_id(r->run_id, err))) {
        r->run_name = dup_str(run_name && *run_name ? run_name : r->run_id);
        r->user = user_name();
        if (!r->run_name || !r->user) rc = ob_fail(err, OB_ENOMEM, "out of memory");
    }
    if (!rc) rc = join(r->dir, sizeof r->dir, err, "%s/%s/%s", s->root, experiment_id, r->run_id);
    if (!rc) rc = make_run_dirs(r, err);
    if (!rc) rc = write_run_meta(r, OB_RUN_RUNNING, -1, err);
    if (!rc) rc = ob_mlrun_set_tag(r, "mlflow.runName", r->run_name, err);
    if (!rc) rc = ob_mlrun_set_tag(r, "mlflow.user", r->user, err);
    if (!rc) rc = ob_mlrun_set_tag(r, "mlflow.source.name", "optibench", err);
    if (!rc) rc = ob_mlrun_set_tag(r, "mlflow.source.type", "LOCAL", err);
    if (!rc && tags) rc = write_object(r, "tags", tags, err);
    if (!rc && params) rc = write_object(r, "params", params, err);
    if (rc) {
        ob_mlrun_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int ob_mlrun_log_param(ob_mlrun *r, const char *key, const char *value, ob_err *err) {
    return write_keyed(r, "params", key, value, strlen(value), err);
}

int ob_mlrun_set_tag(ob_mlrun *r, const char *key, const char *value, ob_err *err) {
    return write_keyed(r, "tags", key, value, strlen(value), err);
}

int ob_mlrun_log_metric(ob_mlrun *r, const char *key, double value, int64_t step, ob_err *err) {
    char clean[KEY_MAX + 1], path[PATH_CAP];
    ob_mlflow_key(key, clean, sizeof clean);
    int rc = join(path, sizeof path, err, "%s/metrics/%s%s", r->dir, clean, "");
    if (rc) return rc;
    ob_sbuf b = {0};
    if (ob_is_file(path)) {
        char *old;
        size_t len;
        if ((rc = ob_read_text(path, &old, &len, err))) return rc;
        ob_sbuf_add(&b, old, len);
        free(old);
        if (b.len && b.s[b.len - 1] != '\n') ob_sbuf_putc(&b, '\n');
    }
    ob_sbuf_printf(&b, "%lld ", (long long)now_ms());
    ob_sbuf_double(&b, value);
    ob_sbuf_printf(&b, " %lld\n", (long long)step);
    rc = b.oom ? ob_fail(err, OB_ENOMEM, "%s: out of memory", path) : write_keyed(r, "metrics", key, b.s, b.len, err);
    ob_sbuf_free(&b);
    return rc;
}

int ob_mlrun_log_artifact(ob_mlrun *r, const char *src, const char *dest, ob_err *err) {
    if (!dest) {
        const char *slash = strrchr(src, '/');
        dest = slash ? slash + 1 : src;
    }
    if (!*dest || dest[0] == '/' || !strcmp(dest, "..") || strstr(dest, "../") || strstr(dest, "/..") ||
        dest[strlen(dest) - 1] == '/')
        return ob_fail(err, OB_EINVAL, "%s: bad artifact path '%s'", r->dir, dest);
    char path[PATH_CAP], dir[PATH_CAP];
    int rc = join(path, sizeof path, err, "%s/artifacts/%s%s", r->dir, dest, "");
    if (rc) return rc;
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') - path), path);
    if ((rc = ob_mkdir_p(dir, err))) return rc;
    return ob_copy_atomic(src, path, err);
}

int ob_mlrun_end(ob_mlrun *r, int status, ob_err *err) {
    if (status < OB_RUN_RUNNING || status > OB_RUN_KILLED)
        return ob_fail(err, OB_EINVAL, "%s: bad run status %d", r->dir, status);
    return write_run_meta(r, status, now_ms(), err);
}

void ob_mlrun_free(ob_mlrun *r) {
    if (!r) return;
    free(r->run_name);
    free(r->user);
    free(r);
}

const char *ob_mlrun_id(const ob_mlrun *r) { return r->run_id; }

const char *ob_mlrun_dir(const ob_mlrun *r) { return r->dir; }

/* ------------------------------------------------------------------- cells */

static int cell_tag(ob_mlrun *r, const json_t *cell, const char *key, ob_err *err) {
    const json_t *v = json_object_get(cell, key);
    if (!json_is_string(v)) return 0;
    return ob_mlrun_set_tag(r, key, json_string_value(v), err);
}

int ob_mlstore_log_cell(ob_mlstore *s, const char *experiment_id, const json_t *cell, char *run_id, ob_err *err) {
    if (!json_is_object(cell)) return ob_fail(err, OB_EINVAL, "log cell: not a cell record");
    json_t *params = json_object();
    if (!params) return ob_fail(err, OB_ENOMEM, "out of memory");
    const json_t *p = json_object_get(cell, "params");
    if (json_is_object(p)) json_object_update(params, (json_t *)p);
    static const char *fixed[] = {"model", "recipe"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(cell, fixed[i]);
        if (v && json_object_set(params, fixed[i], v)) {
            json_decref(params);
            return ob_fail(err, OB_ENOMEM, "out of memory");
        }
    }
    const char *name = json_string_value(json_object_get(cell, "run_name"));
    if (!name) name = json_string_value(json_object_get(cell, "recipe"));
    ob_mlrun *r;
    int rc = ob_mlrun_start(s, experiment_id, name, params, NULL, &r, err);
    json_decref(params);
    if (rc) return rc;
    static const char *tag_keys[] = {"model", "recipe", "status", "error"};
    for (int i = 0; i < 4 && !rc; i++) rc = cell_tag(r, cell, tag_keys[i], err);
    const char *k;
    const json_t *v;
    json_object_foreach(json_object_get(cell, "metrics"), k, v) {
        if (rc) break;
        if (json_is_number(v)) rc = ob_mlrun_log_metric(r, k, json_number_value(v), 0, err);
    }
    const char *status = json_string_value(json_object_get(cell, "status"));
    int ok = !status || !strcmp(status, "ok");
    if (!rc) rc = ob_mlrun_end(r, ok ? OB_RUN_FINISHED : OB_RUN_FAILED, err);
    if (!rc && run_id) snprintf(run_id, 33, "%s", r->run_id);
    ob_mlrun_free(r);
    return rc;
}
