/* args.h - small helpers for parsing subcommand options. */
#ifndef OB_CLI_ARGS_H
#define OB_CLI_ARGS_H
#include <stdint.h>

/* If argv[*i] is name (or alias), stores the next argument in *val, advances
 * *i and returns 1; returns -1 when the value is missing, 0 otherwise. */
int arg_str(int argc, char **argv, int *i, const char *name, const char *alias, const char **val);
/* Parses an int / float / u64, with a one-line message on failure. */
int parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out);
int parse_float(const char *cmd, const char *opt, const char *s, float *out);
/* A finite double. */
int parse_double(const char *cmd, const char *opt, const char *s, double *out);
/* Parses "1,2,3" into a malloc'd array. */
int parse_int_list(const char *cmd, const char *opt, const char *s, int32_t **out, int *n);

#endif
