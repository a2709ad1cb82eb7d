/* The data-set Hessian as an operator, and what Lanczos and Hutchinson make of it. */
#include "geometry/hessian.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>

#include "io/err.h"
#include "nn/net.h"

/* Machine epsilon of the engine: the HVPs are no more accurate than this. */
#define REAL_EPS (sizeof(mli_real) == sizeof(float) ? (double)FLT_EPSILON : DBL_EPSILON)

void mli_hessian_vp(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                    const mli_data *d, mli_hvp_ws *w, const double *u, double *hv)
{
    size_t n = a->nparams;
    for (size_t i = 0; i < n; i++) {
        w->u[i] = (mli_real)u[i];
        hv[i] = 0;
    }
    for (int i0 = 0; i0 < d->n; i0 += w->bmax) {
        int nb = d->n - i0 < w->bmax ? d->n - i0 : w->bmax;
        mli_batch b = mli_batch_rows(d, i0, nb);
        mli_net_hvp(a, theta, bufs, w, &b, w->u, w->hv);
        /* the chunk's HVP is of its MEAN loss: weight by its size */
        for (size_t i = 0; i < n; i++)
            hv[i] += nb * (double)w->hv[i];
    }
    for (size_t i = 0; i < n; i++)
        hv[i] /= d->n;
}

/* v ⟂ the nq rows of Q (orthonormal), by classical Gram–Schmidt twice; c: nq scratch.
 * Returns the total coefficient removed along the last row. */
static double orthogonalise(const double *Q, int nq, size_t n, double *v, double *c)
{
    double last = 0;
    for (int pass = 0; pass < 2; pass++) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, nq, (int)n, 1, Q, (int)n, v, 1, 0, c, 1);
        cblas_dgemv(CblasRowMajor, CblasTrans, nq, (int)n, -1, Q, (int)n, c, 1, 1, v, 1);
        last += c[nq - 1];
    }
    return last;
}

/* A Gaussian vector orthogonal to the nq rows of Q, normalised into q; 0 if nothing is
 * left of it (Q spans the space). */
static int random_direction(gsl_rng *r, const double *Q, int nq, size_t n, double *q, double *c)
{
    for (size_t i = 0; i < n; i++)
        q[i] = gsl_ran_ugaussian(r);
    double before = cblas_dnrm2((int)n, q, 1);
    if (nq)
        orthogonalise(Q, nq, n, q, c);
    double norm = cblas_dnrm2((int)n, q, 1);
    if (!(norm > 1e-8 * before))
        return 0;
    cblas_dscal((int)n, 1 / norm, q, 1);
    return 1;
}

/* The Lanczos recurrence: alpha[m], beta[m-1] of T; returns the steps taken (m unless the
 * whole space was spanned earlier). Q: m × n. */
static int lanczos_run(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                       const mli_data *d, mli_hvp_ws *w, int m, gsl_rng *r, double *Q,
                       double *alpha, double *beta, mli_hessian_cb cb, void *ctx)
{
    size_t n = a->nparams;
    double *v = mli_malloc(sizeof(double) * n), *c = mli_malloc(sizeof(double) * (size_t)m);
    double anorm = 0;
    int steps = 0;
    if (!random_direction(r, Q, 0, n, Q, c)) /* only for an all-zero draw */
        m = 0;
    for (int j = 0; j < m; j++) {
        double *q = Q + (size_t)j * n;
        mli_hessian_vp(a, theta, bufs, d, w, q, v);
        if (cb)
            cb(j + 1, m, ctx);
        /* Hq_j − Q Qᵀ Hq_j: removes α_j q_j and β_{j−1} q_{j−1}, and the rounding error
         * that would make the basis lose orthogonality */
        alpha[j] = orthogonalise(Q, j + 1, n, v, c);
        double b = cblas_dnrm2((int)n, v, 1);
        anorm = fmax(anorm, fabs(alpha[j]) + b + (j ? beta[j - 1] : 0));
        steps = j + 1;
        if (steps == m)
            break;
        if (b > 1e2 * REAL_EPS * anorm) {
            beta[j] = b;
            for (size_t i = 0; i < n; i++)
                q[n + i] = v[i] / b;
            continue;
        }
        /* breakdown: span(Q) is invariant, so is its complement; T splits into blocks */
        beta[j] = 0;
        if (!random_direction(r, Q, j + 1, n, q + n, c))
            break;
    }
    free(v);
    free(c);
    return steps;
}

int mli_hessian_lanczos(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                        const mli_data *d, mli_hvp_ws *w, int k, int iters, uint64_t seed,
                        double *eigs, double *eigs_min, mli_hessian_cb cb, void *ctx)
{
    size_t n = a->nparams;
    if (k < 1 || (size_t)k > n)
        return mli_err(MLI_EUSAGE, "lanczos: k = %d eigenvalues, expected 1 to %zu (the parameters)", k, n);
    long want = iters > 2L * k + 10 ? iters : 2L * k + 10;
    int m = (int)(want < (long)n ? want : (long)n);
    double *Q = mli_malloc(sizeof(double) * (size_t)m * n);
    double *alpha = mli_malloc(sizeof(double) * (size_t)m), *beta = mli_calloc((size_t)m, sizeof(double));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, (unsigned long)seed);
    int steps = lanczos_run(a, theta, bufs, d, w, m, r, Q, alpha, beta, cb, ctx);
    gsl_rng_free(r);
    free(Q);
    int info = steps ? LAPACKE_dstev(LAPACK_COL_MAJOR, 'N', steps, alpha, beta, NULL, 1) : 0;
    if (info == 0)
        for (int i = 0; i < k; i++) { /* dstev sorts ascending */
            eigs[i] = i < steps ? alpha[steps - 1 - i] : NAN;
            if (eigs_min)
                eigs_min[i] = i < steps ? alpha[i] : NAN;
        }
    free(alpha);
    free(beta);
    if (info)
        return mli_err(MLI_EFAIL, "lanczos: LAPACKE_dstev failed (info %d) on %d steps", info, steps);
    return MLI_OK;
}

double mli_hessian_trace(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                         const mli_data *d, mli_hvp_ws *w, int nsamples, uint64_t seed,
                         double *stderr_out, mli_hessian_cb cb, void *ctx)
{
    size_t n = a->nparams;
    double *z = mli_malloc(sizeof(double) * n), *hz = mli_malloc(sizeof(double) * n);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, (unsigned long)seed);
    double mean = 0, m2 = 0; /* Welford: no cancellation in the variance */
    for (int s = 0; s < nsamples; s++) {
        for (size_t i = 0; i < n; i++)
            z[i] = gsl_rng_uniform_int(r, 2) ? 1.0 : -1.0;
        mli_hessian_vp(a, theta, bufs, d, w, z, hz);
        double q = cblas_ddot((int)n, z, 1, hz, 1), delta = q - mean;
        mean += delta / (s + 1);
        m2 += delta * (q - mean);
        if (cb)
            cb(s + 1, nsamples, ctx);
    }
    gsl_rng_free(r);
    free(z);
    free(hz);
    if (stderr_out)
        *stderr_out = nsamples > 1 ? sqrt(m2 / (nsamples - 1) / nsamples) : NAN;
    return nsamples > 0 ? mean : NAN;
}
