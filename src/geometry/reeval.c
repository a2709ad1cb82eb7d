/* Double-precision loss with the float32 error bound; see reeval.h. */
#include "geometry/reeval.h"

#include <math.h>
#include <string.h>

double mli_reeval_loss(const mli_reeval_ctx *c, const mli_real *x, int y, const mli_real *t, double alpha,
                      double *cond, double *work)
{
    const mli_arch *a = c->a;
    int wm = a->width_max;
    double *h = work, *e = work + wm, *h2 = work + 2 * (size_t)wm, *e2 = work + 3 * (size_t)wm;
    double aa = fabs(alpha);
    for (int i = 0; i < a->input_size; i++) {
        h[i] = x[i];
        e[i] = 0; /* the data are what the float engine reads: exact */
    }
    const mli_real *bufs = NULL;
    if (c->bufs && c->n_alpha > 0) {
        long g = lround(alpha * (c->n_alpha - 1));
        g = g < 0 ? 0 : g >= c->n_alpha ? c->n_alpha - 1 : g;
        bufs = c->bufs + (size_t)g * a->nbuffers;
    }
    const mli_real *t0 = c->theta0, *t1 = c->theta1;
    for (int l = 0; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        int n = L->in, m = L->out;
        if (L->kind == MLI_LAYER_LINEAR) {
            size_t wo = L->p, bo = L->p + (size_t)m * n;
            for (int o = 0; o < m; o++) {
                double b0 = t0[bo + o], db = (double)t1[bo + o] - b0;
                double s = b0 + alpha * db, sa = fabs(b0) + aa * fabs(db), se = 0;
                for (int i = 0; i < n; i++) {
                    double w0 = t0[wo + (size_t)o * n + i], dw = (double)t1[wo + (size_t)o * n + i] - w0;
                    double wa = fabs(w0) + aa * fabs(dw);
                    s += (w0 + alpha * dw) * h[i];
                    sa += wa * fabs(h[i]);
                    se += wa * e[i];
                }
                h2[o] = s;
                e2[o] = se + (n + 4) * sa;
            }
        } else if (L->kind == MLI_LAYER_BN) {
            for (int o = 0; o < m; o++) {
                double g0 = t0[L->p + o], dg = (double)t1[L->p + o] - g0;
                double b0 = t0[L->p + m + o], db = (double)t1[L->p + m + o] - b0;
                double mu = bufs ? bufs[L->s + o] : 0, var = bufs ? bufs[L->s + m + o] : 1;
                double sd = sqrt(var + MLI_BN_EPS), g = g0 + alpha * dg;
                double sa = (fabs(g0) + aa * fabs(dg)) / sd;
                h2[o] = g * (h[o] - mu) / sd + b0 + alpha * db;
                e2[o] = sa * e[o] + 4 * (sa * (fabs(h[o]) + fabs(mu)) + fabs(b0) + aa * fabs(db));
            }
        } else {
            double lip = a->act == MLI_ACT_SIGMOID ? 0.25 : 1;
            for (int o = 0; o < m; o++) {
                double v = h[o];
                v = a->act == MLI_ACT_RELU ? (v > 0 ? v : 0)
                    : a->act == MLI_ACT_TANH ? tanh(v)
                    : a->act == MLI_ACT_SIGMOID ? 1 / (1 + exp(-v))
                    : v;
                h2[o] = v;
                e2[o] = lip * e[o] + 2 * fabs(v);
            }
        }
        double *sw = h;
        h = h2;
        h2 = sw;
        sw = e;
        e = e2;
        e2 = sw;
    }
    int k = a->nout;
    double l = 0, K = 0;
    if (a->loss == MLI_LOSS_CE) {
        double mx = h[0], s = 0;
        for (int j = 1; j < k; j++)
            mx = fmax(mx, h[j]);
        for (int j = 0; j < k; j++)
            s += exp(h[j] - mx);
        double lse = mx + log(s);
        l = lse - h[y];
        for (int j = 0; j < k; j++)
            K += (exp(h[j] - lse) + (j == y)) * e[j];
    } else {
        for (int j = 0; j < k; j++) {
            double target = t ? (double)t[j] : (double)(j == y);
            double r = h[j] - target;
            l += r * r;
            K += 2 * fabs(r) * e[j];
        }
    }
    if (cond)
        *cond = K;
    return l;
}
