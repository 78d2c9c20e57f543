/* merge.c: the merge layers of graph models (Keras Add, Subtract, Multiply, Average,
 * Maximum, Concatenate): n inputs in, one output, no parameters. The elementwise ones take
 * inputs of one shape (Subtract exactly two); Concatenate joins along an axis of the sample
 * shape, the others agreeing. Samples are independent, so a network may split them. */
#include "nn/layer.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    lt_layer h;
    lt_merge_op op;
    int axis;                          /* as given (Concatenate): -1 last, k > 0 Keras's k */
    int n;                             /* inputs, from setup */
    int64_t outer, inner[LT_MAX_MERGE], out_inner;   /* Concatenate's geometry */
} merge_layer;

static const char *const kinds[] = {"Add", "Subtract", "Multiply", "Average", "Maximum",
                                    "Concatenate"};

static lt_status mismatch(lt_layer *l, int k, int nd0, const int64_t *s0, int nd,
                          const int64_t *s, const char *why) {
    char a[160], b[160];
    return lt_seterr(LT_ESHAPE, "%s (%s): input 1 has shape %s but input %d has shape %s%s",
                     l->name, l->vt->kind, lt_layer_shape_str(nd0, s0, a, sizeof a), k + 1,
                     lt_layer_shape_str(nd, s, b, sizeof b), why);
}

static lt_status merge_setup_n(lt_layer *l, int n, const int *nd,
                               const int64_t (*in)[LT_MAX_DIMS]) {
    merge_layer *m = (merge_layer *)l;
    if (n < 2 || n > LT_MAX_MERGE || (m->op == LT_MERGE_SUBTRACT && n != 2))
        return lt_seterr(LT_EARG, "%s (%s): takes %s inputs, got %d", l->name, l->vt->kind,
                         m->op == LT_MERGE_SUBTRACT ? "exactly 2" : "2 to 16", n);
    if (m->op != LT_MERGE_CONCAT) {
        for (int k = 1; k < n; k++)
            if (nd[k] != nd[0] || memcmp(in[k], in[0], (size_t)nd[0] * sizeof(int64_t)) != 0)
                return mismatch(l, k, nd[0], in[0], nd[k], in[k], " (they must be equal)");
        l->out_nd = nd[0];
        memcpy(l->out_shape, in[0], (size_t)nd[0] * sizeof(int64_t));
        m->n = n;
        return LT_OK;
    }
    int ax = m->axis < 0 ? nd[0] + m->axis : m->axis - 1;
    if (ax < 0 || ax >= nd[0])
        return lt_seterr(LT_EARG, "%s (Concatenate): axis %d is outside the inputs' %d sample "
                         "dimensions", l->name, m->axis, nd[0]);
    int64_t total = 0;
    for (int k = 0; k < n; k++) {
        int same = nd[k] == nd[0];
        for (int i = 0; same && i < nd[0]; i++) same = i == ax || in[k][i] == in[0][i];
        if (!same) return mismatch(l, k, nd[0], in[0], nd[k], in[k], " (they must agree "
                                   "except along the concatenation axis)");
        total += in[k][ax];
    }
    l->out_nd = nd[0];
    memcpy(l->out_shape, in[0], (size_t)nd[0] * sizeof(int64_t));
    l->out_shape[ax] = total;
    m->n = n;
    m->outer = 1;
    for (int i = 0; i < ax; i++) m->outer *= in[0][i];
    m->out_inner = 0;
    for (int k = 0; k < n; k++) {
        m->inner[k] = 1;
        for (int i = ax; i < nd[k]; i++) m->inner[k] *= in[k][i];
        m->out_inner += m->inner[k];
    }
    return LT_OK;
}

static lt_status merge_forward_n(lt_layer *l, int n, const float *const *x, float *y,
                                 int64_t N) {
    merge_layer *m = (merge_layer *)l;
    if (m->op == LT_MERGE_CONCAT) {
        int64_t rows = N * m->outer;
        for (int64_t r = 0; r < rows; r++) {
            float *o = y + r * m->out_inner;
            for (int k = 0; k < n; k++) {
                memcpy(o, x[k] + r * m->inner[k], (size_t)m->inner[k] * sizeof(float));
                o += m->inner[k];
            }
        }
        return LT_OK;
    }
    int64_t len = N * l->out_size;
    memcpy(y, x[0], (size_t)len * sizeof(float));
    for (int k = 1; k < n; k++) {
        const float *xk = x[k];
        switch (m->op) {
        case LT_MERGE_ADD: case LT_MERGE_AVERAGE:
            for (int64_t i = 0; i < len; i++) y[i] += xk[i];
            break;
        case LT_MERGE_SUBTRACT:
            for (int64_t i = 0; i < len; i++) y[i] -= xk[i];
            break;
        case LT_MERGE_MULTIPLY:
            for (int64_t i = 0; i < len; i++) y[i] *= xk[i];
            break;
        case LT_MERGE_MAXIMUM:
            for (int64_t i = 0; i < len; i++) y[i] = xk[i] > y[i] ? xk[i] : y[i];
            break;
        case LT_MERGE_CONCAT: break;
        }
    }
    if (m->op == LT_MERGE_AVERAGE)
        for (int64_t i = 0; i < len; i++) y[i] /= (float)n;
    return LT_OK;
}

static void merge_backward_n(lt_layer *l, int n, const float *const *x, const float *y,
                             const float *dy, float *const *dx, int64_t N) {
    merge_layer *m = (merge_layer *)l;
    (void)y;
    if (m->op == LT_MERGE_CONCAT) {
        int64_t rows = N * m->outer;
        for (int64_t r = 0; r < rows; r++) {
            const float *g = dy + r * m->out_inner;
            for (int k = 0; k < n; k++) {
                if (dx[k]) memcpy(dx[k] + r * m->inner[k], g, (size_t)m->inner[k] * sizeof(float));
                g += m->inner[k];
            }
        }
        return;
    }
    int64_t len = N * l->out_size;
    for (int k = 0; k < n; k++) {
        float *d = dx[k];
        if (!d) continue;
        switch (m->op) {
        case LT_MERGE_ADD:
            memcpy(d, dy, (size_t)len * sizeof(float));
            break;
        case LT_MERGE_SUBTRACT:
            for (int64_t i = 0; i < len; i++) d[i] = k ? -dy[i] : dy[i];
            break;
        case LT_MERGE_AVERAGE:
            for (int64_t i = 0; i < len; i++) d[i] = dy[i] / (float)n;
            break;
        case LT_MERGE_MULTIPLY:       /* the product of the other inputs */
            memcpy(d, dy, (size_t)len * sizeof(float));
            for (int j = 0; j < n; j++)
                if (j != k)
                    for (int64_t i = 0; i < len; i++) d[i] *= x[j][i];
            break;
        case LT_MERGE_MAXIMUM:        /* to the first input holding the maximum */
            for (int64_t i = 0; i < len; i++) {
                int best = 0;
                for (int j = 1; j < n; j++)
                    if (x[j][i] > x[best][i]) best = j;
                d[i] = best == k ? dy[i] : 0.0f;
            }
            break;
        case LT_MERGE_CONCAT: break;
        }
    }
}

/* The single-input entries are never called: lt_layer_setup_n refuses one input. */
static lt_status merge_setup(lt_layer *l, int nd, const int64_t *in) {
    (void)nd; (void)in;
    return lt_seterr(LT_EARG, "%s (%s): a merge layer takes a list of inputs", l->name,
                     l->vt->kind);
}

#define MERGE_VT(kind) {kind, merge_setup, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                        LT_LAYER_SPLITTABLE, merge_setup_n, merge_forward_n, merge_backward_n}
static const lt_layer_vt merge_vts[] = {MERGE_VT("Add"), MERGE_VT("Subtract"),
                                        MERGE_VT("Multiply"), MERGE_VT("Average"),
                                        MERGE_VT("Maximum"), MERGE_VT("Concatenate")};

lt_layer *lt_merge_new(lt_merge_op op, int axis) {
    if (op == LT_MERGE_CONCAT && axis == 0) {
        lt_seterr(LT_EARG, "Concatenate: axis 0 is the batch axis; use -1 (the last) or 1..rank");
        return NULL;
    }
    merge_layer *m = (merge_layer *)lt_layer_alloc(sizeof *m, &merge_vts[op]);
    if (!m) return NULL;
    m->op = op;
    m->axis = axis;
    snprintf(m->h.name, sizeof m->h.name, "%s", kinds[op]);
    for (char *c = m->h.name; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    return &m->h;
}
