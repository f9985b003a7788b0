/* check.h - the tiny test harness shared by tests/test_*.c.
 *
 * CHECK(cond, fmt, ...) counts one assertion and prints the message on
 * failure.  TEST_MAIN's runner prints "N passed, N failed" and exits non-zero
 * when anything failed, the closing line scripts/test.sh adds up. */
#ifndef OB_TESTS_CHECK_H
#define OB_TESTS_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_passed_, check_failed_;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            check_passed_++;                                                 \
        } else {                                                             \
            check_failed_++;                                                 \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);            \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
        }                                                                    \
    } while (0)

/* Asserts a call returned 0; prints its ob_err message otherwise. */
#define CHECK_OK(call, errp)                                                 \
    do {                                                                     \
        int rc_ = (call);                                                    \
        CHECK(rc_ == 0, "%s -> %d: %s", #call, rc_, (errp)->msg);           \
    } while (0)

static inline int check_report_(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_passed_, check_failed_);
    return check_failed_ ? 1 : 0;
}
#define CHECK_DONE(name) check_report_(name)

#endif
