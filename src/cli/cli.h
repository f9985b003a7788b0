/* cli.h - subcommands of the optibench binary.  Each lives in its own
 * cmd_<name>.c and returns the process exit status; only cli/ prints to the
 * terminal and exits. */
#ifndef OB_CLI_H
#define OB_CLI_H
#include "optibench.h"

int cmd_pull(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_eval(int argc, char **argv);

/* Prints "optibench <cmd>: <msg>" to stderr and returns 1. */
int cli_error(const char *cmd, const ob_err *err);
/* Resolves a model argument: a path, or a name in the cache ("stories15M",
 * "org/name") that `optibench pull` fetched.  Writes the path into buf. */
int cli_resolve_model(const char *arg, char *buf, size_t size, ob_err *err);

#endif
