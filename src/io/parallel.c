#include "io/parallel.h"

#include <pthread.h>

int openblas_get_num_threads(void);

typedef struct {
    void (*fn)(void *, int, int, int);
    void *ctx;
    int q0, q1, t;
} range;

static void *run_range(void *p)
{
    range *r = p;
    r->fn(r->ctx, r->q0, r->q1, r->t);
    return NULL;
}

int mli_parallel_threads(void)
{
    int nt = openblas_get_num_threads();
    return nt < 1 ? 1 : nt > MLI_PARALLEL_MAX ? MLI_PARALLEL_MAX : nt;
}

int mli_parallel_rows(int m, void (*fn)(void *ctx, int q0, int q1, int t), void *ctx)
{
    return mli_parallel_rows_n(m, openblas_get_num_threads(), fn, ctx);
}

int mli_parallel_rows_n(int m, int nt, void (*fn)(void *ctx, int q0, int q1, int t), void *ctx)
{
    nt = nt < 1 ? 1 : nt > MLI_PARALLEL_MAX ? MLI_PARALLEL_MAX : nt;
    return mli_parallel_tasks(m, m < 64 * nt ? 1 : nt, fn, ctx);
}

/* The worker threads are started once and sleep on a condition variable between jobs: a
 * thread start costs tens of microseconds, and the engine shares out every batch-norm,
 * activation and convolution pass of a minibatch (a hundred jobs a step). One job runs at a
 * time; a job started while another runs (from a worker, or from a second thread) runs its
 * ranges in the caller, in order, with the same split. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int started;           /* workers 1 .. started */
    unsigned long gen;     /* the job number */
    int busy, pending;     /* a job is running; its ranges not finished */
    range r[MLI_PARALLEL_MAX];
    int nt;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, {{0}}, 0};

static void *worker(void *p)
{
    int k = (int)(long)p;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (pool.gen == seen)
            pthread_cond_wait(&pool.go, &pool.mu);
        seen = pool.gen;
        if (k >= pool.nt)
            continue;
        range r = pool.r[k];
        pthread_mutex_unlock(&pool.mu);
        run_range(&r);
        pthread_mutex_lock(&pool.mu);
        if (--pool.pending == 0)
            pthread_cond_signal(&pool.done);
    }
    return NULL;
}

/* a forked child has no workers (its parent's are not copied) */
static void pool_after_fork(void)
{
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.go, NULL);
    pthread_cond_init(&pool.done, NULL);
    pool.started = pool.busy = pool.pending = 0;
}

/* workers 1 .. nt − 1 exist (as many as could be started); called with mu held */
static int pool_grow(int nt)
{
    static int atfork;
    if (!atfork && pthread_atfork(NULL, NULL, pool_after_fork) == 0)
        atfork = 1;
    while (pool.started + 1 < nt) {
        pthread_t th;
        if (pthread_create(&th, NULL, worker, (void *)(long)(pool.started + 1)))
            break;
        pthread_detach(th);
        pool.started++;
    }
    return pool.started + 1 < nt ? pool.started + 1 : nt;
}

int mli_parallel_tasks(int m, int nt, void (*fn)(void *ctx, int q0, int q1, int t), void *ctx)
{
    nt = nt < 1 ? 1 : nt > MLI_PARALLEL_MAX ? MLI_PARALLEL_MAX : nt;
    nt = nt > m && m > 0 ? m : nt;
    range r[MLI_PARALLEL_MAX];
    for (int t = 0; t < nt; t++)
        r[t] = (range){fn, ctx, (int)((long)m * t / nt), (int)((long)m * (t + 1) / nt), t};
    int nw = 1;
    if (nt > 1) {
        pthread_mutex_lock(&pool.mu);
        if (!pool.busy && (nw = pool_grow(nt)) > 1) {
            pool.busy = 1;
            pool.nt = nw;
            pool.pending = nw - 1;
            for (int k = 1; k < nw; k++)
                pool.r[k] = r[k];
            pool.gen++;
            pthread_cond_broadcast(&pool.go);
        }
        pthread_mutex_unlock(&pool.mu);
    }
    /* range 0 here, and every range no worker took */
    run_range(&r[0]);
    for (int t = nw; t < nt; t++)
        run_range(&r[t]);
    if (nw > 1) {
        pthread_mutex_lock(&pool.mu);
        while (pool.pending > 0)
            pthread_cond_wait(&pool.done, &pool.mu);
        pool.busy = 0;
        pthread_mutex_unlock(&pool.mu);
    }
    return nt;
}
