/* The exact pieces of a piecewise-linear network's output path: see pieces.h. */
#include "geometry/pieces.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/ppoly.h"
#include "io/err.h"

int mli_pwl_from_arch(const mli_arch *a, const mli_real *theta0, const mli_real *theta1,
                      mli_pwl *out)
{
    memset(out, 0, sizeof *out);
    if (a->use_bn)
        return mli_err(MLI_EUSAGE, "exact analysis needs a network without batch norm: its "
                                   "statistics make the path non-polynomial (use_batchnorm=1)");
    if (a->act != MLI_ACT_RELU && a->act != MLI_ACT_IDENTITY)
        return mli_err(MLI_EUSAGE, "exact analysis needs piecewise-linear activations (relu, "
                                   "identity): act_fn=%s is smooth, its path has no exact pieces",
                       mli_act_name(a->act));
    mli_chain ch;
    int rc = mli_graph_chain(a, &ch);
    if (rc)
        return mli_err(MLI_EUSAGE, "exact analysis: %s", mli_errmsg());
    if (ch.nlin > MLI_PWL_MAXLIN)
        return mli_err(MLI_EUSAGE, "exact analysis: more than %d Linear layers", MLI_PWL_MAXLIN);
    out->width[0] = a->input_size;
    out->width_max = a->input_size;
    for (int L = 0; L < ch.nlin; L++) {
        int in = ch.in[L], nout = ch.out[L];
        size_t nw = (size_t)nout * in, nb = nout;
        const mli_real *W0 = theta0 + ch.w[L], *W1 = theta1 + ch.w[L], *B0 = theta0 + ch.b[L], *B1 = theta1 + ch.b[L];
        out->W0[L] = mli_malloc(sizeof(double) * nw);
        out->dW[L] = mli_malloc(sizeof(double) * nw);
        out->b0[L] = mli_malloc(sizeof(double) * nb);
        out->db[L] = mli_malloc(sizeof(double) * nb);
        out->WT0[L] = mli_malloc(sizeof(double) * nw);
        out->dWT[L] = mli_malloc(sizeof(double) * nw);
        for (size_t i = 0; i < nw; i++) {
            out->W0[L][i] = W0[i];
            out->dW[L][i] = (double)W1[i] - W0[i];
        }
        for (int o = 0; o < nout; o++)
            for (int j = 0; j < in; j++) {
                out->WT0[L][(size_t)j * nout + o] = out->W0[L][(size_t)o * in + j];
                out->dWT[L][(size_t)j * nout + o] = out->dW[L][(size_t)o * in + j];
            }
        for (size_t i = 0; i < nb; i++) {
            out->b0[L][i] = B0[i];
            out->db[L][i] = (double)B1[i] - B0[i];
        }
        out->relu[L] = ch.relu[L];
        out->width[L + 1] = nout;
        if (nout > out->width_max)
            out->width_max = nout;
        out->nlin = L + 1;
    }
    if (ch.nlin > 0)
        out->relu[ch.nlin - 1] = 0; /* the outputs (logits or reconstruction) */
    return MLI_OK;
}

void mli_pwl_free(mli_pwl *n)
{
    for (int l = 0; l < n->nlin; l++) {
        free(n->W0[l]);
        free(n->dW[l]);
        free(n->b0[l]);
        free(n->db[l]);
        free(n->WT0[l]);
        free(n->dWT[l]);
    }
    memset(n, 0, sizeof *n);
}

void mli_pwl_first_layer(const mli_pwl *n, const mli_real *X, int B, double *P, double *Q)
{
    int in = n->width[0], out = n->width[1];
    double *x = mli_malloc(sizeof(double) * (size_t)B * in);
    for (size_t i = 0; i < (size_t)B * in; i++)
        x[i] = X[i];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1.0, x, in, n->W0[0], in,
                0.0, P, out);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1.0, x, in, n->dW[0], in,
                0.0, Q, out);
    for (int i = 0; i < B; i++)
        for (int o = 0; o < out; o++) {
            P[(size_t)i * out + o] += n->b0[0][o];
            Q[(size_t)i * out + o] += n->db[0][o];
        }
    free(x);
}

typedef struct {
    double t;
    int unit;
} event0;

/* Polynomial vectors are stored coefficient-major: H[l][m · width + i] is the α^m coefficient
 * of unit i, so that every update below is a contiguous axpy over the units. */
struct mli_pwl_ws {
    double *H[MLI_PWL_MAXLIN];         /* pre-activations of Linear l: (l+2) × width[l+1] */
    double *S[MLI_PWL_MAXLIN];         /* input of Linear l ≥ 1: (l+1) × width[l] */
    unsigned char *on[MLI_PWL_MAXLIN]; /* relu states of the units of H[l] */
    event0 *ev;                        /* the first layer's switches, sorted */
    int cap;                           /* pieces the output arrays can hold */
    mli_pwl_path path;
};

mli_pwl_ws *mli_pwl_ws_new(const mli_pwl *n)
{
    mli_pwl_ws *w = mli_calloc(1, sizeof *w);
    int L = n->nlin;
    for (int l = 0; l < L; l++) {
        w->H[l] = mli_malloc(sizeof(double) * n->width[l + 1] * (l + 2));
        w->S[l] = mli_malloc(sizeof(double) * n->width[l] * (l + 1));
        w->on[l] = mli_calloc(n->width[l + 1], 1);
    }
    w->ev = mli_malloc(sizeof(event0) * (n->width[1] + 1));
    w->cap = 64;
    w->path.k = n->width[L];
    w->path.deg = L;
    w->path.brk = mli_malloc(sizeof(double) * (w->cap + 1));
    w->path.layer = mli_malloc(sizeof(int) * (w->cap + 1));
    w->path.z = mli_malloc(sizeof(double) * w->cap * w->path.k * (L + 1));
    return w;
}

void mli_pwl_ws_free(mli_pwl_ws *w)
{
    if (!w)
        return;
    for (int l = 0; l < MLI_PWL_MAXLIN; l++) {
        free(w->H[l]);
        free(w->S[l]);
        free(w->on[l]);
    }
    free(w->ev);
    free(w->path.brk);
    free(w->path.layer);
    free(w->path.z);
    free(w);
}

/* Rounding scale of a unit's polynomial on [0,1] (coefficients c[m·stride]): Σ|c_m| bounds
 * |p|, and the sweep's additions leave errors of a few ulps of it. */
static double round_tol(const double *c, int deg, int stride)
{
    double s = 0;
    for (int m = 0; m <= deg; m++)
        s += fabs(c[m * stride]);
    return 64 * DBL_EPSILON * s;
}

/* The sign of p just right of t: of p(t), or, where |p(t)| is within the rounding `tol` of
 * 0, of the first non-zero derivative (the direction p leaves 0 in). */
static int sign_right(const double *c, int deg, double t, double tol)
{
    double s[MLI_POLY_MAXDEG + 1];
    if (deg < 0)
        return 0;
    mli_poly_taylor(c, deg, t, s);
    if (fabs(s[0]) > tol)
        return s[0] > 0 ? 1 : -1;
    for (int m = 1; m <= deg; m++)
        if (s[m] != 0)
            return s[m] > 0 ? 1 : -1;
    return 0;
}

/* Unit i's coefficients gathered from the coefficient-major array H (width w, degree d). */
static void unit_poly(const double *H, int w, int d, int i, double *c)
{
    for (int m = 0; m <= d; m++)
        c[m] = H[(size_t)m * w + i];
}

static void set_states(const mli_pwl *n, mli_pwl_ws *w, int l, double t)
{
    if (!n->relu[l])
        return;
    int d = l + 1, wid = n->width[l + 1];
    for (int i = 0; i < wid; i++) {
        double c[MLI_POLY_MAXDEG + 1];
        unit_poly(w->H[l], wid, d, i, c);
        w->on[l][i] = sign_right(c, d, t, round_tol(c, d, 1)) > 0;
    }
}

static double dot(const double *a, const double *b, int n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0; /* four chains: the compiler vectorizes them */
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += a[j] * b[j];
        s1 += a[j + 1] * b[j + 1];
        s2 += a[j + 2] * b[j + 2];
        s3 += a[j + 3] * b[j + 3];
    }
    for (; j < n; j++)
        s0 += a[j] * b[j];
    return (s0 + s1) + (s2 + s3);
}

/* H[l] = (W₀ + αΔW) S[l] + b₀ + αΔb for l ≥ 1, with S[l] = act(H[l−1]) under the current
 * states: per output unit and coefficient, two dot products with contiguous weight rows. */
static void layer_forward(const mli_pwl *n, mli_pwl_ws *w, int l)
{
    int out = n->width[l + 1], in = n->width[l], d = l; /* S[l] has degree d */
    const double *Hp = w->H[l - 1];
    double *S = w->S[l], *H = w->H[l];
    for (int j = 0; j < in; j++) {
        int keep = !n->relu[l - 1] || w->on[l - 1][j];
        for (int m = 0; m <= d; m++)
            S[(size_t)m * in + j] = keep ? Hp[(size_t)m * in + j] : 0;
    }
    for (int o = 0; o < out; o++) {
        const double *a = n->W0[l] + (size_t)o * in, *b = n->dW[l] + (size_t)o * in;
        for (int m = 0; m <= d + 1; m++) {
            double v = m <= d ? dot(a, S + (size_t)m * in, in) : 0;
            if (m >= 1)
                v += dot(b, S + (size_t)(m - 1) * in, in);
            H[(size_t)m * out + o] = v + (m == 0 ? n->b0[l][o] : m == 1 ? n->db[l][o] : 0);
        }
    }
}

/* Recompute layers l0 … L−1 from the states of the layers before them. */
static void forward_from(const mli_pwl *n, mli_pwl_ws *w, int l0, double t)
{
    for (int l = l0 < 1 ? 1 : l0; l < n->nlin; l++) {
        layer_forward(n, w, l);
        set_states(n, w, l, t);
    }
}

static int cmp_event(const void *a, const void *b)
{
    double x = ((const event0 *)a)->t, y = ((const event0 *)b)->t;
    return (x > y) - (x < y);
}

static void push_piece(const mli_pwl *n, mli_pwl_ws *w, double end, int layer)
{
    mli_pwl_path *pp = &w->path;
    int L = n->nlin, k = pp->k;
    if (pp->npieces == w->cap) {
        w->cap *= 2;
        pp->brk = mli_realloc(pp->brk, sizeof(double) * (w->cap + 1));
        pp->layer = mli_realloc(pp->layer, sizeof(int) * (w->cap + 1));
        pp->z = mli_realloc(pp->z, sizeof(double) * w->cap * k * (L + 1));
    }
    double *z = pp->z + (size_t)pp->npieces * k * (L + 1);
    for (int o = 0; o < k; o++)
        unit_poly(w->H[L - 1], k, L, o, z + (size_t)o * (L + 1));
    pp->npieces++;
    pp->brk[pp->npieces] = end;
    pp->layer[pp->npieces] = layer;
}

/* Toggle unit i of relu layer l at t: the next layer's pre-activations change by the rank-one
 * term ±(W₀ + αΔW)[:, i] h_i(α) (a transposed weight row); the layers after it are
 * recomputed. */
static void toggle(const mli_pwl *n, mli_pwl_ws *w, int l, int i, double t)
{
    int d = l + 1, wl = n->width[l + 1]; /* H[l]: degree d, width wl */
    w->on[l][i] ^= 1;
    double sg = w->on[l][i] ? 1 : -1;
    int nl = l + 1, out = n->width[nl + 1];
    double *H = w->H[nl];
    const double *a = n->WT0[nl] + (size_t)i * out, *b = n->dWT[nl] + (size_t)i * out;
    for (int m = 0; m <= d; m++) {
        double hm = sg * w->H[l][(size_t)m * wl + i];
        if (hm == 0)
            continue;
        double *h0 = H + (size_t)m * out, *h1 = H + (size_t)(m + 1) * out;
        for (int o = 0; o < out; o++) {
            h0[o] += hm * a[o];
            h1[o] += hm * b[o];
        }
    }
    if (nl < n->nlin - 1)
        forward_from(n, w, nl + 1, t);
}

/* The first α in (t, end) after which a unit in state `on` has the other sign: the first
 * sign change of c there that leaves the side the state says. A crossing the sweep has just
 * processed can reappear as a root a rounding error right of t, after which the sign agrees
 * with the new state: it is skipped. */
static int first_switch(const double *c, int d, double t, double end, int on, double *r)
{
    double roots[MLI_POLY_MAXDEG];
    int nr = mli_poly_roots(c, d, t, end, roots, MLI_POLY_MAXDEG);
    for (int j = 0; j < nr && j < MLI_POLY_MAXDEG; j++) {
        double next = j + 1 < nr ? roots[j + 1] : end;
        double after = mli_poly_eval(c, d, 0.5 * (roots[j] + next));
        if ((after > 0) != on && after != 0) {
            *r = roots[j];
            return 1;
        }
    }
    return 0;
}

/* The earliest switch of relu layer l ≥ 1 in [t, *cand): a unit whose state disagrees with
 * the side its pre-activation leaves t on (it touched 0 at t where a layer before it kinked)
 * switches at t itself; otherwise the Bernstein test on [t, *cand] discards the units that
 * cannot change sign and first_switch isolates the others. Updates *cand, *unit. */
static int layer_search(const mli_pwl *n, mli_pwl_ws *w, int l, double t, double *cand, int *unit)
{
    int d = l + 1, wid = n->width[l + 1], found = 0;
    const double *H = w->H[l];
    const unsigned char *on = w->on[l];
    for (int i = 0; i < wid; i++) {
        double c[MLI_POLY_MAXDEG + 1];
        if (d == 2) { /* the common case, inline: Taylor at t and Bernstein on [t, cand] */
            double c0 = H[i], c1 = H[wid + i], c2 = H[2 * (size_t)wid + i];
            double s0 = c0 + t * (c1 + t * c2), s1 = c1 + 2 * t * c2, h = *cand - t;
            double tol = 64 * DBL_EPSILON * (fabs(c0) + fabs(c1) + fabs(c2));
            if (fabs(s0) > tol) {
                double b1 = s0 + 0.5 * h * s1, b2 = s0 + h * (s1 + h * c2);
                if (s0 > 0 ? (b1 > 0 && b2 >= 0) : (b1 < 0 && b2 <= 0))
                    continue; /* keeps its sign on [t, cand] */
            }
        }
        unit_poly(H, wid, d, i, c);
        double tol = round_tol(c, d, 1), v = mli_poly_eval(c, d, t);
        if (fabs(v) <= tol) {
            int s = sign_right(c, d, t, tol);
            if (s != 0 && (s > 0) != on[i]) {
                *cand = t;
                *unit = i;
                return 1;
            }
        }
        double r;
        if (mli_poly_may_change_sign(c, d, t, *cand) && first_switch(c, d, t, *cand, on[i], &r) &&
            r < *cand) {
            *cand = r;
            *unit = i;
            found = 1;
        }
    }
    return found;
}

const mli_pwl_path *mli_pwl_sweep(const mli_pwl *n, mli_pwl_ws *w, const double *p,
                                  const double *q)
{
    int L = n->nlin, w1 = n->width[1];
    mli_pwl_path *pp = &w->path;
    pp->npieces = 0;
    pp->nswitch = 0;
    pp->brk[0] = 0;
    pp->layer[0] = -1;

    /* α = 0: every layer with the states it leaves 0 with. */
    memcpy(w->H[0], p, sizeof(double) * w1);
    memcpy(w->H[0] + w1, q, sizeof(double) * w1);
    set_states(n, w, 0, 0);
    forward_from(n, w, 1, 0);

    int nev = 0;
    if (L > 1 && n->relu[0])
        for (int o = 0; o < w1; o++)
            if (q[o] != 0) {
                double r = -p[o] / q[o];
                if (r > 0 && r < 1)
                    w->ev[nev++] = (event0){r, o};
            }
    qsort(w->ev, nev, sizeof(event0), cmp_event);

    double t = 0;
    int pos = 0;
    for (;;) {
        double cand = pos < nev ? w->ev[pos].t : 1;
        int el = pos < nev ? 0 : -1, eu = pos < nev ? w->ev[pos].unit : -1;
        for (int l = 1; l < L - 1; l++)
            if (n->relu[l] && layer_search(n, w, l, t, &cand, &eu))
                el = l;
        if (cand > t)
            push_piece(n, w, cand, el);
        if (el < 0)
            break;
        t = cand;
        if (el == 0)
            pos++;
        toggle(n, w, el, eu, t);
        pp->nswitch++;
    }
    return pp;
}

void mli_pwl_path_eval(const mli_pwl_path *pp, double alpha, double *z, double *v, double *a)
{
    int lo = 0, hi = pp->npieces - 1, k = pp->k, D = pp->deg;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (pp->brk[mid] <= alpha)
            lo = mid;
        else
            hi = mid - 1;
    }
    for (int o = 0; o < k; o++) {
        const double *c = pp->z + ((size_t)lo * k + o) * (D + 1);
        double f = 0, f1 = 0, f2 = 0;
        for (int m = D; m >= 0; m--) {
            f2 = f2 * alpha + 2 * f1;
            f1 = f1 * alpha + f;
            f = f * alpha + c[m];
        }
        if (z)
            z[o] = f;
        if (v)
            v[o] = f1;
        if (a)
            a[o] = f2;
    }
}
