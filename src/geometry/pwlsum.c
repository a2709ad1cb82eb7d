/* Sum of continuous piecewise polynomials: see pwlsum.h. */
#include "geometry/pwlsum.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"

void mli_pwlsum_init(mli_pwlsum *s, int deg)
{
    memset(s, 0, sizeof *s);
    s->deg = deg;
    s->init = mli_calloc(deg + 1, sizeof(double));
}

void mli_pwlsum_free(mli_pwlsum *s)
{
    free(s->init);
    free(s->ev);
    free(s->brk);
    free(s->coef);
    memset(s, 0, sizeof *s);
}

static void reserve(mli_pwlsum *s, size_t more)
{
    if (s->n + more <= s->cap)
        return;
    size_t cap = s->cap ? s->cap : 1024;
    while (cap < s->n + more)
        cap *= 2;
    s->ev = mli_realloc(s->ev, sizeof(double) * cap * (s->deg + 2));
    s->cap = cap;
}

void mli_pwlsum_add(mli_pwlsum *s, const double *brk, const double *coef, int npieces, double err)
{
    int D = s->deg;
    s->in_err += err;
    for (int m = 0; m <= D; m++)
        s->init[m] += coef[m];
    reserve(s, npieces > 1 ? npieces - 1 : 0);
    for (int j = 1; j < npieces; j++) {
        double *e = s->ev + s->n++ * (D + 2);
        e[0] = brk[j];
        for (int m = 0; m <= D; m++)
            e[1 + m] = coef[(size_t)j * (D + 1) + m] - coef[(size_t)(j - 1) * (D + 1) + m];
    }
    s->nadd++;
}

void mli_pwlsum_merge(mli_pwlsum *dst, mli_pwlsum *src)
{
    int D = dst->deg;
    for (int m = 0; m <= D; m++)
        dst->init[m] += src->init[m];
    reserve(dst, src->n);
    if (src->n) /* an empty accumulator has no event array at all */
        memcpy(dst->ev + dst->n * (D + 2), src->ev, sizeof(double) * src->n * (D + 2));
    dst->n += src->n;
    dst->nadd += src->nadd;
    dst->in_err += src->in_err;
    src->n = 0;
    src->nadd = 0;
    src->in_err = 0;
    memset(src->init, 0, sizeof(double) * (D + 1));
}

typedef struct {
    double alpha;
    size_t at;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->alpha != y->alpha)
        return (x->alpha > y->alpha) - (x->alpha < y->alpha);
    return (x->at > y->at) - (x->at < y->at);
}

/* Events r[0..m) (E doubles each, α first) in α order, stably: by insertion when they are few,
 * else by their (α, position) keys and one permutation through tmp (m·E doubles). */
static void sort_bucket(double *r, size_t m, size_t E, double *tmp, keyed *key)
{
    if (m <= 32) {
        double e[MLI_POLY_MAXDEG + 3];
        for (size_t i = 1; i < m; i++) {
            size_t j = i;
            if (!(r[(j - 1) * E] > r[i * E]))
                continue;
            memcpy(e, r + i * E, sizeof(double) * E);
            for (; j > 0 && r[(j - 1) * E] > e[0]; j--)
                memcpy(r + j * E, r + (j - 1) * E, sizeof(double) * E);
            memcpy(r + j * E, e, sizeof(double) * E);
        }
        return;
    }
    for (size_t i = 0; i < m; i++)
        key[i] = (keyed){r[i * E], i};
    qsort(key, m, sizeof(keyed), cmp_keyed);
    for (size_t i = 0; i < m; i++)
        memcpy(tmp + i * E, r + key[i].at * E, sizeof(double) * E);
    memcpy(r, tmp, sizeof(double) * m * E);
}

/* The events in α order, stably (equal α keep the order they were added in): counted into
 * n/4 + 1 buckets of equal width on [0, 1] and scattered into a second array, then each bucket
 * sorted on its own (sort_bucket) — a few events each, the breakpoints being spread over the
 * path, where a comparison sort of the whole array moved every record log₂ n times. */
static void sort_events(mli_pwlsum *s)
{
    size_t n = s->n, E = (size_t)s->deg + 2, nb = n / 4 + 1, big = 0;
    size_t *at = mli_calloc(nb + 1, sizeof(size_t)), *cur = mli_malloc(sizeof(size_t) * (nb + 1));
    double *out = mli_malloc(sizeof(double) * (n ? n : 1) * E);
#define BUCKET(a) ((a) > 0 ? ((size_t)((a) * (double)nb) < nb ? (size_t)((a) * (double)nb) : nb - 1) : 0)
    for (size_t i = 0; i < n; i++)
        at[BUCKET(s->ev[i * E]) + 1]++;
    for (size_t b = 0; b < nb; b++) {
        at[b + 1] += at[b];
        big = at[b + 1] - at[b] > big ? at[b + 1] - at[b] : big;
    }
    memcpy(cur, at, sizeof(size_t) * (nb + 1));
    for (size_t i = 0; i < n; i++)
        memcpy(out + cur[BUCKET(s->ev[i * E])]++ * E, s->ev + i * E, sizeof(double) * E);
#undef BUCKET
    double *tmp = big > 32 ? mli_malloc(sizeof(double) * big * E) : NULL;
    keyed *key = big > 32 ? mli_malloc(sizeof(keyed) * big) : NULL;
    for (size_t b = 0; b < nb; b++)
        sort_bucket(out + at[b] * E, at[b + 1] - at[b], E, tmp, key);
    free(tmp);
    free(key);
    free(at);
    free(cur);
    free(s->ev);
    s->ev = out;
    s->cap = n ? n : 1;
}

int mli_pwlsum_finish(mli_pwlsum *s, double scale, mli_ppoly *out)
{
    int D = s->deg;
    if (s->n)
        sort_events(s);
    free(s->brk);
    free(s->coef);
    s->brk = mli_malloc(sizeof(double) * (s->n + 2));
    s->coef = mli_malloc(sizeof(double) * (s->n + 1) * (D + 1));
    /* Running sums with Neumaier's compensation: the rounding of 50 million additions stays at
     * the level of one (2u·|sum| + n·u²·Σ|terms|), instead of growing with their number. */
    double acc[MLI_POLY_MAXDEG + 1], comp[MLI_POLY_MAXDEG + 1] = {0}, absum = 0, accmax = 0;
    memcpy(acc, s->init, sizeof(double) * (D + 1));
    int np = 0;
    s->brk[0] = 0;
    for (size_t i = 0; i <= s->n; i++) {
        double t = i < s->n ? s->ev[i * (D + 2)] : 1;
        if (t - s->brk[np] > 1e-15) { /* close the piece [brk[np], t] with the sum so far */
            for (int m = 0; m <= D; m++) {
                double v = acc[m] + comp[m];
                s->coef[(size_t)np * (D + 1) + m] = v * scale;
                accmax = fmax(accmax, fabs(v));
            }
            s->brk[++np] = t;
        }
        if (i < s->n)
            for (int m = 0; m <= D; m++) {
                double x = s->ev[i * (D + 2) + 1 + m], a = acc[m], y = a + x;
                comp[m] += fabs(a) >= fabs(x) ? (a - y) + x : (x - y) + a;
                acc[m] = y;
                absum += fabs(x);
            }
    }
    /* the sums at 0 were plain (one addition per curve): their recursive-summation bound */
    double n = (double)s->n + 1, init = 0;
    for (int m = 0; m <= D; m++)
        init += fabs(s->init[m]);
    s->err = (s->in_err + (double)s->nadd * DBL_EPSILON * init +
              (D + 1) * (2 * DBL_EPSILON * accmax + n * DBL_EPSILON * DBL_EPSILON * absum)) *
             fabs(scale);
    if (np == 0) { /* everything at α = 1 or no event at all: one piece */
        for (int m = 0; m <= D; m++)
            s->coef[m] = (acc[m] + comp[m]) * scale;
        s->brk[np = 1] = 1;
    }
    s->brk[np] = 1;
    s->npieces = np;
    *out = (mli_ppoly){np, D, s->brk, s->coef};
    return np;
}
