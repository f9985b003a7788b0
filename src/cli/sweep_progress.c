/* sweep_progress.c - the progress of `optibench sweep` on stderr: on a
 * terminal one line redrawn in place (cell, stage, a bar, the cell's time
 * and the sweep's ETA) and a line per finished cell; otherwise plain
 * lines: each stage as it starts and each cell as it ends. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/eval_cli.h"
#include "cli/sweep_cli.h"

static double metric(const json_t *rec, const char *k) {
    const json_t *v = json_object_get(json_object_get(rec, "metrics"), k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "ppl 12.34, kld 0.0123, acc 0.612, decode 150.2 tok/s" from a record. */
static void numbers(const json_t *rec, char *buf, size_t size) {
    static const struct {
        const char *key, *fmt;
    } shown[] = {{"ppl", "ppl %.2f"}, {"kld", "kld %.4f"}, {"acc", "acc %.3f"}, {"decode_tps", "decode %.1f tok/s"}};
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof shown / sizeof shown[0] && at < size; i++) {
        double v = metric(rec, shown[i].key);
        if (isnan(v)) continue;
        if (at) at += (size_t)snprintf(buf + at, size - at, ", ");
        if (at < size) at += (size_t)snprintf(buf + at, size - at, shown[i].fmt, v);
    }
}

static void eta_text(const ob_sweep_event *ev, char *buf, size_t size) {
    char t[32];
    if (ev->eta < 0) {
        snprintf(buf, size, "ETA after the first cell");
        return;
    }
    eval_fmt_secs(t, sizeof t, ev->eta);
    snprintf(buf, size, "ETA %s", t);
}

static void end_line(const ob_sweep_event *ev, FILE *f) {
    const json_t *r = ev->record;
    const char *status = json_string_value(json_object_get(r, "status"));
    const json_t *sec = json_object_get(r, "seconds");
    char nums[256], eta[64];
    eta_text(ev, eta, sizeof eta);
    if (status && !strcmp(status, "ok")) {
        numbers(r, nums, sizeof nums);
        fprintf(f, "[%d/%d] %s: ok%s in %.1f s: %s; %s\n", ev->cell + 1, ev->n_cells, ev->recipe,
                json_is_true(json_object_get(r, "cached")) ? " (cached model)" : "",
                json_is_number(sec) ? json_number_value(sec) : 0.0, nums, eta);
    } else {
        const char *e = json_string_value(json_object_get(r, "error"));
        fprintf(f, "[%d/%d] %s: FAILED after %.1f s: %s; %s\n", ev->cell + 1, ev->n_cells, ev->recipe,
                json_is_number(sec) ? json_number_value(sec) : 0.0, e ? e : "(no message)", eta);
    }
}

static void bar_line(sweep_ui *ui, const ob_sweep_event *ev) {
    char bar[32], cell_t[32], eta[64];
    const int w = 20;
    int fill = ev->total > 0 ? (int)((long)w * ev->done / ev->total) : 0;
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : ev->total > 0 ? '.' : ' ';
    bar[w] = '\0';
    eval_fmt_secs(cell_t, sizeof cell_t, ev->cell_elapsed);
    eta_text(ev, eta, sizeof eta);
    char count[48] = "";
    if (ev->total > 0) snprintf(count, sizeof count, " %d/%d", ev->done, ev->total);
    fprintf(stderr, "\r\033[K[%d/%d] %.40s: %s%s [%s] %s | sweep %s", ev->cell + 1, ev->n_cells, ev->recipe,
            ev->stage ? ev->stage : "start", count, bar, cell_t, eta);
    ui->drawn = 1;
}

void sweep_ui_event(void *user, const ob_sweep_event *ev) {
    sweep_ui *ui = user;
    double now = ob_now();
    switch (ev->kind) {
    case OB_SWEEP_EV_BEGIN:
        ui->stage[0] = '\0';
        if (ui->tty) bar_line(ui, ev);
        else fprintf(stderr, "[%d/%d] %s / %s: start\n", ev->cell + 1, ev->n_cells, ev->model, ev->recipe);
        break;
    case OB_SWEEP_EV_STAGE: {
        int new_stage = strcmp(ui->stage, ev->stage);
        if (new_stage) snprintf(ui->stage, sizeof ui->stage, "%s", ev->stage);
        if (ui->tty) {
            if (!new_stage && now - ui->last < 0.2 && ev->done != ev->total) return;
            bar_line(ui, ev);
        } else if (new_stage) {
            fprintf(stderr, "[%d/%d] %s: %s\n", ev->cell + 1, ev->n_cells, ev->recipe, ev->stage);
        }
        break;
    }
    case OB_SWEEP_EV_END:
        if (ui->tty) fputs("\r\033[K", stderr);
        end_line(ev, stderr);
        ui->drawn = 0;
        break;
    case OB_SWEEP_EV_SKIP:
        if (ui->tty && ui->drawn) fputs("\r\033[K", stderr);
        fprintf(stderr, "[%d/%d] %s: finished in an earlier run, skipped (--resume)\n", ev->cell + 1, ev->n_cells,
                ev->recipe);
        ui->drawn = 0;
        break;
    case OB_SWEEP_EV_NOTE:
        if (ui->tty && ui->drawn) fputs("\r\033[K", stderr);
        fprintf(stderr, "sweep: %s\n", ev->text);
        ui->drawn = 0;
        break;
    }
    ui->last = now;
    fflush(stderr);
}
