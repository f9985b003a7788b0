/* config.h - a sweep's configuration: models x compression recipes x tasks,
 * read from a YAML file (docs/sweep.md describes every key).
 *
 * The file is parsed with libyaml.  Every error is one line that starts
 * with "FILE:LINE:COLUMN: " (1-based, libyaml's marks) and names the
 * problem: a YAML syntax error, an unknown key (with the keys allowed
 * there), an unknown recipe kind (with the known kinds), a key that does
 * not apply to a recipe's kind, a value of the wrong type or range, a
 * duplicate key or recipe name.
 *
 * Recipes may be grids: any recipe key except name and kind may hold a
 * list, and the recipe expands to one recipe per combination (the product
 * of the lists, the first key varying slowest), each named NAME-V1-V2...
 * with the values as written.  The config holds the expanded recipes.
 *
 * Command-line overrides use the same setters as the file
 * (ob_sweep_config_set), so they take the same values and give the same
 * errors, located at "--set KEY" instead of a line and column.
 *
 * Ownership: an ob_sweep_config owns every string and array in it;
 * ob_sweep_config_free releases them.  Strings are NULL when the file
 * leaves them to their defaults. */
#ifndef OB_SWEEP_CONFIG_H
#define OB_SWEEP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "optibench.h"

typedef enum {
    OB_RECIPE_BASELINE = 0, /* the model as loaded                           */
    OB_RECIPE_RTN,          /* round-to-nearest into one format              */
    OB_RECIPE_DYNAMIC,      /* int8 weights, int8 activations at run time    */
    OB_RECIPE_GPTQ,         /* GPTQ, calibrated                              */
    OB_RECIPE_AWQ,          /* AWQ scales, then round-to-nearest             */
    OB_RECIPE_PRUNE,        /* magnitude / Wanda / SparseGPT, stored sparse  */
    OB_RECIPE_STRUCTURED,   /* whole neurons / heads removed                 */
    OB_RECIPE_N_KINDS
} ob_recipe_kind;

/* "baseline", "rtn", ... */
const char *ob_recipe_kind_name(ob_recipe_kind k);

/* One compression recipe.  Fields that do not apply to its kind keep their
 * defaults and are not part of its parameters (recipe.h). */
typedef struct ob_recipe {
    char name[96];
    ob_recipe_kind kind;
    char format[16];        /* rtn (default q8_0), awq (default i4_g128),
                               gptq (default from bits and group)         */
    int embeddings, output; /* rtn: also token_embd / the lm_head         */
    int bits, group, sym;   /* gptq: 2..8 (4), 32/64/128 or 0 = per row
                               (128), symmetric grid (0); prune: group of
                               then_quantize (128)                         */
    double damp;            /* gptq, prune (sparsegpt / then_quantize): 0.01 */
    char method[16];        /* prune: magnitude, wanda, sparsegpt          */
    char pattern[32];       /* prune: unstructured, N:M, block:BHxBW       */
    double sparsity;        /* prune (N:M: implied), structured            */
    int global;             /* prune, magnitude: one threshold             */
    char then_quantize[16]; /* prune: gptq4 | gptq8; structured: an RTN
                               format; "" for none                         */
    char values[8];         /* prune: f32 f16 bf16 int8 int4 ("" implied)  */
    char target[16];        /* structured: ffn, heads, ffn_heads,
                               channels_out, channels_in                   */
    int calibrated;         /* structured: score with activation norms     */
    int line, col;          /* where it is in the file (1-based)           */
} ob_recipe;

/* A task's settings; on = the task runs. */
typedef struct ob_sweep_task {
    int on;
    int limit;      /* windows (ppl, kld) or items; 0 = all                 */
    int ctx;        /* ppl/kld window; 0 = the model's context, <= 2048     */
    char *data;     /* ppl: text file or folder; storycloze: JSONL; NULL =
                       the packaged data the caller fills in               */
} ob_sweep_task;

typedef struct ob_sweep_config {
    char *file;             /* the config's path, for messages             */
    char *experiment;       /* MLflow experiment; NULL = the file's stem   */
    char *output;           /* output folder; NULL = "out/sweep"           */
    char **models;          /* [n_models] names or paths, as written       */
    int n_models;
    int threads;            /* 0 = one per CPU                             */
    struct {
        char *text;         /* NULL = the Brown corpus                     */
        int nsamples, seqlen, seed;
    } calib;
    ob_sweep_task ppl, kld, storycloze;
    struct {
        int on, prompt_len, gen_len, batch, reps, warmup;
    } bench;
    struct {
        double min_accuracy, max_ppl_increase, max_memory; /* NAN: no bound */
        char *acc_metric, *title;
    } report;
    ob_recipe *recipes;     /* [n_recipes], grids expanded                 */
    int n_recipes;
} ob_sweep_config;

/* Reads path into *cfg (zeroed first, defaults filled in).  On failure
 * *cfg is left empty (nothing to free) and err says where and what. */
int ob_sweep_config_load(const char *path, ob_sweep_config *cfg, ob_err *err);
/* The same from text in memory; name stands for the file in messages. */
int ob_sweep_config_parse(const char *name, const char *text, size_t len, ob_sweep_config *cfg, ob_err *err);
void ob_sweep_config_free(ob_sweep_config *cfg);

/* Sets one scalar key by its dotted path ("tasks.ppl.limit", "output",
 * "report.max_memory"), value as it would be written in YAML ("null",
 * "false" and "off" turn a task or the bench off).  Errors name
 * "--set PATH".  Recipes and models cannot be set this way. */
int ob_sweep_config_set(ob_sweep_config *cfg, const char *path, const char *value, ob_err *err);

/* The checks across keys (kld needs a baseline recipe, ...), run by ob_sweep_config_load; run again after overrides. */
int ob_sweep_config_check(const ob_sweep_config *cfg, ob_err *err);

/* Sets recipe key (not name or kind) of r from value, as the file would,
 * and checks the recipe whole again; errors start with "KEY: ". */
int ob_recipe_set(ob_recipe *r, const char *key, const char *value, ob_err *err);

/* The recipe named name, or NULL. */
const ob_recipe *ob_sweep_config_recipe(const ob_sweep_config *cfg, const char *name);
/* The reference of KL divergence and perplexity increases: the first
 * recipe of kind baseline, or NULL when there is none. */
const ob_recipe *ob_sweep_config_baseline(const ob_sweep_config *cfg);

#endif
