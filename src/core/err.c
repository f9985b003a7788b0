/* err.c - filling an ob_err. */
#include <stdarg.h>
#include <stdio.h>

#include "optibench.h"

int ob_fail(ob_err *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}
