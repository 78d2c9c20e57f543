/* layer.c: what all layers share: allocation, setup against existing parameters,
 * binding parameters as views into flat blocks, Keras initialisers, and the fused
 * bias + activation kernels (forward and backward) used by Conv2D, Conv1D and Dense.
 * Activations act on rows×width matrices (width = channels, the last axis). */
#include "nn/layer.h"
#include "nn/parallel.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

lt_layer *lt_layer_alloc(size_t size, const lt_layer_vt *vt) {
    lt_layer *l = calloc(1, size);
    if (!l) {
        lt_seterr(LT_ENOMEM, "%s: out of memory", vt->kind);
        return NULL;
    }
    l->vt = vt;
    l->size = size;
    l->refs = 1;
    l->training = 1;
    l->use_bias = 1;
    snprintf(l->name, sizeof l->name, "%s", vt->kind);
    return l;
}

void lt_layer_free(lt_layer *l) {
    if (!l || --l->refs > 0) return;
    if (l->vt->destroy) l->vt->destroy(l);
    lt_tensor_free(l->w);
    lt_tensor_free(l->b);
    lt_tensor_free(l->dw);
    lt_tensor_free(l->db);
    lt_tensor_free(l->state);
    free(l);
}

const char *lt_layer_shape_str(int nd, const int64_t *shape, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "(None");
    for (int i = 0; i < nd && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, ", %lld", (long long)shape[i]);
    if (n < size) snprintf(buf + n, size - n, ")");
    return buf;
}

lt_status lt_layer_setup(lt_layer *l, int nd, const int64_t *in) {
    int64_t shape[1][LT_MAX_DIMS];
    memcpy(shape[0], in, (size_t)nd * sizeof *in);
    return lt_layer_setup_n(l, 1, &nd, (const int64_t(*)[LT_MAX_DIMS])shape);
}

/* What a setup writes in the header. */
typedef struct {
    int out_nd, wnd;
    int64_t out_shape[LT_MAX_DIMS], wshape[4], nw, nb, nstate;
} lt_layer_geom;

lt_status lt_layer_setup_n(lt_layer *l, int n, const int *nds, const int64_t (*ins)[LT_MAX_DIMS]) {
    static uint64_t setups;
    int nd = nds[0];
    const int64_t *in = ins[0];
    if (l->running)
        return lt_seterr(LT_EARG, "%s (%s) is running in a model: it cannot be set up for "
                         "another input meanwhile", l->name, l->vt->kind);
    if ((n == 1) != (l->vt->setup_n == NULL))
        return lt_seterr(LT_EARG, l->vt->setup_n ? "%s (%s): a merge layer takes a list of 2 or "
                         "more inputs, got 1" : "%s (%s) takes one input, got %d", l->name,
                         l->vt->kind, n);
    int64_t numel;
    for (int k = 0; k < n; k++)     /* bounded inputs: a setup's products of them cannot overflow */
        if (lt_shape_check(l->name, nds[k], ins[k], &numel) != LT_OK) return LT_ESHAPE;
    /* Setup is all or nothing: what it writes (the header's shapes, the kind's geometry
     * after the header) is put back when it fails, so a layer refused a shape keeps
     * working for the one it had (a pooling layer shared with a model of another shape
     * ran on half-changed geometry). Setup allocates nothing, so bytes are all it changes. */
    lt_layer_geom old = {l->out_nd, l->wnd, {0}, {0}, l->nw, l->nb, l->nstate};
    memcpy(old.out_shape, l->out_shape, sizeof old.out_shape);
    memcpy(old.wshape, l->wshape, sizeof old.wshape);
    size_t tail = l->size > sizeof *l ? l->size - sizeof *l : 0;
    unsigned char *saved = tail ? malloc(tail) : NULL;
    if (tail && !saved) return lt_seterr(LT_ENOMEM, "%s: out of memory", l->name);
    if (tail) memcpy(saved, (unsigned char *)l + sizeof *l, tail);
    lt_status s = n == 1 ? l->vt->setup(l, nd, in) : l->vt->setup_n(l, n, nds, ins);
    if (s == LT_OK && l->w && (l->wnd != old.wnd || l->nb != old.nb ||
                               memcmp(l->wshape, old.wshape, sizeof old.wshape) != 0)) {
        /* The kind-specific setup names the mismatch when it can; this is the fallback. */
        char a[160], b[160], c[160];
        s = lt_seterr(LT_ESHAPE, "%s (%s): input shape %s needs weights %s, but the layer has %s",
                      l->name, l->vt->kind, lt_shape_str(nd, in, a, sizeof a),
                      lt_shape_str(l->wnd, l->wshape, b, sizeof b),
                      lt_shape_str(old.wnd, old.wshape, c, sizeof c));
    }
    if (s == LT_OK && (lt_shape_check(l->name, l->out_nd, l->out_shape, &numel) != LT_OK ||
                       (l->wnd && lt_shape_check(l->name, l->wnd, l->wshape, &numel) != LT_OK)))
        s = LT_ESHAPE;
    if (s != LT_OK) {
        l->out_nd = old.out_nd;
        l->wnd = old.wnd;
        memcpy(l->out_shape, old.out_shape, sizeof old.out_shape);
        memcpy(l->wshape, old.wshape, sizeof old.wshape);
        l->nw = old.nw;
        l->nb = old.nb;
        l->nstate = old.nstate;
        if (tail) memcpy((unsigned char *)l + sizeof *l, saved, tail);
    }
    free(saved);
    if (s != LT_OK) return s;
    l->in_nd = nd;
    memcpy(l->in_shape, in, (size_t)nd * sizeof *in);
    l->in_size = 1;
    for (int i = 0; i < nd; i++) l->in_size *= in[i];
    l->out_size = 1;
    for (int i = 0; i < l->out_nd; i++) l->out_size *= l->out_shape[i];
    l->set_up = 1;
    l->setup_id = ++setups;
    return LT_OK;
}

/* A view of flat[off .. off+n) with the given shape. */
static lt_tensor *view(lt_tensor *flat, int64_t off, int nd, const int64_t *shape, int64_t n) {
    lt_tensor *v = lt_tensor_narrow(flat, 0, off, n);
    if (!v) return NULL;
    lt_tensor *r = lt_tensor_reshape(v, nd, shape);
    lt_tensor_free(v);
    return r;
}

lt_status lt_layer_bind(lt_layer *l, lt_tensor *params, lt_tensor *grads, int64_t off,
                        lt_rng *r) {
    if (lt_layer_nparams(l) == 0) return LT_OK;
    lt_tensor *w = NULL, *b = NULL, *dw = NULL, *db = NULL;
    w = view(params, off, l->wnd, l->wshape, l->nw);
    dw = view(grads, off, l->wnd, l->wshape, l->nw);
    if (l->nb) {
        b = view(params, off + l->nw, 1, &l->nb, l->nb);
        db = view(grads, off + l->nw, 1, &l->nb, l->nb);
    }
    if (!w || !dw || (l->nb && (!b || !db))) {
        lt_tensor_free(w); lt_tensor_free(dw); lt_tensor_free(b); lt_tensor_free(db);
        return LT_ENOMEM;
    }
    int had = l->w != NULL;
    if (had) {
        memcpy(w->data, l->w->data, (size_t)l->nw * sizeof(float));
        if (l->nb) memcpy(b->data, l->b->data, (size_t)l->nb * sizeof(float));
    }
    memset(dw->data, 0, (size_t)l->nw * sizeof(float));
    if (l->nb) memset(db->data, 0, (size_t)l->nb * sizeof(float));
    /* views of the old blocks (layer.weight, parameters() taken before) are now stale */
    lt_tensor *old[] = {l->w, l->b, l->dw, l->db};
    for (int i = 0; i < 4; i++)
        if (old[i]) old[i]->storage->detached = 1;
    lt_tensor_free(l->w); lt_tensor_free(l->b); lt_tensor_free(l->dw); lt_tensor_free(l->db);
    l->w = w; l->b = b; l->dw = dw; l->db = db;
    if (!had) {
        if (l->nb) memset(b->data, 0, (size_t)l->nb * sizeof(float));   /* zero biases */
        if (l->vt->init) l->vt->init(l, r);
    }
    return LT_OK;
}

lt_status lt_layer_build_state(lt_layer *l) {
    if (l->nstate == 0 || (l->state && l->state->numel == l->nstate)) return LT_OK;
    lt_tensor_free(l->state);
    l->state = lt_tensor_new(1, &l->nstate);
    if (!l->state) return LT_ENOMEM;
    if (l->vt->init_state) l->vt->init_state(l);
    return LT_OK;
}

lt_status lt_layer_build(lt_layer *l, lt_rng *r) {
    if (!l->set_up) return lt_seterr(LT_EARG, "%s: input shape unknown", l->name);
    int64_t n = lt_layer_nparams(l);
    if (n == 0 || l->w) return LT_OK;
    lt_tensor *p = lt_tensor_new(1, &n), *g = lt_tensor_new(1, &n);
    lt_status s = (p && g) ? lt_layer_bind(l, p, g, 0, r) : LT_ENOMEM;
    lt_tensor_free(p);
    lt_tensor_free(g);
    return s;
}

/* ---- activations ---- */

static const char *act_names[] = {"linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu"};

const char *lt_act_name(lt_act a) { return act_names[a]; }

int lt_act_parse(const char *s, lt_act *a) {
    if (!s || !*s || strcmp(s, "none") == 0) { *a = LT_ACT_NONE; return 1; }
    for (int i = 0; i < (int)(sizeof act_names / sizeof *act_names); i++)
        if (strcmp(s, act_names[i]) == 0) { *a = (lt_act)i; return 1; }
    return 0;
}

static void softmax_row(float *y, int64_t width) {
    float mx = y[0];
    for (int64_t j = 1; j < width; j++) mx = y[j] > mx ? y[j] : mx;
    float sum = 0;
    for (int64_t j = 0; j < width; j++) { y[j] = expf(y[j] - mx); sum += y[j]; }
    float inv = 1.0f / sum;
    for (int64_t j = 0; j < width; j++) y[j] *= inv;
}

void lt_bias_act(float *y, const float *b, int64_t rows, int64_t width, lt_act act,
                 float alpha) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = y + r * width;
        if (b)
            for (int64_t j = 0; j < width; j++) row[j] += b[j];
        switch (act) {
        case LT_ACT_NONE: break;
        case LT_ACT_RELU:
            for (int64_t j = 0; j < width; j++) row[j] = row[j] > 0 ? row[j] : 0;
            break;
        case LT_ACT_LEAKY_RELU:
            for (int64_t j = 0; j < width; j++) row[j] = row[j] > 0 ? row[j] : alpha * row[j];
            break;
        case LT_ACT_SIGMOID:
            for (int64_t j = 0; j < width; j++) row[j] = 1.0f / (1.0f + expf(-row[j]));
            break;
        case LT_ACT_TANH:
            for (int64_t j = 0; j < width; j++) row[j] = tanhf(row[j]);
            break;
        case LT_ACT_SOFTMAX: softmax_row(row, width); break;
        }
    }
}

void lt_act_backward(const float *y, float *dy, int64_t rows, int64_t width, lt_act act,
                     float alpha) {
    int64_t n = rows * width;
    switch (act) {
    case LT_ACT_NONE: break;
    case LT_ACT_RELU:            /* y > 0 exactly where the pre-activation was > 0 */
        for (int64_t i = 0; i < n; i++) dy[i] = y[i] > 0 ? dy[i] : 0;
        break;
    case LT_ACT_LEAKY_RELU:      /* sign(y) = sign(z) for alpha > 0 */
        for (int64_t i = 0; i < n; i++) dy[i] = y[i] > 0 ? dy[i] : alpha * dy[i];
        break;
    case LT_ACT_SIGMOID:         /* σ' = y(1-y) */
        for (int64_t i = 0; i < n; i++) dy[i] *= y[i] * (1.0f - y[i]);
        break;
    case LT_ACT_TANH:            /* tanh' = 1 - y² */
        for (int64_t i = 0; i < n; i++) dy[i] *= 1.0f - y[i] * y[i];
        break;
    case LT_ACT_SOFTMAX:         /* dz_i = y_i (dy_i - Σ_j y_j dy_j) */
        for (int64_t r = 0; r < rows; r++) {
            const float *yr = y + r * width;
            float *dr = dy + r * width;
            double dot = 0;
            for (int64_t j = 0; j < width; j++) dot += (double)yr[j] * dr[j];
            for (int64_t j = 0; j < width; j++) dr[j] = yr[j] * (dr[j] - (float)dot);
        }
        break;
    }
}

/* dy ⊙ (y > 0) in place, its column sums added to db row by row, 64 columns at a time in a
 * local array: summed into db itself, which the compiler must assume may alias dy, every
 * sum went through memory (a conv layer's 7200×32: 25 % slower). */
static void relu_colsum(const float *restrict y, float *restrict dy, int64_t rows,
                        int64_t width, float *restrict db) {
    for (int64_t j0 = 0; j0 < width; j0 += 64) {
        int64_t w = width - j0 < 64 ? width - j0 : 64;
        float sum[64];
        for (int64_t j = 0; j < w; j++) sum[j] = db[j0 + j];
        for (int64_t r = 0; r < rows; r++) {
            const float *yr = y + r * width + j0;
            float *dr = dy + r * width + j0;
            for (int64_t j = 0; j < w; j++) {
                float v = yr[j] > 0 ? dr[j] : 0;
                dr[j] = v;
                sum[j] += v;
            }
        }
        for (int64_t j = 0; j < w; j++) db[j0 + j] = sum[j];
    }
}

void lt_act_bias_backward(lt_layer *l, const float *y, float *dy, int64_t rows,
                          int64_t width) {
    float *db = l->db ? lt_grad_ptr(l->db) : NULL;
    int act = !l->skip_act_grad && l->act != LT_ACT_NONE;
    if (act && l->act == LT_ACT_RELU && db) {    /* one pass: the mask, then the column sums */
        relu_colsum(y, dy, rows, width, db);
        return;
    }
    if (act) lt_act_backward(y, dy, rows, width, l->act, l->alpha);
    if (db) lt_colsum_acc(dy, rows, width, db);
}

void lt_transpose_to(float *dst, const float *src, int64_t rows, int64_t cols, int add) {
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {        /* 16 rows of src: both sides in L1 */
        int64_t r1 = rows - r0 < 16 ? rows : r0 + 16;
        for (int64_t c = 0; c < cols; c++) {
            float *d = dst + c * rows;
            for (int64_t r = r0; r < r1; r++) {
                float v = src[r * cols + c];
                d[r] = add ? d[r] + v : v;
            }
        }
    }
}

void lt_colsum_acc(const float *dy, int64_t rows, int64_t width, float *db) {
    for (int64_t r = 0; r < rows; r++) {
        const float *row = dy + r * width;
        for (int64_t j = 0; j < width; j++) db[j] += row[j];
    }
}

void lt_glorot_uniform(float *w, int64_t n, int64_t fan_in, int64_t fan_out, lt_rng *r) {
    float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
    for (int64_t i = 0; i < n; i++) w[i] = (2.0f * lt_rng_uniform(r) - 1.0f) * limit;
}
