/* sbuf.h - a growing text buffer for the report writers (CSV, JSONL, YAML,
 * HTML).  The buffer owns its memory; ob_sbuf_free releases it.  An
 * allocation failure is sticky: later appends do nothing and oom stays set,
 * so a writer checks once at the end instead of after every append. */
#ifndef OB_REPORT_SBUF_H
#define OB_REPORT_SBUF_H
#include <stddef.h>

typedef struct ob_sbuf {
    char *s;       /* len bytes plus a NUL; NULL until the first append */
    size_t len, cap;
    int oom;       /* 1 once an allocation failed                        */
} ob_sbuf;

void ob_sbuf_add(ob_sbuf *b, const char *s, size_t n);
void ob_sbuf_puts(ob_sbuf *b, const char *s);
void ob_sbuf_putc(ob_sbuf *b, char c);
void ob_sbuf_printf(ob_sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Appends s with & < > " ' replaced by their HTML entities. */
void ob_sbuf_html(ob_sbuf *b, const char *s);
/* Appends the shortest decimal text that reads back as v ("nan", "inf" and
 * "-inf" for the non-finite values, as Python prints them). */
void ob_sbuf_double(ob_sbuf *b, double v);
void ob_sbuf_free(ob_sbuf *b);

#endif
