/* test_pool.c - the thread pool: every task runs exactly once per job, jobs
 * posted right after creation are not lost (a past startup race), more
 * threads than cores finish, and results do not depend on the pool size. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "optibench.h"

typedef struct {
    atomic_int *hits;
    atomic_long sum;
} job;

static void task(void *arg, int i, int n) {
    job *j = arg;
    atomic_fetch_add(&j->hits[i], 1);
    atomic_fetch_add(&j->sum, (long)i * n);
}

int main(void) {
    ob_err err = {0};
    atomic_int hits[257];
    int bad = 0, runs = 0;
    for (int size = 1; size <= 4; size++) {
        for (int rep = 0; rep < 50; rep++) {
            ob_pool *p;
            CHECK_OK(ob_pool_new(size, &p, &err), &err);
            if (!p) continue;
            /* post jobs immediately after creation, of many sizes */
            for (int n = 1; n <= 257; n += 16 + rep % 7) {
                job j = {hits, 0};
                for (int i = 0; i < n; i++) atomic_store(&hits[i], 0);
                ob_pool_run(p, task, &j, n);
                long want = 0;
                for (int i = 0; i < n; i++) {
                    if (atomic_load(&hits[i]) != 1) bad++;
                    want += (long)i * n;
                }
                if (atomic_load(&j.sum) != want) bad++;
                runs++;
            }
            CHECK(ob_pool_size(p) == size, "pool size %d, asked %d", ob_pool_size(p), size);
            ob_pool_free(p);
        }
    }
    printf("pool: %d jobs over pools of 1-4 threads, %d bad\n", runs, bad);
    CHECK(bad == 0, "%d jobs ran a task other than exactly once", bad);
    ob_pool *p;
    CHECK(ob_pool_new(100000, &p, &err) == OB_EINVAL, "absurd thread count accepted");
    ob_pool_free(NULL);
    return CHECK_DONE("test_pool");
}
