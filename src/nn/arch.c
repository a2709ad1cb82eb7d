#include "nn/arch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/op.h"

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

size_t mli_shape_numel(const mli_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= (size_t)s->d[i];
    return n;
}

void mli_graph_begin(mli_arch *a, const int *in_shape, int ndim, mli_loss loss)
{
    memset(a, 0, sizeof *a);
    a->in_shape.ndim = ndim;
    memcpy(a->in_shape.d, in_shape, sizeof(int) * (size_t)ndim);
    a->input_size = (int)mli_shape_numel(&a->in_shape);
    a->width_max = a->input_size;
    a->loss = loss;
}

void mli_graph_tensor(mli_arch *a, mli_node *n, const char *what, int is_buffer, int role,
                      int ndim, const int *shape)
{
    mli_tensor *t = &a->tensors[a->ntensors];
    snprintf(t->name, sizeof t->name, "%s.%s", n->name, what);
    t->is_buffer = is_buffer;
    t->role = role;
    t->ndim = ndim;
    t->numel = 1;
    memset(t->shape, 0, sizeof t->shape);
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    size_t *end = is_buffer ? &a->nbuffers : &a->nparams;
    t->off = *end;
    *end += t->numel;
    n->off[n->nt] = t->off;
    n->tensor[n->nt++] = a->ntensors++;
}

int mli_graph_add(mli_arch *a, const mli_op *op, const int *inputs, int nin, int attr,
                  const char *name)
{
    return mli_graph_add_attrs(a, op, inputs, nin, &attr, 1, NULL, 0, name);
}

int mli_graph_add_attrs(mli_arch *a, const mli_op *op, const int *inputs, int nin,
                        const int *attr, int nattr, const double *fattr, int nfattr, const char *name)
{
    if (a->nnodes == MLI_MAX_NODES)
        return mli_err(MLI_EUSAGE, "more than %d nodes", MLI_MAX_NODES), -1;
    if (nin < 1 || nin > MLI_NODE_MAXIN)
        return mli_err(MLI_EUSAGE, "%s: %d inputs", name, nin), -1;
    if (a->ntensors + MLI_NODE_MAXT > MLI_MAX_TENSORS)
        return mli_err(MLI_EUSAGE, "%s: more than %d tensors", name, MLI_MAX_TENSORS), -1;
    if (nattr < 0 || nattr > MLI_NODE_MAXATTR || nfattr < 0 || nfattr > MLI_NODE_MAXFATTR)
        return mli_err(MLI_EUSAGE, "%s: %d integer and %d real attributes", name, nattr, nfattr), -1;
    int id = a->nnodes;
    mli_node *n = &a->nodes[id];
    memset(n, 0, sizeof *n);
    n->op = op;
    snprintf(n->name, sizeof n->name, "%s", name);
    n->nin = nin;
    for (int k = 0; k < nattr; k++)
        n->attr[k] = attr[k];
    for (int k = 0; k < nfattr; k++)
        n->fattr[k] = fattr[k];
    for (int k = 0; k < nin; k++) {
        int p = inputs[k];
        if (p != MLI_GRAPH_INPUT && (p < 0 || p >= id)) /* topological order by construction */
            return mli_err(MLI_EUSAGE, "%s: input %d is not an earlier node", name, p), -1;
        n->in[k] = p;
        n->ishape[k] = p == MLI_GRAPH_INPUT ? a->in_shape : a->nodes[p].shape;
    }
    if (op->infer(n))
        return -1;
    n->size = mli_shape_numel(&n->shape);
    op->layout(a, n);
    for (int k = 0; k < nin; k++)
        if (n->in[k] != MLI_GRAPH_INPUT)
            a->nodes[n->in[k]].nuse++;
    if (n->size > (size_t)a->width_max)
        a->width_max = (int)n->size;
    a->nnodes++;
    return id;
}

int mli_graph_end(mli_arch *a)
{
    if (!a->nnodes)
        return mli_err(MLI_EUSAGE, "the graph has no node");
    mli_node *o = &a->nodes[a->nnodes - 1];
    o->nuse++; /* the loss */
    a->nout = (int)o->size;
    for (int i = 0; i + 1 < a->nnodes; i++)
        if (!a->nodes[i].nuse)
            return mli_err(MLI_EUSAGE, "node %s: its output is not used", a->nodes[i].name);
    return MLI_OK;
}

int mli_graph_hoisted(const mli_arch *a)
{
    int src = MLI_GRAPH_INPUT; /* the data, or a reshape of it that one node alone reads */
    for (int i = 0; i < a->nnodes; i++) {
        const mli_node *n = &a->nodes[i];
        int data = 0;
        for (int k = 0; k < n->nin; k++)
            data |= n->in[k] == MLI_GRAPH_INPUT || n->in[k] == src;
        if (!data)
            continue;
        /* a reshape holds the data's own values: the node after it reads them as they are */
        if (n->nin == 1 && n->in[0] == src && n->nuse == 1 && n->op->pwl && n->op->pwl(n) == MLI_PWL_RESHAPE) {
            src = i;
            continue;
        }
        return n->nin == 1 && n->in[0] == src && n->op->hoist ? i : -1;
    }
    return -1;
}

int mli_graph_chain(const mli_arch *a, mli_chain *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < a->nnodes; i++) {
        const mli_node *n = &a->nodes[i];
        mli_pwl_role r = n->op->pwl ? n->op->pwl(n) : MLI_PWL_NONE;
        if (n->nin != 1 || n->in[0] != i - 1 || r == MLI_PWL_NONE)
            return mli_err(MLI_EUSAGE, "node %s (%s) is not part of a chain of affine maps and relu "
                           "or identity", n->name, n->op->name);
        if (r == MLI_PWL_RESHAPE) /* the same values under another shape */
            continue;
        if (r == MLI_PWL_AFFINE) {
            c->in[c->nlin] = n->ishape[0].d[n->ishape[0].ndim - 1];
            c->out[c->nlin] = n->shape.d[n->shape.ndim - 1];
            c->w[c->nlin] = n->off[0];
            c->b[c->nlin] = n->off[1];
            c->nlin++;
        } else if (i == 0 || a->nodes[i - 1].op->pwl(&a->nodes[i - 1]) != MLI_PWL_AFFINE)
            return mli_err(MLI_EUSAGE, "node %s: an activation that does not follow an affine map", n->name);
        else
            c->relu[c->nlin - 1] = r == MLI_PWL_RELU;
    }
    return MLI_OK;
}

static int add_node(mli_arch *a, const mli_op *op, mli_layer_kind kind, int attr, int *seq)
{
    char name[64];
    snprintf(name, sizeof name, "layers.%d", *seq);
    int prev = a->nnodes - 1;
    int id = mli_graph_add(a, op, &prev, 1, attr, name);
    if (id < 0)
        return -1;
    const mli_node *n = &a->nodes[id];
    mli_layer *l = &a->layers[a->nlayers++];
    l->kind = kind;
    l->in = (int)mli_shape_numel(&n->ishape[0]);
    l->out = (int)n->size;
    l->p = n->nt && !a->tensors[n->tensor[0]].is_buffer ? n->off[0] : a->nparams;
    l->s = n->nt > 2 ? n->off[2] : a->nbuffers;
    l->seq = (*seq)++;
    return id;
}

int mli_arch_init(mli_arch *a, int input_size, const int *hsizes, int nh, mli_act act,
                  int use_bn, mli_loss loss)
{
    memset(a, 0, sizeof *a);
    if (input_size < 1)
        return mli_err(MLI_EUSAGE, "input size %d is not positive", input_size);
    if (nh < 1 || nh > MLI_MAX_HIDDEN)
        return mli_err(MLI_EUSAGE, "hsizes: %d layers, expected 1 to %d", nh, MLI_MAX_HIDDEN);
    mli_graph_begin(a, &input_size, 1, loss);
    a->nh = nh;
    memcpy(a->hsizes, hsizes, sizeof(int) * (size_t)nh);
    a->act = act;
    a->use_bn = use_bn;
    int seq = 0;
    /* the first Linear reads the data: add_node's "previous node" is then MLI_GRAPH_INPUT */
    if (add_node(a, &mli_op_linear, MLI_LAYER_LINEAR, hsizes[0], &seq) < 0)
        return MLI_EUSAGE;
    for (int i = 1; i < nh; i++) {
        if (use_bn && add_node(a, &mli_op_batchnorm, MLI_LAYER_BN, 0, &seq) < 0)
            return MLI_EUSAGE;
        if (add_node(a, &mli_op_act, MLI_LAYER_ACT, act, &seq) < 0 ||
            add_node(a, &mli_op_linear, MLI_LAYER_LINEAR, hsizes[i], &seq) < 0)
            return MLI_EUSAGE;
    }
    if (mli_graph_end(a))
        return MLI_EUSAGE;
    if (loss == MLI_LOSS_RECON && a->nout != input_size)
        return mli_err(MLI_EUSAGE, "loss_fn=recon needs the last size of hsizes (%d) to equal the input size (%d)",
                       a->nout, input_size);
    return MLI_OK;
}

void mli_arch_init_buffers(const mli_arch *a, mli_real *bufs)
{
    for (int i = 0; i < a->nnodes; i++)
        a->nodes[i].op->init(&a->nodes[i], MLI_INIT_DEFAULT, NULL, NULL, bufs);
}
