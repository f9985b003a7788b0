/* sparsify.h - a pruned model's linear layers into sparse storage
 * (kernels/sparse.h), so that the zeros cost neither bytes nor time.
 *
 * Input: a model pruned by ob_model_prune (its pruned linear layers dense
 * float32 with exact zeros) and that run's report (the keep masks, and the
 * quantization grid's scales when it quantized).  Each pruned matrix is
 * packed in the value type asked for (F32, F16, BF16, or int8 / int4 as
 * Q8_0 / Q4_0 per chunk of 32 columns) and the storage with the fewest
 * bytes for its mask ("auto": the dense value format itself when sparse
 * would not be smaller), or the storage forced.  Weights that a pruning run
 * quantized keep their grid exactly: the scale of their group becomes the
 * scale of each 32-column chunk, so such matrices always go sparse (a dense
 * Q8_0 / Q4_0 row would pick its own scales). */
#ifndef OB_COMPRESS_SPARSIFY_H
#define OB_COMPRESS_SPARSIFY_H

#include <stdint.h>

#include "compress/prune.h"
#include "kernels/matrix.h"

enum { OB_STORE_AUTO = -1 }; /* or OB_SPARSE_BITMASK, _24, _BLOCK (sparse.h) */

typedef struct ob_sparsify_tensor {
    char name[48];
    ob_format format;          /* what it is stored in now              */
    int64_t dense_bytes;       /* the value format, stored dense        */
    int64_t bytes;             /* as stored (data + index table)        */
} ob_sparsify_tensor;

typedef struct ob_sparsify_report {
    int n_tensors;
    ob_sparsify_tensor *tensors;  /* owned; free() it                  */
    int64_t dense_bytes, bytes;   /* summed over the pruned tensors     */
} ob_sparsify_report;

/* values: OB_FMT_F32, F16, BF16, Q8_0 or Q4_0; with a report that carries
 * scales it must be Q8_0 for 8 bits and Q4_0 for 4.  storage: OB_STORE_AUTO
 * or one of OB_SPARSE_*; forcing 2:4 on a mask that is not 2:4 fails. */
int ob_model_sparsify(ob_model *m, const ob_prune_report *rep, ob_format values, int storage, int quant_bits,
                      int quant_group, ob_sparsify_report *out, ob_err *err);

#endif
