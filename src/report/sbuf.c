/* sbuf.c - the growing text buffer. */
#include "report/sbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sbuf_reserve(ob_sbuf *b, size_t extra) {
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->s, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->s = p;
    b->cap = cap;
    return 0;
}

void ob_sbuf_add(ob_sbuf *b, const char *s, size_t n) {
    if (sbuf_reserve(b, n)) return;
    if (n) memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void ob_sbuf_puts(ob_sbuf *b, const char *s) { ob_sbuf_add(b, s, strlen(s)); }

void ob_sbuf_putc(ob_sbuf *b, char c) { ob_sbuf_add(b, &c, 1); }

void ob_sbuf_printf(ob_sbuf *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        ob_sbuf_add(b, small, (size_t)n);
        return;
    }
    if (sbuf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ob_sbuf_html(ob_sbuf *b, const char *s) {
    const char *run = s;
    for (; *s; s++) {
        const char *ent = NULL;
        switch (*s) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        default: continue;
        }
        ob_sbuf_add(b, run, (size_t)(s - run));
        ob_sbuf_puts(b, ent);
        run = s + 1;
    }
    ob_sbuf_add(b, run, (size_t)(s - run));
}

void ob_sbuf_double(ob_sbuf *b, double v) {
    if (isnan(v)) {
        ob_sbuf_puts(b, "nan");
        return;
    }
    if (isinf(v)) {
        ob_sbuf_puts(b, v > 0 ? "inf" : "-inf");
        return;
    }
    char txt[40];
    if (v == floor(v) && fabs(v) < 1e16) { /* integral: no exponent ("40", not "4e+01") */
        ob_sbuf_printf(b, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(txt, sizeof txt, "%.*g", prec, v);
        if (strtod(txt, NULL) == v) break;
    }
    ob_sbuf_puts(b, txt);
}

void ob_sbuf_free(ob_sbuf *b) {
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}
