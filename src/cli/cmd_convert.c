/* cmd_convert.c - `optibench convert`: a llama2.c checkpoint (or any loadable
 * llama-family model) to a Hugging Face directory: config.json,
 * model.safetensors and tokenizer.json. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "formats/hf_write.h"

int cmd_convert(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *dtype = "f32";
    int r;
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "-m", "--model", &model)) || (r = arg_str(argc, argv, &i, "-o", "--out", &out)) ||
            (r = arg_str(argc, argv, &i, "--dtype", NULL, &dtype))) {
            if (r < 0) return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: optibench convert -m MODEL -o OUT_DIR [--dtype f32|f16|bf16]\n"
                   "  writes OUT_DIR/config.json, model.safetensors, tokenizer.json, tokenizer_config.json\n");
            return 0;
        } else {
            fprintf(stderr, "optibench convert: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!model || !out) {
        fprintf(stderr, "optibench convert: -m and -o are required\n");
        return 2;
    }
    ob_dtype dt;
    if (!strcmp(dtype, "f32")) dt = OB_DT_F32;
    else if (!strcmp(dtype, "f16")) dt = OB_DT_F16;
    else if (!strcmp(dtype, "bf16")) dt = OB_DT_BF16;
    else {
        fprintf(stderr, "optibench convert: --dtype must be f32, f16 or bf16, not '%s'\n", dtype);
        return 2;
    }
    ob_err err = {0};
    char path[2048];
    ob_model *m = NULL;
    if (cli_resolve_model(model, path, sizeof path, &err) || ob_model_load(path, NULL, &m, &err))
        return cli_error("convert", &err);
    int rc = ob_model_save_hf(m, out, dt, &err);
    if (!rc && ob_model_tokenizer(m)) rc = ob_tokenizer_save_hf(ob_model_tokenizer(m), out, &err);
    if (!rc) printf("wrote %s (%s weights%s)\n", out, dtype, ob_model_tokenizer(m) ? ", tokenizer.json" : ", no tokenizer");
    ob_model_free(m);
    return rc ? cli_error("convert", &err) : 0;
}
