/* cmd_info.c - `optibench info -m MODEL`: what a model is and what this CPU runs. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

int cmd_info(int argc, char **argv) {
    const char *model = "stories15M";
    for (int i = 1; i < argc; i++) {
        int r;
        if ((r = arg_str(argc, argv, &i, "-m", "--model", &model))) {
            if (r < 0) return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: optibench info [-m MODEL]\n  MODEL: a llama2.c .bin, a Hugging Face directory, or a pulled name (default stories15M)\n");
            return 0;
        } else {
            fprintf(stderr, "optibench info: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    ob_err err = {0};
    char path[2048];
    if (cli_resolve_model(model, path, sizeof path, &err)) return cli_error("info", &err);
    ob_model *m;
    double t0 = ob_now();
    ob_load_params lp = ob_load_default_params();
    lp.populate = 0; /* describing needs the headers only */
    if (ob_model_load(path, &lp, &m, &err)) return cli_error("info", &err);
    double t1 = ob_now();
    char buf[1024];
    ob_model_describe(m, buf, sizeof buf);
    printf("model:     %s\n", buf);
    printf("path:      %s (loaded in %.1f ms)\n", path, (t1 - t0) * 1e3);
    printf("params:    %lld\n", (long long)ob_model_n_params(m));
    printf("weights:   %.2f MB in memory, %.2f MB read per decoded token\n", ob_model_weight_bytes(m) / 1e6,
           ob_model_bytes_per_token(m) / 1e6);
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    if (tok)
        printf("tokenizer: %d tokens, bos %d, eos %d, add_bos %s\n", ob_tokenizer_n_vocab(tok), ob_tokenizer_bos(tok),
               ob_tokenizer_eos(tok), ob_tokenizer_add_bos_default(tok) ? "yes" : "no");
    else
        printf("tokenizer: none found\n");
    ob_cpu_describe(buf, sizeof buf);
    printf("cpu:       %s\n", buf);
    ob_model_free(m);
    return 0;
}
