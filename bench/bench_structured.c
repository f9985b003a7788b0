/* bench_structured.c - decode speed of structurally pruned models against
 * the dense one, in float32 and after RTN q8_0 (pruned first, then
 * quantized, as the product does it).
 *
 *   build/bench/bench_structured MODEL [SPARSITY [THREADS [GEN [REPS]]]]
 *
 * Defaults: sparsity 0.3, 2 threads, 16 decoded tokens after a 16-token
 * prompt, 5 timed repetitions after one warm-up.  For each pruned variant
 * (ffn + heads, ffn neurons, heads; all at SPARSITY), in the loaded format
 * and then quantized to q8_0 (every linear layer and the lm_head, as
 * bench/bench_models.sh does with --quant-output), the dense model and the
 * variant are loaded side by side and timed alternately, so that other
 * load on the machine falls on both.  Prints a markdown table of decode
 * tok/s, median [min, max], the ratio of the medians and the median
 * [min, max] of the per-pair ratios.  Not a test: numbers depend on the
 * machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/stats.h"
#include "compress/structured.h"
#include "model/model.h"

enum { PROMPT = 16, MAX_REPS = 32 };

typedef struct {
    const char *name;
    int kind; /* -1: dense */
} variant;

static int decode_run(ob_ctx *ctx, const int32_t *prompt, int gen, int V, float *logits, double *secs, ob_err *err) {
    ob_ctx_seq_trim(ctx, 0, 0);
    if (ob_forward(ctx, 0, prompt, PROMPT, 0, 0, logits, err)) return 1;
    *secs = 0;
    for (int g = 0; g < gen; g++) {
        int32_t next = 0;
        for (int i = 1; i < V; i++)
            if (logits[i] > logits[next]) next = i;
        double t0 = ob_now();
        if (ob_forward(ctx, 0, &next, 1, PROMPT + g, 0, logits, err)) return 1;
        *secs += ob_now() - t0;
    }
    return 0;
}

/* A loaded (pruned, quantized) model with its pool and context. */
typedef struct {
    ob_model *m;
    ob_pool *pool;
    ob_ctx *ctx;
    float *logits;
} runner;

static void runner_free(runner *r) {
    free(r->logits);
    ob_ctx_free(r->ctx);
    ob_pool_free(r->pool);
    ob_model_free(r->m);
    memset(r, 0, sizeof *r);
}

static int runner_new(runner *r, const char *path, int kind, double s, int q8, int threads, int gen, ob_err *err) {
    memset(r, 0, sizeof *r);
    /* read into memory, not mapped: every weight then sits in anonymous
     * memory like the pruned copies (file pages streamed ~10% slower in a
     * first version of this bench), so the comparison is of sizes alone */
    ob_load_params lp = ob_load_default_params();
    lp.use_mmap = 0;
    int rc = ob_model_load(path, &lp, &r->m, err);
    if (!rc && kind >= 0) {
        ob_struct_params p = ob_struct_default_params();
        p.kind = (ob_struct_kind)kind;
        p.sparsity = s;
        rc = ob_prune_structured(r->m, &p, NULL, err);
    }
    if (!rc) rc = ob_pool_new(threads, &r->pool, err);
    if (!rc && q8) {
        ob_quant_params qp = ob_quant_default_params();
        qp.output = 1;
        rc = ob_model_quantize(r->m, &qp, r->pool, NULL, err);
    }
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = PROMPT + gen;
    cp.max_batch = PROMPT;
    if (!rc) rc = ob_ctx_new(r->m, r->pool, &cp, &r->ctx, err);
    if (!rc && !(r->logits = malloc((size_t)r->m->cfg.n_vocab * sizeof *r->logits)))
        rc = ob_fail(err, OB_ENOMEM, "out of memory");
    if (rc) runner_free(r);
    return rc;
}

/* decode tok/s of one repetition */
static int runner_time(runner *r, int gen, double *tok_s, ob_err *err) {
    int32_t prompt[PROMPT];
    for (int i = 0; i < PROMPT; i++) prompt[i] = (int32_t)(3 + (i * 7919) % (r->m->cfg.n_vocab - 3));
    double secs = 0;
    int rc = decode_run(r->ctx, prompt, gen, r->m->cfg.n_vocab, r->logits, &secs, err);
    *tok_s = rc ? 0 : gen / secs;
    return rc;
}

static void describe(const runner *r, char *buf, size_t size) {
    const ob_layer *L = &r->m->layers[0];
    snprintf(buf, size, "%s, heads %d/%d, ffn %d, %.0f MB/token", ob_format_name(L->w_down.format), L->n_heads,
             L->n_kv_heads, L->ffn_dim, (double)ob_model_bytes_per_token(r->m) / 1e6);
}

/* Dense and one pruned variant held at once and timed alternately (one
 * warm-up each, then reps pairs), so load from other processes falls on
 * both alike. */
static int bench_pair(const char *path, const variant *v, double s, int q8, int threads, int gen, int reps, ob_err *err) {
    runner d, p;
    int rc = runner_new(&d, path, -1, s, q8, threads, gen, err);
    if (rc) return rc;
    if ((rc = runner_new(&p, path, v->kind, s, q8, threads, gen, err))) {
        runner_free(&d);
        return rc;
    }
    double td[MAX_REPS], tp[MAX_REPS], ratio[MAX_REPS], w;
    rc = runner_time(&d, gen, &w, err) || runner_time(&p, gen, &w, err);
    for (int k = 0; !rc && k < reps; k++) {
        rc = runner_time(&d, gen, &td[k], err) || runner_time(&p, gen, &tp[k], err);
        ratio[k] = tp[k] / td[k];
    }
    if (!rc) {
        char dd[128], pd[128];
        describe(&d, dd, sizeof dd);
        describe(&p, pd, sizeof pd);
        ob_stats sd = ob_stats_of(td, reps), sp = ob_stats_of(tp, reps), sr = ob_stats_of(ratio, reps);
        printf("| %s | %s | %.2f [%.2f, %.2f] | %s | %.2f [%.2f, %.2f] | %.2fx | %.2fx [%.2f, %.2f] |\n", v->name, dd,
               sd.median, sd.min, sd.max, pd, sp.median, sp.min, sp.max, sp.median / sd.median, sr.median, sr.min,
               sr.max);
        fflush(stdout);
    }
    runner_free(&p);
    runner_free(&d);
    return rc ? -1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [SPARSITY [THREADS [GEN [REPS]]]]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    double s = argc > 2 ? atof(argv[2]) : 0.3;
    int threads = argc > 3 ? atoi(argv[3]) : 2, gen = argc > 4 ? atoi(argv[4]) : 16, reps = argc > 5 ? atoi(argv[5]) : 5;
    if (reps < 1 || reps > MAX_REPS || gen < 1 || threads < 1) {
        fprintf(stderr, "bench_structured: reps 1..%d, gen >= 1, threads >= 1\n", MAX_REPS);
        return 2;
    }
    const variant vs[] = {{"ffn+heads", OB_STRUCT_FFN_HEADS}, {"ffn", OB_STRUCT_FFN}, {"heads", OB_STRUCT_HEADS}};
    printf("## structured pruning at %.0f%%: decode tok/s, %d threads, %d tokens after a %d-token prompt, %d reps\n\n",
           100 * s, threads, gen, PROMPT, reps);
    printf("- model: %s\n- load average before: ", path);
    FILE *la = fopen("/proc/loadavg", "r");
    char buf[128] = "?";
    if (la && fgets(buf, sizeof buf, la)) buf[strcspn(buf, "\n")] = 0;
    if (la) fclose(la);
    printf("%s\n\n", buf);
    printf("| variant | dense | dense tok/s | pruned | pruned tok/s | ratio of medians | per-pair ratio |\n");
    printf("|---|---|--:|---|--:|--:|--:|\n");
    int failed = 0;
    for (int q8 = 0; q8 < 2; q8++)
        for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
            ob_err err = {0};
            if (bench_pair(path, &vs[i], s, q8, threads, gen, reps, &err)) {
                printf("| %s | failed: %s |\n", vs[i].name, err.msg);
                failed = 1;
            }
        }
    return failed;
}
