/* pack.c - a model's weights into the x16 inference layout
 * (ob_model_pack_x16, kernels/x16.h). */
#include <stdint.h>

#include "kernels/x16.h"
#include "model/model.h"

static int pack_one(ob_model *m, ob_matrix *w, ob_pool *pool, int *n, ob_err *err) {
    if (!w->data || w->x16 || !ob_x16_pays(w->format)) return 0;
    const size_t bytes = ob_matrix_bytes(w);
    const void *old = w->data;
    if (ob_model_owns(m, old, bytes)) {
        if (ob_matrix_to_x16(w, (void *)(uintptr_t)old, pool)) /* the model's own buffer: writable */
            return ob_fail(err, OB_ENOMEM, "x16 layout: out of memory");
    } else {
        void *dst = ob_model_alloc(m, bytes ? bytes : 1);
        if (!dst || ob_matrix_to_x16(w, dst, pool))
            return ob_fail(err, OB_ENOMEM, "x16 layout: cannot allocate %.1f MB", bytes / 1e6);
        ob_release_pages(old, bytes);
    }
    (*n)++;
    return 0;
}

int ob_model_pack_x16(ob_model *m, ob_pool *pool, int *n_packed, ob_err *err) {
    int n = 0, rc = 0;
    const int tied = m->lm_head.data && m->lm_head.data == m->tok_embd.data;
    for (int l = 0; l < m->cfg.n_layers && !rc; l++) {
        ob_layer *L = &m->layers[l];
        ob_matrix *ms[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int k = 0; k < 7 && !rc; k++) rc = pack_one(m, ms[k], pool, &n, err);
    }
    if (!rc) rc = pack_one(m, &m->lm_head, pool, &n, err);
    if (!rc && tied && m->lm_head.x16) { /* one matrix under two names: the embedding follows */
        ob_matrix e = m->lm_head;
        ob_matrix_copy_maps(&e, &m->tok_embd);
        m->tok_embd = e;
    }
    if (n_packed) *n_packed = n;
    return rc;
}

int ob_model_x16_matrices(const ob_model *m) {
    int n = m->lm_head.x16;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const ob_layer *L = &m->layers[l];
        n += L->wq.x16 + L->wk.x16 + L->wv.x16 + L->wo.x16 + L->w_gate.x16 + L->w_up.x16 + L->w_down.x16;
    }
    return n;
}
