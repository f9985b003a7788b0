/* pool.c - a thread pool created once and handed to every kernel.
 *
 * Decode calls the pool ~50 times per token, so dispatch must cost about a
 * microsecond: workers spin on the job ticket for a while after each job,
 * then yield, and only then sleep on a condition variable.  The caller takes part in
 * the work, so a pool of n runs n-1 worker threads. */

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
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

/* Work is handed out through one 64-bit ticket: the job number in the high
 * half, the next task index in the low half.  A thread takes a task with a
 * compare-and-swap on the ticket, so a task is only ever taken from the job
 * it belongs to, and the caller waits for tasks done rather than for
 * workers: a worker that is asleep or descheduled simply takes nothing, and
 * the caller runs the rest itself. */
struct ob_pool {
    int n;                   /* threads including the caller */
    pthread_t *threads;      /* [n-1] */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    _Atomic uint64_t ticket; /* job << 32 | next task */
    atomic_int n_tasks;      /* tasks of the current job */
    atomic_int done;         /* tasks finished */
    atomic_int sleepers;
    atomic_int stop;
    ob_task_fn fn;           /* written before the job is published */
    void *ctx;
};

/* Takes and runs tasks of the job in the ticket until none is left; returns
 * that job's number. */
static uint32_t run_tasks(ob_pool *p) {
    for (;;) {
        uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
        int i = (int)(t & 0xffffffffu), n = atomic_load_explicit(&p->n_tasks, memory_order_relaxed);
        if (i >= n) return (uint32_t)(t >> 32);
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
                                                   memory_order_relaxed))
            continue;
        /* the ticket still named this job, which cannot finish before task i
         * does, so fn, ctx and n are this job's */
        p->fn(p->ctx, i, n);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

static void *worker(void *arg) {
    ob_pool *p = arg;
    uint32_t seen = 0; /* job 0 is the empty ticket the pool starts with; never read
                          the ticket here: a job posted before this thread ran would
                          be taken for seen and slept through */
    for (;;) {
        int spins = 0;
        while ((uint32_t)(atomic_load_explicit(&p->ticket, memory_order_acquire) >> 32) == seen) {
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
            while ((uint32_t)(atomic_load(&p->ticket) >> 32) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = run_tasks(p);
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
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->n_tasks, n_tasks, memory_order_relaxed);
    uint64_t job = (atomic_load(&p->ticket) >> 32) + 1;
    atomic_store_explicit(&p->ticket, job << 32, memory_order_seq_cst); /* publish */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    run_tasks(p);
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < n_tasks; spins++) {
        if (spins < SPIN_ITERS) cpu_relax();
        else sched_yield(); /* a worker holding a task was descheduled: let it run */
    }
}
