/* bench.h - the inference benchmark as a library: `optibench bench` and the
 * sweep both call it.
 *
 * One run measures a grid of tests, one per (prompt length P, parallel
 * sequences B).  A test builds a context with B sequences of P + G
 * positions, then runs `warmup` untimed repetitions and `reps` timed ones.
 * A repetition is:
 *   1. tokenization of the prompt text (when one is given), timed apart;
 *   2. prefill: the B prompts of P tokens, fed in ob_decode calls of at
 *      most n_batch tokens (sequence after sequence), only the last token
 *      of each sequence asking for logits; timed;
 *   3. sampling of the first token of each sequence (argmax), timed apart;
 *   4. G decode steps: one ob_decode call holding one token for each of the
 *      B sequences (position P + g); each step is timed on its own, and the
 *      argmax of every row that follows it is timed apart as sampling.
 * Kernel timings (prefill, decode steps) contain only the ob_decode calls.
 *
 * Definitions (per repetition, then summarised over the repetitions):
 *   prefill tok/s  B * P / prefill seconds
 *   decode tok/s   B * G / sum of the G step seconds
 *   TTFT           prefill seconds + the first sampling, in ms (the time a
 *                  caller waits for the first generated token once it holds
 *                  the prompt's ids; tokenization is reported apart)
 *   token latency  one decode step in ms: the time between two successive
 *                  tokens of one sequence.  Summarised over every step of
 *                  every timed repetition (reps * G values).
 *
 * Quantities that cannot be measured on this machine (no RAPL energy
 * counter, no temperature sensor, no NVML, a model made in memory) are
 * reported as unavailable: NAN for doubles, -1 for integers; never 0.
 *
 * The library never prints: the writers take the caller's FILE.  Errors
 * come back as ob_err.  Nothing here keeps global state. */
#ifndef OB_BENCH_BENCH_H
#define OB_BENCH_BENCH_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/stats.h"
#include "optibench.h"

typedef struct ob_bench_params {
    const int *prompt_lens; /* [n_prompt] tokens per prompt; borrowed.  NULL: {128} */
    int n_prompt;
    int gen_len;            /* decode steps per repetition (G), >= 1; default 128   */
    const int *batches;     /* [n_batch] parallel sequences (B); borrowed.  NULL: {1} */
    int n_batch;
    int reps;               /* timed repetitions, >= 1; default 5                    */
    int warmup;             /* untimed repetitions before them, >= 0; default 1      */
    int threads;            /* used only when ob_bench_run gets no pool: the pool it
                               makes has this many threads (0 = one per online CPU) */
    int max_batch;          /* tokens per prefill ob_decode call (llama-bench's
                               n_batch); 0 = 512                                     */
    const char *prompt_text; /* UTF-8 text tokenized by the model's tokenizer each
                               repetition (timed apart) and repeated to P tokens;
                               NULL (or no tokenizer): fixed pseudo-random ids, and
                               tokenize_ms is unavailable.  Borrowed.               */
    const char *model_path; /* the model's file or folder, for model_filename and
                               model_disk_bytes; NULL: unknown.  Borrowed.           */
    size_t bw_bytes;        /* > 0: also measure the read bandwidth with a buffer of
                               this many bytes: one pass right after every timed
                               repetition, so each decode figure has its own
                               reading (rows' read_bw_gbs, bw_share_pct).  The
                               buffer stays resident during the tests; its bytes
                               are left out of peak_rss_bytes.  Default 0       */
    /* Where the sensors are read; NULL: the system's (/sys/class/powercap,
     * /sys/class/hwmon, /sys/class/thermal, "libnvidia-ml.so.1").  Tests
     * point them at fake trees; "" switches a sensor off (unavailable). */
    const char *powercap_root, *hwmon_root, *thermal_root, *nvml_lib;
} ob_bench_params;

ob_bench_params ob_bench_default_params(void);

/* One test: (n_threads, n_prompt, n_parallel). */
typedef struct ob_bench_row {
    int n_threads;        /* the pool's threads                                  */
    int n_prompt;         /* P, tokens per prompt                                */
    int n_gen;            /* G, decode steps per repetition                      */
    int n_parallel;       /* B, sequences prefilled and decoded together         */
    int n_batch;          /* most tokens per prefill ob_decode call              */
    int reps, warmup;
    /* tokens the timed repetitions fed, all together (reps * B * P and
     * reps * B * G when all went as planned) */
    int64_t prompt_tokens, gen_tokens;
    ob_stats ttft_ms;     /* over the repetitions                                */
    ob_stats token_ms;    /* over every decode step of every repetition          */
    ob_stats prefill_tps; /* over the repetitions                                */
    ob_stats decode_tps;  /* over the repetitions                                */
    double *prefill_s;    /* [reps] prefill seconds of each repetition, owned    */
    double *decode_s;     /* [reps] decode seconds (sum of the G steps), owned   */
    double tokenize_ms;   /* mean per repetition; NAN without prompt text        */
    int tokenize_tokens;  /* ids the text gave (before repeating to P); -1: none */
    double sample_ms;     /* mean per repetition of all its argmax work          */
    double wall_s;        /* the timed repetitions' wall clock, summed (the probe
                             passes between them left out, as are cpu and energy) */
    double cpu_util_pct;  /* process CPU time (user + system, all threads) over
                             wall_s * n_threads, in percent: 100 = every pool
                             thread busy the whole time.  NAN if unreadable.     */
    double energy_j;      /* RAPL package energy over wall_s (all packages);
                             NAN when unavailable                               */
    double avg_power_w;   /* energy_j / wall_s; NAN when unavailable             */
    double decode_gbs;    /* weight bytes read per decode step * steps per second
                             (bytes_per_token * median decode tok/s / B) / 1e9   */
    double read_bw_gbs;   /* median of the probe readings taken after each timed
                             repetition (this pool's threads); NAN without one   */
    double bw_share_pct;  /* median over the repetitions of 100 * that
                             repetition's decode GB/s / the probe reading right
                             after it; NAN without a probe                       */
    char test_time[32];   /* UTC start of the test, "2026-01-02T03:04:05Z"        */
} ob_bench_row;

/* GPU figures through NVML (loaded at run time), sampled once at the end. */
typedef struct ob_gpu_info {
    int count;              /* devices; -1 when NVML could not be loaded/initialised */
    char name[96];          /* device 0's name, "" when none                      */
    double util_pct;        /* device 0's GPU utilisation, %; NAN if unavailable */
    int64_t mem_used_bytes; /* device 0; -1 if unavailable                        */
    int64_t mem_total_bytes;
    double power_w;         /* device 0's power draw; NAN if unavailable          */
    double temp_c;          /* device 0's GPU temperature; NAN if unavailable     */
} ob_gpu_info;

typedef struct ob_bench_result {
    int n_rows;
    ob_bench_row *rows;        /* [n_rows], owned: ob_bench_result_free          */
    char model_filename[1024]; /* params.model_path, or "" when unknown          */
    char model_type[256];      /* ob_model_describe                              */
    int64_t model_size;        /* weight bytes in memory (ob_model_weight_bytes),
                                  what llama-bench calls model_size              */
    int64_t model_huge_bytes;  /* of model_size's memory, bytes on 2 MiB pages
                                * (ob_model_huge_bytes); -1 unknown       */
    int model_x16;             /* matrices in the x16 inference layout
                                * (ob_model_x16_matrices)                  */
    int64_t model_disk_bytes;  /* bytes of the model's files on disk (a folder:
                                  its regular files); -1 when unknown            */
    int64_t model_n_params;
    int64_t bytes_per_token;   /* weight bytes one decode step reads             */
    int64_t peak_rss_bytes;    /* peak resident memory of the process, -1 if
                                  unreadable: over the tests alone when
                                  peak_rss_tests_only (the kernel's high-water
                                  mark was reset before the tests), else since
                                  the process started; the bandwidth probe's
                                  buffer is subtracted                        */
    int peak_rss_tests_only;
    double read_bw_gbs;        /* median of every probe reading; NAN if not run */
    double energy_j;           /* sum of the rows' energy_j; NAN when unavailable */
    double temp_c;             /* hottest hwmon / thermal sensor at the end; NAN  */
    ob_gpu_info gpu;
    char cpu_info[512];        /* ob_cpu_describe                                */
    char simd[16];             /* the kernels' SIMD level                        */
    char start_time[32], end_time[32]; /* UTC, ISO 8601                         */
} ob_bench_result;

/* Runs every test of p (NULL: the defaults) on m.  pool may be NULL: the
 * bench then makes one of p->threads threads for the run.  Fails before
 * measuring anything with OB_EINVAL on an empty list, a prompt length or
 * batch < 1, reps < 1, warmup < 0, gen_len < 1, and OB_ERANGE when P + G
 * exceeds the model's context.  r is overwritten (free it with
 * ob_bench_result_free, also after a failure). */
int ob_bench_run(ob_model *m, ob_pool *pool, const ob_bench_params *p, ob_bench_result *r, ob_err *err);
/* Checks p against a model's context length (max_seq) only: what
 * ob_bench_run refuses before measuring.  For callers that validate before
 * loading (max_seq <= 0 skips the context check). */
int ob_bench_check(const ob_bench_params *p, int max_seq, ob_err *err);
void ob_bench_result_free(ob_bench_result *r);
/* Moves src's rows to the end of dst (src is left empty), and merges the
 * run-wide figures: peak RSS and temperature the later, energy the sum.
 * For runs at several thread counts. */
int ob_bench_result_append(ob_bench_result *dst, ob_bench_result *src, ob_err *err);

/* ------------------------------------------------------------- writers */

typedef enum { OB_BENCH_MD = 0, OB_BENCH_CSV, OB_BENCH_JSON, OB_BENCH_JSONL } ob_bench_format;
/* "md" / "markdown", "csv", "json", "jsonl"; -1 for anything else. */
int ob_bench_format_parse(const char *name);

/* Writes r to f.  Markdown: a summary list and one table row per test.
 * CSV, JSON (an array) and JSONL (one object per line) follow llama-bench:
 * two records per test, a prompt-processing one (n_prompt = P, n_gen = 0,
 * n_depth = 0: avg_ns / avg_ts are the prefill's) and a text-generation one
 * (n_prompt = 0, n_gen = G, n_depth = P: the decode's), each also carrying
 * optibench's fields of the test they come from (docs/bench.md lists them).
 * Unavailable values are JSON null, empty in CSV, "n/a" in Markdown. */
int ob_bench_write(const ob_bench_result *r, ob_bench_format fmt, FILE *f, ob_err *err);

#endif
