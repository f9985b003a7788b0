/* main.c - the optibench command line: dispatches to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"pull", cmd_pull, "download a model (stories15M, or org/name[@rev] from the Hub)"},
    {"convert", cmd_convert, "convert a model to a Hugging Face directory or a GGUF file"},
    {"synth", cmd_synth, "write a model of a known shape with random weights (benchmarks)"},
    {"generate", cmd_generate, "generate text from a prompt"},
    {"bench", cmd_bench, "measure prefill and decode speed"},
    {"info", cmd_info, "describe a model"},
    {"logits", cmd_logits, "write raw logits for a token sequence (for tests)"},
    {"eval", cmd_eval, "perplexity, KL divergence and QA benchmarks (RACE, PubMedQA, SQuAD v2, GSM8K, ...)"},
    {"prune", cmd_prune, "prune a model (magnitude, wanda, sparsegpt; unstructured, N:M, block)"},
    {"quantize", cmd_quantize, "quantize a model (rtn, dynamic, gptq, awq) to GGUF or a GPTQ checkpoint"},
    {"sweep", cmd_sweep, "compress, evaluate and benchmark every recipe of a YAML config; tracking and report"},
    {"search", cmd_search, "the highest sparsity / fewest bits that keep a metric above a floor (bisection)"},
    {"report", cmd_report, "the HTML report (charts, Pareto frontier, recommendation) of a sweep's results"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: optibench <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'optibench <command> --help' describes each command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "optibench: unknown command '%s' (try 'optibench --help')\n", argv[1]);
    return 2;
}

int cli_error(const char *cmd, const ob_err *err) {
    fprintf(stderr, "optibench %s: %s\n", cmd, err->msg[0] ? err->msg : "failed");
    return 1;
}
