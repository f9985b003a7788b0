/* hf_write.h - saving a loaded model as a Hugging Face directory. */
#ifndef OB_FORMATS_HF_WRITE_H
#define OB_FORMATS_HF_WRITE_H
#include "formats/safetensors.h"
#include "optibench.h"

/* Writes dir/config.json and dir/model.safetensors (creating dir) with the
 * weights in dtype dt (OB_DT_F32, OB_DT_F16 or OB_DT_BF16).  The tokenizer is
 * written separately (ob_tokenizer_save_hf).  llama family only for now. */
int ob_model_save_hf(const ob_model *m, const char *dir, ob_dtype dt, ob_err *err);

#endif
