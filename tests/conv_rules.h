/* Every rule of one Conv node run directly (mli_opctx), by the Winograd path and by im2col
 * (mli_conv_set_winograd), for tests/test_conv_dbl.c and tests/test_conv.c: forward, backward
 * (input gradient alone, and with the parameter gradients), hoist, Taylor mode, the R-op's
 * forward (with and without an R block) and backward (its dX block). The results of all of
 * them go one after the other into one vector, compared path against path. */
#ifndef MLI_CONV_RULES_H
#define MLI_CONV_RULES_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_naive.h"
#include "io/err.h"
#include "nn/net.h"
#include "nn/op.h"

int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);

typedef struct {
    naive_conv q; /* stride, dilation, groups 1, 3×3 */
    int B;
} wino_case;

typedef struct {
    mli_arch a;
    int B;
    size_t ni, no, np;       /* per-example input and output, parameters */
    mli_real *th, *dir, *x, *dy; /* x and dy: three blocks each */
    mli_ws *ws;
} conv_rules;

static int conv_rules_make(conv_rules *r, const wino_case *w, uint64_t seed)
{
    const naive_conv *q = &w->q;
    int shape[3] = {q->C, q->H, q->W}, in = MLI_GRAPH_INPUT;
    int at[13] = {q->K, q->kh, q->kw, q->sh, q->sw, q->p[0], q->p[1], q->p[2], q->p[3], q->dh, q->dw, q->g, q->bias};
    mli_graph_begin(&r->a, shape, 3, MLI_LOSS_MSE);
    if (mli_graph_add_attrs(&r->a, &mli_op_conv, &in, 1, at, 13, NULL, 0, "c") < 0 || mli_graph_end(&r->a))
        return -1;
    r->B = w->B;
    r->ni = r->a.input_size;
    r->no = (size_t)r->a.nout;
    r->np = r->a.nparams;
    r->th = malloc(sizeof(mli_real) * r->np);
    r->dir = malloc(sizeof(mli_real) * r->np);
    r->x = malloc(sizeof(mli_real) * 3 * r->B * r->ni);
    r->dy = malloc(sizeof(mli_real) * 3 * r->B * r->no);
    tu_fill_uniform(r->th, r->np, -1, 1, seed);
    tu_fill_uniform(r->dir, r->np, -1, 1, seed + 1);
    tu_fill_uniform(r->x, 3 * r->B * r->ni, -1, 1, seed + 2);
    tu_fill_uniform(r->dy, 3 * r->B * r->no, -1, 1, seed + 3);
    r->ws = mli_ws_new(&r->a, 3 * r->B);
    return 0;
}

static void conv_rules_free(conv_rules *r)
{
    free(r->th);
    free(r->dir);
    free(r->x);
    free(r->dy);
    mli_ws_free(r->ws);
}

/* reals conv_rules_run writes */
static size_t conv_rules_size(const conv_rules *r)
{
    size_t bi = r->B * r->ni, bo = r->B * r->no;
    return bo + bi + (bi + r->np) + bo + 3 * bo + 2 * bo + 2 * bo + (2 * bi + r->np);
}

static void conv_rules_run(const conv_rules *r, mli_real *out)
{
    const mli_node *n = &r->a.nodes[0];
    size_t bi = r->B * r->ni, bo = r->B * r->no;
    mli_opctx c = {.a = &r->a, .B = r->B, .mode = MLI_MODE_EVAL, .theta = r->th, .dir = r->dir, .work = r->ws->work};
    c.x[0] = r->x;
    c.y = out; /* forward */
    n->op->forward(n, &c);
    out += bo;
    c.dy = r->dy; /* the input gradient alone */
    c.dx[0] = out;
    n->op->backward(n, &c);
    out += bi;
    c.dx[0] = out; /* with the parameter gradients */
    c.grad = out + bi;
    n->op->backward(n, &c);
    out += bi + r->np;
    c.grad = NULL;
    c.y = out; /* hoist */
    n->op->hoist(n, &c);
    out += bo;
    c.y = out; /* Taylor mode, three blocks */
    n->op->tangent(n, &c);
    out += 3 * bo;
    c.has_r[0] = 1; /* the R-op's forward, with an R block and without */
    c.y = out;
    n->op->rop_forward(n, &c);
    out += 2 * bo;
    c.has_r[0] = 0; /* (R{Y} = U*X + u_b still) */
    c.y = out;
    n->op->rop_forward(n, &c);
    out += 2 * bo;
    c.has_r[0] = 1; /* the R-op's backward: [R{dX}; dX] and R{∇θ} */
    c.dx[0] = out;
    c.want_dx[0] = 1;
    c.grad = out + 2 * bi;
    n->op->rop_backward(n, &c);
}

/* the largest |a − b| over the largest |b|; *same: whether a and b are equal bit for bit */
static double conv_rules_diff(const mli_real *a, const mli_real *b, size_t n, int *same)
{
    double e = 0, m = 0;
    *same = 1;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
        *same &= a[i] == b[i];
    }
    return e / m;
}

/* Every rule by both paths, for both Winograd tiles, agrees to tol[0] (F(2×2)) or tol[1]
 * (F(4×4)), relative to the largest value, and differs in rounding somewhere (so the Winograd
 * path did run); every rule is the same bit for bit on one BLAS thread and on three (the GEMMs
 * of a convolution run at one BLAS thread, one group of chunks too), and the rules leave BLAS
 * at its three threads. MLI_TEST_VERBOSE=1 prints the differences. */
static void conv_rules_check(const wino_case *cases, int ncases, const double tol[2])
{
    int on = mli_conv_winograd(), tile = mli_conv_winograd_tile(), nt = openblas_get_num_threads();
    for (int t = 0; t < ncases; t++) {
        conv_rules r;
        if (conv_rules_make(&r, &cases[t], 500 + 10 * (uint64_t)t))
            fail_msg("case %d: %s", t, mli_errmsg());
        size_t n = conv_rules_size(&r);
        mli_real *w = malloc(sizeof(mli_real) * n), *w3 = malloc(sizeof(mli_real) * n);
        mli_real *i = malloc(sizeof(mli_real) * n);
        openblas_set_num_threads(1);
        mli_conv_set_winograd(0);
        conv_rules_run(&r, i);
        for (int m = 2; m <= 4; m += 2) {
            openblas_set_num_threads(1);
            mli_conv_set_winograd(2);
            mli_conv_set_winograd_tile(m);
            conv_rules_run(&r, w);
            openblas_set_num_threads(3);
            conv_rules_run(&r, w3);
            int after = openblas_get_num_threads();
            openblas_set_num_threads(nt);
            mli_conv_set_winograd(on);
            mli_conv_set_winograd_tile(tile);
            int same, same3;
            double e = conv_rules_diff(w, i, n, &same), tl = tol[m / 4];
            conv_rules_diff(w3, w, n, &same3);
            if (getenv("MLI_TEST_VERBOSE"))
                printf("  F(%d×%d) case %d: relative difference %.3g\n", m, m, t, e);
            if (after != 3)
                fail_msg("Winograd case %d: BLAS left at %d threads, not 3", t, after);
            if (!(e < tl) || same || !same3)
                fail_msg("Winograd F(%d×%d) case %d (C %d, %d×%d, K %d, pads %d %d %d %d, B %d): relative "
                         "difference %.3g (tolerance %.3g), %s im2col's, %s on three threads",
                         m, m, t, cases[t].q.C, cases[t].q.H, cases[t].q.W, cases[t].q.K, cases[t].q.p[0],
                         cases[t].q.p[1], cases[t].q.p[2], cases[t].q.p[3], cases[t].B, e, tl,
                         same ? "identical to" : "unlike", same3 ? "the same" : "not the same");
        }
        free(w);
        free(w3);
        free(i);
        conv_rules_free(&r);
    }
}

#endif
