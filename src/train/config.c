#include "train/config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/err.h"

typedef enum { K_INT, K_LONG, K_DOUBLE, K_STR, K_BOOL, K_HSIZES, K_ENUM } key_type;

typedef struct {
    const char *name;
    key_type type;
    size_t off;
    const char *def;
    const char *const *choices; /* K_ENUM: NULL-terminated names, index = enum value */
    double lo, hi;              /* numeric range, inclusive */
    const char *help;
} key_spec;

static const char *const act_choices[] = {"identity", "relu", "tanh", "sigmoid", NULL};
static const char *const loss_choices[] = {"ce", "mse", "recon", NULL};
static const char *const init_choices[] = {"default", "xavier", "kaiming", NULL};
static const char *const optim_choices[] = {"sgd", "adam", NULL};
static const char *const reg_choices[] = {"none", "l1", "outR", NULL};
static const char *const arch_choices[] = {"fcnet", "lenet", "vgg", "resnet", NULL};

#define OFF(f) offsetof(mli_config, f)
static const key_spec keys[] = {
    {"dset_name", K_STR, OFF(dset_name), "fashionmnist", NULL, 0, 0,
     "fashionmnist, mnist, cifar10, gaussmix or teacher"},
    {"datasize", K_INT, OFF(datasize), "60000", NULL, 1, 1e9, "training examples (the first N)"},
    {"batchsize", K_INT, OFF(batchsize), "512", NULL, 1, 1e6, "minibatch size"},
    {"hsizes", K_HSIZES, OFF(hsizes), "100,10", NULL, 0, 0, "layer sizes, the last is the output"},
    {"act_fn", K_ENUM, OFF(act_fn), "relu", act_choices, 0, 0, "relu, tanh, sigmoid, identity"},
    {"use_batchnorm", K_BOOL, OFF(use_batchnorm), "false", NULL, 0, 0, "BatchNorm1d before each activation"},
    {"loss_fn", K_ENUM, OFF(loss_fn), "ce", loss_choices, 0, 0,
     "ce (cross-entropy), mse (squared error to one-hot or regression targets), recon (autoencoder)"},
    {"init_type", K_ENUM, OFF(init_type), "default", init_choices, 0, 0,
     "default (PyTorch Linear), xavier (uniform, zero bias), kaiming (normal fan_in, zero bias)"},
    {"optim_name", K_ENUM, OFF(optim_name), "sgd", optim_choices, 0, 0, "sgd (momentum = beta) or adam"},
    {"lr", K_DOUBLE, OFF(lr), "0.1", NULL, 0, 1e6, "learning rate"},
    {"beta", K_DOUBLE, OFF(beta), "0.9", NULL, 0, 0.999999, "SGD momentum, or Adam's beta1"},
    {"epochs", K_INT, OFF(epochs), "10", NULL, 0, 1e6, "training epochs"},
    {"test_every", K_INT, OFF(test_every), "1", NULL, 1, 1e6,
     "evaluate the test set every K epochs, the last and the early-stop check (train.tsv: nan between)"},
    {"regularization", K_ENUM, OFF(regularization), "none", reg_choices, 0, 0,
     "none, l1 (sum of mean |p| per tensor) or outR (sum of (|p| - outR_reg)^2 per tensor)"},
    {"regscale", K_DOUBLE, OFF(regscale), "1", NULL, 0, 1e9, "weight of the regularizer"},
    {"outR_reg", K_DOUBLE, OFF(outR_reg), "1", NULL, 0, 1e9, "target norm of each tensor for outR"},
    {"outR_mult", K_DOUBLE, OFF(outR_mult), "0", NULL, 0, 1e9,
     "outR: if > 0, each tensor's target is outR_mult x its norm at init (replaces outR_reg)"},
    {"random_label_proportion", K_DOUBLE, OFF(random_label_proportion), "0", NULL, 0, 1,
     "fraction of training labels replaced at random"},
    {"min_loss_threshold", K_DOUBLE, OFF(min_loss_threshold), "1", NULL, 0, 1e30,
     "stop early if the training loss is still above this ..."},
    {"min_loss_epoch_check", K_INT, OFF(min_loss_epoch_check), "10", NULL, 0, 1e6,
     "... after this epoch (status stopped_early)"},
    {"alpha_steps", K_INT, OFF(alpha_steps), "50", NULL, 2, MLI_ALPHA_STEPS_MAX, "points of the alpha grid on [0,1]"},
    {"seed", K_LONG, OFF(seed), "0", NULL, 0, 4294967295.0, "random seed"},
    {"save_freq", K_INT, OFF(save_freq), "0", NULL, 0, 1e6,
     "write traj/epoch_K.safetensors every K epochs (0: never)"},
    {"synth_dim", K_INT, OFF(synth_dim), "20", NULL, 1, 1e6, "gaussmix/teacher: input size"},
    {"synth_classes", K_INT, OFF(synth_classes), "10", NULL, 1, 1e6,
     "gaussmix: classes; teacher: outputs"},
    {"synth_test", K_INT, OFF(synth_test), "1000", NULL, 1, 1e8, "gaussmix/teacher: test examples"},
    /* the convolutional architectures (nn/arch.h); at their defaults they stay out of run ids */
    {"arch", K_ENUM, OFF(arch), "fcnet", arch_choices, 0, 0,
     "fcnet (hsizes), lenet, vgg or resnet (image sets; hsizes is then unused)"},
    {"depth", K_INT, OFF(depth), "0", NULL, 0, 1000,
     "resnet: 6n+2 layers, 8 to 56 (0: 20); vgg: conv blocks (0: 3)"},
    {"width", K_INT, OFF(width), "0", NULL, 0, 4096,
     "base channels (0: resnet 16 -> stages 16,32,64; vgg 64; lenet 6 -> 6,16)"},
    {"augment", K_BOOL, OFF(augment), "false", NULL, 0, 0,
     "random crop (pad 4) and horizontal flip of training images, seeded per epoch"},
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))
_Static_assert(sizeof keys / sizeof keys[0] <= MLI_CONFIG_MAX_KEYS, "mli_config_seen holds every key");

static const key_spec *find_key(const char *name)
{
    for (int i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].name, name))
            return &keys[i];
    return NULL;
}

int mli_config_has_key(const char *key) { return find_key(key) != NULL; }

static int bad_value(const key_spec *k, const char *value, const char *expected)
{
    return mli_err(MLI_EUSAGE, "%s: '%s' is not %s", k->name, value, expected);
}

static int set_number(const key_spec *k, void *field, const char *value)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end || errno || !isfinite(v))
        return bad_value(k, value, k->type == K_DOUBLE ? "a number" : "an integer");
    if (k->type != K_DOUBLE && v != floor(v))
        return bad_value(k, value, "an integer");
    if (v < k->lo || v > k->hi) {
        char range[96];
        snprintf(range, sizeof range, "in [%g, %g]", k->lo, k->hi);
        return bad_value(k, value, range);
    }
    if (k->type == K_INT)
        *(int *)field = (int)v;
    else if (k->type == K_LONG)
        *(long *)field = (long)v;
    else
        *(double *)field = v;
    return MLI_OK;
}

static int set_enum(const key_spec *k, void *field, const char *value)
{
    for (int i = 0; k->choices[i]; i++)
        if (!strcmp(value, k->choices[i])) {
            *(int *)field = i;
            return MLI_OK;
        }
    if (k->choices == act_choices && !strcmp(value, "linear")) {
        *(int *)field = MLI_ACT_IDENTITY;
        return MLI_OK;
    }
    char list[160] = "";
    for (int i = 0; k->choices[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "one of ", k->choices[i]);
    return bad_value(k, value, list);
}

int mli_config_set(mli_config *c, const char *key, const char *value)
{
    const key_spec *k = find_key(key);
    if (!k)
        return mli_err(MLI_EUSAGE, "unknown key '%s' (see 'mli train --help' for the keys)", key);
    void *field = (char *)c + k->off;
    switch (k->type) {
    case K_INT:
    case K_LONG:
    case K_DOUBLE:
        return set_number(k, field, value);
    case K_ENUM:
        return set_enum(k, field, value);
    case K_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "True"))
            *(int *)field = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "False"))
            *(int *)field = 0;
        else
            return bad_value(k, value, "true or false");
        return MLI_OK;
    case K_STR:
        if (!*value || strlen(value) >= sizeof c->dset_name)
            return bad_value(k, value, "a data set name");
        strcpy((char *)field, value);
        return MLI_OK;
    case K_HSIZES:
        return mli_hsizes_parse(value, c->hsizes, &c->nh);
    }
    return MLI_EUSAGE;
}

void mli_config_get(const mli_config *c, const char *key, char *buf, size_t len)
{
    const key_spec *k = find_key(key);
    const void *field = (const char *)c + k->off;
    switch (k->type) {
    case K_INT:
        snprintf(buf, len, "%d", *(const int *)field);
        break;
    case K_LONG:
        snprintf(buf, len, "%ld", *(const long *)field);
        break;
    case K_DOUBLE:
        snprintf(buf, len, "%.17g", *(const double *)field);
        break;
    case K_ENUM:
        snprintf(buf, len, "%s", k->choices[*(const int *)field]);
        break;
    case K_BOOL:
        snprintf(buf, len, "%s", *(const int *)field ? "true" : "false");
        break;
    case K_STR:
        snprintf(buf, len, "%s", (const char *)field);
        break;
    case K_HSIZES:
        mli_hsizes_format(c->hsizes, c->nh, buf, len);
        break;
    }
}

void mli_config_default(mli_config *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < NKEYS; i++)
        if (mli_config_set(c, keys[i].name, keys[i].def) != MLI_OK)
            abort(); /* a default that does not parse is a bug in the table */
}

int mli_config_set_pair(mli_config *c, const char *pair)
{
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair)
        return mli_err(MLI_EUSAGE, "'%s' is not of the form key=value", pair);
    char key[64];
    size_t n = (size_t)(eq - pair);
    if (n >= sizeof key)
        return mli_err(MLI_EUSAGE, "unknown key '%.*s'", (int)n, pair);
    memcpy(key, pair, n);
    key[n] = '\0';
    return mli_config_set(c, key, eq + 1);
}

/* Record where key is set; MLI_EUSAGE if it was set before. */
static int mark_seen(mli_config_seen *seen, const char *key, const char *where)
{
    const key_spec *k = find_key(key);
    if (!k)
        return MLI_OK; /* mli_config_set says it is unknown */
    char *w = seen->where[k - keys];
    if (w[0])
        return mli_err(MLI_EUSAGE, "key '%s' given twice: %s and %s; give it once", key, w, where);
    snprintf(w, sizeof seen->where[0], "%s", where);
    return MLI_OK;
}

int mli_config_set_once(mli_config *c, mli_config_seen *seen, const char *key, const char *value,
                        const char *where)
{
    int rc = mark_seen(seen, key, where);
    return rc ? rc : mli_config_set(c, key, value);
}

int mli_config_set_pair_once(mli_config *c, mli_config_seen *seen, const char *pair, const char *where)
{
    const char *eq = strchr(pair, '=');
    char key[64];
    size_t n = eq ? (size_t)(eq - pair) : 0;
    if (!eq || eq == pair || n >= sizeof key)
        return mli_config_set_pair(c, pair); /* its message */
    memcpy(key, pair, n);
    key[n] = '\0';
    return mli_config_set_once(c, seen, key, eq + 1, where);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

int mli_config_load_file(mli_config *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return mli_err(MLI_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return mli_err(MLI_EINPUT, "%s: is a directory, expected a config file of key=value lines", path);
    }
    mli_config_seen *seen = calloc(1, sizeof *seen);
    if (!seen) {
        fclose(f);
        return mli_err(MLI_EFAIL, "cannot allocate %zu bytes for reading %s", sizeof *seen, path);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = MLI_OK;
    errno = 0;
    while (rc == MLI_OK && (len = getline(&line, &cap, f)) >= 0) { /* lines of any length */
        lineno++;
        if (memchr(line, '\0', (size_t)len)) {
            rc = mli_err(MLI_EINPUT, "%s:%d: contains a NUL byte; a config file is text, key=value lines", path,
                         lineno);
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = mli_err(MLI_EINPUT, "%s:%d: '%.200s' is not of the form key=value", path, lineno, s);
            break;
        }
        *eq = '\0';
        char where[4200];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        char *key = trim(s);
        rc = mark_seen(seen, key, where);
        if (rc) /* a key given twice in the file: the file is invalid (exit status 3) */
            rc = mli_err(MLI_EINPUT, "%s", mli_errmsg());
        else if (mli_config_set(c, key, trim(eq + 1)) != MLI_OK)
            rc = mli_err(MLI_EINPUT, "%s:%d: %s", path, lineno, mli_errmsg());
    }
    if (rc == MLI_OK && ferror(f))
        rc = mli_err(MLI_EINPUT, "%s: read failed: %s", path, strerror(errno));
    free(line);
    free(seen);
    fclose(f);
    return rc;
}

int mli_config_validate(const mli_config *c)
{
    if (c->arch != MLI_ARCH_FCNET && c->loss_fn == MLI_LOSS_RECON)
        return mli_err(MLI_EUSAGE, "loss_fn=recon: arch=%s is a classifier (ce or mse)", arch_choices[c->arch]);
    if (c->arch == MLI_ARCH_LENET && c->use_batchnorm)
        return mli_err(MLI_EUSAGE, "use_batchnorm=true: the reference's lenet has no batch norm");
    if (c->arch == MLI_ARCH_FCNET && (c->depth || c->width))
        return mli_err(MLI_EUSAGE, "%s: arch=fcnet takes its sizes from hsizes", c->depth ? "depth" : "width");
    if (c->arch == MLI_ARCH_LENET && c->depth)
        return mli_err(MLI_EUSAGE, "depth: arch=lenet has a fixed depth");
    if (c->arch == MLI_ARCH_FCNET && c->loss_fn == MLI_LOSS_CE && c->hsizes[c->nh - 1] < 2)
        return mli_err(MLI_EUSAGE, "hsizes: loss_fn=ce needs at least 2 outputs, the last size is %d",
                       c->hsizes[c->nh - 1]);
    if (c->use_batchnorm && c->batchsize < 2)
        return mli_err(MLI_EUSAGE, "batchsize: batch norm needs batches of at least 2 examples");
    return MLI_OK;
}

cJSON *mli_config_to_json(const mli_config *c)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < NKEYS; i++) {
        const key_spec *k = &keys[i];
        const void *field = (const char *)c + k->off;
        char buf[256];
        switch (k->type) {
        case K_INT:
            cJSON_AddNumberToObject(o, k->name, *(const int *)field);
            break;
        case K_LONG:
            cJSON_AddNumberToObject(o, k->name, (double)*(const long *)field);
            break;
        case K_DOUBLE:
            cJSON_AddNumberToObject(o, k->name, *(const double *)field);
            break;
        case K_BOOL:
            cJSON_AddBoolToObject(o, k->name, *(const int *)field);
            break;
        case K_HSIZES:
            cJSON_AddItemToObject(o, k->name, cJSON_CreateIntArray(c->hsizes, c->nh));
            break;
        default:
            mli_config_get(c, k->name, buf, sizeof buf);
            cJSON_AddStringToObject(o, k->name, buf);
        }
    }
    return o;
}

int mli_config_from_json(mli_config *c, const cJSON *obj, const char *label)
{
    mli_config_default(c);
    for (int i = 0; i < NKEYS; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, keys[i].name);
        if (!v)
            continue; /* a key added after the file was written keeps its default */
        char buf[512];
        if (cJSON_IsBool(v))
            snprintf(buf, sizeof buf, "%s", cJSON_IsTrue(v) ? "true" : "false");
        else if (cJSON_IsNumber(v))
            snprintf(buf, sizeof buf, "%.17g", v->valuedouble);
        else if (cJSON_IsString(v))
            snprintf(buf, sizeof buf, "%s", v->valuestring);
        else if (cJSON_IsArray(v)) {
            buf[0] = '\0';
            const cJSON *e;
            cJSON_ArrayForEach(e, v)
            {
                if (!cJSON_IsNumber(e))
                    return mli_err(MLI_EINPUT, "%s: key '%s' holds a non-numeric list", label, keys[i].name);
                snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%d", buf[0] ? "," : "", e->valueint);
            }
        } else
            return mli_err(MLI_EINPUT, "%s: key '%s' has an unexpected type", label, keys[i].name);
        if (mli_config_set(c, keys[i].name, buf) != MLI_OK)
            return mli_err(MLI_EINPUT, "%s: %s", label, mli_errmsg()); /* mli_err copies first */
    }
    return MLI_OK;
}

void mli_config_print_help(FILE *f)
{
    for (int i = 0; i < NKEYS; i++)
        fprintf(f, "  %-24s %-14s %s\n", keys[i].name, keys[i].def, keys[i].help);
}
