/* bench.c - the inference benchmark (see bench.h for what is timed). */
#include "bench/bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/membw.h"
#include "bench/sensors.h"

static const int default_prompt = 128, default_batch = 1;

ob_bench_params ob_bench_default_params(void) {
    ob_bench_params p = {0};
    p.gen_len = 128;
    p.reps = 5;
    p.warmup = 1;
    return p;
}

int ob_bench_check(const ob_bench_params *p, int max_seq, ob_err *err) {
    if (p->prompt_lens && p->n_prompt < 1) return ob_fail(err, OB_EINVAL, "bench: no prompt length given");
    if (p->batches && p->n_batch < 1) return ob_fail(err, OB_EINVAL, "bench: no batch size given");
    if (p->gen_len < 1) return ob_fail(err, OB_EINVAL, "bench: generated length %d (must be >= 1)", p->gen_len);
    if (p->reps < 1) return ob_fail(err, OB_EINVAL, "bench: %d repetitions (must be >= 1)", p->reps);
    if ((int64_t)p->reps * p->gen_len > (1 << 28))
        return ob_fail(err, OB_EINVAL, "bench: %d repetitions of %d steps are too many to keep", p->reps, p->gen_len);
    if (p->warmup < 0) return ob_fail(err, OB_EINVAL, "bench: %d warm-up repetitions (must be >= 0)", p->warmup);
    if (p->max_batch < 0) return ob_fail(err, OB_EINVAL, "bench: n_batch %d (must be >= 1)", p->max_batch);
    for (int i = 0; p->batches && i < p->n_batch; i++)
        if (p->batches[i] < 1) return ob_fail(err, OB_EINVAL, "bench: batch size %d (must be >= 1)", p->batches[i]);
    for (int i = 0; p->prompt_lens && i < p->n_prompt; i++) {
        int P = p->prompt_lens[i];
        if (P < 1) return ob_fail(err, OB_EINVAL, "bench: prompt length %d (must be >= 1)", P);
        if (max_seq > 0 && (int64_t)P + p->gen_len > max_seq)
            return ob_fail(err, OB_ERANGE, "bench: prompt %d + generated %d tokens exceed the model's context of %d",
                           P, p->gen_len, max_seq);
    }
    return 0;
}

/* ------------------------------------------------------------- one test */

/* Buffers and state of one (P, B) test. */
typedef struct test_run {
    const ob_model *m;
    const ob_bench_params *p;
    ob_ctx *ctx;
    int P, G, B, V, nb;
    int32_t *prompt;    /* [P]                                              */
    int32_t *text_ids;  /* [n_text] the tokenized text, when there is one   */
    int n_text, cap_text;
    int32_t *tok, *pos, *seq; /* [B * P] the prefill batch, reused for decode */
    uint8_t *mask;      /* [B * P]                                           */
    int32_t *next;      /* [B] each sequence's last sampled token            */
    float *logits;      /* [B][V]                                            */
    double tokenize_s, sample_s, prefill_s, decode_s, ttft_s;
    double *step_ms;    /* [G] this repetition's decode steps                */
} test_run;

static void test_free(test_run *t) {
    ob_ctx_free(t->ctx);
    free(t->prompt);
    free(t->text_ids);
    free(t->tok);
    free(t->pos);
    free(t->seq);
    free(t->mask);
    free(t->next);
    free(t->logits);
    free(t->step_ms);
}

/* Tokenizes the prompt text into text_ids (growing it once when it is too
 * small) and lays P ids out from it, repeating the text as needed. */
static int make_prompt_from_text(test_run *t, const ob_tokenizer *tok, ob_err *err) {
    const char *s = t->p->prompt_text;
    size_t len = strlen(s);
    int n = 0, rc;
    for (;;) {
        ob_err e2;
        rc = ob_tokenize(tok, s, len, 0, 0, t->text_ids, t->cap_text, &n, &e2);
        if (rc != OB_ERANGE || n <= t->cap_text) break;
        int32_t *grown = realloc(t->text_ids, (size_t)n * sizeof *grown);
        if (!grown) return ob_fail(err, OB_ENOMEM, "bench: out of memory for %d prompt tokens", n);
        t->text_ids = grown;
        t->cap_text = n;
    }
    if (rc) return ob_fail(err, rc, "bench: tokenizing the prompt text failed");
    if (n < 1) return ob_fail(err, OB_EINVAL, "bench: the prompt text gives no tokens");
    t->n_text = n;
    for (int i = 0; i < t->P; i++) t->prompt[i] = t->text_ids[i % n];
    return 0;
}

static void make_prompt_synthetic(test_run *t) {
    uint64_t x = 12345;
    int span = t->V > 3 ? t->V - 3 : t->V, base = t->V > 3 ? 3 : 0; /* skip the usual special ids */
    for (int i = 0; i < t->P; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        t->prompt[i] = (int32_t)(base + (int)((x >> 33) % (uint64_t)span));
    }
}

static int test_init(test_run *t, const ob_model *m, ob_pool *pool, const ob_bench_params *p, int P, int B,
                     ob_err *err) {
    memset(t, 0, sizeof *t);
    t->m = m;
    t->p = p;
    t->P = P;
    t->G = p->gen_len;
    t->B = B;
    t->V = ob_model_config(m)->n_vocab;
    int64_t total = (int64_t)B * P, want = p->max_batch > 0 ? p->max_batch : 512;
    if (want > total) want = total;
    if (want < B) want = B; /* a decode step holds B tokens */
    t->nb = (int)want;
    size_t n = (size_t)total > (size_t)B ? (size_t)total : (size_t)B;
    t->prompt = malloc((size_t)P * sizeof *t->prompt);
    t->tok = malloc(n * sizeof *t->tok);
    t->pos = malloc(n * sizeof *t->pos);
    t->seq = malloc(n * sizeof *t->seq);
    t->mask = malloc(n);
    t->next = malloc((size_t)B * sizeof *t->next);
    t->logits = malloc((size_t)B * (size_t)t->V * sizeof *t->logits);
    t->step_ms = malloc((size_t)t->G * sizeof *t->step_ms);
    if (!t->prompt || !t->tok || !t->pos || !t->seq || !t->mask || !t->next || !t->logits || !t->step_ms) {
        test_free(t);
        return ob_fail(err, OB_ENOMEM, "bench: out of memory for %d x %d prompt tokens", B, P);
    }
    make_prompt_synthetic(t);
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = P + t->G;
    cp.n_seq = B;
    cp.max_batch = t->nb;
    int rc = ob_ctx_new(m, pool, &cp, &t->ctx, err);
    if (rc) test_free(t);
    return rc;
}

/* argmax of each of the B logit rows into next[] */
static void sample_rows(test_run *t) {
    for (int b = 0; b < t->B; b++) {
        const float *x = t->logits + (size_t)b * t->V;
        int32_t best = 0;
        for (int i = 1; i < t->V; i++)
            if (x[i] > x[best]) best = i;
        t->next[b] = best;
    }
}

/* The B prompts, sequence after sequence, in calls of at most nb tokens;
 * the last token of each sequence asks for logits (row b of logits). */
static int prefill(test_run *t, ob_err *err) {
    const int P = t->P, B = t->B;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < P; i++) {
            size_t k = (size_t)b * P + i;
            t->tok[k] = t->prompt[i];
            t->pos[k] = i;
            t->seq[k] = b;
            t->mask[k] = i == P - 1;
        }
    int64_t total = (int64_t)B * P;
    int rows = 0;
    for (int64_t off = 0; off < total; off += t->nb) {
        int n = (int)(total - off < t->nb ? total - off : t->nb);
        ob_batch bt = {n, t->tok + off, t->pos + off, t->seq + off, t->mask + off};
        int rc = ob_decode(t->ctx, &bt, t->logits + (size_t)rows * t->V, err);
        if (rc) return rc;
        for (int i = 0; i < n; i++) rows += t->mask[off + i];
    }
    return 0;
}

/* One repetition; fills the *_s fields and step_ms. */
static int run_rep(test_run *t, const ob_tokenizer *tok, ob_err *err) {
    int rc;
    t->tokenize_s = t->sample_s = t->decode_s = 0;
    if (tok) {
        double t0 = ob_now();
        if ((rc = make_prompt_from_text(t, tok, err))) return rc;
        t->tokenize_s = ob_now() - t0;
    }
    for (int b = 0; b < t->B; b++) ob_ctx_seq_trim(t->ctx, b, 0);
    double t0 = ob_now();
    if ((rc = prefill(t, err))) return rc;
    double t1 = ob_now();
    sample_rows(t);
    double t2 = ob_now();
    t->prefill_s = t1 - t0;
    t->sample_s = t2 - t1;
    t->ttft_s = t2 - t0;
    for (int b = 0; b < t->B; b++) {
        t->seq[b] = b;
        t->mask[b] = 1;
    }
    for (int g = 0; g < t->G; g++) {
        for (int b = 0; b < t->B; b++) {
            t->tok[b] = t->next[b];
            t->pos[b] = t->P + g;
        }
        ob_batch bt = {t->B, t->tok, t->pos, t->seq, t->mask};
        double s0 = ob_now();
        if ((rc = ob_decode(t->ctx, &bt, t->logits, err))) return rc;
        double s1 = ob_now();
        sample_rows(t);
        t->sample_s += ob_now() - s1;
        t->step_ms[g] = (s1 - s0) * 1e3;
        t->decode_s += s1 - s0;
    }
    return 0;
}

/* Per-repetition samples of a row, collected before summarising. */
typedef struct row_samples {
    double *ttft, *ptps, *dtps, *steps; /* [reps], [reps], [reps], [reps * G] */
    double *bw;    /* [reps] probe GB/s: the caller's slice of every reading */
    double *share; /* [reps] decode share of the probe reading, %            */
} row_samples;

static void row_finish(ob_bench_row *row, row_samples *s, int64_t bytes_per_token, int probed) {
    row->ttft_ms = ob_stats_of(s->ttft, row->reps);
    row->prefill_tps = ob_stats_of(s->ptps, row->reps);
    row->decode_tps = ob_stats_of(s->dtps, row->reps);
    row->token_ms = ob_stats_of(s->steps, row->reps * row->n_gen);
    row->decode_gbs = (double)bytes_per_token * row->decode_tps.median / row->n_parallel / 1e9;
    row->read_bw_gbs = probed ? ob_stats_of(s->bw, row->reps).median : NAN;
    row->bw_share_pct = probed ? ob_stats_of(s->share, row->reps).median : NAN;
}

/* One (P, B) test; with a probe, one bandwidth reading after each timed
 * repetition, written to bw[0 .. reps) (a slice of the caller's array of
 * every reading; summarising sorts it in place). */
static int run_test(const ob_model *m, ob_pool *pool, const ob_bench_params *p, const ob_bw_probe *probe, int P,
                    int B, const ob_bench_result *r, ob_bench_row *row, double *bw, ob_err *err) {
    test_run t;
    int rc = test_init(&t, m, pool, p, P, B, err);
    if (rc) return rc;
    const ob_tokenizer *tok = p->prompt_text ? ob_model_tokenizer(m) : NULL;
    row->n_threads = ob_pool_size(pool);
    row->n_prompt = P;
    row->n_gen = p->gen_len;
    row->n_parallel = B;
    row->n_batch = t.nb;
    row->reps = p->reps;
    row->warmup = p->warmup;
    row->tokenize_tokens = -1;
    row->prefill_s = calloc((size_t)p->reps, sizeof *row->prefill_s);
    row->decode_s = calloc((size_t)p->reps, sizeof *row->decode_s);
    const size_t nr = (size_t)p->reps * sizeof(double);
    row_samples s = {malloc(nr), malloc(nr), malloc(nr), malloc(nr * (size_t)p->gen_len), bw, malloc(nr)};
    if (!row->prefill_s || !row->decode_s || !s.ttft || !s.ptps || !s.dtps || !s.steps || !s.share) {
        rc = ob_fail(err, OB_ENOMEM, "bench: out of memory for %d repetitions", p->reps);
        goto done;
    }
    ob_utc_now(row->test_time, sizeof row->test_time);
    for (int w = 0; w < p->warmup; w++)
        if ((rc = run_rep(&t, tok, err))) goto done;
    ob_rapl rapl;
    ob_rapl_open(p->powercap_root, &rapl);
    int rapl_ok = rapl.n > 0;
    double cpu_s = 0, energy = 0, tok_s = 0, samp_s = 0;
    for (int k = 0; k < p->reps; k++) {
        /* wall, CPU and energy windows cover the repetitions, not the probe */
        rapl_ok = rapl_ok && ob_rapl_start(&rapl) == 0;
        double cpu0 = ob_proc_cpu_seconds(), w0 = ob_now();
        if ((rc = run_rep(&t, tok, err))) goto done;
        row->wall_s += ob_now() - w0;
        cpu_s += ob_proc_cpu_seconds() - cpu0;
        if (rapl_ok) energy += ob_rapl_joules(&rapl);
        if (probe) {
            s.bw[k] = ob_bw_probe_read(pool, probe);
            s.share[k] = 100.0 * (double)r->bytes_per_token * t.G / t.decode_s / 1e9 / s.bw[k];
        }
        row->prefill_s[k] = t.prefill_s;
        row->decode_s[k] = t.decode_s;
        s.ttft[k] = t.ttft_s * 1e3;
        s.ptps[k] = (double)B * P / t.prefill_s;
        s.dtps[k] = (double)B * t.G / t.decode_s;
        memcpy(s.steps + (size_t)k * t.G, t.step_ms, (size_t)t.G * sizeof(double));
        row->prompt_tokens += (int64_t)B * P;
        row->gen_tokens += (int64_t)B * t.G;
        tok_s += t.tokenize_s;
        samp_s += t.sample_s;
    }
    row->energy_j = rapl_ok ? energy : NAN;
    row->avg_power_w = row->energy_j / row->wall_s;
    row->cpu_util_pct = 100.0 * cpu_s / (row->wall_s * row->n_threads);
    row->tokenize_ms = tok ? tok_s * 1e3 / p->reps : NAN;
    if (tok) row->tokenize_tokens = t.n_text;
    row->sample_ms = samp_s * 1e3 / p->reps;
    row_finish(row, &s, r->bytes_per_token, probe != NULL);
done:
    free(s.share);
    free(s.ttft);
    free(s.ptps);
    free(s.dtps);
    free(s.steps);
    test_free(&t);
    return rc;
}

/* ------------------------------------------------------------- the run */

static void result_init(ob_bench_result *r) {
    memset(r, 0, sizeof *r);
    r->model_disk_bytes = r->peak_rss_bytes = r->model_huge_bytes = -1;
    r->read_bw_gbs = r->energy_j = r->temp_c = NAN;
    r->gpu.count = -1;
    r->gpu.util_pct = r->gpu.power_w = r->gpu.temp_c = NAN;
    r->gpu.mem_used_bytes = r->gpu.mem_total_bytes = -1;
}

void ob_bench_result_free(ob_bench_result *r) {
    if (!r) return;
    for (int i = 0; i < r->n_rows; i++) {
        free(r->rows[i].prefill_s);
        free(r->rows[i].decode_s);
    }
    free(r->rows);
    r->rows = NULL;
    r->n_rows = 0;
}

/* Sum of the rows' energy; NAN if any row has none. */
static double rows_energy(const ob_bench_result *r) {
    double e = 0;
    for (int i = 0; i < r->n_rows; i++) e += r->rows[i].energy_j;
    return r->n_rows ? e : NAN;
}

int ob_bench_result_append(ob_bench_result *dst, ob_bench_result *src, ob_err *err) {
    if (src->n_rows == 0) return 0;
    ob_bench_row *rows = realloc(dst->rows, (size_t)(dst->n_rows + src->n_rows) * sizeof *rows);
    if (!rows) return ob_fail(err, OB_ENOMEM, "bench: out of memory for %d rows", dst->n_rows + src->n_rows);
    memcpy(rows + dst->n_rows, src->rows, (size_t)src->n_rows * sizeof *rows);
    dst->rows = rows;
    dst->n_rows += src->n_rows;
    free(src->rows);
    src->rows = NULL;
    src->n_rows = 0;
    dst->energy_j = rows_energy(dst);
    if (src->peak_rss_bytes > dst->peak_rss_bytes) dst->peak_rss_bytes = src->peak_rss_bytes;
    dst->peak_rss_tests_only = dst->peak_rss_tests_only && src->peak_rss_tests_only;
    dst->temp_c = src->temp_c;
    dst->gpu = src->gpu;
    if (!isnan(src->read_bw_gbs)) dst->read_bw_gbs = src->read_bw_gbs;
    memcpy(dst->end_time, src->end_time, sizeof dst->end_time);
    return 0;
}

static void describe(const ob_model *m, const ob_bench_params *p, ob_bench_result *r) {
    ob_utc_now(r->start_time, sizeof r->start_time);
    if (p->model_path) snprintf(r->model_filename, sizeof r->model_filename, "%s", p->model_path);
    ob_model_describe(m, r->model_type, sizeof r->model_type);
    ob_cpu_describe(r->cpu_info, sizeof r->cpu_info);
    snprintf(r->simd, sizeof r->simd, "%s", ob_simd_name(ob_cpu_simd()));
    r->model_size = ob_model_weight_bytes(m);
    r->model_huge_bytes = ob_model_huge_bytes(m);
    r->model_x16 = ob_model_x16_matrices(m);
    r->model_disk_bytes = ob_path_bytes(p->model_path);
    r->model_n_params = ob_model_n_params(m);
    r->bytes_per_token = ob_model_bytes_per_token(m);
}

int ob_bench_run(ob_model *m, ob_pool *pool, const ob_bench_params *params, ob_bench_result *r, ob_err *err) {
    result_init(r);
    ob_bench_params p = params ? *params : ob_bench_default_params();
    if (!p.prompt_lens) {
        p.prompt_lens = &default_prompt;
        p.n_prompt = 1;
    }
    if (!p.batches) {
        p.batches = &default_batch;
        p.n_batch = 1;
    }
    int rc = ob_bench_check(&p, ob_model_config(m)->max_seq, err);
    if (rc) return rc;
    ob_bw_probe probe = {0};
    double *bw_all = NULL; /* [tests * reps] every probe reading */
    ob_pool *own = NULL;
    if (!pool) {
        if ((rc = ob_pool_new(p.threads, &own, err))) return rc;
        pool = own;
    }
    describe(m, &p, r);
    r->rows = calloc((size_t)p.n_prompt * (size_t)p.n_batch, sizeof *r->rows);
    if (!r->rows) {
        rc = ob_fail(err, OB_ENOMEM, "bench: out of memory");
        goto done;
    }
    const int n_tests = p.n_prompt * p.n_batch;
    if (p.bw_bytes > 0) {
        bw_all = malloc((size_t)n_tests * (size_t)p.reps * sizeof *bw_all);
        if (!bw_all) {
            rc = ob_fail(err, OB_ENOMEM, "bench: out of memory");
            goto done;
        }
        if ((rc = ob_bw_probe_open(&probe, p.bw_bytes, err))) goto done;
        ob_bw_probe_read(pool, &probe); /* warm-up */
    }
    r->peak_rss_tests_only = ob_proc_reset_peak_rss() == 0;
    for (int i = 0; i < p.n_prompt; i++)
        for (int j = 0; j < p.n_batch; j++) {
            rc = run_test(m, pool, &p, probe.buf ? &probe : NULL, p.prompt_lens[i], p.batches[j], r,
                          &r->rows[r->n_rows], bw_all ? bw_all + (size_t)r->n_rows * p.reps : NULL, err);
            r->n_rows++; /* counted even on failure: its buffers are freed with the result */
            if (rc) goto done;
        }
    if (probe.buf) r->read_bw_gbs = ob_stats_of(bw_all, n_tests * p.reps).median;
    r->energy_j = rows_energy(r);
    r->peak_rss_bytes = ob_proc_peak_rss();
    if (r->peak_rss_bytes > 0) r->peak_rss_bytes -= (int64_t)probe.bytes; /* resident throughout */
    r->temp_c = ob_temp_max_c(p.hwmon_root, p.thermal_root);
    ob_nvml_sample(p.nvml_lib, &r->gpu);
    ob_utc_now(r->end_time, sizeof r->end_time);
done:
    ob_bw_probe_close(&probe);
    free(bw_all);
    ob_pool_free(own);
    return rc;
}
