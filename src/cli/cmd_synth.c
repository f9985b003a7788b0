/* cmd_synth.c - `optibench synth`: a Llama-shaped Hugging Face directory
 * with random weights (formats/hf_synth.h), the tokenizer copied from a
 * model with the same vocabulary size (stories15M by default). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "formats/hf_synth.h"

static int usage(void) {
    printf("usage: optibench synth --shape NAME -o DIR [--dtype f32|f16|bf16] [--seed N] [--std S]\n"
           "                       [--tokenizer-from MODEL]\n"
           "  --shape NAME          %s\n"
           "  --dtype               weights' dtype (default f32)\n"
           "  --seed N              random seed (default 1); the same seed writes the same bytes\n"
           "  --std S               standard deviation of the matrices (default 0.02); norms are 1\n"
           "  --tokenizer-from M    copy M's tokenizer (default stories15M; 'none' for no tokenizer);\n"
           "                        its vocabulary must have the shape's size\n"
           "Quantized variants: load with --quant FMT (e.g. optibench bench -m DIR --quant q4_0).\n",
           ob_synth_shape_names());
    return 0;
}

int cmd_synth(int argc, char **argv) {
    const char *shape = NULL, *out = NULL, *dtype = "f32", *seed_s = "1", *std_s = "0.02", *tok_from = "stories15M";
    int r;
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "--shape", NULL, &shape)) || (r = arg_str(argc, argv, &i, "-o", "--out", &out)) ||
            (r = arg_str(argc, argv, &i, "--dtype", NULL, &dtype)) || (r = arg_str(argc, argv, &i, "--seed", NULL, &seed_s)) ||
            (r = arg_str(argc, argv, &i, "--std", NULL, &std_s)) ||
            (r = arg_str(argc, argv, &i, "--tokenizer-from", NULL, &tok_from))) {
            if (r < 0) return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            return usage();
        } else {
            fprintf(stderr, "optibench synth: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!shape || !out) {
        fprintf(stderr, "optibench synth: --shape and -o are required\n");
        return 2;
    }
    const ob_synth_shape *sh = ob_synth_shape_find(shape);
    if (!sh) {
        fprintf(stderr, "optibench synth: unknown shape '%s' (known: %s)\n", shape, ob_synth_shape_names());
        return 2;
    }
    ob_dtype dt;
    if (!strcmp(dtype, "f32")) dt = OB_DT_F32;
    else if (!strcmp(dtype, "f16")) dt = OB_DT_F16;
    else if (!strcmp(dtype, "bf16")) dt = OB_DT_BF16;
    else {
        fprintf(stderr, "optibench synth: --dtype must be f32, f16 or bf16, not '%s'\n", dtype);
        return 2;
    }
    char *end;
    unsigned long long seed = strtoull(seed_s, &end, 10);
    if (*end || !*seed_s) {
        fprintf(stderr, "optibench synth: --seed must be a number, not '%s'\n", seed_s);
        return 2;
    }
    float std = strtof(std_s, &end);
    if (*end || !(std > 0 && std < 100)) {
        fprintf(stderr, "optibench synth: --std must be in (0, 100), not '%s'\n", std_s);
        return 2;
    }
    ob_err err = {0};
    ob_model *tm = NULL;
    if (strcmp(tok_from, "none")) {
        char path[2048];
        if (cli_resolve_model(tok_from, path, sizeof path, &err) || ob_model_load(path, NULL, &tm, &err))
            return cli_error("synth", &err);
        if (!ob_model_tokenizer(tm) || ob_model_config(tm)->n_vocab != sh->n_vocab) {
            fprintf(stderr, "optibench synth: %s has no tokenizer of %d tokens\n", tok_from, sh->n_vocab);
            ob_model_free(tm);
            return 1;
        }
    }
    int rc = ob_synth_write_hf(sh, dt, seed, std, out, &err);
    if (!rc && tm) rc = ob_tokenizer_save_hf(ob_model_tokenizer(tm), out, &err);
    ob_model_free(tm);
    if (rc) return cli_error("synth", &err);
    printf("wrote %s (%s shape, %s, seed %llu, std %g%s)\n", out, sh->name, dtype, seed, (double)std,
           strcmp(tok_from, "none") ? ", tokenizer" : ", no tokenizer");
    return 0;
}
