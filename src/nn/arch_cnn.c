/* The convolutional architectures of the reference (LeNet, VGG, the CIFAR ResNet) as graphs of
 * operators, from the keys arch, depth, width, act_fn, use_batchnorm (nn/arch.h says the
 * shapes). Tensor names follow the reference's state_dict (conv1.weight, layer2.0.bn1.bias,
 * features.3.weight, fc.weight ...), so a PyTorch model's tensors convert by name. */
#include <stdio.h>
#include <string.h>

#include "io/err.h"
#include "nn/op.h"

static const char *kind_names[] = {"fcnet", "lenet", "vgg", "resnet"};

const char *mli_arch_kind_name(int kind) { return kind_names[kind]; }

int mli_arch_kind_parse(const char *s, int *kind)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, kind_names[i])) {
            *kind = i;
            return MLI_OK;
        }
    return mli_err(MLI_EUSAGE, "arch: '%s' is not one of fcnet, lenet, vgg, resnet", s);
}

int mli_arch_default_depth(int kind)
{
    return kind == MLI_ARCH_RESNET ? 20 : kind == MLI_ARCH_VGG ? 3 : 0;
}

int mli_arch_default_width(int kind)
{
    return kind == MLI_ARCH_RESNET ? 16 : kind == MLI_ARCH_VGG ? 64 : kind == MLI_ARCH_LENET ? 6 : 0;
}

/* One node on one input; −1 with mli_err set on failure. */
static int node1(mli_arch *a, const mli_op *op, int in, const int *attr, int nattr, const char *name)
{
    return mli_graph_add_attrs(a, op, &in, 1, attr, nattr, NULL, 0, name);
}

/* Conv k×k, stride s, padding p on every side, K output channels. */
static int conv(mli_arch *a, int in, int K, int k, int s, int p, int bias, const char *name)
{
    int attr[13] = {K, k, k, s, s, p, p, p, p, 1, 1, 1, bias};
    return node1(a, &mli_op_conv, in, attr, 13, name);
}

static int act(mli_arch *a, int in, const char *name)
{
    int attr = (int)a->act;
    return node1(a, &mli_op_act, in, &attr, 1, name);
}

static int maxpool2(mli_arch *a, int in, const char *name)
{
    int attr[11] = {2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0};
    return node1(a, &mli_op_maxpool, in, attr, 11, name);
}

static int flatten(mli_arch *a, int in, const char *name)
{
    int attr[2] = {1, (int)a->nodes[in].size};
    return node1(a, &mli_op_reshape, in, attr, 2, name);
}

static int linear(mli_arch *a, int in, int out, const char *name)
{
    int attr[2] = {out, 0};
    return node1(a, &mli_op_linear, in, attr, 2, name);
}

/* conv (with a bias or not), [bn], act (act skipped when actname is NULL) */
static int conv_bn_act(mli_arch *a, int in, int K, int k, int s, int p, int bias, const char *cname,
                       const char *bname, const char *actname)
{
    int x = conv(a, in, K, k, s, p, bias, cname);
    if (x >= 0 && a->use_bn)
        x = node1(a, &mli_op_batchnorm, x, NULL, 0, bname);
    if (x >= 0 && actname)
        x = act(a, x, actname);
    return x;
}

/* LeNet-5 of the reference: two 5×5 convolutions with max pooling, three Linear layers. */
static int build_lenet(mli_arch *a)
{
    int c1 = a->width, c2 = (16 * a->width + 3) / 6; /* 6 and 16 at the default width 6 */
    int x = conv(a, MLI_GRAPH_INPUT, c1, 5, 1, 0, 1, "conv1");
    if (x >= 0) x = act(a, x, "relu1");
    if (x >= 0) x = maxpool2(a, x, "pool1");
    if (x >= 0) x = conv(a, x, c2, 5, 1, 0, 1, "conv2");
    if (x >= 0) x = act(a, x, "relu2");
    if (x >= 0) x = maxpool2(a, x, "pool2");
    if (x >= 0) x = flatten(a, x, "flatten");
    if (x >= 0) x = linear(a, x, 120, "fc1");
    if (x >= 0) x = act(a, x, "relu3");
    if (x >= 0) x = linear(a, x, 84, "fc2");
    if (x >= 0) x = act(a, x, "relu4");
    if (x >= 0) x = linear(a, x, a->nout, "fc3");
    return x < 0 ? MLI_EUSAGE : MLI_OK;
}

/* VGG: `depth` blocks conv 3×3 [bn] act maxpool; names are the reference's nn.Sequential
 * indices features.{i} (conv i, bn i+1, act, pool), then classifier. */
static int build_vgg(mli_arch *a)
{
    int x = MLI_GRAPH_INPUT, seq = 0;
    char cn[32], bn[32], an[32], pn[32];
    for (int b = 0; b < a->depth; b++) {
        int K = a->width << (b < 3 ? b : 3);
        snprintf(cn, sizeof cn, "features.%d", seq++);
        if (a->use_bn)
            snprintf(bn, sizeof bn, "features.%d", seq++);
        snprintf(an, sizeof an, "features.%d", seq++);
        snprintf(pn, sizeof pn, "features.%d", seq++);
        x = conv_bn_act(a, x, K, 3, 1, 1, 1, cn, bn, an);
        if (x >= 0)
            x = maxpool2(a, x, pn);
        if (x < 0)
            return mli_err(MLI_EUSAGE, "depth=%d: vgg block %d does not fit the %d×%d input (%s)", a->depth, b + 1,
                           a->in_shape.d[1], a->in_shape.d[2], mli_errmsg());
    }
    if (x >= 0) x = flatten(a, x, "flatten");
    if (x >= 0) x = linear(a, x, a->nout, "classifier");
    return x < 0 ? MLI_EUSAGE : MLI_OK;
}

/* The option-A shortcut of the reference where the shape changes: the input subsampled with
 * stride 2 (a 1×1 average pool), [bn0 over its C channels], then K − C zero channels. */
static int shortcut_a(mli_arch *a, int x, int K, const char *p)
{
    char pn[48], bn[48], zn[48];
    snprintf(pn, sizeof pn, "%s.downsample.pool", p);
    snprintf(bn, sizeof bn, "%s.downsample.bn0", p);
    snprintf(zn, sizeof zn, "%s.downsample.pad", p);
    int pool[11] = {1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 0};
    int y = node1(a, &mli_op_avgpool, x, pool, 11, pn);
    if (y >= 0 && a->use_bn)
        y = node1(a, &mli_op_batchnorm, y, NULL, 0, bn);
    int extra = K - a->nodes[x].shape.d[0];
    return y < 0 ? -1 : node1(a, &mli_op_padc, y, &extra, 1, zn);
}

/* One basic block of stage s (1..3), block j: conv3×3 (stride) [bn] act conv3×3 [bn], plus the
 * shortcut (identity, or option A when the shape changes), then act. */
static int basic_block(mli_arch *a, int x, int K, int stride, int s, int j)
{
    char p[32], c1[48], b1[48], r1[48], c2[48], b2[48], ad[48], r2[48];
    snprintf(p, sizeof p, "layer%d.%d", s, j);
    snprintf(c1, sizeof c1, "%s.conv1", p);
    snprintf(b1, sizeof b1, "%s.bn1", p);
    snprintf(r1, sizeof r1, "%s.relu1", p);
    snprintf(c2, sizeof c2, "%s.conv2", p);
    snprintf(b2, sizeof b2, "%s.bn2", p);
    snprintf(ad, sizeof ad, "%s.add", p);
    snprintf(r2, sizeof r2, "%s.relu2", p);
    int y = conv_bn_act(a, x, K, 3, stride, 1, 0, c1, b1, r1);
    if (y >= 0)
        y = conv_bn_act(a, y, K, 3, 1, 1, 0, c2, b2, NULL);
    int sc = x;
    if (y >= 0 && (stride != 1 || a->nodes[x].shape.d[0] != K))
        sc = shortcut_a(a, x, K, p);
    if (y < 0 || sc < 0)
        return -1;
    int in[2] = {y, sc};
    int z = mli_graph_add_attrs(a, &mli_op_add, in, 2, NULL, 0, NULL, 0, ad);
    return z < 0 ? -1 : act(a, z, r2);
}

static int build_resnet(mli_arch *a)
{
    if (a->depth < 8 || (a->depth - 2) % 6)
        return mli_err(MLI_EUSAGE, "depth=%d: a resnet has depth 6n + 2 (8, 14, 20, 32, 44, 56)", a->depth);
    int nb = (a->depth - 2) / 6;
    int x = conv_bn_act(a, MLI_GRAPH_INPUT, a->width, 3, 1, 1, 0, "conv1", "bn1", "relu");
    for (int s = 1; s <= 3 && x >= 0; s++)
        for (int j = 0; j < nb && x >= 0; j++)
            x = basic_block(a, x, a->width << (s - 1), s > 1 && j == 0 ? 2 : 1, s, j);
    int one = 1;
    if (x >= 0) x = node1(a, &mli_op_gap, x, &one, 1, "avgpool");
    if (x >= 0) x = linear(a, x, a->nout, "fc");
    return x < 0 ? MLI_EUSAGE : MLI_OK;
}

int mli_arch_cnn(mli_arch *a, mli_arch_kind kind, const int *in_shape, int depth, int width,
                 mli_act act_fn, int use_bn, mli_loss loss, int nout)
{
    memset(a, 0, sizeof *a);
    if (kind == MLI_ARCH_FCNET || kind < 0 || kind > MLI_ARCH_RESNET)
        return mli_err(MLI_EUSAGE, "arch: %d is not a convolutional architecture", kind);
    if (in_shape[0] < 1 || in_shape[1] < 1 || in_shape[2] < 1)
        return mli_err(MLI_EUSAGE, "arch=%s: the input %d×%d×%d is not an image", kind_names[kind], in_shape[0],
                       in_shape[1], in_shape[2]);
    if (width < 1 || width > 4096)
        return mli_err(MLI_EUSAGE, "width=%d: expected 1 to 4096 channels", width);
    if (kind == MLI_ARCH_VGG && (depth < 1 || depth > 8))
        return mli_err(MLI_EUSAGE, "depth=%d: a vgg has 1 to 8 blocks", depth);
    if (kind == MLI_ARCH_LENET && use_bn)
        return mli_err(MLI_EUSAGE, "use_batchnorm=true: the reference's lenet has no batch norm");
    if (nout < 1)
        return mli_err(MLI_EUSAGE, "arch=%s: %d outputs", kind_names[kind], nout);
    if (loss == MLI_LOSS_RECON)
        return mli_err(MLI_EUSAGE, "loss_fn=recon: arch=%s is a classifier (ce or mse)", kind_names[kind]);
    mli_graph_begin(a, in_shape, 3, loss);
    a->kind = kind;
    a->depth = kind == MLI_ARCH_LENET ? 0 : depth;
    a->width = width;
    a->act = act_fn;
    a->use_bn = use_bn;
    a->nout = nout; /* read by the builders; mli_graph_end sets it again */
    int rc = kind == MLI_ARCH_LENET ? build_lenet(a) : kind == MLI_ARCH_VGG ? build_vgg(a) : build_resnet(a);
    if (rc)
        return mli_err(MLI_EUSAGE, "arch=%s depth=%d width=%d on a %d×%d×%d input: %s", kind_names[kind], depth,
                       width, in_shape[0], in_shape[1], in_shape[2], mli_errmsg());
    return mli_graph_end(a);
}
