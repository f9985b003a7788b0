/* cmd_convert.c - `optibench convert`: any loadable llama-family model (a
 * llama2.c checkpoint, a Hugging Face directory, a GGUF file) to a Hugging
 * Face directory (config.json, model.safetensors, tokenizer.json) or to one
 * GGUF file llama.cpp can load. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "formats/gguf.h"
#include "formats/gguf_export.h"
#include "formats/hf_write.h"

static int usage(void) {
    printf("usage: optibench convert [-m] MODEL -o OUT [--to hf|gguf] [--dtype f32|f16|bf16|q8_0|q4_0|q4_1]\n"
           "  --to hf   (default) writes OUT/config.json, model.safetensors, tokenizer.json, tokenizer_config.json\n"
           "  --to gguf (default when OUT ends in .gguf) writes the GGUF file OUT\n");
    return 0;
}

int cmd_convert(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *dtype = "f32", *to = NULL;
    int r;
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "-m", "--model", &model)) || (r = arg_str(argc, argv, &i, "-o", "--out", &out)) ||
            (r = arg_str(argc, argv, &i, "--dtype", NULL, &dtype)) || (r = arg_str(argc, argv, &i, "--to", NULL, &to))) {
            if (r < 0) return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            return usage();
        } else if (argv[i][0] != '-' && !model) {
            model = argv[i];
        } else {
            fprintf(stderr, "optibench convert: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!model || !out) {
        fprintf(stderr, "optibench convert: a model and -o are required\n");
        return 2;
    }
    size_t n = strlen(out);
    if (!to) to = n > 5 && !strcmp(out + n - 5, ".gguf") ? "gguf" : "hf";
    int gguf = !strcmp(to, "gguf");
    if (!gguf && strcmp(to, "hf")) {
        fprintf(stderr, "optibench convert: --to must be hf or gguf, not '%s'\n", to);
        return 2;
    }
    ob_dtype dt;
    uint32_t gt;
    if (!strcmp(dtype, "f32")) dt = OB_DT_F32, gt = OB_GGML_F32;
    else if (!strcmp(dtype, "f16")) dt = OB_DT_F16, gt = OB_GGML_F16;
    else if (!strcmp(dtype, "bf16")) dt = OB_DT_BF16, gt = OB_GGML_BF16;
    else if (gguf && !strcmp(dtype, "q8_0")) dt = OB_DT_F32, gt = OB_GGML_Q8_0;
    else if (gguf && !strcmp(dtype, "q4_0")) dt = OB_DT_F32, gt = OB_GGML_Q4_0;
    else if (gguf && !strcmp(dtype, "q4_1")) dt = OB_DT_F32, gt = OB_GGML_Q4_1;
    else {
        fprintf(stderr, "optibench convert: --dtype must be f32, f16 or bf16%s, not '%s'\n",
                gguf ? ", or q8_0, q4_0, q4_1 for GGUF" : "", dtype);
        return 2;
    }
    ob_err err = {0};
    char path[2048];
    ob_model *m = NULL;
    if (cli_resolve_model(model, path, sizeof path, &err) || ob_model_load(path, NULL, &m, &err))
        return cli_error("convert", &err);
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    int rc;
    if (gguf) {
        rc = ob_model_save_gguf(m, out, gt, &err);
    } else {
        rc = ob_model_save_hf(m, out, dt, &err);
        if (!rc && tok) rc = ob_tokenizer_save_hf(tok, out, &err);
    }
    if (!rc) printf("wrote %s (%s, %s weights%s)\n", out, gguf ? "GGUF" : "Hugging Face", dtype, tok ? ", tokenizer" : ", no tokenizer");
    ob_model_free(m);
    return rc ? cli_error("convert", &err) : 0;
}
