/* yamlio.c - flat YAML mappings through libyaml's emitter and loader. */
#include "report/yamlio.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/mapfile.h"

static int to_sbuf(void *data, unsigned char *buffer, size_t size) {
    ob_sbuf *b = data;
    ob_sbuf_add(b, (const char *)buffer, size);
    return !b->oom;
}

static int scalar(yaml_emitter_t *em, const char *s, int quoted) {
    yaml_event_t ev;
    yaml_scalar_style_t style = quoted ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), !quoted, quoted, style))
        return 0;
    return yaml_emitter_emit(em, &ev);
}

static int empty_list(yaml_emitter_t *em) {
    yaml_event_t ev;
    if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_SEQUENCE_STYLE) ||
        !yaml_emitter_emit(em, &ev))
        return 0;
    return yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
}

static int emit_all(yaml_emitter_t *em, const ob_yfield *f, size_t n) {
    yaml_event_t ev;
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(em, &ev)) return 0;
    if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) || !yaml_emitter_emit(em, &ev)) return 0;
    if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
        !yaml_emitter_emit(em, &ev))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char num[32];
        if (!scalar(em, f[i].key, 0)) return 0;
        int ok;
        switch (f[i].kind) {
        case OB_Y_STR: ok = scalar(em, f[i].str ? f[i].str : "", 1); break;
        case OB_Y_INT:
            snprintf(num, sizeof num, "%" PRId64, f[i].num);
            ok = scalar(em, num, 0);
            break;
        case OB_Y_NULL: ok = scalar(em, "null", 0); break;
        default: ok = empty_list(em); break;
        }
        if (!ok) return 0;
    }
    if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev)) return 0;
    if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(em, &ev)) return 0;
    return yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
}

int ob_yaml_mapping(const ob_yfield *f, size_t n, ob_sbuf *out, ob_err *err) {
    yaml_emitter_t em;
    if (!yaml_emitter_initialize(&em)) return ob_fail(err, OB_ENOMEM, "yaml: out of memory");
    yaml_emitter_set_output(&em, to_sbuf, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    int ok = emit_all(&em, f, n);
    int rc = 0;
    if (!ok || out->oom)
        rc = ob_fail(err, out->oom ? OB_ENOMEM : OB_EINVAL, "yaml: cannot write: %s",
                     em.problem ? em.problem : "out of memory");
    yaml_emitter_delete(&em);
    return rc;
}

int ob_yaml_get(const char *path, const char *key, char *buf, size_t size, ob_err *err) {
    char *text;
    size_t len;
    if (ob_read_text(path, &text, &len, err)) return -1;
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p)) {
        free(text);
        ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int found = -1;
    if (!yaml_parser_load(&p, &doc)) {
        ob_fail(err, OB_EFORMAT, "%s: line %zu: %s", path, p.problem_mark.line + 1,
                p.problem ? p.problem : "malformed YAML");
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        found = 0;
        if (root && root->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
                yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
                yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
                if (!k || !v || k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) continue;
                if (strlen(key) != k->data.scalar.length || memcmp(k->data.scalar.value, key, k->data.scalar.length))
                    continue;
                snprintf(buf, size, "%.*s", (int)v->data.scalar.length, (const char *)v->data.scalar.value);
                found = 1;
                break;
            }
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&p);
    free(text);
    return found;
}
