/* pool.c - a thread pool created once and handed to every kernel.
 *
 * Decode calls the pool ~50 times per token, so dispatch must cost about a
 * microsecond: workers spin on a generation counter for a while after each
 * job and only then sleep on a condition variable.  The caller takes part in
 * the work, so a pool of n runs n-1 worker threads. */

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "optibench.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Waiting: spin with pause first (dispatch in ~100 ns when both threads are
 * on a core), then yield the CPU (so an oversubscribed machine still makes
 * progress), then sleep. */
enum { SPIN_ITERS = 1 << 14, YIELD_ITERS = 1 << 10 };

struct ob_pool {
    int n;                 /* threads including the caller */
    pthread_t *threads;    /* [n-1] */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_uint gen;       /* bumped once per job          */
    atomic_int next;       /* next task index to take      */
    atomic_int pending;    /* workers still in this job    */
    atomic_int sleepers;
    atomic_int stop;
    ob_task_fn fn;
    void *ctx;
    int n_tasks;
};

static void run_tasks(ob_pool *p) {
    for (;;) {
        int i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= p->n_tasks) break;
        p->fn(p->ctx, i, p->n_tasks);
    }
}

static void *worker(void *arg) {
    ob_pool *p = arg;
    unsigned seen = atomic_load(&p->gen);
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen) {
            if (atomic_load(&p->stop)) return NULL;
            if (++spins < SPIN_ITERS) {
                cpu_relax();
                continue;
            }
            if (spins < SPIN_ITERS + YIELD_ITERS) {
                sched_yield();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = atomic_load(&p->gen);
        run_tasks(p);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
}

int ob_pool_new(int n_threads, ob_pool **out, ob_err *err) {
    *out = NULL;
    if (n_threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = c > 0 ? (int)c : 1;
    }
    if (n_threads > 256) return ob_fail(err, OB_EINVAL, "thread pool: %d threads is too many", n_threads);
    ob_pool *p = calloc(1, sizeof *p);
    if (!p) return ob_fail(err, OB_ENOMEM, "thread pool: out of memory");
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (n_threads > 1) {
        p->threads = calloc((size_t)n_threads - 1, sizeof *p->threads);
        if (!p->threads) {
            ob_pool_free(p);
            return ob_fail(err, OB_ENOMEM, "thread pool: out of memory");
        }
        for (int i = 0; i < n_threads - 1; i++) {
            if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
                p->n = i + 1; /* join only those that started */
                ob_pool_free(p);
                return ob_fail(err, OB_EIO, "thread pool: cannot start thread %d", i + 1);
            }
        }
    }
    *out = p;
    return 0;
}

void ob_pool_free(ob_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    if (p->threads)
        for (int i = 0; i < p->n - 1; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p);
}

int ob_pool_size(const ob_pool *p) { return p ? p->n : 1; }

void ob_pool_run(ob_pool *p, ob_task_fn fn, void *ctx, int n_tasks) {
    if (n_tasks <= 0) return;
    if (!p || p->n == 1 || n_tasks == 1) {
        for (int i = 0; i < n_tasks; i++) fn(ctx, i, n_tasks);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    run_tasks(p);
    for (int spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++) {
        if (spins < SPIN_ITERS) cpu_relax();
        else sched_yield(); /* a worker was descheduled: let it run */
    }
}
