/* Polynomials and continuous piecewise polynomials (src/geometry/ppoly.c): roots of products
 * of known factors, double and triple roots, roots against a dense sign scan of random
 * polynomials; bumps of hand-made curves with the answer written out (a bump narrower than
 * the 50-point grid, the running-minimum rule, a final rise, the tolerance) and of random
 * continuous curves against a dense grid. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/ppoly.h"
#include "geometry/pwlsum.h"

static void assert_close(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: got %.17g, want %.17g (|diff| %.3g > %.3g)", what, got, want,
                 fabs(got - want), tol);
}

static unsigned long long rng_state = 1;
static double urand(void) /* [0, 1) */
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* c = Π (α − r_i) (leading coefficient 1), degree n. */
static void from_roots(const double *r, int n, double *c)
{
    double t[MLI_POLY_MAXDEG + 1] = {1};
    int d = 0;
    for (int i = 0; i < n; i++) {
        double f[2] = {-r[i], 1};
        mli_poly_mul(t, d, f, 1, c);
        d++;
        memcpy(t, c, sizeof(double) * (d + 1));
    }
    memcpy(c, t, sizeof(double) * (d + 1));
}

static void test_poly_basics(void **state)
{
    double c[4] = {1, -2, 0, 3}; /* 1 − 2α + 3α³ */
    assert_close(mli_poly_eval(c, 3, 0.5), 1 - 1 + 0.375, 1e-15, "eval");
    double p, dp;
    mli_poly_eval2(c, 3, 0.5, &p, &dp);
    assert_close(p, 0.375, 1e-15, "eval2 value");
    assert_close(dp, -2 + 9 * 0.25, 1e-15, "eval2 derivative");
    double d[3];
    mli_poly_deriv(c, 3, d);
    assert_close(d[0], -2, 0, "d0");
    assert_close(d[1], 0, 0, "d1");
    assert_close(d[2], 9, 0, "d2");
    double z[4] = {1, 2, 0, 0};
    assert_int_equal(mli_poly_degree(z, 3), 1);
    double zero[3] = {0, 0, 0};
    assert_int_equal(mli_poly_degree(zero, 2), -1);
}

static void test_roots_known_factors(void **state)
{
    double r[5] = {0.9, 0.1, 0.45, 1.7, -0.3}; /* two outside (0,1) */
    double c[6], got[5];
    from_roots(r, 5, c);
    int n = mli_poly_roots(c, 5, 0, 1, got, 5);
    assert_int_equal(n, 3);
    assert_close(got[0], 0.1, 1e-14, "root 0.1");
    assert_close(got[1], 0.45, 1e-14, "root 0.45");
    assert_close(got[2], 0.9, 1e-14, "root 0.9");
    /* A sub-interval sees only its own roots. */
    n = mli_poly_roots(c, 5, 0.2, 0.5, got, 5);
    assert_int_equal(n, 1);
    assert_close(got[0], 0.45, 1e-14, "root in (0.2, 0.5)");
    /* Linear, and linear with its root outside. */
    double l[2] = {-0.25, 1};
    assert_int_equal(mli_poly_roots(l, 1, 0, 1, got, 1), 1);
    assert_close(got[0], 0.25, 0, "linear root");
    assert_int_equal(mli_poly_roots(l, 1, 0.3, 1, got, 1), 0);
    /* Constant and zero polynomials have no sign change. */
    double k[3] = {2, 0, 0};
    assert_int_equal(mli_poly_roots(k, 2, 0, 1, got, 1), 0);
}

static void test_roots_touching_and_multiple(void **state)
{
    double got[4], c[4];
    /* (α − 0.5)²(α − 0.2): the double root touches 0 without a sign change. */
    double r1[3] = {0.5, 0.5, 0.2};
    from_roots(r1, 3, c);
    int n = mli_poly_roots(c, 3, 0, 1, got, 4);
    assert_int_equal(n, 1);
    assert_close(got[0], 0.2, 1e-14, "simple root beside a double one");
    /* (α − 0.5)³ changes sign: found, to the accuracy a triple root allows (cube root of the
     * rounding of p near it). */
    double r2[3] = {0.5, 0.5, 0.5};
    from_roots(r2, 3, c);
    n = mli_poly_roots(c, 3, 0, 1, got, 4);
    assert_int_equal(n, 1);
    assert_close(got[0], 0.5, 1e-5, "triple root");
    /* An extremum just below 0 (two crossings 2e-6 apart) and just above (none). */
    double below[3] = {0.25 - 1e-12, -1, 1}, above[3] = {0.25 + 1e-12, -1, 1};
    n = mli_poly_roots(below, 2, 0, 1, got, 4);
    assert_int_equal(n, 2);
    assert_true(got[0] < 0.5 && got[1] > 0.5 && got[1] - got[0] < 1e-5);
    assert_int_equal(mli_poly_roots(above, 2, 0, 1, got, 4), 0);
    /* Bad input. */
    double nan[2] = {NAN, 1};
    assert_int_equal(mli_poly_roots(nan, 1, 0, 1, got, 4), -1);
    assert_int_equal(mli_poly_roots(c, 3, 1, 0, got, 4), -1);
}

/* Random polynomials with random real roots, plus a random quadratic factor without real
 * roots: every root in (0,1) found, none invented, each where a dense sign scan puts it. */
static void test_roots_random_against_sign_scan(void **state)
{
    rng_state = 42;
    for (int trial = 0; trial < 300; trial++) {
        int nr = 1 + trial % 8;
        double r[MLI_POLY_MAXDEG], c[MLI_POLY_MAXDEG + 1], q[3], cq[MLI_POLY_MAXDEG + 1];
        for (int i = 0; i < nr; i++)
            r[i] = -0.2 + 1.4 * urand();
        from_roots(r, nr, c);
        double m = urand() - 0.5; /* (α − m)² + s, s > 0 */
        q[0] = m * m + 0.01 + urand();
        q[1] = -2 * m;
        q[2] = 1;
        mli_poly_mul(c, nr, q, 2, cq);
        int deg = nr + 2;
        double got[MLI_POLY_MAXDEG];
        int n = mli_poly_roots(cq, deg, 0, 1, got, MLI_POLY_MAXDEG);
        int want = 0;
        for (int i = 0; i < nr; i++)
            want += r[i] > 1e-9 && r[i] < 1 - 1e-9;
        /* Roots that nearly coincide may merge into a touch: count only separated sets. */
        int separated = 1;
        for (int i = 0; i < nr; i++)
            for (int j = i + 1; j < nr; j++)
                if (fabs(r[i] - r[j]) < 2e-2)
                    separated = 0;
        if (!separated)
            continue;
        if (n != want)
            fail_msg("trial %d: %d roots found, %d in (0,1)", trial, n, want);
        for (int k = 0; k < n; k++) {
            double best = 1e9;
            for (int i = 0; i < nr; i++)
                best = fmin(best, fabs(got[k] - r[i]));
            if (best > 1e-9)
                fail_msg("trial %d: root %.17g is %.3g from every true root", trial, got[k], best);
            if (k > 0 && !(got[k] > got[k - 1]))
                fail_msg("trial %d: roots not ascending", trial);
        }
    }
}

/* ---- Bumps ----------------------------------------------------------------------- */

static mli_cmono bumps_of(const double *brk, const double *coef, int n, int deg, double tol,
                          mli_cbump *b, int max)
{
    mli_ppoly p = {n, deg, brk, coef};
    mli_cmono m;
    assert_int_equal(mli_ppoly_bumps(&p, tol, &m, b, max), 0);
    return m;
}

static void test_bumps_monotone_and_parabola(void **state)
{
    double brk[2] = {0, 1};
    double line[2] = {1, -1};
    mli_cbump b[4];
    mli_cmono m = bumps_of(brk, line, 1, 1, 0, b, 4);
    assert_int_equal(m.nbumps, 0);
    assert_close(m.delta, 0, 0, "line delta");
    assert_close(m.first_rise, -1, 0, "line first rise");
    /* (α − 0.5)²: falls to 0 at 0.5, rises to 0.25 at 1; the bump stays open to the end. */
    double par[3] = {0.25, -1, 1};
    m = bumps_of(brk, par, 1, 2, 0, b, 4);
    assert_int_equal(m.nbumps, 1);
    assert_close(m.delta, 0.25, 1e-15, "parabola delta");
    assert_close(b[0].start, 0.5, 1e-15, "parabola bump start");
    assert_close(b[0].end, 1, 0, "parabola bump end");
    assert_close(b[0].peak, 1, 0, "parabola peak");
    assert_close(m.first_rise, 0.5, 1e-15, "parabola first rise");
    /* A rise of 1e-12 over the whole curve is within a tolerance of 1e-9: no bump, but Δ is
     * still the exact rise. */
    double up[2] = {1, 1e-12};
    m = bumps_of(brk, up, 1, 1, 1e-9, b, 4);
    assert_int_equal(m.nbumps, 0);
    assert_close(m.delta, 1e-12, 1e-15, "tiny rise delta");
    assert_close(m.first_rise, -1, 0, "tiny rise is no first rise");
    /* The same rise is a bump with tolerance 0 (l = 1 + 0.01α is never monotone). */
    double slow[2] = {1, 0.01};
    m = bumps_of(brk, slow, 1, 1, 1e-9, b, 4);
    assert_int_equal(m.nbumps, 1);
    assert_close(m.delta, 0.01, 1e-15, "slow rise delta");
    assert_close(m.first_rise, 0, 0, "slow rise starts at 0");
}

/* 1 − α with a tent on [0.29, 0.31] rising by 0.01 above the line's value at 0.29: the bump
 * starts at 0.29 (ℓ = 0.71), peaks at 0.30 (0.72), and ends where the descent from 0.72 to
 * 0.69 crosses 0.71, at 0.30 + 0.01/3. No point of the 50-point grid k/49 sees it. */
static void test_bumps_narrow_tent(void **state)
{
    double brk[5] = {0, 0.29, 0.30, 0.31, 1};
    double coef[4][2] = {{1, -1}, {0.71 - 0.29, 1}, {0.72 + 3 * 0.30, -3}, {1, -1}};
    mli_cbump b[4];
    mli_cmono m = bumps_of(brk, &coef[0][0], 4, 1, 1e-12, b, 4);
    assert_int_equal(m.nbumps, 1);
    assert_close(m.delta, 0.01, 1e-14, "tent height");
    assert_close(b[0].start, 0.29, 1e-15, "tent start");
    assert_close(b[0].peak, 0.30, 1e-15, "tent peak");
    assert_close(b[0].end, 0.30 + 0.01 / 3, 1e-14, "tent end");
    assert_close(m.first_rise, 0.29, 1e-15, "tent first rise");
    assert_close(m.delta_start, 0.29, 1e-15, "delta interval start");
    assert_close(m.delta_end, 0.30 + 0.01 / 3, 1e-14, "delta interval end");
    /* The 50-point grid is monotone on this curve. */
    mli_ppoly p = {4, 1, brk, &coef[0][0]};
    for (int i = 1; i < 50; i++)
        assert_true(mli_ppoly_eval(&p, i / 49.0) <= mli_ppoly_eval(&p, (i - 1) / 49.0));
}

/* The running-minimum rule: after a rise from 0.5 to 0.8 the curve falls to 0.6 (not below
 * 0.5) and climbs to 0.9: one bump of height 0.4 from 0.5. Then it falls to 0.2 (closing the
 * bump where it crosses 0.5) and rises to 0.3 at the end: a second bump of 0.1. */
static void test_bumps_running_minimum(void **state)
{
    double brk[7] = {0, 0.1, 0.2, 0.3, 0.4, 0.6, 1};
    double v[7] = {1.0, 0.5, 0.8, 0.6, 0.9, 0.2, 0.3};
    double coef[6][2];
    for (int j = 0; j < 6; j++) {
        double s = (v[j + 1] - v[j]) / (brk[j + 1] - brk[j]);
        coef[j][1] = s;
        coef[j][0] = v[j] - s * brk[j];
    }
    mli_cbump b[4];
    mli_cmono m = bumps_of(brk, &coef[0][0], 6, 1, 1e-12, b, 4);
    assert_int_equal(m.nbumps, 2);
    assert_close(b[0].start, 0.1, 1e-15, "first bump start");
    assert_close(b[0].height, 0.4, 1e-14, "first bump height");
    assert_close(b[0].peak, 0.4, 1e-15, "first bump peak");
    assert_close(b[0].end, 0.4 + 0.2 * (0.4 / 0.7), 1e-14, "first bump end (crossing 0.5)");
    assert_close(b[1].start, 0.6, 1e-15, "second bump start");
    assert_close(b[1].end, 1, 0, "second bump end");
    assert_close(b[1].height, 0.1, 1e-14, "second bump height");
    assert_close(m.delta, 0.4, 1e-14, "delta");
    assert_close(m.first_rise, 0.1, 1e-15, "first rise");
}

/* Random continuous piecewise polynomials (degree 1–6, 1–12 pieces): the exact Δ (largest
 * rise over the running minimum) is never below what a dense grid of 10⁵+1 points sees, and
 * exceeds it by at most what the grid can miss at a kink (two steps of the curve). */
static void test_bumps_random_against_dense_grid(void **state)
{
    rng_state = 7;
    enum { NG = 100001 };
    static double grid[NG];
    for (int trial = 0; trial < 200; trial++) {
        int n = 1 + trial % 12, deg = 1 + trial % 6;
        double brk[13], coef[12 * 7];
        brk[0] = 0;
        for (int j = 1; j < n; j++)
            brk[j] = brk[j - 1] + (1 - brk[j - 1]) * (0.1 + 0.5 * urand());
        brk[n] = 1;
        double prev = 1;
        for (int j = 0; j < n; j++) {
            double *c = coef + j * (deg + 1);
            for (int k = 0; k <= deg; k++)
                c[k] = 2 * urand() - 1;
            c[0] += prev - mli_poly_eval(c, deg, brk[j]); /* continuous at brk[j] */
            prev = mli_poly_eval(c, deg, brk[j + 1]);
        }
        mli_ppoly p = {n, deg, brk, coef};
        double runmin = INFINITY, gd = 0, scale = 0, step = 0;
        for (int i = 0; i < NG; i++) {
            grid[i] = mli_ppoly_eval(&p, (double)i / (NG - 1));
            runmin = fmin(runmin, grid[i]);
            gd = fmax(gd, grid[i] - runmin);
            scale = fmax(scale, fabs(grid[i]));
            if (i > 0)
                step = fmax(step, fabs(grid[i] - grid[i - 1]));
        }
        /* The tolerance covers the rounding of the values (the two pieces at a breakpoint
         * agree only to rounding). */
        mli_cmono m;
        mli_cbump b[64];
        assert_int_equal(mli_ppoly_bumps(&p, 1e-13 * fmax(scale, 1), &m, b, 64), 0);
        if (m.delta < gd - 1e-12 * scale)
            fail_msg("trial %d: exact delta %.17g below the dense grid's %.17g", trial, m.delta, gd);
        /* A peak or a minimum at a kink is missed by up to one grid step of the curve. */
        if (m.delta - gd > 2 * step + 1e-12 * scale)
            fail_msg("trial %d: exact delta %.17g, dense grid %.17g", trial, m.delta, gd);
        /* Each stored bump's height is the curve's rise from its start to its peak. */
        for (int k = 0; k < m.nbumps && k < 64; k++) {
            double h = mli_ppoly_eval(&p, b[k].peak) - mli_ppoly_eval(&p, b[k].start);
            if (fabs(h - b[k].height) > 1e-12 * fmax(scale, 1))
                fail_msg("trial %d bump %d: height %.17g, curve says %.17g", trial, k,
                         b[k].height, h);
            if (!(b[k].start < b[k].peak && b[k].peak <= b[k].end))
                fail_msg("trial %d bump %d: start %g peak %g end %g", trial, k, b[k].start,
                         b[k].peak, b[k].end);
        }
    }
}

static void test_bumps_bad_pieces(void **state)
{
    double brk[3] = {0, 0.5, 0.5}, coef[4] = {0, 1, 0, 1};
    mli_ppoly p = {2, 1, brk, coef};
    mli_cmono m;
    assert_int_equal(mli_ppoly_bumps(&p, 0, &m, NULL, 0), 2);
    p.n = 0;
    assert_int_equal(mli_ppoly_bumps(&p, 0, &m, NULL, 0), 2);
}

/* The sum of 50 random continuous piecewise polynomials, formed from sorted events, equals the
 * sum of their values everywhere (including right at breakpoints), and two accumulators
 * merged give the same sum as one. */
static void test_pwlsum_against_pointwise_sum(void **state)
{
    rng_state = 99;
    enum { NC = 50, DEG = 4 };
    double brk[NC][9], coef[NC][8 * (DEG + 1)];
    int np[NC];
    mli_pwlsum a, b;
    mli_pwlsum_init(&a, DEG);
    mli_pwlsum_init(&b, DEG);
    for (int c = 0; c < NC; c++) {
        np[c] = 1 + c % 8;
        brk[c][0] = 0;
        for (int j = 1; j < np[c]; j++)
            brk[c][j] = brk[c][j - 1] + (1 - brk[c][j - 1]) * (0.05 + 0.5 * urand());
        brk[c][np[c]] = 1;
        double prev = urand();
        for (int j = 0; j < np[c]; j++) {
            double *cf = coef[c] + j * (DEG + 1);
            for (int m = 0; m <= DEG; m++)
                cf[m] = 2 * urand() - 1;
            cf[0] += prev - mli_poly_eval(cf, DEG, brk[c][j]);
            prev = mli_poly_eval(cf, DEG, brk[c][j + 1]);
        }
        mli_pwlsum_add(c % 2 ? &a : &b, brk[c], coef[c], np[c], 0);
    }
    mli_pwlsum_merge(&a, &b);
    mli_ppoly sum;
    int n = mli_pwlsum_finish(&a, 1.0 / NC, &sum);
    assert_true(n > NC); /* the union of the breakpoints */
    for (int i = 0; i <= 2000; i++) {
        double al = i < 1000 ? i / 1000.0 : brk[i % NC][(i / NC) % (np[i % NC] + 1)];
        double want = 0;
        for (int c = 0; c < NC; c++) {
            mli_ppoly p = {np[c], DEG, brk[c], coef[c]};
            want += mli_ppoly_eval(&p, al);
        }
        want /= NC;
        assert_close(mli_ppoly_eval(&sum, al), want, 1e-12, "sum at alpha");
    }
    mli_pwlsum_free(&a);
    mli_pwlsum_free(&b);
}

/* Events are put in α order stably (equal α in the order they were added, so that the sum is
 * the same bits as a stable comparison sort gives), also when many breakpoints crowd one α:
 * 300 curves with breakpoints at shared values (0.25, 0.5 exactly) and within 10⁻⁹ of 0.7
 * (one bucket of the bucket sort holds far more than it sorts by insertion), besides random
 * ones. The finished events against a stable insertion sort of a copy, and the sum against the
 * pointwise sum. */
static void test_pwlsum_sorts_crowded_breakpoints_stably(void **state)
{
    rng_state = 7;
    enum { NC = 300, DEG = 2, E = DEG + 2 };
    static double brk[NC][6], coef[NC][5 * (DEG + 1)];
    mli_pwlsum a;
    mli_pwlsum_init(&a, DEG);
    for (int c = 0; c < NC; c++) {
        double b[4] = {0.25, 0.5, 0.7 + 1e-9 * urand(), 0.05 + 0.9 * urand()};
        for (int i = 1; i < 4; i++) /* ascending */
            for (int j = i; j > 0 && b[j - 1] > b[j]; j--) {
                double x = b[j];
                b[j] = b[j - 1];
                b[j - 1] = x;
            }
        brk[c][0] = 0;
        for (int j = 0; j < 4; j++)
            brk[c][j + 1] = b[j];
        brk[c][5] = 1;
        double prev = urand();
        for (int j = 0; j < 5; j++) {
            double *cf = coef[c] + j * (DEG + 1);
            for (int m = 0; m <= DEG; m++)
                cf[m] = 2 * urand() - 1;
            cf[0] += prev - mli_poly_eval(cf, DEG, brk[c][j]);
            prev = mli_poly_eval(cf, DEG, brk[c][j + 1]);
        }
        mli_pwlsum_add(&a, brk[c], coef[c], 5, 0);
    }
    size_t n = a.n;
    double *want = malloc(sizeof(double) * n * E), e[E];
    memcpy(want, a.ev, sizeof(double) * n * E);
    for (size_t i = 1; i < n; i++) { /* stable insertion sort by α */
        memcpy(e, want + i * E, sizeof e);
        size_t j = i;
        for (; j > 0 && want[(j - 1) * E] > e[0]; j--)
            memcpy(want + j * E, want + (j - 1) * E, sizeof e);
        memcpy(want + j * E, e, sizeof e);
    }
    mli_ppoly sum;
    mli_pwlsum_finish(&a, 1.0 / NC, &sum);
    assert_int_equal(a.n, n);
    assert_memory_equal(a.ev, want, sizeof(double) * n * E);
    for (int i = 0; i <= 1000; i++) {
        double al = i / 1000.0, v = 0;
        for (int c = 0; c < NC; c++) {
            mli_ppoly p = {5, DEG, brk[c], coef[c]};
            v += mli_ppoly_eval(&p, al);
        }
        assert_close(mli_ppoly_eval(&sum, al), v / NC, 1e-12, "sum at alpha");
    }
    free(want);
    mli_pwlsum_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poly_basics),
        cmocka_unit_test(test_roots_known_factors),
        cmocka_unit_test(test_roots_touching_and_multiple),
        cmocka_unit_test(test_roots_random_against_sign_scan),
        cmocka_unit_test(test_bumps_monotone_and_parabola),
        cmocka_unit_test(test_bumps_narrow_tent),
        cmocka_unit_test(test_bumps_running_minimum),
        cmocka_unit_test(test_bumps_random_against_dense_grid),
        cmocka_unit_test(test_bumps_bad_pieces),
        cmocka_unit_test(test_pwlsum_against_pointwise_sum),
        cmocka_unit_test(test_pwlsum_sorts_crowded_breakpoints_stably),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
