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

int mli_parallel_rows(int m, void (*fn)(void *ctx, int q0, int q1, int t), void *ctx)
{
    return mli_parallel_rows_n(m, openblas_get_num_threads(), fn, ctx);
}

int mli_parallel_rows_n(int m, int nt, void (*fn)(void *ctx, int q0, int q1, int t), void *ctx)
{
    nt = nt < 1 ? 1 : nt > MLI_PARALLEL_MAX ? MLI_PARALLEL_MAX : nt;
    return mli_parallel_tasks(m, m < 64 * nt ? 1 : nt, fn, ctx);
}

int mli_parallel_tasks(int m, int nt, void (*fn)(void *ctx, int q0, int q1, int t), void *ctx)
{
    nt = nt < 1 ? 1 : nt > MLI_PARALLEL_MAX ? MLI_PARALLEL_MAX : nt;
    nt = nt > m && m > 0 ? m : nt;
    range r[MLI_PARALLEL_MAX];
    pthread_t th[MLI_PARALLEL_MAX];
    int started[MLI_PARALLEL_MAX] = {0};
    for (int t = 0; t < nt; t++) {
        r[t] = (range){fn, ctx, (int)((long)m * t / nt), (int)((long)m * (t + 1) / nt), t};
        /* the last range runs here; a thread that cannot start runs here too */
        if (t + 1 < nt && pthread_create(&th[t], NULL, run_range, &r[t]) == 0)
            started[t] = 1;
    }
    for (int t = 0; t < nt; t++)
        if (!started[t])
            run_range(&r[t]);
    for (int t = 0; t + 1 < nt; t++)
        if (started[t])
            pthread_join(th[t], NULL);
    return nt;
}
