/* cmd_generate.c - `optibench generate`: prefill a prompt, then decode and
 * stream tokens to stdout until EOS or the token limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

static void usage(void) {
    printf("usage: optibench generate [-m MODEL] [-p PROMPT] [-n TOKENS] [options]\n"
           "  -m MODEL            model path or pulled name (default stories15M)\n"
           "  -p PROMPT           prompt text (default empty)\n"
           "  -n N                tokens to generate (default 256; stops earlier at EOS)\n"
           "  --temp T            temperature, 0 = greedy (default 0)\n"
           "  --top-k K           keep the K most likely tokens (0 = off)\n"
           "  --top-p P           nucleus sampling (1 = off)\n"
           "  --repeat-penalty R  penalise the last 64 tokens (1 = off)\n"
           "  --seed S            sampling seed (default 42)\n"
           "  -t N                threads (default: all cores)\n"
           "  --ctx N             context length (default: the model's)\n"
           "  --no-bos            do not prepend BOS\n"
           "  --quiet-stats       no timing line on stderr\n"
           CLI_QUANT_USAGE);
}

int cmd_generate(int argc, char **argv) {
    const char *model = "stories15M", *prompt = "", *v;
    int n_gen = 256, threads = 0, n_ctx = 0, no_bos = 0, quiet = 0, r;
    ob_sampler_params sp = ob_sampler_default_params();
    cli_quant quant = {0};
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "-m", "--model", &model)) || (r = arg_str(argc, argv, &i, "-p", "--prompt", &prompt))) {
            if (r < 0) return 2;
        } else if ((r = arg_str(argc, argv, &i, "-n", NULL, &v))) {
            if (r < 0 || parse_int("generate", "-n", v, 0, 1 << 24, &n_gen)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "-t", "--threads", &v))) {
            if (r < 0 || parse_int("generate", "-t", v, 1, 256, &threads)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--ctx", NULL, &v))) {
            if (r < 0 || parse_int("generate", "--ctx", v, 1, 1 << 24, &n_ctx)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--temp", NULL, &v))) {
            if (r < 0 || parse_float("generate", "--temp", v, &sp.temperature)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--top-k", NULL, &v))) {
            if (r < 0 || parse_int("generate", "--top-k", v, 0, 1 << 24, &sp.top_k)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--top-p", NULL, &v))) {
            if (r < 0 || parse_float("generate", "--top-p", v, &sp.top_p)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--repeat-penalty", NULL, &v))) {
            if (r < 0 || parse_float("generate", "--repeat-penalty", v, &sp.repeat_penalty)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--seed", NULL, &v))) {
            char *end;
            sp.seed = strtoull(v, &end, 10);
            if (r < 0 || *end || end == v) {
                fprintf(stderr, "optibench generate: --seed must be a non-negative integer\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--no-bos")) {
            no_bos = 1;
        } else if (!strcmp(argv[i], "--quiet-stats")) {
            quiet = 1;
        } else if ((r = cli_quant_arg(argc, argv, &i, &quant))) {
            if (r < 0) return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        } else {
            fprintf(stderr, "optibench generate: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    ob_err err = {0};
    char path[2048];
    ob_model *m = NULL;
    ob_pool *pool = NULL;
    ob_ctx *ctx = NULL;
    ob_sampler *smp = NULL;
    int32_t *toks = NULL;
    float *logits = NULL;
    int rc = 1;
    if (cli_resolve_model(model, path, sizeof path, &err) || ob_model_load(path, NULL, &m, &err) ||
        ob_pool_new(threads, &pool, &err) || cli_quant_apply(m, &quant, pool, stderr, &err) ||
        ob_model_pack_x16(m, pool, NULL, &err))
        goto done;
    const ob_config *c = ob_model_config(m);
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    if (!tok) {
        ob_fail(&err, OB_EINVAL, "%s: no tokenizer found beside the model", path);
        goto done;
    }
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = n_ctx ? n_ctx : c->max_seq;
    if (ob_ctx_new(m, pool, &cp, &ctx, &err) || ob_sampler_new(&sp, c->n_vocab, &smp, &err)) goto done;
    int cap = cp.n_ctx + 1, n = 0;
    toks = malloc((size_t)cap * sizeof *toks);
    logits = malloc((size_t)c->n_vocab * sizeof(float));
    if (!toks || !logits) {
        ob_fail(&err, OB_ENOMEM, "out of memory");
        goto done;
    }
    int add_bos = !no_bos && ob_tokenizer_add_bos_default(tok);
    if (ob_tokenize(tok, prompt, strlen(prompt), add_bos, 0, toks, cap, &n, &err)) {
        if (err.code == OB_ERANGE)
            ob_fail(&err, OB_ERANGE, "prompt of %d tokens does not fit the context of %d tokens", n, cp.n_ctx);
        goto done;
    }
    if (n == 0) { /* an empty prompt without BOS: start from BOS anyway */
        toks[n++] = ob_tokenizer_bos(tok) >= 0 ? ob_tokenizer_bos(tok) : 0;
    }
    if (n >= cp.n_ctx) {
        ob_fail(&err, OB_ERANGE, "prompt of %d tokens does not fit the context of %d tokens", n, cp.n_ctx);
        goto done;
    }
    /* echo the prompt as the tokenizer reads it back */
    char piece[256];
    for (int i = 0; i < n; i++) {
        int k = ob_token_to_piece(tok, i ? toks[i - 1] : -1, toks[i], piece, sizeof piece);
        if (k > 0 && toks[i] != ob_tokenizer_bos(tok)) fwrite(piece, 1, (size_t)k, stdout);
    }
    fflush(stdout);
    double t0 = ob_now();
    if (ob_forward(ctx, 0, toks, n, 0, 0, logits, &err)) goto done;
    double t1 = ob_now();
    int n_prompt = n, generated = 0;
    int32_t eos = ob_tokenizer_eos(tok) >= 0 ? ob_tokenizer_eos(tok) : c->eos_id;
    while (generated < n_gen && n < cp.n_ctx) {
        int32_t next = ob_sample(smp, logits, toks, n);
        /* EOS ends the text; so does a generated BOS, which delimits
         * documents in llama2.c-trained models such as stories15M */
        if (next == eos || next == ob_tokenizer_bos(tok)) break;
        int k = ob_token_to_piece(tok, toks[n - 1], next, piece, sizeof piece);
        if (k > 0) {
            fwrite(piece, 1, (size_t)k, stdout);
            fflush(stdout);
        }
        toks[n++] = next;
        generated++;
        if (generated == n_gen || n >= cp.n_ctx) break;
        if (ob_forward(ctx, 0, &toks[n - 1], 1, n - 1, 0, logits, &err)) goto done;
    }
    double t2 = ob_now();
    printf("\n");
    fflush(stdout);
    if (!quiet)
        fprintf(stderr, "prompt %d tokens in %.1f ms (%.1f tok/s); generated %d tokens in %.1f ms (%.1f tok/s), %d threads\n",
                n_prompt, (t1 - t0) * 1e3, n_prompt / (t1 - t0), generated, (t2 - t1) * 1e3,
                generated > 0 ? generated / (t2 - t1) : 0.0, ob_pool_size(pool));
    rc = 0;
done:
    free(toks);
    free(logits);
    ob_sampler_free(smp);
    ob_ctx_free(ctx);
    ob_pool_free(pool);
    ob_model_free(m);
    return rc ? cli_error("generate", &err) : 0;
}
