/* hf_write.h - saving a loaded model as a Hugging Face directory. */
#ifndef OB_FORMATS_HF_WRITE_H
#define OB_FORMATS_HF_WRITE_H
#include "formats/safetensors.h"
#include "optibench.h"

/* Writes dir/config.json and dir/model.safetensors (creating dir) with the
 * weights in dtype dt (OB_DT_F32, OB_DT_F16 or OB_DT_BF16).  The tokenizer is
 * written separately (ob_tokenizer_save_hf).  llama family only for now. */
int ob_model_save_hf(const ob_model *m, const char *dir, ob_dtype dt, ob_err *err);

/* The same, with every linear layer held in a group-wise int format
 * (I4_G32/G64/G128/ROW or I8_*, as GPTQ and AWQ leave them) written in the
 * GPTQ checkpoint layout (gptq_pack.h: qweight, qzeros, scales, g_idx) and
 * config.json's quantization_config {"quant_method": "gptq", "bits",
 * "group_size" (-1 per channel), "desc_act": false, "sym",
 * "checkpoint_format": "gptq", or "gptq_v2" when some zero point is 0},
 * which transformers (through GPTQModel) and vLLM load.  The other tensors
 * are written in dt.  All linear layers must share one format. */
int ob_model_save_hf_gptq(const ob_model *m, const char *dir, ob_dtype dt, ob_err *err);

/* optibench's own container, version 1, for every format (NF4, MXFP4,
 * W8A8, the Q and group formats): a Hugging Face folder whose config.json
 * has "quantization_config": {"quant_method": "optibench", "version": 1}
 * and whose model.safetensors keeps the transformers names.  A matrix in a
 * quantized format is stored as it is in memory: dtype U8, shape
 * [rows, row_bytes], with safetensors metadata "optibench.format.<name>"
 * naming the format (ob_format_name, e.g. "NF4"; kernels/quant.h gives
 * each format's row layout) and "optibench.container": "1".  Dense
 * matrices and vectors are written in dt.  optibench maps such a file
 * without copying; other tools cannot read the quantized tensors. */
int ob_model_save_hf_container(const ob_model *m, const char *dir, ob_dtype dt, ob_err *err);

#endif
