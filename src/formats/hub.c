/* hub.c - downloading a model repository from the Hugging Face Hub with
 * libcurl into the cache (see fetch.h).
 *
 * The Hub's layout: GET {endpoint}/api/models/{org}/{name}/revision/{rev}
 * answers JSON whose "siblings" list the files ({"rfilename": ...}) and
 * whose "sha" is the commit; a file is at
 * {endpoint}/{org}/{name}/resolve/{rev}/{filename}, which for LFS files
 * redirects to a CDN and carries X-Linked-Size and X-Linked-Etag (the
 * quoted sha256 of the content).  Downloads go to <file>.part and resume
 * with "Range: bytes=N-"; a 206 answer appends, a 200 starts over. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "formats/fetch.h"

#define MANIFEST ".optibench-manifest"
#define API_MAX_BYTES (64 << 20)   /* the API's JSON and an index file      */
#define MAX_FILES 4096             /* files one pull may fetch               */
#define MAX_NAME 512               /* bytes in one file name                 */


/* ------------------------------------------------------- names and paths */

static int name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* A repository owner or name: [A-Za-z0-9._-]{1,96}, not starting with '.'. */
static int valid_name(const char *s, size_t n) {
    if (n == 0 || n > 96 || s[0] == '.') return 0;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i])) return 0;
    return 1;
}

/* A revision: name characters and '/', no empty, "." or ".." component. */
static int valid_revision(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 200) return 0;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        for (size_t i = 0; i < len; i++)
            if (!name_char(p[i])) return 0;
        if (!e) break;
        p = e + 1;
        if (!*p) return 0;
    }
    return 1;
}

/* A file name the Hub gave us that we will write below our folder: a
 * relative path whose components are non-empty, do not start with '.', and
 * hold no control characters or backslashes. */
static int safe_relpath(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > MAX_NAME || s[0] == '/') return 0;
    int start = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\') return 0;
        if (start && (c == '.' || c == '/')) return 0;
        start = c == '/';
    }
    if (start) return 0; /* trailing '/' */
    size_t k = strlen(".part");
    if (n > k && !strcmp(s + n - k, ".part")) return 0;
    return 1;
}

int ob_hub_parse_ref(const char *spec, ob_hub_ref *ref, ob_err *err) {
    memset(ref, 0, sizeof *ref);
    if (!spec || !*spec) return ob_fail(err, OB_EINVAL, "empty model name (expected org/name[@revision])");
    const char *at = strchr(spec, '@');
    size_t rlen = at ? (size_t)(at - spec) : strlen(spec);
    const char *slash = memchr(spec, '/', rlen);
    if (!slash || !valid_name(spec, (size_t)(slash - spec)) ||
        !valid_name(slash + 1, rlen - (size_t)(slash - spec) - 1))
        return ob_fail(err, OB_EINVAL,
                       "'%.300s' is not a Hub model name: expected org/name[@revision], each name "
                       "made of letters, digits, '.', '_' and '-'",
                       spec);
    memcpy(ref->repo, spec, rlen);
    ref->repo[rlen] = '\0';
    const char *rev = at ? at + 1 : "main";
    if (!valid_revision(rev))
        return ob_fail(err, OB_EINVAL, "'%.300s': bad revision '%.200s' after '@'", spec, rev);
    snprintf(ref->revision, sizeof ref->revision, "%s", rev);
    return 0;
}

/* Re-checks a reference a caller may have filled in by hand. */
static int check_ref(const ob_hub_ref *ref, ob_err *err) {
    const char *slash = memchr(ref->repo, '/', sizeof ref->repo);
    size_t n = strnlen(ref->repo, sizeof ref->repo);
    if (n == sizeof ref->repo || !slash || !valid_name(ref->repo, (size_t)(slash - ref->repo)) ||
        !valid_name(slash + 1, n - (size_t)(slash - ref->repo) - 1) ||
        strnlen(ref->revision, sizeof ref->revision) == sizeof ref->revision ||
        !valid_revision(ref->revision))
        return ob_fail(err, OB_EINVAL, "bad Hub reference (expected org/name and a revision)");
    return 0;
}

int ob_hub_local_dir(const char *cache_dir, const ob_hub_ref *ref, char *buf, size_t size,
                     ob_err *err) {
    char cache[4096], rev[800];
    int rc = check_ref(ref, err);
    if (rc) return rc;
    rc = ob_cache_dir(cache_dir, 0, cache, sizeof cache, err);
    if (rc) return rc;
    size_t j = 0;
    for (const char *p = ref->revision; *p && j + 4 < sizeof rev; p++) {
        if (*p == '/') {
            memcpy(rev + j, "%2F", 3);
            j += 3;
        } else {
            rev[j++] = *p;
        }
    }
    rev[j] = '\0';
    int n = snprintf(buf, size, "%s/hub/%s/%s", cache, ref->repo, rev);
    if (n < 0 || (size_t)n >= size) return ob_fail(err, OB_EINVAL, "%s: path too long", cache);
    return 0;
}

/* Percent-encodes s into out; keep_slash leaves '/' as is. */
static int url_escape(const char *s, int keep_slash, char *out, size_t size) {
    static const char hexd[] = "0123456789ABCDEF";
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = name_char((char)*p) || *p == '~' || (keep_slash && *p == '/');
        if (j + (plain ? 1 : 3) >= size) return -1;
        if (plain) {
            out[j++] = (char)*p;
        } else {
            out[j++] = '%';
            out[j++] = hexd[*p >> 4];
            out[j++] = hexd[*p & 15];
        }
    }
    out[j] = '\0';
    return 0;
}

static int is_hex(const char *s, size_t n) {
    if (strlen(s) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    return 1;
}

/* ------------------------------------------------------------- manifest */

static json_t *manifest_load(const char *dir) {
    char path[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/" MANIFEST, dir) >= sizeof path) return NULL;
    json_t *m = json_load_file(path, 0, NULL);
    if (m && (!json_is_object(m) || !json_is_object(json_object_get(m, "files")))) {
        json_decref(m);
        m = NULL;
    }
    return m;
}

static int manifest_save(const char *dir, json_t *m, ob_err *err) {
    char path[4200], tmp[4300];
    if ((size_t)snprintf(path, sizeof path, "%s/" MANIFEST, dir) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return ob_fail(err, OB_EINVAL, "%s: path too long", dir);
    if (json_dump_file(m, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) != 0) {
        unlink(tmp);
        return ob_fail(err, OB_EIO, "cannot write %s", tmp);
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ob_fail(err, OB_EIO, "cannot rename %s: %s", tmp, strerror(e));
    }
    return 0;
}

/* Whether dir/name exists as a regular file of size bytes. */
static int file_has_size(const char *dir, const char *name, json_int_t size) {
    char path[4700];
    struct stat st;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return 0;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == (off_t)size;
}

int ob_hub_is_complete(const char *dir) {
    json_t *m = manifest_load(dir);
    if (!m) return 0;
    int ok = json_is_true(json_object_get(m, "complete"));
    json_t *files = json_object_get(m, "files");
    if (json_object_size(files) == 0) ok = 0;
    const char *name;
    json_t *v;
    json_object_foreach(files, name, v) {
        json_t *sz = json_object_get(v, "size");
        if (!ok || !json_is_integer(sz) || !safe_relpath(name) ||
            !file_has_size(dir, name, json_integer_value(sz))) {
            ok = 0;
            break;
        }
    }
    json_decref(m);
    return ok;
}

/* ------------------------------------------------------------ HTTP state */

typedef struct hub {
    const ob_fetch_opts *o;
    const ob_hub_ref *ref;
    char endpoint[1024];
    char rev_url[800];      /* the revision (or commit) as it goes in URLs */
    char *auth;             /* "Authorization: Bearer ..." or NULL         */
    struct curl_slist *headers;
    CURL *curl;
    char dir[4096];
    json_t *manifest;
    ob_fetch_result *res;
} hub;

/* What the response headers said, across redirects. */
typedef struct resp {
    long status;             /* of the latest response                   */
    int n_responses;
    int64_t content_length;  /* latest response, -1 if none              */
    int64_t range_start;     /* "Content-Range: bytes S-E/T", -1 if none */
    int64_t range_total;
    int64_t linked_size;     /* X-Linked-Size, -1 if none                */
    char linked_etag[80];    /* X-Linked-Etag, first seen                */
    char etag[80];           /* ETag of the first response with one      */
    char error_code[64];     /* X-Error-Code of the latest response      */
} resp;

static void resp_init(resp *r) {
    memset(r, 0, sizeof *r);
    r->content_length = r->range_start = r->range_total = r->linked_size = -1;
}

/* Copies a header value without quotes, "W/" and surrounding blanks. */
static void header_value(const char *v, size_t n, char *out, size_t size) {
    while (n && (*v == ' ' || *v == '\t')) v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) n--;
    if (n >= 2 && v[0] == 'W' && v[1] == '/') v += 2, n -= 2;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') v++, n -= 2;
    if (n >= size) n = size - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static int header_is(const char *line, size_t n, const char *name, const char **val, size_t *vn) {
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':') return 0;
    *val = line + k + 1;
    *vn = n - k - 1;
    return 1;
}

static int64_t parse_i64(const char *s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0) return -1;
    return v;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud) {
    resp *r = ud;
    size_t n = size * nmemb;
    const char *v;
    size_t vn;
    char val[200];
    if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
        const char *sp = memchr(line, ' ', n);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        r->n_responses++;
        r->content_length = r->range_start = r->range_total = -1;
        r->error_code[0] = '\0';
    } else if (header_is(line, n, "content-length", &v, &vn)) {
        header_value(v, vn, val, sizeof val);
        r->content_length = parse_i64(val);
    } else if (header_is(line, n, "content-range", &v, &vn)) {
        header_value(v, vn, val, sizeof val);
        const char *p = val;
        if (!strncasecmp(p, "bytes", 5)) p += 5;
        while (*p == ' ') p++;
        const char *slash = strchr(p, '/');
        if (slash) {
            r->range_start = *p == '*' ? -1 : parse_i64(p);
            r->range_total = slash[1] == '*' ? -1 : parse_i64(slash + 1);
        }
    } else if (header_is(line, n, "x-linked-size", &v, &vn)) {
        header_value(v, vn, val, sizeof val);
        if (r->linked_size < 0) r->linked_size = parse_i64(val);
    } else if (header_is(line, n, "x-linked-etag", &v, &vn)) {
        if (!r->linked_etag[0]) header_value(v, vn, r->linked_etag, sizeof r->linked_etag);
    } else if (header_is(line, n, "etag", &v, &vn)) {
        if (!r->etag[0]) header_value(v, vn, r->etag, sizeof r->etag);
    } else if (header_is(line, n, "x-error-code", &v, &vn)) {
        header_value(v, vn, r->error_code, sizeof r->error_code);
    }
    return n;
}

/* Sets the options every request shares. */
static void curl_common(hub *h, const char *url, char *errbuf, resp *r) {
    CURL *c = h->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "optibench/0.1");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);  /* a transfer that stalls */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);  /* for a minute fails     */
    /* custom Authorization headers are not sent to other hosts on redirect */
    if (h->headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    resp_init(r);
    errbuf[0] = '\0';
}

static void emit(const hub *h, ob_fetch_kind kind, const char *file, int64_t done, int64_t total,
                 const char *msg) {
    if (!h->o->progress) return;
    ob_fetch_event ev = {kind, file, done, total, msg};
    h->o->progress(h->o->user, &ev);
}

/* Whether a libcurl failure is worth another (resumed) attempt. */
static int transient(CURLcode cc) {
    switch (cc) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:
        return 1;
    default:
        return 0;
    }
}

static void backoff(int attempt) {
    struct timespec t = {attempt < 5 ? attempt : 5, 0};
    nanosleep(&t, NULL);
}

/* The error for an HTTP status that ends the pull.  what: "file X" or NULL
 * for the repository listing. */
static int http_error(hub *h, const resp *r, const char *file, ob_err *err) {
    const char *repo = h->ref->repo, *rev = h->ref->revision;
    long s = r->status;
    if (s == 401 || s == 403) {
        if (!strcmp(r->error_code, "RepoNotFound"))
            return ob_fail(err, OB_ENET, "%s: repository not found on %s (or private: set HF_TOKEN) (HTTP %ld)",
                           repo, h->endpoint, s);
        if (h->auth)
            return ob_fail(err, OB_ENET,
                           "%s: gated or private repository, and HF_TOKEN was refused for %s (HTTP %ld): "
                           "check the token and that it has access (accept the model's terms on the Hub)",
                           repo, file ? file : "the file list", s);
        return ob_fail(err, OB_ENET,
                       "%s: gated or private repository (HTTP %ld): set HF_TOKEN to a token with access",
                       repo, s);
    }
    if (s == 404) {
        if (file)
            return ob_fail(err, OB_ENET, "%s@%s: file %s not found (HTTP 404)", repo, rev, file);
        if (!strcmp(r->error_code, "RevisionNotFound"))
            return ob_fail(err, OB_ENET, "%s: revision %s not found (HTTP 404)", repo, rev);
        return ob_fail(err, OB_ENET, "%s@%s: repository or revision not found on %s (HTTP 404)", repo,
                       rev, h->endpoint);
    }
    return ob_fail(err, OB_ENET, "%s@%s: %s answered HTTP %ld%s%s", repo, rev,
                   file ? file : "the file listing", s, r->error_code[0] ? " " : "", r->error_code);
}

/* ------------------------------------------------------ the file listing */

typedef struct membuf {
    char *p;
    size_t n, cap;
    int too_big;
} membuf;

static size_t on_body_mem(char *data, size_t size, size_t nmemb, void *ud) {
    membuf *m = ud;
    size_t n = size * nmemb;
    if (m->n + n > API_MAX_BYTES) {
        m->too_big = 1;
        return 0;
    }
    if (m->n + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 65536;
        while (cap < m->n + n + 1) cap *= 2;
        char *q = realloc(m->p, cap);
        if (!q) return 0;
        m->p = q;
        m->cap = cap;
    }
    memcpy(m->p + m->n, data, n);
    m->n += n;
    m->p[m->n] = '\0';
    return n;
}

/* GETs the repository info; *out receives the parsed JSON object. */
static int get_listing(hub *h, json_t **out, ob_err *err) {
    char url[2400], rev[800], errbuf[CURL_ERROR_SIZE];
    if (url_escape(h->ref->revision, 0, rev, sizeof rev) != 0 ||
        (size_t)snprintf(url, sizeof url, "%s/api/models/%s/revision/%s", h->endpoint, h->ref->repo,
                         rev) >= sizeof url)
        return ob_fail(err, OB_EINVAL, "%s: URL too long", h->ref->repo);
    for (int attempt = 0;; attempt++) {
        membuf m = {0};
        resp r;
        curl_common(h, url, errbuf, &r);
        curl_easy_setopt(h->curl, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 300L);
        curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body_mem);
        curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &m);
        CURLcode cc = curl_easy_perform(h->curl);
        long status = r.status;
        if (cc == CURLE_OK && status == 200) {
            json_error_t je;
            json_t *j = json_loadb(m.p ? m.p : "", m.n, 0, &je);
            free(m.p);
            if (!j || !json_is_object(j)) {
                json_decref(j);
                return ob_fail(err, OB_EFORMAT, "%s: the Hub's file listing (%s) is not a JSON object: %s",
                               h->ref->repo, url, j ? "wrong type" : je.text);
            }
            *out = j;
            return 0;
        }
        free(m.p);
        if (m.too_big)
            return ob_fail(err, OB_EFORMAT, "%s: the file listing from %s is over %d MiB", h->ref->repo,
                           url, API_MAX_BYTES >> 20);
        int retry = cc == CURLE_OK ? (status == 429 || status >= 500) : transient(cc);
        if (!retry || attempt >= h->o->retries) {
            if (cc == CURLE_OK) return http_error(h, &r, NULL, err);
            return ob_fail(err, OB_ENET, "%s: cannot get the file listing from %s: %s", h->ref->repo,
                           url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        }
        char msg[600];
        ob_msgf(msg, sizeof msg, "file listing: %s; retrying",
             cc == CURLE_OK ? "server error" : (errbuf[0] ? errbuf : curl_easy_strerror(cc)));
        emit(h, OB_FETCH_RETRY, NULL, 0, -1, msg);
        backoff(attempt + 1);
    }
}

/* ---------------------------------------------------------- one download */

typedef struct dl {
    hub *h;
    const char *name;
    int fd;
    int64_t offset;  /* bytes of the .part before this request          */
    int64_t got;     /* body bytes written by this request              */
    int decided;     /* the first body byte arrived and was classified  */
    int writing;     /* the body is the file (200 or 206)               */
    int64_t total;   /* expected size, -1 if unknown                    */
    resp r;
    int werr;        /* a write error or a bad Content-Range stopped us */
    char wmsg[600];
} dl;

static int64_t expected_size(const resp *r) {
    if (r->linked_size >= 0) return r->linked_size;
    if (r->status == 206) return r->range_total;
    if (r->status == 200) return r->content_length;
    return -1;
}

static size_t on_body_file(char *data, size_t size, size_t nmemb, void *ud) {
    dl *d = ud;
    size_t n = size * nmemb;
    if (!d->decided) {
        d->decided = 1;
        if (d->r.status == 206) {
            if (d->r.range_start != d->offset) {
                d->werr = OB_ENET;
                ob_msgf(d->wmsg, sizeof d->wmsg, "asked for bytes from %lld, the server sent from %lld",
                     (long long)d->offset, (long long)d->r.range_start);
                return 0;
            }
            d->writing = 1;
        } else if (d->r.status == 200) {
            if (d->offset > 0 && (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0)) {
                d->werr = OB_EIO;
                ob_msgf(d->wmsg, sizeof d->wmsg, "cannot truncate the .part file: %s", strerror(errno));
                return 0;
            }
            d->offset = 0;
            d->writing = 1;
        }
        if (d->writing) {
            d->total = expected_size(&d->r);
            emit(d->h, OB_FETCH_START, d->name, d->offset, d->total, NULL);
        }
    }
    if (!d->writing) return n; /* an error page */
    const char *p = data;
    size_t left = n;
    while (left) {
        ssize_t w = write(d->fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            d->werr = OB_EIO;
            ob_msgf(d->wmsg, sizeof d->wmsg, "cannot write: %s", strerror(errno));
            return 0;
        }
        p += w;
        left -= (size_t)w;
    }
    d->got += (int64_t)n;
    emit(d->h, OB_FETCH_PROGRESS, d->name, d->offset + d->got, d->total, NULL);
    return n;
}

/* Checks a finished .part against what the headers promised, records it in
 * the manifest and renames it into place.  On a mismatch removes it. */
static int finish_file(hub *h, const char *name, const char *part, const char *final,
                       const resp *r, int64_t total, ob_err *err) {
    char have[65];
    int64_t size = 0;
    int rc = ob_sha256_file(part, have, &size, err);
    if (rc) return rc;
    char want[80] = "";
    if (is_hex(r->linked_etag, 64))
        snprintf(want, sizeof want, "%s", r->linked_etag);
    else if (is_hex(r->etag, 64))
        snprintf(want, sizeof want, "%s", r->etag);
    for (char *p = want; *p; p++)
        if (*p >= 'A' && *p <= 'F') *p = (char)(*p - 'A' + 'a');
    if (total >= 0 && size != total) {
        unlink(part);
        return ob_fail(err, OB_EFORMAT,
                       "%s@%s: %s is %lld bytes, the Hub says %lld; the download was removed, pull again",
                       h->ref->repo, h->ref->revision, name, (long long)size, (long long)total);
    }
    if (want[0] && strcmp(want, have) != 0) {
        unlink(part);
        return ob_fail(err, OB_EFORMAT,
                       "%s@%s: %s has sha256 %s, the Hub says %s; the download was removed",
                       h->ref->repo, h->ref->revision, name, have, want);
    }
    if (rename(part, final) != 0)
        return ob_fail(err, OB_EIO, "cannot rename %s: %s", part, strerror(errno));
    json_t *files = json_object_get(h->manifest, "files");
    json_object_set_new(files, name, json_pack("{s:I,s:s}", "size", (json_int_t)size, "sha256", have));
    emit(h, OB_FETCH_DONE, name, size, size, NULL);
    return manifest_save(h->dir, h->manifest, err);
}

static int download(hub *h, const char *name, ob_err *err) {
    char url[4096], esc[3 * MAX_NAME + 1], final[4700], part[4800], errbuf[CURL_ERROR_SIZE];
    if (url_escape(name, 1, esc, sizeof esc) != 0 ||
        (size_t)snprintf(url, sizeof url, "%s/%s/resolve/%s/%s", h->endpoint, h->ref->repo, h->rev_url,
                         esc) >= sizeof url ||
        (size_t)snprintf(final, sizeof final, "%s/%s", h->dir, name) >= sizeof final ||
        (size_t)snprintf(part, sizeof part, "%s.part", final) >= sizeof part)
        return ob_fail(err, OB_EINVAL, "%s: file name or URL too long", name);
    const char *slash = strrchr(name, '/');
    if (slash) { /* a file in a sub-folder */
        char sub[4700];
        snprintf(sub, sizeof sub, "%s/%.*s", h->dir, (int)(slash - name), name);
        int rc = ob_mkdir_p(sub, err);
        if (rc) return rc;
    }
    if (h->o->force) unlink(part);

    for (int attempt = 0;; attempt++) {
        dl d = {.h = h, .name = name, .total = -1};
        d.fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (d.fd < 0) return ob_fail(err, OB_EIO, "cannot create %s: %s", part, strerror(errno));
        off_t end = lseek(d.fd, 0, SEEK_END);
        d.offset = end > 0 ? (int64_t)end : 0;
        curl_common(h, url, errbuf, &d.r);
        char range[64];
        if (d.offset > 0) {
            snprintf(range, sizeof range, "%lld-", (long long)d.offset);
            curl_easy_setopt(h->curl, CURLOPT_RANGE, range);
        }
        curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body_file);
        curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &d);
        CURLcode cc = curl_easy_perform(h->curl);
        int closed = close(d.fd);
        long status = d.r.status;
        if (d.got > 0 && h->res) h->res->bytes_downloaded += d.got;
        if (d.werr == OB_EIO || (cc == CURLE_OK && closed != 0))
            return ob_fail(err, OB_EIO, "%s: %s", part, d.werr ? d.wmsg : strerror(errno));

        if (cc == CURLE_OK && (status == 200 || status == 206)) {
            if (!d.decided) { /* an empty body never reached on_body_file */
                if (status == 200 && d.offset > 0 && truncate(part, 0) != 0)
                    return ob_fail(err, OB_EIO, "cannot truncate %s: %s", part, strerror(errno));
                if (status == 200) d.offset = 0;
                d.total = expected_size(&d.r);
            }
            return finish_file(h, name, part, final, &d.r, d.total, err);
        }
        if (cc == CURLE_OK && status == 416 && d.offset > 0) {
            /* the .part already holds everything: verify it as it is */
            int64_t total = d.r.linked_size >= 0 ? d.r.linked_size : d.r.range_total;
            if (total == d.offset) {
                emit(h, OB_FETCH_START, name, d.offset, total, NULL);
                return finish_file(h, name, part, final, &d.r, total, err);
            }
            unlink(part); /* longer than the file: start over */
        }

        int retry;
        const char *why;
        if (cc == CURLE_OK) {
            retry = status == 416 || status == 429 || status >= 500;
            why = "server error";
            if (!retry) return http_error(h, &d.r, name, err);
        } else if (d.werr) {
            retry = 1;
            why = d.wmsg;
            unlink(part); /* the server ignored our offset: start over */
        } else {
            retry = transient(cc);
            why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
        }
        if (!retry || attempt >= h->o->retries) {
            struct stat st;
            int kept = stat(part, &st) == 0 && st.st_size > 0;
            return ob_fail(err, OB_ENET, "%s@%s: downloading %s failed%s: %s%s", h->ref->repo,
                           h->ref->revision, name, attempt ? " after retries" : "", why,
                           kept ? "; the partial file is kept, pull again to resume" : "");
        }
        char msg[800];
        ob_msgf(msg, sizeof msg, "%s: %s; resuming", name, why);
        emit(h, OB_FETCH_RETRY, name, d.offset + d.got, d.total, msg);
        if (d.got == 0) backoff(attempt + 1);
    }
}

/* ------------------------------------------------------------ the plan */

typedef struct names {
    char **v;
    int n, cap;
} names;

static int names_has(const names *s, const char *x) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], x)) return 1;
    return 0;
}

static int names_add(names *s, const char *x, ob_err *err) {
    if (names_has(s, x)) return 0;
    if (s->n >= MAX_FILES) return ob_fail(err, OB_EFORMAT, "more than %d files to fetch", MAX_FILES);
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) return ob_fail(err, OB_ENOMEM, "out of memory");
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(x))) return ob_fail(err, OB_ENOMEM, "out of memory");
    s->n++;
    return 0;
}

static void names_free(names *s) {
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
}

/* Downloads name unless the manifest already has it with the same size on
 * disk (and the same commit). */
static int fetch_one(hub *h, const char *name, ob_err *err) {
    if (!h->o->force) {
        json_t *rec = json_object_get(json_object_get(h->manifest, "files"), name);
        json_t *sz = json_object_get(rec, "size");
        if (json_is_integer(sz) && file_has_size(h->dir, name, json_integer_value(sz))) {
            emit(h, OB_FETCH_CACHED, name, json_integer_value(sz), json_integer_value(sz), NULL);
            if (h->res) h->res->n_cached++;
            return 0;
        }
    }
    int rc = download(h, name, err);
    if (!rc && h->res) h->res->n_downloaded++;
    return rc;
}

/* The shards model.safetensors.index.json names in its "weight_map". */
static int index_shards(hub *h, names *want, ob_err *err) {
    char path[4700];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", h->dir);
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size > API_MAX_BYTES)
        return ob_fail(err, OB_EFORMAT, "%s: missing or over %d MiB", path, API_MAX_BYTES >> 20);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) return ob_fail(err, OB_EFORMAT, "%s: not JSON: %s (line %d)", path, je.text, je.line);
    json_t *map = json_object_get(j, "weight_map");
    int rc = 0;
    if (!json_is_object(map) || json_object_size(map) == 0)
        rc = ob_fail(err, OB_EFORMAT, "%s: no \"weight_map\" object", path);
    const char *key;
    json_t *v;
    json_object_foreach(map, key, v) {
        if (rc) break;
        const char *f = json_string_value(v);
        if (!f || !safe_relpath(f))
            rc = ob_fail(err, OB_EFORMAT, "%s: tensor %.200s maps to a bad shard name", path, key);
        else
            rc = names_add(want, f, err);
    }
    json_decref(j);
    return rc;
}

static int pull(hub *h, ob_err *err) {
    json_t *info = NULL;
    names sib = {0}, want = {0};
    int rc = get_listing(h, &info, err);
    if (rc) return rc;

    const char *sha = json_string_value(json_object_get(info, "sha"));
    if (sha && is_hex(sha, 40))
        snprintf(h->rev_url, sizeof h->rev_url, "%s", sha);
    else if (url_escape(h->ref->revision, 0, h->rev_url, sizeof h->rev_url) != 0)
        rc = ob_fail(err, OB_EINVAL, "%s: revision too long", h->ref->repo);
    if (h->res && sha && is_hex(sha, 40)) snprintf(h->res->commit, sizeof h->res->commit, "%s", sha);

    json_t *siblings = json_object_get(info, "siblings");
    if (!rc && !json_is_array(siblings))
        rc = ob_fail(err, OB_EFORMAT, "%s@%s: the Hub's file listing has no \"siblings\" array",
                     h->ref->repo, h->ref->revision);
    size_t i;
    json_t *s;
    json_array_foreach(siblings, i, s) {
        if (rc) break;
        const char *f = json_string_value(json_object_get(s, "rfilename"));
        if (f && safe_relpath(f)) rc = names_add(&sib, f, err);
    }

    /* a manifest from another commit (or a forced pull) starts afresh */
    if (!rc) {
        const char *old = json_string_value(json_object_get(h->manifest, "commit"));
        if (h->o->force || !h->manifest || (sha && (!old || strcmp(old, sha) != 0))) {
            json_decref(h->manifest);
            h->manifest = json_pack("{s:s,s:s,s:s?,s:b,s:{}}", "repo", h->ref->repo, "revision",
                                    h->ref->revision, "commit", sha, "complete", 0, "files");
            if (!h->manifest) rc = ob_fail(err, OB_ENOMEM, "out of memory");
        }
        if (!rc) json_object_set_new(h->manifest, "complete", json_false());
    }

    static const char *const meta[] = {"config.json",           "generation_config.json",
                                       "tokenizer.json",        "tokenizer_config.json",
                                       "special_tokens_map.json",
                                       "vocab.json", /* BioGPT: Moses + fastBPE */
                                       "merges.txt"};
    if (!rc && !names_has(&sib, "config.json"))
        rc = ob_fail(err, OB_EFORMAT, "%s@%s has no config.json: not a transformers model repository",
                     h->ref->repo, h->ref->revision);
    for (size_t k = 0; !rc && k < sizeof meta / sizeof meta[0]; k++)
        if (names_has(&sib, meta[k])) rc = names_add(&want, meta[k], err);
    for (int k = 0; !rc && k < want.n; k++) rc = fetch_one(h, want.v[k], err);
    int next = want.n; /* want.v[next..] are still to fetch */

    if (!rc) {
        if (names_has(&sib, "model.safetensors")) {
            rc = names_add(&want, "model.safetensors", err);
        } else if (names_has(&sib, "model.safetensors.index.json")) {
            rc = names_add(&want, "model.safetensors.index.json", err);
            if (!rc) rc = fetch_one(h, "model.safetensors.index.json", err);
            next = want.n;
            if (!rc) rc = index_shards(h, &want, err);
        } else {
            for (int k = 0; !rc && k < sib.n; k++) {
                size_t n = strlen(sib.v[k]);
                if (!strchr(sib.v[k], '/') && n > 12 && !strcmp(sib.v[k] + n - 12, ".safetensors"))
                    rc = names_add(&want, sib.v[k], err);
            }
        }
    }
    int n_weights = 0;
    for (int k = 0; !rc && k < want.n; k++) {
        size_t n = strlen(want.v[k]);
        if (n > 12 && !strcmp(want.v[k] + n - 12, ".safetensors")) n_weights++;
    }
    if (!rc && n_weights == 0)
        rc = ob_fail(err, OB_EUNSUP,
                     "%s@%s has no .safetensors weights (optibench does not read pytorch_model.bin)",
                     h->ref->repo, h->ref->revision);
    for (int k = next; !rc && k < want.n; k++) rc = fetch_one(h, want.v[k], err);

    if (!rc) { /* keep only this pull's files, and mark it complete */
        json_t *files = json_object_get(h->manifest, "files"), *keep = json_object();
        if (!keep) rc = ob_fail(err, OB_ENOMEM, "out of memory");
        for (int k = 0; !rc && k < want.n; k++) {
            json_t *rec = json_object_get(files, want.v[k]);
            if (rec) json_object_set(keep, want.v[k], rec);
        }
        if (!rc) {
            json_object_set_new(h->manifest, "files", keep);
            json_object_set_new(h->manifest, "complete", json_true());
            rc = manifest_save(h->dir, h->manifest, err);
        }
    }
    names_free(&sib);
    names_free(&want);
    json_decref(info);
    return rc;
}

int ob_fetch_hub(const ob_hub_ref *ref, const ob_fetch_opts *opts, ob_fetch_result *res,
                 ob_err *err) {
    ob_fetch_opts defaults;
    if (!opts) {
        ob_fetch_default_opts(&defaults);
        opts = &defaults;
    }
    hub h = {.o = opts, .ref = ref, .res = res};
    char cache[4096];
    int rc = check_ref(ref, err);
    if (!rc) rc = ob_cache_dir(opts->cache_dir, 1, cache, sizeof cache, err);
    if (!rc) rc = ob_hub_local_dir(cache, ref, h.dir, sizeof h.dir, err);
    if (rc) return rc;
    if (res) {
        memset(res, 0, sizeof *res);
        snprintf(res->dir, sizeof res->dir, "%s", h.dir);
        snprintf(res->model, sizeof res->model, "%s", h.dir);
    }

    const char *ep = getenv("HF_ENDPOINT");
    if (!ep || !*ep) ep = "https://huggingface.co";
    if (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))
        return ob_fail(err, OB_EINVAL, "HF_ENDPOINT=%.300s is not an http(s) URL", ep);
    if ((size_t)snprintf(h.endpoint, sizeof h.endpoint, "%s", ep) >= sizeof h.endpoint)
        return ob_fail(err, OB_EINVAL, "HF_ENDPOINT is too long");
    for (size_t n = strlen(h.endpoint); n > 8 && h.endpoint[n - 1] == '/'; n--) h.endpoint[n - 1] = '\0';

    if ((rc = ob_mkdir_p(h.dir, err))) return rc;
    int lock;
    char what[600];
    ob_msgf(what, sizeof what, "%s@%s", ref->repo, ref->revision);
    if ((rc = ob_fetch_lock(h.dir, what, &lock, err))) return rc;

    if (!opts->force && ob_hub_is_complete(h.dir)) {
        json_t *m = manifest_load(h.dir);
        const char *name;
        json_t *v;
        json_object_foreach(json_object_get(m, "files"), name, v) {
            json_int_t sz = json_integer_value(json_object_get(v, "size"));
            emit(&h, OB_FETCH_CACHED, name, sz, sz, NULL);
            if (res) res->n_cached++;
        }
        const char *c = json_string_value(json_object_get(m, "commit"));
        if (res && c) snprintf(res->commit, sizeof res->commit, "%s", c);
        json_decref(m);
        ob_fetch_unlock(lock);
        return 0;
    }

    const char *token = getenv("HF_TOKEN");
    if (token && *token) {
        if (strpbrk(token, "\r\n")) {
            ob_fetch_unlock(lock);
            return ob_fail(err, OB_EINVAL, "HF_TOKEN contains a line break");
        }
        size_t n = strlen(token) + 32;
        h.auth = malloc(n);
        if (h.auth) snprintf(h.auth, n, "Authorization: Bearer %s", token);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(h.auth);
        ob_fetch_unlock(lock);
        return ob_fail(err, OB_ENET, "cannot initialize libcurl");
    }
    h.curl = curl_easy_init();
    if (h.auth) h.headers = curl_slist_append(NULL, h.auth);
    if (!h.curl || (h.auth && !h.headers) || (token && *token && !h.auth)) {
        rc = ob_fail(err, OB_ENOMEM, "cannot set up libcurl");
    } else {
        h.manifest = manifest_load(h.dir);
        char msg[1400];
        ob_msgf(msg, sizeof msg, "fetching %s@%s from %s into %s", ref->repo, ref->revision, h.endpoint,
             h.dir);
        emit(&h, OB_FETCH_INFO, NULL, 0, -1, msg);
        rc = pull(&h, err);
    }
    json_decref(h.manifest);
    curl_slist_free_all(h.headers);
    curl_easy_cleanup(h.curl);
    curl_global_cleanup();
    if (h.auth) {
        memset(h.auth, 0, strlen(h.auth));
        free(h.auth);
    }
    ob_fetch_unlock(lock);
    return rc;
}
