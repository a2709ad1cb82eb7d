/* Exact pieces of piecewise-linear networks (src/geometry/pieces.c), in the double build of
 * the engine: the pieces against the engine's own forward pass at θ(α) on a dense grid for
 * random networks of depth 1–3, kinks placed at known α by hand, an identity network and a
 * two-layer linear network against their closed forms, and the refusals. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/pieces.h"
#include "geometry/ppoly.h"
#include "io/err.h"
#include "nn/net.h"

typedef struct {
    mli_arch a;
    mli_real *t0, *t1, *th, *bufs;
    mli_ws *ws;
    mli_pwl pwl;
    mli_pwl_ws *pw;
} net;

static void net_init(net *n, int in, const int *h, int nh, mli_act act, uint64_t seed, double dscale)
{
    assert_int_equal(mli_arch_init(&n->a, in, h, nh, act, 0, MLI_LOSS_MSE), 0);
    size_t P = n->a.nparams;
    n->t0 = mli_malloc(sizeof(mli_real) * P);
    n->t1 = mli_malloc(sizeof(mli_real) * P);
    n->th = mli_malloc(sizeof(mli_real) * P);
    n->bufs = mli_calloc(n->a.nbuffers + 1, sizeof(mli_real));
    tu_fill_uniform(n->t0, P, -1, 1, seed);
    tu_fill_uniform(n->t1, P, -dscale, dscale, seed + 1000);
    n->ws = mli_ws_new(&n->a, 1);
    assert_int_equal(mli_pwl_from_arch(&n->a, n->t0, n->t1, &n->pwl), 0);
    n->pw = mli_pwl_ws_new(&n->pwl);
}

static void net_free(net *n)
{
    mli_pwl_ws_free(n->pw);
    mli_pwl_free(&n->pwl);
    mli_ws_free(n->ws);
    free(n->t0);
    free(n->t1);
    free(n->th);
    free(n->bufs);
}

/* The engine's outputs at θ(α) = θ₀ + α(θ₁ − θ₀). */
static const mli_real *engine_at(net *n, const mli_real *x, double alpha)
{
    for (size_t i = 0; i < n->a.nparams; i++)
        n->th[i] = n->t0[i] + alpha * (n->t1[i] - n->t0[i]);
    return mli_net_forward(&n->a, n->th, n->bufs, n->ws, x, 1, MLI_MODE_EVAL);
}

static const mli_pwl_path *sweep(net *n, const mli_real *x)
{
    int w1 = n->pwl.width[1];
    double *p = malloc(sizeof(double) * w1), *q = malloc(sizeof(double) * w1);
    mli_pwl_first_layer(&n->pwl, x, 1, p, q);
    const mli_pwl_path *pp = mli_pwl_sweep(&n->pwl, n->pw, p, q, NULL, 0);
    free(p);
    free(q);
    return pp;
}

/* Pieces against the engine on a grid of ng points plus every breakpoint's neighbourhood;
 * returns the largest relative error. */
static double compare_with_engine(net *n, const mli_real *x, const mli_pwl_path *pp, int ng)
{
    int k = pp->k;
    double z[64], worst = 0, scale = 1;
    for (int g = 0; g <= ng; g++) {
        double al = (double)g / ng;
        const mli_real *ze = engine_at(n, x, al);
        mli_pwl_path_eval(pp, al, z, NULL, NULL);
        for (int o = 0; o < k; o++)
            scale = fmax(scale, fabs(ze[o]));
        for (int o = 0; o < k; o++)
            worst = fmax(worst, fabs(z[o] - ze[o]) / scale);
    }
    for (int j = 1; j < pp->npieces; j++)
        for (int s = -1; s <= 1; s += 2) {
            double al = pp->brk[j] + s * 1e-7;
            const mli_real *ze = engine_at(n, x, al);
            mli_pwl_path_eval(pp, al, z, NULL, NULL);
            for (int o = 0; o < k; o++)
                worst = fmax(worst, fabs(z[o] - ze[o]) / scale);
        }
    return worst;
}

static void test_random_networks_against_engine(void **state)
{
    static const int shapes[][4] = {{3, 0, 0, 0}, {6, 3, 0, 0}, {7, 5, 3, 0}, {5, 6, 4, 2}};
    static const int nhs[] = {1, 2, 3, 4};
    long total_pieces = 0;
    for (int s = 0; s < 4; s++)
        for (int trial = 0; trial < 10; trial++) {
            net n;
            net_init(&n, 4, shapes[s], nhs[s], MLI_ACT_RELU, 100 * s + trial, 3.0);
            mli_real x[4];
            tu_fill_uniform(x, 4, -1, 1, 7 + trial);
            const mli_pwl_path *pp = sweep(&n, x);
            assert_true(pp->npieces >= 1);
            assert_true(pp->brk[0] == 0 && pp->brk[pp->npieces] == 1);
            for (int j = 0; j < pp->npieces; j++)
                assert_true(pp->brk[j] < pp->brk[j + 1]);
            double err = compare_with_engine(&n, x, pp, 2000);
            if (err > 1e-10)
                fail_msg("shape %d trial %d: pieces differ from the engine by %.3g (%d pieces)", s,
                         trial, err, pp->npieces);
            total_pieces += pp->npieces;
            net_free(&n);
        }
    /* The random networks do switch units, in every layer. */
    assert_true(total_pieces > 4 * 10 * 2);
}

/* One hidden layer, input x = 1: unit 0 has pre-activation 0.3 − α (switch at 0.3), unit 1
 * −0.8 + α (switch at 0.8), unit 2 0.5 + α (never). */
static void test_kinks_at_known_alpha(void **state)
{
    int h[2] = {3, 1};
    net n;
    net_init(&n, 1, h, 2, MLI_ACT_RELU, 1, 1.0);
    mli_pwl_free(&n.pwl);
    mli_pwl_ws_free(n.pw);
    /* layers.0: weight 3×1, bias 3; layers.2: weight 1×3, bias 1 */
    mli_real w0[3] = {0.3, -0.8, 0.5}, w1[3] = {-0.7, 0.2, 1.5};
    for (int i = 0; i < 3; i++) {
        n.t0[i] = w0[i];
        n.t1[i] = w1[i];
        n.t0[3 + i] = n.t1[3 + i] = 0;
    }
    mli_real v0[4] = {1, 2, 3, 0.5}, v1[4] = {2, 1, -1, 0};
    memcpy(n.t0 + 6, v0, sizeof v0);
    memcpy(n.t1 + 6, v1, sizeof v1);
    assert_int_equal(mli_pwl_from_arch(&n.a, n.t0, n.t1, &n.pwl), 0);
    n.pw = mli_pwl_ws_new(&n.pwl);
    mli_real x[1] = {1};
    const mli_pwl_path *pp = sweep(&n, x);
    assert_int_equal(pp->npieces, 3);
    assert_true(fabs(pp->brk[1] - 0.3) < 1e-15);
    assert_true(fabs(pp->brk[2] - 0.8) < 1e-15);
    /* On [0, 0.3]: units 0 and 2 on. z = (1 + α)(0.3 − α) + (3 − 4α)(0.5 + α) + 0.5 − 0.5α */
    double c[3];
    const double *z0 = pp->z;
    c[0] = 0.3 + 1.5 + 0.5;
    c[1] = 0.3 - 1 + 3 - 2 - 0.5;
    c[2] = -1 - 4;
    for (int m = 0; m < 3; m++)
        if (fabs(z0[m] - c[m]) > 1e-14)
            fail_msg("piece 0 coefficient %d: %.17g, want %.17g", m, z0[m], c[m]);
    assert_true(compare_with_engine(&n, x, pp, 1000) < 1e-13);
    net_free(&n);
}

/* Identity activations: no breakpoint, z one polynomial of degree L; for two layers it is
 * (W₂ + αΔW₂)((W₁ + αΔW₁)x + b₁ + αΔb₁) + b₂ + αΔb₂, checked at three α's through its
 * coefficients. */
static void test_identity_network_is_one_polynomial(void **state)
{
    int h[3] = {5, 4, 3};
    net n;
    net_init(&n, 4, h, 3, MLI_ACT_IDENTITY, 11, 2.0);
    mli_real x[4];
    tu_fill_uniform(x, 4, -1, 1, 3);
    const mli_pwl_path *pp = sweep(&n, x);
    assert_int_equal(pp->npieces, 1);
    assert_int_equal(pp->deg, 3);
    assert_true(compare_with_engine(&n, x, pp, 500) < 1e-12);
    net_free(&n);

    int h2[2] = {3, 2};
    net m;
    net_init(&m, 2, h2, 2, MLI_ACT_IDENTITY, 12, 2.0);
    mli_real x2[2] = {0.5, -1.5};
    pp = sweep(&m, x2);
    assert_int_equal(pp->npieces, 1);
    /* closed form, output 0: A(α) = W₁(α)x + b₁(α) (3 × linear), z₀ = W₂[0,:](α)·A(α) + b₂(α) */
    const mli_real *W1 = m.t0, *B1 = m.t0 + 6, *W2 = m.t0 + 9, *B2 = m.t0 + 15;
    const mli_real *V1 = m.t1, *C1 = m.t1 + 6, *V2 = m.t1 + 9, *C2 = m.t1 + 15;
    double want[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        double a0 = W1[2 * i] * x2[0] + W1[2 * i + 1] * x2[1] + B1[i];
        double a1 = (V1[2 * i] - W1[2 * i]) * x2[0] + (V1[2 * i + 1] - W1[2 * i + 1]) * x2[1] +
                    (C1[i] - B1[i]);
        double w0 = W2[i], w1 = V2[i] - W2[i];
        want[0] += w0 * a0;
        want[1] += w0 * a1 + w1 * a0;
        want[2] += w1 * a1;
    }
    want[0] += B2[0];
    want[1] += C2[0] - B2[0];
    for (int mm = 0; mm < 3; mm++)
        if (fabs(pp->z[mm] - want[mm]) > 1e-13)
            fail_msg("two-layer linear coefficient %d: %.17g, want %.17g", mm, pp->z[mm], want[mm]);
    net_free(&m);
}

static void test_refusals(void **state)
{
    mli_arch a;
    int h[2] = {3, 2};
    mli_real t[64] = {0};
    mli_pwl p;
    assert_int_equal(mli_arch_init(&a, 2, h, 2, MLI_ACT_RELU, 1, MLI_LOSS_MSE), 0);
    assert_int_equal(mli_pwl_from_arch(&a, t, t, &p), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "batch norm"));
    assert_int_equal(mli_arch_init(&a, 2, h, 2, MLI_ACT_TANH, 0, MLI_LOSS_MSE), 0);
    assert_int_equal(mli_pwl_from_arch(&a, t, t, &p), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "tanh"));
}

/* The Bernstein pre-test never says "no sign change" where there is one. */
static void test_may_change_sign(void **state)
{
    double up[3] = {-0.25, 0, 1}; /* α² − 0.25: root 0.5 */
    assert_int_equal(mli_poly_may_change_sign(up, 2, 0, 1), 1);
    assert_int_equal(mli_poly_may_change_sign(up, 2, 0.6, 1), 0);
    assert_int_equal(mli_poly_may_change_sign(up, 2, 0.5, 1), 0); /* zero at the left end */
    double pos[3] = {1, -1, 1};
    assert_int_equal(mli_poly_may_change_sign(pos, 2, 0, 1), 0);
    mli_real r[4];
    for (int trial = 0; trial < 2000; trial++) {
        double c[4];
        tu_fill_uniform(r, 4, -1, 1, 500 + trial);
        for (int m = 0; m < 4; m++)
            c[m] = r[m];
        double roots[3];
        int nr = mli_poly_roots(c, 3, 0.2, 0.9, roots, 3);
        if (nr > 0 && !mli_poly_may_change_sign(c, 3, 0.2, 0.9))
            fail_msg("trial %d: %d roots inside, Bernstein test says none", trial, nr);
    }
}

/* The second layer computed for a batch by GEMMs (mli_pwl_second_layer) starts every sweep
 * where the per-input computation does: the same breakpoints and coefficients. */
static void test_batched_second_layer(void **state)
{
    int h[3] = {7, 5, 3};
    net n;
    net_init(&n, 4, h, 3, MLI_ACT_RELU, 77, 3.0);
    enum { B = 9 };
    mli_real X[B * 4];
    tu_fill_uniform(X, B * 4, -1, 1, 99);
    double P[B * 7], Q[B * 7], H1[3 * B * 5];
    mli_pwl_first_layer(&n.pwl, X, B, P, Q);
    mli_pwl_second_layer(&n.pwl, P, Q, B, H1);
    mli_pwl_ws *w2 = mli_pwl_ws_new(&n.pwl);
    for (int i = 0; i < B; i++) {
        const mli_pwl_path *a = mli_pwl_sweep(&n.pwl, n.pw, P + 7 * i, Q + 7 * i, NULL, 0);
        const mli_pwl_path *b = mli_pwl_sweep(&n.pwl, w2, P + 7 * i, Q + 7 * i, H1 + 5 * i, (size_t)B * 5);
        assert_int_equal(a->npieces, b->npieces);
        for (int j = 0; j <= a->npieces; j++)
            assert_true(fabs(a->brk[j] - b->brk[j]) <= 1e-12);
        for (int c = 0; c < a->npieces * a->k * (a->deg + 1); c++)
            if (fabs(a->z[c] - b->z[c]) > 1e-10 * (1 + fabs(a->z[c])))
                fail_msg("input %d coefficient %d: %.17g vs %.17g", i, c, a->z[c], b->z[c]);
    }
    mli_pwl_ws_free(w2);
    net_free(&n);
}

/* Screening (docs/exact.md) never misses a switch: on networks whose second-layer units are
 * made to touch 0 nearly tangentially (each unit's bias set to minus its extremum on the path,
 * nudged by a few ulps either way, so that it has two close roots or none), the screened sweep
 * gives the unscreened one's pieces bit for bit, while examining far fewer units. Three and
 * four Linear layers (the second layer's screening with and without layers after it). */
static void test_screening_misses_no_root(void **state)
{
    static const int shapes[2][4] = {{24, 16, 2, 0}, {24, 16, 6, 2}};
    long exam[2] = {0, 0}, pieces = 0, tangent = 0;
    for (int s = 0; s < 2; s++)
        for (int trial = 0; trial < 12; trial++) {
            net n;
            net_init(&n, 3, shapes[s], s == 0 ? 3 : 4, MLI_ACT_RELU, 9000 + 50 * s + trial, 3.0);
            mli_real x[3];
            tu_fill_uniform(x, 3, -1, 1, 31 + trial);
            int w1 = n.pwl.width[1], w2 = n.pwl.width[2];
            double p[24], q[24];
            mli_real nudge[1];
            mli_pwl_first_layer(&n.pwl, x, 1, p, q);
            enum { NG = 4001 };
            for (int o = 0; o < w2; o++) { /* unit o without bias on a fine grid: its extremum */
                const double *a = n.pwl.W0[1] + (size_t)o * w1, *b = n.pwl.dW[1] + (size_t)o * w1;
                double lo = INFINITY, hi = -INFINITY;
                for (int g = 0; g < NG; g++) {
                    double al = 0.05 + 0.9 * g / (NG - 1), v = 0;
                    for (int j = 0; j < w1; j++) {
                        double h = p[j] + al * q[j];
                        v += h > 0 ? (a[j] + al * b[j]) * h : 0;
                    }
                    lo = fmin(lo, v);
                    hi = fmax(hi, v);
                }
                tu_fill_uniform(nudge, 1, -4, 4, 77 * trial + o);
                double e = o % 2 ? lo : hi; /* touch 0 at the minimum or at the maximum */
                n.pwl.b0[1][o] = -e * (1 + ldexp(nudge[0], -52));
                n.pwl.db[1][o] = 0;
            }
            mli_pwl_ws *ref = mli_pwl_ws_new(&n.pwl);
            mli_pwl_ws_screen(ref, 0);
            const mli_pwl_path *a = mli_pwl_sweep(&n.pwl, ref, p, q, NULL, 0);
            const mli_pwl_path *b = mli_pwl_sweep(&n.pwl, n.pw, p, q, NULL, 0);
            if (a->npieces != b->npieces)
                fail_msg("shape %d trial %d: %d pieces unscreened, %d screened", s, trial, a->npieces, b->npieces);
            assert_memory_equal(a->brk, b->brk, sizeof(double) * (a->npieces + 1));
            assert_memory_equal(a->layer, b->layer, sizeof(int) * (a->npieces + 1));
            assert_memory_equal(a->z, b->z, sizeof(double) * a->npieces * a->k * (a->deg + 1));
            for (int j = 1; j < a->npieces; j++) /* pieces where a second-layer unit switched */
                tangent += a->layer[j] == 1;
            exam[0] += a->nexam;
            exam[1] += b->nexam;
            pieces += a->npieces;
            mli_pwl_ws_free(ref);
            net_free(&n);
        }
    print_message("screening: %ld pieces, %ld second-layer switches, %ld examinations (unscreened %ld)\n", pieces, tangent, exam[1], exam[0]);
    /* the nets do switch second-layer units, and screening does skip most examinations */
    assert_true(tangent > 24 * 4);
    assert_true(pieces > 24 * 8);
    if (!(exam[1] < exam[0] / 2))
        fail_msg("screening examined %ld units, unscreened %ld", exam[1], exam[0]);
}

/* The outputs by rank-one changes (docs/exact.md, "The outputs of a piece") against the GEMMs on
 * every piece (mli_pwl_ws_rank1(w, 0)): the same breakpoints and switching layers bit for bit
 * (the outputs never steer the sweep), the coefficients to rounding, on wide random networks
 * of two, three and four Linear layers with about 180 pieces each, so that the changes of
 * first- and second-layer switches accumulate over many pieces. */
static void test_rank1_outputs_match_gemms(void **state)
{
    static const int shapes[3][4] = {{256, 5, 0, 0}, {256, 128, 5, 0}, {128, 96, 64, 4}};
    long pieces = 0, first = 0, second = 0;
    double worst = 0;
    for (int s = 0; s < 3; s++)
        for (int trial = 0; trial < 4; trial++) {
            net n;
            net_init(&n, 6, shapes[s], s + 2, MLI_ACT_RELU, 4000 + 20 * s + trial, 3.0);
            mli_real x[6];
            tu_fill_uniform(x, 6, -1, 1, 11 + trial);
            int w1 = n.pwl.width[1];
            double p[256], q[256];
            mli_pwl_first_layer(&n.pwl, x, 1, p, q);
            mli_pwl_ws *ref = mli_pwl_ws_new(&n.pwl);
            mli_pwl_ws_rank1(ref, 0);
            const mli_pwl_path *a = mli_pwl_sweep(&n.pwl, ref, p, q, NULL, 0);
            const mli_pwl_path *b = mli_pwl_sweep(&n.pwl, n.pw, p, q, NULL, 0);
            if (a->npieces != b->npieces)
                fail_msg("shape %d trial %d: %d pieces by GEMMs, %d by rank-one", s, trial, a->npieces, b->npieces);
            assert_memory_equal(a->brk, b->brk, sizeof(double) * (a->npieces + 1));
            assert_memory_equal(a->layer, b->layer, sizeof(int) * (a->npieces + 1));
            int kd = a->k * (a->deg + 1);
            for (int j = 0; j < a->npieces; j++) {
                double scale = 0;
                for (int c = 0; c < kd; c++)
                    scale = fmax(scale, fabs(a->z[(size_t)j * kd + c]));
                for (int c = 0; c < kd; c++) {
                    double e = fabs(a->z[(size_t)j * kd + c] - b->z[(size_t)j * kd + c]) / (scale + 1e-300);
                    worst = fmax(worst, e);
                    if (e > 1e-12)
                        fail_msg("shape %d trial %d piece %d coefficient %d: %.17g by GEMMs, %.17g by rank-one",
                                 s, trial, j, c, a->z[(size_t)j * kd + c], b->z[(size_t)j * kd + c]);
                }
            }
            for (int j = 1; j < a->npieces; j++) {
                first += a->layer[j] == 0;
                second += a->layer[j] == 1;
            }
            pieces += a->npieces;
            (void)w1;
            mli_pwl_ws_free(ref);
            net_free(&n);
        }
    print_message("rank-one outputs: %ld pieces (%ld after first-layer, %ld after second-layer switches), "
                  "largest difference %.3g of the piece's scale\n", pieces, first, second, worst);
    assert_true(first > 12 * 50);
    assert_true(second > 8 * 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_networks_against_engine),
        cmocka_unit_test(test_kinks_at_known_alpha),
        cmocka_unit_test(test_identity_network_is_one_polynomial),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_may_change_sign),
        cmocka_unit_test(test_batched_second_layer),
        cmocka_unit_test(test_screening_misses_no_root),
        cmocka_unit_test(test_rank1_outputs_match_gemms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
