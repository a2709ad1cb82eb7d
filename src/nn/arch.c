#include "nn/arch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"

static const char *act_names[] = {"identity", "relu", "tanh", "sigmoid"};
static const char *loss_names[] = {"ce", "mse", "recon"};

const char *mli_act_name(mli_act act) { return act_names[act]; }
const char *mli_loss_name(mli_loss loss) { return loss_names[loss]; }

int mli_act_parse(const char *s, mli_act *act)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, act_names[i])) {
            *act = (mli_act)i;
            return MLI_OK;
        }
    if (!strcmp(s, "linear")) { /* the reference's name for the identity */
        *act = MLI_ACT_IDENTITY;
        return MLI_OK;
    }
    return mli_err(MLI_EUSAGE, "act_fn: '%s' is not one of relu, tanh, sigmoid, identity", s);
}

int mli_loss_parse(const char *s, mli_loss *loss)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, loss_names[i])) {
            *loss = (mli_loss)i;
            return MLI_OK;
        }
    return mli_err(MLI_EUSAGE, "loss_fn: '%s' is not one of ce, mse, recon", s);
}

void mli_hsizes_format(const int *h, int n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ",%d" : "%d", h[i]);
}

int mli_hsizes_parse(const char *s, int *h, int *n)
{
    const char *p = s;
    int count = 0;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 1 << 20)
            return mli_err(MLI_EUSAGE, "hsizes: '%s' is not a comma-separated list of positive sizes", s);
        if (count == MLI_MAX_HIDDEN)
            return mli_err(MLI_EUSAGE, "hsizes: more than %d layers in '%s'", MLI_MAX_HIDDEN, s);
        h[count++] = (int)v;
        if (*end == ',' && end[1])
            end++;
        else if (*end)
            return mli_err(MLI_EUSAGE, "hsizes: '%s' is not a comma-separated list of positive sizes", s);
        p = end;
    }
    if (!count)
        return mli_err(MLI_EUSAGE, "hsizes: empty list");
    *n = count;
    return MLI_OK;
}

static void add_tensor(mli_arch *a, int seq, const char *what, int is_buffer, size_t off, int d0, int d1)
{
    mli_tensor *t = &a->tensors[a->ntensors++];
    snprintf(t->name, sizeof t->name, "layers.%d.%s", seq, what);
    t->is_buffer = is_buffer;
    t->off = off;
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->numel = (size_t)d0 * (size_t)(d1 ? d1 : 1);
}

static void add_layer(mli_arch *a, mli_layer_kind kind, int in, int out, int *seq)
{
    mli_layer *l = &a->layers[a->nlayers++];
    l->kind = kind;
    l->in = in;
    l->out = out;
    l->p = a->nparams;
    l->s = a->nbuffers;
    l->seq = (*seq)++;
    if (kind == MLI_LAYER_LINEAR) {
        add_tensor(a, l->seq, "weight", 0, a->nparams, out, in);
        add_tensor(a, l->seq, "bias", 0, a->nparams + (size_t)out * in, out, 0);
        a->nparams += (size_t)out * in + out;
    } else if (kind == MLI_LAYER_BN) {
        add_tensor(a, l->seq, "weight", 0, a->nparams, out, 0);
        add_tensor(a, l->seq, "bias", 0, a->nparams + out, out, 0);
        add_tensor(a, l->seq, "running_mean", 1, a->nbuffers, out, 0);
        add_tensor(a, l->seq, "running_var", 1, a->nbuffers + out, out, 0);
        a->nparams += 2 * (size_t)out;
        a->nbuffers += 2 * (size_t)out;
    }
    if (out > a->width_max)
        a->width_max = out;
}

int mli_arch_init(mli_arch *a, int input_size, const int *hsizes, int nh, mli_act act,
                  int use_bn, mli_loss loss)
{
    memset(a, 0, sizeof *a);
    if (input_size < 1)
        return mli_err(MLI_EUSAGE, "input size %d is not positive", input_size);
    if (nh < 1 || nh > MLI_MAX_HIDDEN)
        return mli_err(MLI_EUSAGE, "hsizes: %d layers, expected 1 to %d", nh, MLI_MAX_HIDDEN);
    a->input_size = input_size;
    a->nh = nh;
    memcpy(a->hsizes, hsizes, sizeof(int) * (size_t)nh);
    a->act = act;
    a->use_bn = use_bn;
    a->loss = loss;
    a->width_max = input_size;
    int seq = 0;
    add_layer(a, MLI_LAYER_LINEAR, input_size, hsizes[0], &seq);
    for (int i = 1; i < nh; i++) {
        if (use_bn)
            add_layer(a, MLI_LAYER_BN, hsizes[i - 1], hsizes[i - 1], &seq);
        add_layer(a, MLI_LAYER_ACT, hsizes[i - 1], hsizes[i - 1], &seq);
        add_layer(a, MLI_LAYER_LINEAR, hsizes[i - 1], hsizes[i], &seq);
    }
    a->nout = hsizes[nh - 1];
    if (loss == MLI_LOSS_RECON && a->nout != input_size)
        return mli_err(MLI_EUSAGE, "loss_fn=recon needs the last size of hsizes (%d) to equal the input size (%d)",
                       a->nout, input_size);
    return MLI_OK;
}

void mli_arch_init_buffers(const mli_arch *a, mli_real *bufs)
{
    for (int i = 0; i < a->ntensors; i++) {
        const mli_tensor *t = &a->tensors[i];
        if (!t->is_buffer)
            continue;
        mli_real v = strstr(t->name, "running_var") ? 1 : 0;
        for (size_t j = 0; j < t->numel; j++)
            bufs[t->off + j] = v;
    }
}
