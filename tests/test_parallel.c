/* The thread pool of io/parallel.c: every range runs once with the split the header promises,
 * on distinct threads; a call from inside a task runs in its caller; thousands of jobs in a
 * row all finish (no wake-up is lost); calls from two threads at once both complete. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "io/parallel.h"

enum { M = 1000 };

typedef struct {
    atomic_int hits[M];
    int q0[MLI_PARALLEL_MAX], q1[MLI_PARALLEL_MAX];
    pthread_t self[MLI_PARALLEL_MAX];
    int nested; /* tasks call the pool again */
    atomic_int inner;
} job;

static void count(void *ctx, int q0, int q1, int t)
{
    job *j = ctx;
    for (int i = q0; i < q1; i++)
        atomic_fetch_add(&j->inner, 1);
}

static void task(void *ctx, int q0, int q1, int t)
{
    job *j = ctx;
    j->q0[t] = q0;
    j->q1[t] = q1;
    j->self[t] = pthread_self();
    for (int i = q0; i < q1; i++)
        atomic_fetch_add(&j->hits[i], 1);
    if (j->nested)
        mli_parallel_tasks(10, 3, count, j);
}

static void run_and_check(int nt, int nested)
{
    static job j;
    memset(&j, 0, sizeof j);
    j.nested = nested;
    int want = nt > MLI_PARALLEL_MAX ? MLI_PARALLEL_MAX : nt;
    assert_int_equal(mli_parallel_tasks(M, nt, task, &j), want);
    nt = want;
    for (int i = 0; i < M; i++)
        assert_int_equal(atomic_load(&j.hits[i]), 1);
    for (int t = 0; t < nt; t++) {
        assert_int_equal(j.q0[t], M * t / nt);
        assert_int_equal(j.q1[t], M * (t + 1) / nt);
        for (int u = 0; u < t; u++)
            assert_false(pthread_equal(j.self[t], j.self[u]));
    }
    assert_int_equal(atomic_load(&j.inner), nested ? 10 * nt : 0);
}

static void test_ranges(void **state)
{
    (void)state;
    for (int nt = 1; nt <= MLI_PARALLEL_MAX; nt++)
        run_and_check(nt, 0);
    run_and_check(MLI_PARALLEL_MAX + 3, 0); /* clamped: nt = MLI_PARALLEL_MAX ranges */
}

static void test_nested(void **state)
{
    (void)state;
    run_and_check(2, 1);
    run_and_check(4, 1);
}

static void add_one(void *ctx, int q0, int q1, int t)
{
    atomic_fetch_add((atomic_long *)ctx, q1 - q0);
}

static void test_many_jobs(void **state)
{
    (void)state;
    atomic_long n = 0;
    for (int k = 0; k < 20000; k++)
        mli_parallel_tasks(3 + k % 5, 2 + k % 3, add_one, &n);
    long want = 0;
    for (int k = 0; k < 20000; k++)
        want += 3 + k % 5;
    assert_int_equal(atomic_load(&n), want);
}

static void *caller(void *p)
{
    for (int k = 0; k < 2000; k++)
        mli_parallel_tasks(4, 2, add_one, p);
    return NULL;
}

static void test_two_callers(void **state)
{
    (void)state;
    atomic_long n = 0;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, caller, &n), 0);
    caller(&n);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&n), 2 * 2000 * 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_many_jobs),
        cmocka_unit_test(test_two_callers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
