/* Direct loops for convolution and pooling, written from the definitions (the tests' reference
 * for the im2col and window code of src/nn/op_conv.c and op_pool.c). One example, C×H×W in,
 * K×Ho×Wo out; p = {top, left, bottom, right}; values in double. */
#ifndef MLI_CONV_NAIVE_H
#define MLI_CONV_NAIVE_H

#include <math.h>

#include "io/real.h"

typedef struct {
    int C, H, W, K, kh, kw, sh, sw, p[4], dh, dw, g, bias;
} naive_conv;

static inline int naive_out(int n, int pa, int pb, int d, int k, int s) { return (n + pa + pb - d * (k - 1) - 1) / s + 1; }

/* y[k, oh, ow] = b[k] + Σ over the group's channels and the kernel of w · x (zero outside) */
static inline void naive_conv_forward(const naive_conv *q, const mli_real *x, const mli_real *w, const mli_real *b,
                                      double *y)
{
    int Ho = naive_out(q->H, q->p[0], q->p[2], q->dh, q->kh, q->sh);
    int Wo = naive_out(q->W, q->p[1], q->p[3], q->dw, q->kw, q->sw);
    int Cg = q->C / q->g, Kg = q->K / q->g;
    for (int k = 0; k < q->K; k++)
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++) {
                double s = q->bias ? b[k] : 0;
                for (int v = 0; v < Cg; v++) {
                    int c = (k / Kg) * Cg + v;
                    for (int a = 0; a < q->kh; a++)
                        for (int e = 0; e < q->kw; e++) {
                            int ih = oh * q->sh - q->p[0] + a * q->dh, iw = ow * q->sw - q->p[1] + e * q->dw;
                            if (ih >= 0 && ih < q->H && iw >= 0 && iw < q->W)
                                s += (double)w[((k * Cg + v) * q->kh + a) * q->kw + e] * x[(c * q->H + ih) * q->W + iw];
                        }
                }
                y[(k * Ho + oh) * Wo + ow] = s;
            }
}

/* max (first maximum) or mean (incl: divide by kh·kw, else by the positions inside) */
static inline void naive_pool(int is_max, int incl, int C, int H, int W, int kh, int kw, int sh, int sw, const int *p,
                              int dh, int dw, const mli_real *x, double *y)
{
    int Ho = naive_out(H, p[0], p[2], dh, kh, sh), Wo = naive_out(W, p[1], p[3], dw, kw, sw);
    for (int c = 0; c < C; c++)
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++) {
                double m = -INFINITY, s = 0;
                int cnt = 0;
                for (int a = 0; a < kh; a++)
                    for (int e = 0; e < kw; e++) {
                        int ih = oh * sh - p[0] + a * dh, iw = ow * sw - p[1] + e * dw;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                            continue;
                        double v = x[(c * H + ih) * W + iw];
                        m = v > m ? v : m;
                        s += v;
                        cnt++;
                    }
                y[(c * Ho + oh) * Wo + ow] = is_max ? m : s / (incl ? kh * kw : cnt);
            }
}

#endif
