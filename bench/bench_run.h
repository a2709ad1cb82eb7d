/* What the bench_* programs that time a run start from: its θ₀ and θ₁ (RUN_DIR's
 * init.safetensors and final.safetensors), Δ = θ₁ − θ₀ and FashionMNIST, and the choice of
 * parts on the command line. Header-only: each bench is one program. */
#ifndef MLI_BENCH_RUN_H
#define MLI_BENCH_RUN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "io/err.h"
#include "nn/model.h"

typedef struct {
    mli_arch a;
    mli_real *t0, *t1, *b0, *b1, *delta;
    mli_dataset ds;
} bench_run;

/* loads dir's run and the first n training images (0: all); prints prog's error and returns
 * nonzero on failure */
static int bench_run_load(const char *prog, const char *dir, int n, bench_run *r)
{
    char p0[4096], p1[4096];
    mli_arch a1;
    snprintf(p0, sizeof p0, "%s/init.safetensors", dir);
    snprintf(p1, sizeof p1, "%s/final.safetensors", dir);
    if (mli_model_load(p0, &r->a, &r->t0, &r->b0) || mli_model_load(p1, &a1, &r->t1, &r->b1) ||
        mli_dataset_load("fashionmnist", NULL, n, NULL, 0, &r->ds)) {
        fprintf(stderr, "%s: %s\n", prog, mli_errmsg());
        return 1;
    }
    r->delta = malloc(sizeof(mli_real) * r->a.nparams);
    for (size_t i = 0; i < r->a.nparams; i++)
        r->delta[i] = r->t1[i] - r->t0[i];
    return 0;
}

static void bench_run_free(bench_run *r)
{
    free(r->t0);
    free(r->t1);
    free(r->b0);
    free(r->b1);
    free(r->delta);
    mli_dataset_free(&r->ds);
}

/* 1 if the part `what` is named among argv[2 ..], or none is (all parts) */
static int bench_want(int argc, char **argv, const char *what)
{
    if (argc < 3)
        return 1;
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], what))
            return 1;
    return 0;
}

#endif
