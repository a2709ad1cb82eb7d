/* Taylor mode against central differences of the interpolated forward pass (double build):
 * v ≈ (z(α+h) − z(α−h)) / 2h, a ≈ (z(α+h) − 2z(α) + z(α−h)) / h², and the same for ℓ and its
 * derivatives; every layer type and loss; the first-layer shortcut against the direct path;
 * closed forms for linear networks. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"
#include "nn/net.h"
#include "nn/taylor.h"

#ifndef MLI_DOUBLE
#error "double build only"
#endif

typedef struct {
    mli_arch a;
    mli_real *th0, *delta, *th, *bufs, *x, *t;
    int *y, B;
    mli_ws *ws;
    mli_tws *tws;
} fx;

static void fx_init(fx *f, mli_act act, int bn, mli_loss loss, int regression)
{
    int hc[] = {6, 5, 4}, hr[] = {6, 5, 7};
    assert_int_equal(mli_arch_init(&f->a, 7, loss == MLI_LOSS_RECON ? hr : hc, 3, act, bn, loss), 0);
    f->B = 5;
    size_t P = f->a.nparams;
    f->th0 = malloc(sizeof(mli_real) * P);
    f->delta = malloc(sizeof(mli_real) * P);
    f->th = malloc(sizeof(mli_real) * P);
    f->bufs = malloc(sizeof(mli_real) * (f->a.nbuffers + 1));
    tu_fill_uniform(f->th0, P, -0.7, 0.7, 3 + act + 10 * bn);
    tu_fill_uniform(f->delta, P, -0.9, 0.9, 4 + act);
    tu_fill_uniform(f->bufs, f->a.nbuffers, 0.4, 1.3, 5);
    f->x = malloc(sizeof(mli_real) * 7 * f->B);
    tu_fill_uniform(f->x, 7 * (size_t)f->B, -1, 1, 6);
    f->y = malloc(sizeof(int) * f->B);
    for (int i = 0; i < f->B; i++)
        f->y[i] = i % f->a.nout;
    f->t = NULL;
    if (regression) {
        f->t = malloc(sizeof(mli_real) * f->B * f->a.nout);
        tu_fill_uniform(f->t, (size_t)f->B * f->a.nout, -1, 1, 8);
    }
    f->ws = mli_ws_new(&f->a, f->B);
    f->tws = mli_tws_new(&f->a, f->B);
}

static void fx_free(fx *f)
{
    free(f->th0);
    free(f->delta);
    free(f->th);
    free(f->bufs);
    free(f->x);
    free(f->y);
    free(f->t);
    mli_ws_free(f->ws);
    mli_tws_free(f->tws);
}

static void interp(fx *f, double alpha)
{
    for (size_t i = 0; i < f->a.nparams; i++)
        f->th[i] = f->th0[i] + alpha * f->delta[i];
}

/* z(α) into out[B×k]; returns Σℓ */
static double forward_at(fx *f, double alpha, mli_real *out)
{
    interp(f, alpha);
    const mli_real *Z = mli_net_forward(&f->a, f->th, f->bufs, f->ws, f->x, f->B, MLI_MODE_EVAL);
    memcpy(out, Z, sizeof(mli_real) * f->B * f->a.nout);
    const mli_real *T = f->a.loss == MLI_LOSS_RECON ? f->x : f->t;
    return mli_loss_eval(f->a.loss, Z, f->B, f->a.nout, f->y, T, NULL, NULL, NULL);
}

static double max_abs(const double *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* Relative errors of v, a, dℓ, d²ℓ against central differences at α. */
static void check_case(mli_act act, int bn, mli_loss loss, int regression, double alpha, int use_pre)
{
    fx f;
    fx_init(&f, act, bn, loss, regression);
    int B = f.B, k = f.a.nout;
    size_t n = (size_t)B * k;
    mli_real *zp = malloc(sizeof(mli_real) * n), *zm = malloc(sizeof(mli_real) * n), *z0 = malloc(sizeof(mli_real) * n);
    const double h = 1e-4;
    double lp = forward_at(&f, alpha + h, zp), lm = forward_at(&f, alpha - h, zm), l0 = forward_at(&f, alpha, z0);
    mli_real *P0 = NULL, *P1 = NULL;
    if (use_pre) {
        P0 = malloc(sizeof(mli_real) * B * f.a.layers[0].out);
        P1 = malloc(sizeof(mli_real) * B * f.a.layers[0].out);
        mli_taylor_first_layer(&f.a, f.th0, f.delta, f.x, B, P0, P1);
    }
    interp(&f, alpha);
    const mli_real *Z = mli_net_tangent(&f.a, f.th, f.delta, f.bufs, f.tws, f.x, B, P0, P1, alpha);
    double *ev = malloc(sizeof(double) * n), *ea = malloc(sizeof(double) * n);
    double *fv = malloc(sizeof(double) * n), *fa = malloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++) {
        assert_float_equal(Z[i], z0[i], 1e-12);
        ev[i] = Z[n + i];
        ea[i] = Z[2 * n + i];
        fv[i] = (zp[i] - zm[i]) / (2 * h);
        fa[i] = (zp[i] - 2 * z0[i] + zm[i]) / (h * h);
    }
    double dv = 0, da = 0;
    for (size_t i = 0; i < n; i++) {
        dv = fmax(dv, fabs(ev[i] - fv[i]));
        da = fmax(da, fabs(ea[i] - fa[i]));
    }
    double rv = dv / max_abs(fv, n), ra = da / max_abs(fa, n);
    double l[8], dl[8], gn[8], cv[8];
    const mli_real *T = loss == MLI_LOSS_RECON ? f.x : f.t;
    double lsum = mli_loss_tangent(loss, Z, B, k, f.y, T, l, dl, gn, cv, NULL);
    double sdl = 0, sd2 = 0;
    for (int i = 0; i < B; i++) {
        sdl += dl[i];
        sd2 += gn[i] + cv[i];
    }
    double fdl = (lp - lm) / (2 * h), fd2 = (lp - 2 * l0 + lm) / (h * h);
    /* central differences with h = 1e-4: truncation O(h²) ≈ 1e-8 relative for first
     * derivatives, rounding ε/h² ≈ 1e-8 for second derivatives */
    if (!(rv < 1e-6 && ra < 1e-5 && fabs(lsum - l0) < 1e-12 * fmax(1, fabs(l0)) && fabs(sdl - fdl) < 1e-6 * fmax(1, fabs(fdl)) &&
          fabs(sd2 - fd2) < 1e-5 * fmax(1, fabs(fd2))))
        fail_msg("act=%s bn=%d loss=%s pre=%d: v %.2g a %.2g dl %.10g/%.10g d2l %.10g/%.10g", mli_act_name(act), bn,
                 mli_loss_name(loss), use_pre, rv, ra, sdl, fdl, sd2, fd2);
    assert_true(max_abs(fa, n) > 1e-3 || act == MLI_ACT_IDENTITY || act == MLI_ACT_RELU);
    free(zp);
    free(zm);
    free(z0);
    free(ev);
    free(ea);
    free(fv);
    free(fa);
    free(P0);
    free(P1);
    fx_free(&f);
}

static void test_taylor_all_layers_and_losses(void **state)
{
    (void)state;
    const mli_act acts[] = {MLI_ACT_IDENTITY, MLI_ACT_RELU, MLI_ACT_TANH, MLI_ACT_SIGMOID};
    const mli_loss losses[] = {MLI_LOSS_CE, MLI_LOSS_MSE, MLI_LOSS_RECON};
    for (int ia = 0; ia < 4; ia++)
        for (int bn = 0; bn < 2; bn++)
            for (int il = 0; il < 3; il++)
                for (int pre = 0; pre < 2; pre++)
                    check_case(acts[ia], bn, losses[il], 0, 0.37, pre);
    check_case(MLI_ACT_TANH, 1, MLI_LOSS_MSE, 1, 0.81, 1);
}

/* A single linear layer: z(α) = (W₀ + αΔW)x + b₀ + αΔb is a straight line in α: a = 0. */
static void test_single_linear_layer_is_straight(void **state)
{
    (void)state;
    mli_arch a;
    int h[1] = {4};
    assert_int_equal(mli_arch_init(&a, 3, h, 1, MLI_ACT_RELU, 0, MLI_LOSS_MSE), 0);
    mli_real th[16], d[16], x[6];
    tu_fill_uniform(th, 16, -1, 1, 1);
    tu_fill_uniform(d, 16, -1, 1, 2);
    tu_fill_uniform(x, 6, -1, 1, 3);
    mli_tws *w = mli_tws_new(&a, 2);
    const mli_real *Z = mli_net_tangent(&a, th, d, NULL, w, x, 2, NULL, NULL, 0);
    for (int i = 0; i < 8; i++)
        assert_float_equal(Z[16 + i], 0, 1e-15);
    mli_tws_free(w);
}

/* Two linear layers (identity activation): z(α) = W2(α)(W1(α)x + b1(α)) + b2(α) is quadratic
 * in α with a = 2 ΔW2 (ΔW1 x + Δb1), constant along the path. */
static void test_two_layer_linear_closed_form(void **state)
{
    (void)state;
    mli_arch a;
    int h[2] = {3, 2};
    assert_int_equal(mli_arch_init(&a, 2, h, 2, MLI_ACT_IDENTITY, 0, MLI_LOSS_MSE), 0);
    size_t P = a.nparams;
    mli_real *th0 = malloc(sizeof(mli_real) * P), *d = malloc(sizeof(mli_real) * P), *th = malloc(sizeof(mli_real) * P);
    tu_fill_uniform(th0, P, -1, 1, 7);
    tu_fill_uniform(d, P, -1, 1, 8);
    mli_real x[2] = {0.3, -0.8};
    const mli_real *W1 = d, *b1 = d + 6, *W2 = d + 9;
    double u[3], expect[2];
    for (int j = 0; j < 3; j++)
        u[j] = W1[2 * j] * x[0] + W1[2 * j + 1] * x[1] + b1[j];
    for (int o = 0; o < 2; o++)
        expect[o] = 2 * (W2[3 * o] * u[0] + W2[3 * o + 1] * u[1] + W2[3 * o + 2] * u[2]);
    mli_tws *w = mli_tws_new(&a, 1);
    for (double al = 0; al <= 1.0; al += 0.25) {
        for (size_t i = 0; i < P; i++)
            th[i] = th0[i] + al * d[i];
        const mli_real *Z = mli_net_tangent(&a, th, d, NULL, w, x, 1, NULL, NULL, al);
        assert_float_equal(Z[4], expect[0], 1e-12);
        assert_float_equal(Z[5], expect[1], 1e-12);
    }
    mli_tws_free(w);
    free(th0);
    free(d);
    free(th);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taylor_all_layers_and_losses),
        cmocka_unit_test(test_single_linear_layer_is_straight),
        cmocka_unit_test(test_two_layer_linear_closed_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
