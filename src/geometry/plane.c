#include "geometry/plane.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "io/err.h"

static double ddot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* w ← w − ⟨w, e⟩ e */
static void remove_component(double *w, const double *e, size_t n)
{
    double c = ddot(w, e, n);
    for (size_t i = 0; i < n; i++)
        w[i] -= c * e[i];
}

static void set_dirs(mli_plane *p)
{
    size_t P = p->P;
    p->ud = mli_malloc(sizeof(double) * P);
    p->vd = mli_malloc(sizeof(double) * P);
    for (size_t i = 0; i < P; i++) {
        p->ud[i] = p->u[i];
        p->vd[i] = p->v[i];
    }
    p->g[0] = ddot(p->ud, p->ud, P);
    p->g[1] = ddot(p->ud, p->vd, P);
    p->g[2] = ddot(p->vd, p->vd, P);
}

int mli_plane_through(mli_plane *p, const mli_real *theta0, const mli_real *theta1,
                      const mli_real *theta_r, size_t P)
{
    memset(p, 0, sizeof *p);
    p->P = P;
    p->e1 = mli_malloc(sizeof(double) * P);
    p->e2 = mli_malloc(sizeof(double) * P);
    for (size_t i = 0; i < P; i++) {
        p->e1[i] = (double)theta1[i] - theta0[i];
        p->e2[i] = (double)theta_r[i] - theta0[i];
    }
    p->scale = sqrt(ddot(p->e1, p->e1, P));
    if (!(p->scale > 0))
        return mli_err(MLI_EFAIL, "plane: theta1 = theta0, there is no direction to slice along");
    for (size_t i = 0; i < P; i++)
        p->e1[i] /= p->scale;
    /* Gram–Schmidt twice ("twice is enough"): e₂ orthogonal to e₁ to rounding */
    double r0 = sqrt(ddot(p->e2, p->e2, P));
    remove_component(p->e2, p->e1, P);
    remove_component(p->e2, p->e1, P);
    double r = sqrt(ddot(p->e2, p->e2, P));
    if (!(r > 1e-6 * r0))
        return mli_err(MLI_EFAIL, "plane: the unrelated initialization lies on the line through theta0 and theta1");
    for (size_t i = 0; i < P; i++)
        p->e2[i] /= r;
    p->o = mli_malloc(sizeof(mli_real) * P);
    p->u = mli_malloc(sizeof(mli_real) * P);
    p->v = mli_malloc(sizeof(mli_real) * P);
    memcpy(p->o, theta0, sizeof(mli_real) * P);
    for (size_t i = 0; i < P; i++) {
        p->u[i] = theta1[i] - theta0[i]; /* exactly the main path's Δ, so row y = 0 is that path */
        p->v[i] = (mli_real)(p->scale * p->e2[i]);
    }
    set_dirs(p);
    return MLI_OK;
}

void mli_plane_from_dirs(mli_plane *p, const mli_real *o, const mli_real *u, const mli_real *v, size_t P)
{
    memset(p, 0, sizeof *p);
    p->P = P;
    p->o = mli_malloc(sizeof(mli_real) * P);
    p->u = mli_malloc(sizeof(mli_real) * P);
    p->v = mli_malloc(sizeof(mli_real) * P);
    memcpy(p->o, o, sizeof(mli_real) * P);
    memcpy(p->u, u, sizeof(mli_real) * P);
    memcpy(p->v, v, sizeof(mli_real) * P);
    set_dirs(p);
}

void mli_plane_free(mli_plane *p)
{
    free(p->o);
    free(p->u);
    free(p->v);
    free(p->ud);
    free(p->vd);
    free(p->e1);
    free(p->e2);
    memset(p, 0, sizeof *p);
}

void mli_plane_project(const mli_plane *p, const mli_real *theta, double *x, double *y, double *off)
{
    double bu = 0, bv = 0;
    for (size_t i = 0; i < p->P; i++) {
        double w = (double)theta[i] - p->o[i];
        bu += w * p->ud[i];
        bv += w * p->vd[i];
    }
    /* the 2 × 2 normal equations [uu uv; uv vv] (x, y) = (⟨w,u⟩, ⟨w,v⟩) */
    double det = p->g[0] * p->g[2] - p->g[1] * p->g[1];
    double cx = (p->g[2] * bu - p->g[1] * bv) / det, cy = (p->g[0] * bv - p->g[1] * bu) / det;
    if (off) {
        double s = 0;
        for (size_t i = 0; i < p->P; i++) {
            double r = (double)theta[i] - p->o[i] - cx * p->ud[i] - cy * p->vd[i];
            s += r * r;
        }
        *off = sqrt(s);
    }
    *x = cx;
    *y = cy;
}

void mli_plane_random_direction(const mli_arch *a, const mli_real *ref, gsl_rng *rng, int filter_norm,
                                mli_real *d)
{
    memset(d, 0, sizeof(mli_real) * a->nparams);
    double dn = 0, rn = 0;
    for (int t = 0; t < a->ntensors; t++) {
        const mli_tensor *T = &a->tensors[t];
        if (T->is_buffer || T->role != MLI_ROLE_WEIGHT)
            continue; /* biases and batch-norm parameters stay 0 */
        size_t len = T->numel / (size_t)T->shape[0]; /* a filter: one slice along the first dimension */
        for (int r = 0; r < T->shape[0]; r++) {
            mli_real *row = d + T->off + (size_t)r * len;
            const mli_real *ref_row = ref + T->off + (size_t)r * len;
            double s = 0, q = 0;
            for (size_t c = 0; c < len; c++) {
                double g = gsl_ran_gaussian_ziggurat(rng, 1);
                row[c] = (mli_real)g;
                s += g * g;
                q += (double)ref_row[c] * ref_row[c];
            }
            if (filter_norm) /* a filter of a fully connected layer is one row (one unit's weights) */
                for (size_t c = 0; c < len; c++)
                    row[c] = (mli_real)(row[c] * (s > 0 ? sqrt(q / s) : 0));
            dn += s;
            rn += q;
        }
    }
    if (!filter_norm && dn > 0)
        for (size_t i = 0; i < a->nparams; i++)
            d[i] = (mli_real)(d[i] * sqrt(rn / dn));
}

void mli_plane_nodes(double lo, double hi, int N, double *nodes)
{
    double h = N > 1 ? (hi - lo) / (N - 1) : 0;
    for (int i = 0; i < N; i++) {
        double x = lo + i * h, r = round(x);
        nodes[i] = fabs(x - r) <= 1e-9 * h ? r : x;
    }
}

/* [lo, hi] (containing 0) grown to N − 1 steps with 0 a node and, on the x axis (unit), 1 a node
 * as well when the grid is fine enough for a step of 1/m; the slack spread on both sides. */
static void snap_axis(double *lo, double *hi, int N, int unit)
{
    double span = *hi - *lo, m = floor((N - 2) / span);
    if (N < 3 || !(span > 0))
        return;
    double h = unit && m >= 1 ? 1 / m : span / (N - 2); /* one spare step for the rounding to nodes */
    double a = -ceil(-*lo / h - 1e-9) * h, b = a + (N - 1) * h;
    a -= floor((b - *hi) / (2 * h) + 1e-9) * h;
    *lo = a;
    *hi = a + (N - 1) * h;
}

void mli_plane_default_extent(const double *px, const double *py, int np, int N, double ext[4])
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < np; i++) {
        if (!isfinite(px[i]) || !isfinite(py[i]))
            continue;
        x0 = fmin(x0, px[i]);
        x1 = fmax(x1, px[i]);
        y0 = fmin(y0, py[i]);
        y1 = fmax(y1, py[i]);
    }
    if (!(x0 <= x1)) {
        x0 = y0 = -1;
        x1 = y1 = 1;
    }
    double margin = 0.15 * fmax(fmax(x1 - x0, y1 - y0), 0.5);
    ext[0] = x0 - margin;
    ext[1] = x1 + margin;
    ext[2] = y0 - margin;
    ext[3] = y1 + margin;
    snap_axis(&ext[0], &ext[1], N, 1);
    snap_axis(&ext[2], &ext[3], N, 0);
}

void mli_plane_grid(const mli_plane *p, const mli_arch *a, const mli_data *d, const mli_data *train,
                    int batchsize, mli_bn_stats mode, const double *xs, const double *ys, int N,
                    int chunk, mli_progress *prog, double *loss, double *acc)
{
    mli_real *base = mli_malloc(sizeof(mli_real) * p->P);
    for (int iy = 0; iy < N; iy++) {
        /* the row y: the line base + x·u; y = 0 gives base = o exactly */
        for (size_t i = 0; i < p->P; i++)
            base[i] = ys[iy] == 0 ? p->o[i] : (mli_real)(p->o[i] + ys[iy] * (double)p->v[i]);
        char label[64];
        snprintf(label, sizeof label, "plane: row %d/%d", iy + 1, N);
        mli_real *bn =
            mli_arch_has_stats(a) ? mli_path_bn_stats(a, base, p->u, xs, N, train, batchsize, mode, prog) : NULL;
        mli_path_ctx c = {a, base, p->u, bn, N, xs, chunk, prog, label};
        mli_path_means m;
        mli_path_eval(&c, d, 0, 0, &m, NULL);
        memcpy(loss + (size_t)iy * N, m.loss, sizeof(double) * (size_t)N);
        if (acc)
            memcpy(acc + (size_t)iy * N, m.acc, sizeof(double) * (size_t)N);
        mli_path_means_free(&m);
        free(bn);
    }
    free(base);
}
