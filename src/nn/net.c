/* net.c: graph network, training step and batched inference (see net.h).
 * Nodes run in topological order; a Sequential model is the chain (node i reads i-1).
 * Buffers (one aligned allocation, grown only when a bigger batch arrives):
 *   out[i]   N×size(i)   node i's activations, kept for backward
 *   cache[i] node i's forward→backward cache (im2col columns, argmax, dropout mask)
 *   scratch  N×sstride (sstride: the largest per-sample scratch of any layer, conv dcols);
 *            rows r0.. use it from r0·sstride on, for the same reason as the slots
 *   slots    gradient slots, each N×gstride (gstride: the largest per-sample activation).
 *            Backward keeps d loss / d output of a node in a slot from its first consumer's
 *            backward to its own, so a chain ping-pongs between two slots and a skip
 *            connection holds a third; a thread working on rows r0.. uses every slot from
 *            r0·gstride on, so threads on different nodes never overlap
 *   xbuf, ybuf  a gathered batch for lt_net_train_rows */
#include "nn/net.h"
#include "nn/monitor.h"
#include "dist/dist.h"
#include "nn/parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int lt_layer_sync_batch;

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A batch can be split by rows across threads when every layer declares it can and none
 * has a state update (it reads one whole-batch cache). */
static int splittable(const lt_layer *l) {
    return (l->vt->flags & LT_LAYER_SPLITTABLE) && !l->commit;
}

static int is_input(const lt_net *net, int i) { return i < net->ninputs; }

/* ---- set-up ---- */

/* Runs setup on every node from the input shapes. A layer used at several nodes must see
 * the same input shape at each: it has one set of geometry. */
static lt_status setup_all(lt_net *net) {
    for (int i = net->ninputs; i < net->n; i++) {
        lt_node *d = &net->nodes[i];
        int nd[LT_MAX_MERGE];
        int64_t shape[LT_MAX_MERGE][LT_MAX_DIMS];
        for (int k = 0; k < d->nin; k++) {
            const lt_node *p = &net->nodes[d->in[k]];
            nd[k] = p->nd;
            memcpy(shape[k], p->shape, sizeof shape[k]);
        }
        lt_layer *l = d->layer;
        for (int j = net->ninputs; j < i; j++) {
            const lt_node *e = &net->nodes[j];
            if (e->layer != l) continue;
            const lt_node *p = &net->nodes[e->in[0]];
            if (p->nd != nd[0] || memcmp(p->shape, shape[0], (size_t)nd[0] * 8) != 0) {
                char a[160], b[160];
                return lt_seterr(LT_ESHAPE, "%s (%s) is called on inputs of shape %s and %s: "
                                 "a shared layer takes one input shape", l->name, l->vt->kind,
                                 lt_layer_shape_str(p->nd, p->shape, a, sizeof a),
                                 lt_layer_shape_str(nd[0], shape[0], b, sizeof b));
            }
        }
        lt_status s = lt_layer_setup_n(l, d->nin, nd, (const int64_t(*)[LT_MAX_DIMS])shape);
        if (s != LT_OK) return s;
        d->nd = l->out_nd;
        memcpy(d->shape, l->out_shape, sizeof d->shape);
        d->size = l->out_size;
    }
    /* the layers now belong to a net of these shapes: standalone forwards must agree */
    for (int i = net->ninputs; i < net->n; i++) {
        net->nodes[i].setup_id = net->nodes[i].layer->setup_id;
        lt_layer_fix_shape(net->nodes[i].layer);
    }
    return LT_OK;
}

/* A layer may have been set up for another shape since (used standalone or by another
 * model): redo the set-up. Inside the net's own call its layers are marked running (see
 * enter); the net itself may set them up, unless another running net uses them too. */
static lt_status ensure_setup(lt_net *net) {
    for (int i = net->ninputs; i < net->n; i++) {
        if (net->nodes[i].layer->setup_id == net->nodes[i].setup_id) continue;
        for (int m = 0; m < net->nlayers; m++) net->layers[m]->running -= net->busy;
        lt_status s = setup_all(net);
        for (int m = 0; m < net->nlayers; m++) net->layers[m]->running += net->busy;
        return s;
    }
    return LT_OK;
}

/* Gradient slots for backward (see the top of the file), from the outputs back. want_dx:
 * the graph inputs' gradients are wanted too (lt_net_backward). frozen_aware: frozen
 * layers count as having no parameters, so a frozen base under a trainable head is not
 * backpropagated through at all (Keras); such a plan holds only for the frozen flags it
 * was made with (net->plan_frozen), and never needs more slots than the plain one (its
 * gradients are a subset at every point of the sweep, and a slot is only added when all
 * are in use). Returns the slot count (-1: out of memory). */
static int plan_backward(lt_net *net, int want_dx, int frozen_aware) {
    int n = net->n, nslots = 0, nfree = 0;
    int *upstream = calloc((size_t)n, sizeof *upstream);   /* trainable at or before i */
    int *freel = malloc((size_t)(n + LT_MAX_MERGE + 1) * sizeof *freel);
    if (!upstream || !freel) {
        free(upstream);
        free(freel);
        return -1;
    }
#define TAKE() (nfree ? freel[--nfree] : nslots++)
    for (int i = 0; i < n; i++) {
        lt_node *d = &net->nodes[i];
        d->gslot = -1;
        if (is_input(net, i)) continue;
        upstream[i] = lt_layer_nparams(d->layer) > 0 && !(frozen_aware && d->layer->frozen);
        for (int k = 0; k < d->nin; k++) upstream[i] |= upstream[d->in[k]];
    }
    for (int o = 0; o < net->noutputs; o++) net->nodes[net->outputs[o]].gslot = TAKE();
    for (int i = n - 1; i >= net->ninputs; i--) {
        lt_node *d = &net->nodes[i];
        int temps[LT_MAX_MERGE], nt = 0;
        for (int k = 0; k < d->nin; k++) {
            lt_node *p = &net->nodes[d->in[k]];
            d->dxslot[k] = d->dxadd[k] = -1;
            int need = is_input(net, d->in[k]) ? want_dx : (want_dx || upstream[d->in[k]]);
            if (d->gslot < 0 || !need) continue;
            if (p->gslot < 0) {
                d->dxslot[k] = p->gslot = TAKE();
            } else {
                d->dxslot[k] = temps[nt++] = TAKE();
                d->dxadd[k] = p->gslot;
            }
        }
        if (d->gslot >= 0) freel[nfree++] = d->gslot;
        for (int t = 0; t < nt; t++) freel[nfree++] = temps[t];
    }
#undef TAKE
    free(upstream);
    free(freel);
    net->plan_dx = want_dx;
    return nslots;
}

lt_net *lt_net_new_graph(int ninputs, const int *in_nd, const int64_t (*in_shape)[LT_MAX_DIMS],
                         int nlayers, lt_layer *const *layers, const int *nin,
                         const int (*in)[LT_MAX_MERGE], int noutputs, const int *outputs) {
    if (ninputs < 1 || ninputs > LT_MAX_MERGE || noutputs < 1 || noutputs > LT_MAX_MERGE) {
        lt_seterr(LT_EARG, "Model: needs 1 to %d inputs and outputs (got %d and %d)",
                  LT_MAX_MERGE, ninputs, noutputs);
        return NULL;
    }
    if (nlayers < 1) {
        lt_seterr(LT_EARG, "Model: the model has no layers");
        return NULL;
    }
    int n = ninputs + nlayers;
    lt_net *net = calloc(1, sizeof *net);
    if (!net || !(net->nodes = calloc((size_t)n, sizeof *net->nodes)) ||
        !(net->layers = calloc((size_t)nlayers, sizeof *net->layers)) ||
        !(net->keep = calloc((size_t)n, sizeof *net->keep)) ||
        !(net->plan_frozen = calloc((size_t)nlayers, 1))) {
        if (net) {
            free(net->nodes);
            free(net->layers);
        }
        free(net);
        lt_seterr(LT_ENOMEM, "Model: out of memory");
        return NULL;
    }
    net->n = n;
    net->ninputs = ninputs;
    net->noutputs = noutputs;
    for (int k = 0; k < ninputs; k++) {
        lt_node *d = &net->nodes[k];
        int64_t size;
        if (in_nd[k] < 1 || in_nd[k] > LT_MAX_DIMS ||
            lt_shape_check("Input", in_nd[k], in_shape[k], &size) != LT_OK) {
            if (in_nd[k] < 1 || in_nd[k] > LT_MAX_DIMS)
                lt_seterr(LT_EARG, "Input: shape must have 1 to %d dimensions", LT_MAX_DIMS);
            lt_net_free(net);
            return NULL;
        }
        d->nd = in_nd[k];
        memcpy(d->shape, in_shape[k], (size_t)in_nd[k] * sizeof(int64_t));
        d->size = size;
    }
    net->in_size = net->nodes[0].size;
    net->chain = ninputs == 1 && noutputs == 1 && outputs[0] == n - 1;
    net->splittable = net->rowwise = 1;
    for (int j = 0; j < nlayers; j++) {
        int i = ninputs + j;
        lt_node *d = &net->nodes[i];
        if (nin[j] < 1 || nin[j] > LT_MAX_MERGE) {
            lt_seterr(LT_EARG, "%s: takes 1 to %d inputs (got %d)", layers[j]->name,
                      LT_MAX_MERGE, nin[j]);
            lt_net_free(net);
            return NULL;
        }
        d->layer = layers[j];
        d->nin = nin[j];
        for (int k = 0; k < nin[j]; k++) {
            if (in[j][k] < 0 || in[j][k] >= i) {
                lt_seterr(LT_EARG, "Model: node %d reads node %d, not an earlier one", i, in[j][k]);
                lt_net_free(net);
                return NULL;
            }
            d->in[k] = in[j][k];
            net->nodes[in[j][k]].nconsumers++;
        }
        net->chain &= nin[j] == 1 && in[j][0] == i - 1;
        net->splittable &= splittable(layers[j]);
        /* at inference a layer with a state commit (batch normalisation) uses its moving
         * statistics: per sample, like the splittable ones */
        net->rowwise &= splittable(layers[j]) || layers[j]->commit != NULL;
        int seen = 0;
        for (int m = 0; m < net->nlayers && !seen; m++) seen = net->layers[m] == layers[j];
        if (!seen) net->layers[net->nlayers++] = lt_layer_ref(layers[j]);
    }
    for (int o = 0; o < noutputs; o++) {
        int dup = 0;
        for (int q = 0; q < o; q++) dup |= outputs[q] == outputs[o];
        if (outputs[o] < ninputs || outputs[o] >= n || dup) {
            lt_seterr(LT_EARG, "Model: output %d is %s", o + 1,
                      dup ? "listed twice" : "not a layer of the model");
            lt_net_free(net);
            return NULL;
        }
        net->outputs[o] = outputs[o];
    }
    int s0, s1;
    if (setup_all(net) != LT_OK) {
        lt_net_free(net);
        return NULL;
    }
    if ((s1 = plan_backward(net, 1, 0)) < 0 || (s0 = plan_backward(net, 0, 0)) < 0) {
        lt_seterr(LT_ENOMEM, "Model: out of memory");
        lt_net_free(net);
        return NULL;
    }
    net->nslots = s0 > s1 ? s0 : s1;
    if (net->nslots < 2) net->nslots = 2;     /* chunked inference ping-pongs in two */
    for (int m = 0; m < net->nlayers; m++) net->nparams += lt_layer_nparams(net->layers[m]);
    return net;
}

lt_net *lt_net_new(int n, lt_layer **layers, int in_nd, const int64_t *in_shape) {
    if (n < 1) {
        lt_seterr(LT_EARG, "Sequential: the model has no layers");
        return NULL;
    }
    int *nin = malloc((size_t)n * sizeof *nin);
    int (*in)[LT_MAX_MERGE] = malloc((size_t)n * sizeof *in);
    int64_t shape[1][LT_MAX_DIMS] = {{0}};
    lt_net *net = NULL;
    if (in_nd >= 1 && in_nd <= LT_MAX_DIMS) memcpy(shape[0], in_shape, (size_t)in_nd * 8);
    if (nin && in) {
        for (int i = 0; i < n; i++) {
            nin[i] = 1;
            in[i][0] = i;                   /* layer i reads node i: the input or layer i-1 */
        }
        int out = n;
        net = lt_net_new_graph(1, &in_nd, (const int64_t(*)[LT_MAX_DIMS])shape, n, layers, nin,
                               (const int(*)[LT_MAX_MERGE])in, 1, &out);
    } else {
        lt_seterr(LT_ENOMEM, "Sequential: out of memory");
    }
    free(nin);
    free(in);
    return net;
}

void lt_net_free(lt_net *net) {
    if (!net) return;
    lt_tensor_free(net->params);
    lt_tensor_free(net->grads);
    free(net->mem);
    free(net->out);
    free(net->cache);
    free(net->perm);
    free(net->wbuf);
    free(net->g1);
    free(net->keep);
    free(net->oseg);
    free(net->upd);
    free(net->plan_frozen);
    lt_monitor_free(net->monitor);
    if (net->layers)
        for (int m = 0; m < net->nlayers; m++) lt_layer_free(net->layers[m]);
    free(net->layers);
    free(net->nodes);
    free(net);
}

int64_t lt_net_out_size(const lt_net *net, int k) { return net->nodes[net->outputs[k]].size; }

int64_t lt_net_out_width(const lt_net *net, int k) {
    const lt_node *d = &net->nodes[net->outputs[k]];
    return d->shape[d->nd - 1];
}

/* The optimizer's view of the parameters, made at every step (the frozen flags may change
 * between steps): each trainable layer's kernel and bias as separate tensors (so their
 * state is that of layer:parameters()), decay on kernels only (2 or more dimensions: not
 * biases nor BatchNorm's scale and offset); g2: the worker's block in a 2-thread step. A
 * frozen layer (Keras's trainable = false) gets no segment: no update, no decay, its state
 * untouched; only its gradients (g and g2) are zeroed. */
static void optim_segments(lt_net *net, float *g2) {
    int k = 0;
    int64_t off = 0;
    float *g = net->grads->data;
    for (int m = 0; m < net->nlayers; m++) {
        const lt_layer *l = net->layers[m];
        int64_t np = lt_layer_nparams(l);
        net->upd[m].seg = -1;
        if (l->frozen && np) {
            memset(g + off, 0, (size_t)np * sizeof(float));
            if (g2) memset(g2 + off, 0, (size_t)np * sizeof(float));
        } else {
            if (l->nw > 0) {
                net->upd[m].seg = k;
                net->oseg[k++] = (lt_optim_seg){.param = net->params, .off = off, .n = l->nw,
                                                .g = g + off, .g2 = g2 ? g2 + off : NULL,
                                                .decay = l->wnd >= 2, .l1 = l->l1, .l2 = l->l2};
            }
            if (l->nb > 0)
                net->oseg[k++] = (lt_optim_seg){.param = net->params, .off = off + l->nw,
                                                .n = l->nb, .g = g + off + l->nw,
                                                .g2 = g2 ? g2 + off + l->nw : NULL};
        }
        off += np;
    }
    net->noseg = k;
}

lt_status lt_net_build(lt_net *net, lt_rng *r) {
    lt_status s = ensure_setup(net);
    if (s != LT_OK) return s;
    int bound = net->params != NULL;
    for (int m = 0; m < net->nlayers && bound; m++) {
        lt_layer *l = net->layers[m];
        /* bound when each layer's weights are still views of our buffer */
        if (lt_layer_nparams(l) && (!l->w || l->w->storage != net->params->storage)) bound = 0;
    }
    if (!bound) {
        int64_t P = net->nparams > 0 ? net->nparams : 1;
        lt_tensor *p = lt_tensor_new(1, &P), *g = lt_tensor_new(1, &P);
        if (!p || !g) {
            lt_tensor_free(p);
            lt_tensor_free(g);
            return LT_ENOMEM;
        }
        int64_t off = 0;
        for (int m = 0; m < net->nlayers; m++) {
            lt_layer *l = net->layers[m];
            if ((s = lt_layer_bind(l, p, g, off, r)) != LT_OK) {
                lt_tensor_free(p);
                lt_tensor_free(g);
                return s;
            }
            off += lt_layer_nparams(l);
        }
        lt_tensor_free(net->params);
        lt_tensor_free(net->grads);
        net->params = p;
        net->grads = g;
        net->fwd_n = 0;
    }
    if (!net->oseg && !(net->oseg = calloc((size_t)2 * net->nlayers + 1, sizeof *net->oseg)))
        return lt_seterr(LT_ENOMEM, "Model: out of memory");
    if (!net->upd && !(net->upd = calloc((size_t)net->nlayers + 1, sizeof *net->upd)))
        return lt_seterr(LT_ENOMEM, "Model: out of memory");
    for (int m = 0; m < net->nlayers; m++)
        if ((s = lt_layer_build_state(net->layers[m])) != LT_OK) return s;
    return LT_OK;
}

lt_status lt_net_check_input(const lt_net *net, int k, const lt_tensor *x) {
    const lt_node *d = &net->nodes[k];
    int ok = x->ndim == d->nd + 1 && x->shape[0] >= 1 &&
             memcmp(x->shape + 1, d->shape, (size_t)d->nd * sizeof(int64_t)) == 0;
    if (ok) return LT_OK;
    char a[200], b[200];
    const lt_layer *l = net->nodes[net->ninputs].layer;
    if (net->ninputs == 1)
        return lt_seterr(LT_ESHAPE, "%s (%s): expected input of shape %s, got %s", l->name,
                         l->vt->kind, lt_layer_shape_str(d->nd, d->shape, a, sizeof a),
                         lt_shape_str(x->ndim, x->shape, b, sizeof b));
    return lt_seterr(LT_ESHAPE, "input %d: expected shape %s, got %s", k + 1,
                     lt_layer_shape_str(d->nd, d->shape, a, sizeof a),
                     lt_shape_str(x->ndim, x->shape, b, sizeof b));
}

/* ---- buffers ---- */

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static float *slot(const lt_net *net, int s) { return net->slots + s * net->slot_floats; }

static int64_t in_floats(const lt_net *net) {      /* per sample, all inputs */
    int64_t t = 0;
    for (int k = 0; k < net->ninputs; k++) t += net->nodes[k].size;
    return t;
}

static lt_status reserve(lt_net *net, int64_t N, int64_t ysize) {
    if (N <= net->cap && ysize <= net->ysize && net->mem) return LT_OK;
    if (N < net->cap) N = net->cap;
    if (ysize < net->ysize) ysize = net->ysize;
    size_t total = 0, scratch = 0, gmax = 1;
    double floats = 0;                 /* the same sum in doubles: no size_t can overflow */
    for (int i = 0; i < net->n; i++) {
        const lt_node *d = &net->nodes[i];
        floats += (double)N * (double)d->size * (double)(net->nslots + 2);
        if ((size_t)d->size > gmax) gmax = (size_t)d->size;
        if (is_input(net, i)) continue;
        lt_layer *l = d->layer;
        total += round16((size_t)(N * d->size));
        if (l->vt->cache_size) total += round16(l->vt->cache_size(l, N));
        size_t sc = l->vt->scratch_size ? l->vt->scratch_size(l, N) : 0;
        if (sc > scratch) scratch = sc;
    }
    if (floats > (double)((size_t)1 << 40))
        return lt_seterr(LT_ENOMEM, "Model: a batch of %lld needs %.3g GB of buffers",
                         (long long)N, floats * 4 / 1e9);
    scratch = (scratch + (size_t)N - 1) / (size_t)N * (size_t)N;   /* N whole rows */
    size_t slotf = round16((size_t)N * gmax);
    total += round16(scratch) + (size_t)net->nslots * slotf +
             round16((size_t)(N * in_floats(net))) + round16((size_t)(N * ysize));
    float *mem = NULL;
    float **out = calloc((size_t)net->n, sizeof *out);
    float **cache = calloc((size_t)net->n, sizeof *cache);
    if (!out || !cache || posix_memalign((void **)&mem, 64, total * sizeof(float)) != 0) {
        free(out);
        free(cache);
        return lt_seterr(LT_ENOMEM, "Model: out of memory for the buffers of a batch of "
                         "%lld (%.1f MB)", (long long)N, (double)total * 4 / 1e6);
    }
    memset(mem, 0, total * sizeof(float));
    float *p = mem;
    for (int i = net->ninputs; i < net->n; i++) {
        lt_layer *l = net->nodes[i].layer;
        out[i] = p;
        p += round16((size_t)(N * net->nodes[i].size));
        cache[i] = p;
        if (l->vt->cache_size) p += round16(l->vt->cache_size(l, N));
    }
    net->scratch = p; p += round16(scratch);
    net->slots = p; p += (size_t)net->nslots * slotf;
    net->xbuf = p; p += round16((size_t)(N * in_floats(net)));
    net->ybuf = p;
    free(net->mem);
    free(net->out);
    free(net->cache);
    net->mem = mem;
    net->out = out;
    net->cache = cache;
    net->cap = N;
    net->ysize = ysize;
    net->gstride = (int64_t)gmax;
    net->slot_floats = (int64_t)slotf;
    net->sstride = (int64_t)(scratch / (size_t)N);
    net->fwd_n = 0;
    return LT_OK;
}

/* ---- forward / backward on a row range ---- */

/* The per-node buffers of rows r0.. of the batch: activations and gradients are N×size,
 * caches and scratch linear in N (see splittable), so rows r0.. start at size(r0). */
static float *cache_at(const lt_net *net, int i, int64_t r0) {
    const lt_layer *l = net->nodes[i].layer;
    return net->cache[i] + (r0 && l->vt->cache_size ? l->vt->cache_size(l, r0) : 0);
}

/* Scratch of rows r0..: one stride for all layers, so that two threads on different
 * layers (the backward of one, the forward or backward of another) never overlap. */
static float *scratch_at(const lt_net *net, int64_t r0) { return net->scratch + r0 * net->sstride; }

/* Node p's output (a graph input's is the caller's batch), from row r0. */
static const float *node_out(const lt_net *net, const float *const *xs, int p, int64_t r0) {
    return (is_input(net, p) ? xs[p] : net->out[p]) + r0 * net->nodes[p].size;
}

/* Node i on rows r0 .. r0+n, with its cache and scratch at cache, scratch. */
static lt_status run_node(lt_net *net, const float *const *xs, int i, int64_t r0, int64_t n,
                          float *cache, float *scratch) {
    const lt_node *d = &net->nodes[i];
    lt_layer *l = d->layer;
    float *y = net->out[i] + r0 * d->size;
    if (d->nin == 1)
        return l->vt->forward(l, node_out(net, xs, d->in[0], r0), y, n, cache, scratch);
    const float *x[LT_MAX_MERGE];
    for (int k = 0; k < d->nin; k++) x[k] = node_out(net, xs, d->in[k], r0);
    return l->vt->forward_n(l, d->nin, x, y, n);
}

/* Node i on rows r0 .. r0+n of a batch (its cache and scratch rows from r0 on). */
static lt_status forward_node(lt_net *net, const float *const *xs, int i, int64_t r0, int64_t n) {
    return run_node(net, xs, i, r0, n, cache_at(net, i, r0), scratch_at(net, r0));
}

/* Forward of rows r0 .. r0+n. Training flags are set by the caller. */
static lt_status forward_rows(lt_net *net, const float *const *xs, int64_t r0, int64_t n) {
    lt_status s = LT_OK;
    for (int i = net->ninputs; i < net->n && s == LT_OK; i++) s = forward_node(net, xs, i, r0, n);
    return s;
}

/* Floats of the largest per-chunk activation in chunked inference: 128 Ki floats (512 KB)
 * keep a chunk's input, output and the next layer's reads inside a 2 MB L2. */
enum { CHUNK_FLOATS = 1 << 17 };

/* The node before which chunked inference stops: the first Dense (its weights are better
 * read once per batch than once per chunk), or the end. */
static int chunk_end(const lt_net *net) {
    int j = net->ninputs;
    while (j < net->n && strcmp(net->nodes[j].layer->vt->kind, "Dense") != 0) j++;
    return j;
}

/* Inference forward of any graph whose layers treat samples independently at inference,
 * on one thread: the nodes before chunk_end run chunk by chunk (a few samples through all
 * of them while they are in cache), the rest on the whole batch. A chunk writes its rows of
 * every node's out[]; caches and scratch are reused from their start by every chunk
 * (nothing reads them after an inference forward). */
static lt_status infer_graph(lt_net *net, const float *const *xs, int64_t N) {
    int j = chunk_end(net);
    int64_t big = 1;
    for (int i = 0; i < j; i++)
        if (net->nodes[i].size > big) big = net->nodes[i].size;
    int64_t rows = CHUNK_FLOATS / big;
    if (j < net->ninputs + 2 || rows < 1 || rows >= N) return forward_rows(net, xs, 0, N);
    for (int64_t r0 = 0; r0 < N; r0 += rows) {
        int64_t n = N - r0 < rows ? N - r0 : rows;
        for (int i = net->ninputs; i < j; i++) {
            lt_status s = run_node(net, xs, i, r0, n, net->cache[i], net->scratch);
            if (s != LT_OK) return s;
        }
    }
    for (int i = j; i < net->n; i++) {
        lt_status s = forward_node(net, xs, i, 0, N);
        if (s != LT_OK) return s;
    }
    return LT_OK;
}

/* Inference forward of a splittable chain on one thread. The leading layers up to the
 * first Dense run chunk by chunk (a few samples through all of them, their activations
 * ping-ponging in the idle gradient slots 0 and 1 while they are in cache), so a large
 * batch does not stream every convolution's output through memory; the last of them writes
 * its rows to out[], and the Dense layers and what follows run on the whole batch (their
 * weights are read once per batch, not per chunk). Only the last chunked layer's out[] is
 * filled: nothing reads the intermediate activations of an inference forward. Same results
 * as forward_rows: every layer here treats samples independently. */
static lt_status infer_rows(lt_net *net, const float *x, int64_t N) {
    int j = chunk_end(net);
    int64_t big = 1;
    for (int i = 0; i < j; i++)
        if (net->nodes[i].size > big) big = net->nodes[i].size;
    int64_t rows = CHUNK_FLOATS / big;
    if (j < 3 || rows < 1 || rows >= N) return forward_rows(net, &x, 0, N);
    for (int64_t r0 = 0; r0 < N; r0 += rows) {
        int64_t n = N - r0 < rows ? N - r0 : rows;
        const float *in = x + r0 * net->in_size;
        for (int i = 1; i < j; i++) {
            lt_layer *l = net->nodes[i].layer;
            float *o = i == j - 1 ? net->out[i] + r0 * l->out_size : slot(net, i % 2);
            lt_status s = l->vt->forward(l, in, o, n, net->cache[i], net->scratch);
            if (s != LT_OK) return s;
            in = o;
        }
    }
    for (int i = j; i < net->n; i++) {
        lt_status s = forward_node(net, &x, i, 0, N);
        if (s != LT_OK) return s;
    }
    return LT_OK;
}

/* Backward of node i on rows r0 .. r0+n from the gradient in its slot (rows r0.. at
 * r0·gstride), along the plan: once every consumer of node i has run, its slot holds
 * d loss / d (its output). */
static void backward_node(lt_net *net, const float *const *xs, int i, int64_t r0, int64_t n) {
    const int64_t go = r0 * net->gstride;
    const lt_node *d = &net->nodes[i];
    if (d->gslot < 0) return;
    lt_layer *l = d->layer;
    float *dy = slot(net, d->gslot) + go, *dx[LT_MAX_MERGE];
    for (int k = 0; k < d->nin; k++)
        dx[k] = d->dxslot[k] < 0 ? NULL : slot(net, d->dxslot[k]) + go;
    if (d->nin == 1) {
        l->vt->backward(l, node_out(net, xs, d->in[0], r0), net->out[i] + r0 * d->size, dy,
                        dx[0], n, cache_at(net, i, r0), scratch_at(net, r0));
    } else {
        const float *x[LT_MAX_MERGE];
        for (int k = 0; k < d->nin; k++) x[k] = node_out(net, xs, d->in[k], r0);
        l->vt->backward_n(l, d->nin, x, net->out[i] + r0 * d->size, dy, dx, n);
    }
    for (int k = 0; k < d->nin; k++) {        /* fan-out: sum into the first writer's */
        if (d->dxadd[k] < 0) continue;
        float *acc = slot(net, d->dxadd[k]) + go;
        int64_t len = n * net->nodes[d->in[k]].size;
        for (int64_t e = 0; e < len; e++) acc[e] += dx[k][e];
    }
}

/* Backward of rows r0 .. r0+n from the gradients in the outputs' slots, along the plan. */
static void backward_rows(lt_net *net, const float *const *xs, int64_t r0, int64_t n) {
    for (int i = net->n - 1; i >= net->ninputs; i--) backward_node(net, xs, i, r0, n);
}

/* A layer's backward that failed (a Lua layer's error): its status, cleared. */
static lt_status backward_status(lt_net *net) {
    lt_status s = LT_OK;
    for (int m = 0; m < net->nlayers; m++) {
        if (net->layers[m]->err != LT_OK && s == LT_OK) s = net->layers[m]->err;
        net->layers[m]->err = LT_OK;
    }
    return s;
}

/* Applies the non-trainable state updates (batchnorm moving averages) of the last
 * training forward: called only once that forward's step is applied, so a step refused
 * for a non-finite loss or an interrupt leaves the state as it was. Layers with a commit
 * hook are never split across threads (see splittable): their cache is whole-batch. */
static void commit_state(lt_net *net) {
    for (int i = net->ninputs; i < net->n; i++) lt_layer_commit(net->nodes[i].layer, net->cache[i]);
}

double lt_net_penalty(const lt_net *net) {
    double p = 0;
    for (int m = 0; m < net->nlayers; m++) {
        const lt_layer *l = net->layers[m];
        if (l->frozen || !l->w || (l->l1 == 0 && l->l2 == 0)) continue;
        for (int64_t e = 0; e < l->nw; e++) {
            float w = l->w->data[e];
            p += (double)l->l1 * fabsf(w) + (double)l->l2 * w * w;
        }
    }
    return p;
}

/* g ← 0 on frozen layers' parameters after a backward outside a step: a hand-written loop
 * (model:backward, then opt:step on model:parameters()) leaves them as they are too. */
static void zero_frozen_grads(lt_net *net) {
    int64_t off = 0;
    for (int m = 0; m < net->nlayers; m++) {
        const lt_layer *l = net->layers[m];
        int64_t np = lt_layer_nparams(l);
        if (l->frozen && np) memset(net->grads->data + off, 0, (size_t)np * sizeof(float));
        off += np;
    }
}

/* ---- data-parallel phases on 2 threads (parallel.h) ---- */

enum { PH_FORWARD, PH_BACKWARD, PH_OPTIM, PH_MERGE_GRADS };

typedef struct {
    lt_net *net;
    const float *const *xs;
    int64_t N, n0;             /* thread 0 takes rows [0, n0), thread 1 [n0, N) */
    int phase;
    const lt_optim *opt;
    lt_status st[2];
} par_job;

static void par_phase(void *arg, int tid) {
    par_job *j = arg;
    lt_net *net = j->net;
    int64_t r0 = tid ? j->n0 : 0, n = tid ? j->N - j->n0 : j->n0;
    int64_t P = j->phase == PH_OPTIM ? lt_optim_size(j->opt) : net->nparams;
    int64_t half = (P / 2 + 15) & ~(int64_t)15;
    if (half > P) half = P;
    int64_t lo = tid ? half : 0, hi = tid ? P : half;
    if (tid) {
        lt_tls_rng = &net->rng1;
        lt_tls_grad_src = net->grads->data;
        lt_tls_grad_dst = net->g1;
    }
    j->st[tid] = LT_OK;
    switch (j->phase) {
    case PH_FORWARD:
        j->st[tid] = forward_rows(net, j->xs, r0, n);
        break;
    case PH_BACKWARD:
        backward_rows(net, j->xs, r0, n);
        break;
    case PH_OPTIM:
        lt_optim_apply(j->opt, lo, hi);
        break;
    case PH_MERGE_GRADS:       /* grads += g1, g1 = 0 (a backward outside a step) */
        for (int64_t e = lo; e < hi; e++) {
            net->grads->data[e] += net->g1[e];
            net->g1[e] = 0;
        }
        break;
    }
    if (tid) {
        lt_tls_rng = NULL;
        lt_tls_grad_src = NULL;
        lt_tls_grad_dst = NULL;
    }
}

/* Whether this batch runs on 2 threads: 2 or more compute threads, a splittable net, 2 or
 * more samples (and, for training, the worker's gradient block allocated). */
static int use_par(lt_net *net, int64_t N, int training) {
    if (!net->splittable || N < 2 || lt_get_threads() < 2) return 0;
    if (training && net->nparams > 0 && !net->g1 &&
        !(net->g1 = calloc((size_t)net->nparams, sizeof(float))))
        return 0;                               /* out of memory: run on one thread */
    return 1;
}

static lt_status run_par(par_job *j, int phase) {
    j->phase = phase;
    lt_par_run2(par_phase, j);
    return j->st[0] != LT_OK ? j->st[0] : j->st[1];
}

/* ---- forward / train ---- */

/* The mode of the net's layers for one call: set before its forward, restored after its
 * backward (a layer's backward may depend on the mode its forward ran in: batch
 * normalization's on the batch's or the moving statistics). Restored in reverse: a layer
 * at several nodes gets back its first saved flag. */
static void set_modes(lt_net *net, int training) {
    for (int i = net->ninputs; i < net->n; i++) {
        lt_layer *l = net->nodes[i].layer;
        net->keep[i] = l->training;
        /* a frozen layer with moving statistics (batchnorm) runs in inference mode (Keras) */
        l->training = training && !(l->frozen && l->commit);
    }
}

static void restore_modes(lt_net *net) {
    for (int i = net->n - 1; i >= net->ninputs; i--) net->nodes[i].layer->training = net->keep[i];
}

/* Forward in the mode set_modes set. */
static lt_status forward(lt_net *net, const float *const *xs, int64_t N, int training,
                         par_job *par) {
    net->fwd_n = 0;
    return par                                           ? run_par(par, PH_FORWARD)
           : training || !net->rowwise                  ? forward_rows(net, xs, 0, N)
           : net->chain && net->splittable              ? infer_rows(net, xs[0], N)
                                                        : infer_graph(net, xs, N);
}

static void par_begin(lt_net *net, par_job *job, const float *const *xs, int64_t N, int train) {
    *job = (par_job){net, xs, N, (N + 1) / 2, PH_FORWARD, NULL, {LT_OK, LT_OK}};
    lt_blas_threads(1);
    if (train) lt_rng_seed(&net->rng1, lt_rng_next(&lt_global_rng));
}

/* A call into the net: refused while one runs (a Lua layer calling back into its model);
 * its layers refuse a set-up for another shape until leave(). */
static lt_status enter(lt_net *net) {
    if (net->busy)
        return lt_seterr(LT_EARG, "the model is already running (a layer's Lua code called "
                         "back into its own model)");
    net->busy = 1;
    for (int m = 0; m < net->nlayers; m++) net->layers[m]->running++;
    return LT_OK;
}

static void leave(lt_net *net) {
    for (int m = 0; m < net->nlayers; m++) net->layers[m]->running--;
    net->busy = 0;
}

lt_status lt_net_forward(lt_net *net, const float *const *xs, int64_t N, int training) {
    lt_status s;
    if ((s = enter(net)) != LT_OK) return s;
    if ((s = lt_net_build(net, &lt_global_rng)) != LT_OK || (s = reserve(net, N, 0)) != LT_OK) {
        leave(net);
        return s;
    }
    par_job job;
    int par = use_par(net, N, 0);
    if (par) par_begin(net, &job, xs, N, training);
    set_modes(net, training);
    s = forward(net, xs, N, training, par ? &job : NULL);
    restore_modes(net);
    if (par) lt_blas_threads(0);
    if (s == LT_OK && training) {
        commit_state(net);    /* a training forward outside a step (Keras) */
        net->fwd_n = N;
        for (int k = 0; k < net->ninputs; k++) net->fwd_x[k] = xs[k];
    }
    leave(net);
    return s;
}

/* Writes rows of a per-output gradient (N×size, contiguous) into its slot: rows from n0 on
 * go to n0·gstride, where the worker's backward reads them. */
static void to_slot(lt_net *net, int o, const float *g, int64_t N, int64_t n0) {
    const lt_node *d = &net->nodes[net->outputs[o]];
    float *s = slot(net, d->gslot);
    if (s != g) memcpy(s, g, (size_t)(n0 * d->size) * sizeof(float));
    memmove(s + n0 * net->gstride, g + n0 * d->size, (size_t)((N - n0) * d->size) * sizeof(float));
}

static lt_status backward_par(lt_net *net, const float *const *xs, int64_t N, par_job *par) {
    if (par) run_par(par, PH_BACKWARD);
    else backward_rows(net, xs, 0, N);
    return backward_status(net);
}

lt_status lt_net_backward(lt_net *net, const float *const *dys, float *const *dxs) {
    lt_status s;
    int64_t N = net->fwd_n;
    if (N == 0)
        return lt_seterr(LT_EARG, "backward: run forward(x, {training=true}) first (the last "
                         "forward was in inference mode, or the model changed since)");
    if ((s = enter(net)) != LT_OK) return s;
    if (!net->plan_dx && plan_backward(net, 1, 0) < 0) {
        leave(net);
        return lt_seterr(LT_ENOMEM, "backward: out of memory");
    }
    par_job job;
    int par = use_par(net, N, 1);
    if (par) par_begin(net, &job, net->fwd_x, N, 0);
    int64_t n0 = par ? job.n0 : N;
    for (int o = 0; o < net->noutputs; o++) to_slot(net, o, dys[o], N, n0);
    set_modes(net, 1);                   /* the mode of the training forward it follows */
    s = backward_par(net, net->fwd_x, N, par ? &job : NULL);
    restore_modes(net);
    if (par && net->nparams > 0) run_par(&job, PH_MERGE_GRADS);
    if (par) lt_blas_threads(0);
    zero_frozen_grads(net);
    for (int k = 0; dxs && k < net->ninputs && s == LT_OK; k++) {
        if (!dxs[k]) continue;
        const lt_node *d = &net->nodes[k];
        if (d->gslot < 0) {               /* the outputs do not depend on this input */
            memset(dxs[k], 0, (size_t)(N * d->size) * sizeof(float));
            continue;
        }
        const float *g = slot(net, d->gslot);
        memcpy(dxs[k], g, (size_t)(n0 * d->size) * sizeof(float));
        memcpy(dxs[k] + n0 * d->size, g + n0 * net->gstride,
               (size_t)((N - n0) * d->size) * sizeof(float));
    }
    leave(net);
    return s;
}

/* Whether output o's layer applies a fused softmax or sigmoid that an explanation skips
 * (the class score before it, as Grad-CAM defines it): the layer used at that node only. */
static int logit_output(const lt_net *net, int o) {
    const lt_node *d = &net->nodes[net->outputs[o]];
    const lt_layer *l = d->layer;
    if (!(l->vt->flags & LT_LAYER_FUSABLE_ACT) || d->nconsumers) return 0;
    if (l->act != LT_ACT_SOFTMAX && l->act != LT_ACT_SIGMOID) return 0;
    for (int i = net->ninputs; i < net->n; i++)
        if (net->nodes[i].layer == l && i != net->outputs[o]) return 0;
    return 1;
}

lt_status lt_net_explain(lt_net *net, const float *const *xs, int64_t N, const float *const *dys,
                         int logits, int node, float *onode, float *dnode, float *const *dxs) {
    lt_status s;
    if (node >= net->n) return lt_seterr(LT_EARG, "explain: node %d of %d", node, net->n);
    if ((s = enter(net)) != LT_OK) return s;
    if ((s = lt_net_build(net, &lt_global_rng)) != LT_OK || (s = reserve(net, N, 0)) != LT_OK) {
        leave(net);
        return s;
    }
    float *keep = NULL;                  /* the accumulated gradients, given back at the end */
    if (dys && net->nparams > 0 && !(keep = malloc((size_t)net->nparams * sizeof(float)))) {
        leave(net);
        return lt_seterr(LT_ENOMEM, "explain: out of memory");
    }
    if (dys && !net->plan_dx && plan_backward(net, 1, 0) < 0) {
        free(keep);
        leave(net);
        return lt_seterr(LT_ENOMEM, "explain: out of memory");
    }
    if (keep) memcpy(keep, net->grads->data, (size_t)net->nparams * sizeof(float));
    set_modes(net, 0);                   /* inference forward on one thread, every out[] kept */
    net->fwd_n = 0;
    s = forward_rows(net, xs, 0, N);
    if (s == LT_OK && node >= 0 && onode)
        memcpy(onode, node < net->ninputs ? xs[node] : net->out[node],
               (size_t)(N * net->nodes[node].size) * sizeof(float));
    if (s == LT_OK && dys) {
        for (int o = 0; o < net->noutputs; o++) {
            to_slot(net, o, dys[o], N, N);
            net->nodes[net->outputs[o]].layer->skip_act_grad = logits && logit_output(net, o);
        }
        for (int i = net->n - 1; i >= net->ninputs; i--) {
            if (i == node && dnode) {    /* complete: every consumer of node i has run */
                const lt_node *d = &net->nodes[i];
                size_t len = (size_t)(N * d->size) * sizeof(float);
                if (d->gslot < 0) memset(dnode, 0, len);
                else memcpy(dnode, slot(net, d->gslot), len);
            }
            backward_node(net, xs, i, 0, N);
        }
        for (int o = 0; o < net->noutputs; o++) net->nodes[net->outputs[o]].layer->skip_act_grad = 0;
        s = backward_status(net);
    }
    restore_modes(net);
    for (int k = 0; k < net->ninputs && s == LT_OK && dys; k++) {
        const lt_node *d = &net->nodes[k];
        size_t len = (size_t)(N * d->size) * sizeof(float);
        if (k == node && dnode) {
            if (d->gslot < 0) memset(dnode, 0, len);
            else memcpy(dnode, slot(net, d->gslot), len);
        }
        if (!dxs || !dxs[k]) continue;
        if (d->gslot < 0) memset(dxs[k], 0, len);
        else memcpy(dxs[k], slot(net, d->gslot), len);
    }
    if (keep) memcpy(net->grads->data, keep, (size_t)net->nparams * sizeof(float));
    free(keep);
    leave(net);
    return s;
}

/* Whether output o's loss can hand its layer the gradient w.r.t. the pre-activation: a
 * softmax (sigmoid) output under cross-entropy, read by nothing else, the layer used once. */
static int fusable(const lt_net *net, int o, lt_loss_kind k) {
    const lt_node *d = &net->nodes[net->outputs[o]];
    const lt_layer *l = d->layer;
    if (!(l->vt->flags & LT_LAYER_FUSABLE_ACT) || d->nconsumers) return 0;
    for (int i = net->ninputs; i < net->n; i++)
        if (net->nodes[i].layer == l && i != net->outputs[o]) return 0;
    if (k == LT_LOSS_CCE || k == LT_LOSS_SCCE) return l->act == LT_ACT_SOFTMAX;
    if (k == LT_LOSS_BCE) return l->act == LT_ACT_SIGMOID;
    return 0;
}

static void rows_k(const lt_net *net, int o, int64_t N, int64_t *rows, int64_t *K) {
    *K = lt_net_out_width(net, o);
    *rows = N * lt_net_out_size(net, o) / *K;
}

/* Sample weights on one output's loss: returns Σ w_i·loss_i / N (loss_i: sample i's mean
 * over its rows, the per-sample loss Keras weighs) and scales sample i's rows of the
 * gradient g (of the unweighted batch mean) by w_i, which makes it the weighted loss's. */
static double weigh_samples(lt_loss_kind kind, const float *pred, int64_t rows, int64_t K,
                            const float *target, int64_t N, const float *w, float *g) {
    int64_t r = rows / N;                      /* rows per sample */
    int64_t tstride = kind == LT_LOSS_SCCE ? r : r * K;
    double sum = 0;
    for (int64_t i = 0; i < N; i++) {
        double li;
        lt_loss_eval(kind, pred + i * r * K, r, K, target + i * tstride, &li, NULL);
        sum += (double)w[i] * li;
        for (int64_t e = i * r * K; e < (i + 1) * r * K; e++) g[e] *= w[i];
    }
    return sum / (double)N;
}

/* The training step's backward plan: no input gradients, frozen layers skipped. Made again
 * after lt_net_backward's plan or when a frozen flag changed since (compared per layer: a
 * stale plan would leave an unfrozen layer untrained); otherwise kept, so that steady-state
 * steps allocate nothing. */
static lt_status plan_for_training(lt_net *net) {
    int same = !net->plan_dx;
    for (int m = 0; m < net->nlayers && same; m++) same = net->plan_frozen[m] == (net->layers[m]->frozen != 0);
    if (same) return LT_OK;
    int s = plan_backward(net, 0, 1);
    if (s < 0 || s > net->nslots) s = plan_backward(net, 0, 0);   /* the plain plan: always valid */
    if (s < 0) return lt_seterr(LT_ENOMEM, "fit: out of memory");
    for (int m = 0; m < net->nlayers; m++) net->plan_frozen[m] = net->layers[m]->frozen != 0;
    return LT_OK;
}

/* A distributed step's loss (the mean of this rank's N rows) and accuracy counts become
 * the global batch's. */
static lt_status dist_stats(const lt_net *net, int64_t N, double *lossv, int64_t *correct,
                            int64_t *total) {
    double v[3] = {*lossv * (double)N, (double)*correct, (double)*total};
    lt_status s = lt_dist_allreduce_d(v, 3, LT_DIST_SUM);
    *lossv = v[0] / (double)net->dist_rows;
    *correct = (int64_t)v[1];
    *total = (int64_t)v[2];
    return s;
}

/* ---- the optimizer's step fused into the backward pass ----
 * A big kernel's gradient makes a round trip through memory between the backward pass
 * that writes it and the update that reads it (and zeroes it): for the lesson model's
 * 1152×1024 dense layer three passes over 4.7 MB, next to the six the update itself makes
 * over the weights and Adam's moments. A layer of kind LT_LAYER_FUSABLE_UPDATE can hand
 * its gradient over by L2-sized blocks as it computes it (lt_layer.update), and the block
 * is applied at once (lt_optim_apply_grad). This is done only where nothing else needs
 * the gradient and the step cannot fail once an update is made: one process, one thread's
 * batch, no monitor, no norm clipping, no regularizer, no layer written in Lua; for a
 * kernel used by one node only, big enough to matter. The result is the same as
 * unfused, bit for bit (the update is elementwise; the gradient's sums are the same). */
#define FUSE_MIN_WEIGHTS 65536

static int fusable_step(const lt_net *net, const lt_optim *opt, const par_job *par) {
    if (par || net->dist_rows || net->monitor || opt->clipnorm > 0 || opt->global_clipnorm > 0)
        return 0;
    for (int m = 0; m < net->nlayers; m++) {
        const lt_layer *l = net->layers[m];
        if ((l->vt->flags & LT_LAYER_FALLIBLE) || (!l->frozen && (l->l1 != 0 || l->l2 != 0)))
            return 0;
    }
    return 1;
}

static void fused_update(void *ctx, int64_t off, const float *g, int64_t n) {
    lt_net_update *u = ctx;
    lt_optim_apply_grad(u->opt, u->seg, off, n, g);
    u->ran = 1;
}

static int fused_update_product(void *ctx, int rows, int cols, int K, const float *A, int lda,
                                const float *B, int ldb) {
    lt_net_update *u = ctx;
    if (!lt_optim_apply_product(u->opt, u->seg, rows, cols, K, A, lda, B, ldb)) return 0;
    u->ran = 1;
    return 1;
}

/* Sets the update hooks of the layers whose step is fused this time (after
 * optim_segments; lt_optim_begin follows when there are any); returns how many. */
static int set_fused_updates(lt_net *net, const lt_optim *opt) {
    int k = 0;
    for (int m = 0; m < net->nlayers; m++) {
        lt_layer *l = net->layers[m];
        lt_net_update *u = &net->upd[m];
        u->opt = opt;
        u->ran = 0;
        if (!(l->vt->flags & LT_LAYER_FUSABLE_UPDATE) || u->seg < 0 || l->nw < FUSE_MIN_WEIGHTS)
            continue;
        int uses = 0;
        for (int i = net->ninputs; i < net->n; i++) uses += net->nodes[i].layer == l;
        if (uses != 1) continue;           /* a shared layer sums its gradients */
        l->update = fused_update;
        l->update_product = fused_update_product;
        l->update_ctx = u;
        k++;
    }
    return k;
}

/* Clears the hooks; then the update of everything the backward pass did not already
 * apply (a fused layer no gradient reached is updated from its zero gradient, as
 * unfused). */
static void apply_unfused(lt_net *net, lt_optim *opt) {
    int64_t lo = 0;
    for (int m = 0; m < net->nlayers; m++) {
        lt_layer *l = net->layers[m];
        if (!l->update) continue;
        l->update = NULL;
        l->update_product = NULL;
        l->update_ctx = NULL;
        const lt_net_update *u = &net->upd[m];
        if (!u->ran) continue;
        int64_t pos = lt_optim_seg_pos(opt, u->seg);
        if (lo < pos) lt_optim_apply(opt, lo, pos);
        lo = pos + net->oseg[u->seg].n;
    }
    if (lo < lt_optim_size(opt)) lt_optim_apply(opt, lo, lt_optim_size(opt));
}

static void clear_fused_updates(lt_net *net) {
    for (int m = 0; m < net->nlayers; m++) {
        net->layers[m]->update = NULL;
        net->layers[m]->update_product = NULL;
        net->layers[m]->update_ctx = NULL;
    }
}

static lt_status train_step(lt_net *net, const float *const *xs, const float *const *ys,
                            int64_t N, const lt_net_loss *loss, lt_optim *opt, double *lossv,
                            int64_t *correct, int64_t *total, par_job *par) {
    lt_status s;
    lt_net_timing *tm = net->timing.on ? &net->timing : NULL;
    int64_t a0 = tm ? lt_alloc_count() : 0;
    double t0 = tm ? seconds() : 0, t1 = 0;
    int fuse[LT_MAX_MERGE];
    if (par) lt_rng_seed(&net->rng1, lt_rng_next(&lt_global_rng));
    if ((s = forward(net, xs, N, 1, par)) != LT_OK) return s;
    if (tm) tm->forward += (t1 = seconds()) - t0;
    if ((s = plan_for_training(net)) != LT_OK) return s;
    *lossv = 0;
    for (int o = 0; o < net->noutputs; o++) {
        int64_t rows, K;
        double lo;
        rows_k(net, o, N, &rows, &K);
        const float *pred = lt_net_output(net, o);
        float *g = slot(net, net->nodes[net->outputs[o]].gslot);
        fuse[o] = fusable(net, o, loss[o].kind);
        if (fuse[o]) {
            lt_loss_eval(loss[o].kind, pred, rows, K, ys[o], &lo, NULL);
            lt_loss_fused_grad(loss[o].kind, pred, rows, K, ys[o], g);
        } else {
            lt_loss_eval(loss[o].kind, pred, rows, K, ys[o], &lo, g);
        }
        if (net->step_weights) lo = weigh_samples(loss[o].kind, pred, rows, K, ys[o], N,
                                                  net->step_weights, g);
        /* distributed: this rank's share of the global batch's mean */
        float w = loss[o].weight * (net->dist_rows ? (float)((double)N / net->dist_rows) : 1.0f);
        if (w != 1.0f)
            for (int64_t e = 0; e < rows * K; e++) g[e] *= w;
        *lossv += loss[o].weight * lo;
        if (o == 0) lt_loss_accuracy(loss[o].kind, pred, rows, K, ys[o], correct, total);
    }
    if (net->dist_rows && (s = dist_stats(net, N, lossv, correct, total)) != LT_OK) return s;
    if (!isfinite(*lossv))
        return lt_seterr(LT_ENAN, "the loss is %s", isnan(*lossv) ? "nan" : "inf");
    if ((s = lt_check_interrupt()) != LT_OK) return s;
    if (tm) tm->loss += (t0 = seconds()) - t1;
    /* grads (and the worker's g1) are zero here: zeroed when allocated, and by every
     * step's fused optimizer pass */
    int fused = 0;
    if (net->nparams > 0 && fusable_step(net, opt, par)) {
        optim_segments(net, NULL);
        if ((fused = set_fused_updates(net, opt)) > 0 &&
            (s = lt_optim_begin(opt, net->noseg, net->oseg, 1)) != LT_OK) {
            clear_fused_updates(net);
            return s;
        }
    }
    for (int o = 0; o < net->noutputs; o++) {
        net->nodes[net->outputs[o]].layer->skip_act_grad = fuse[o];
        if (par) {
            float *g = slot(net, net->nodes[net->outputs[o]].gslot);
            to_slot(net, o, g, N, par->n0);
        }
    }
    s = backward_par(net, xs, N, par);
    for (int o = 0; o < net->noutputs; o++) net->nodes[net->outputs[o]].layer->skip_act_grad = 0;
    if (s != LT_OK && fused) clear_fused_updates(net);   /* cannot fail: fusable_step */
    if (s == LT_OK && net->monitor)
        s = lt_monitor_before_update(net->monitor, net, N, par ? net->g1 : NULL);
    if (s != LT_OK) {                 /* keep "grads read zero between steps" */
        if (net->nparams > 0) memset(net->grads->data, 0, (size_t)net->nparams * sizeof(float));
        if (net->g1) memset(net->g1, 0, (size_t)net->nparams * sizeof(float));
        return s;
    }
    if (net->dist_rows && net->nparams > 0) {    /* the global batch's gradients */
        if (par) run_par(par, PH_MERGE_GRADS);
        if ((s = lt_dist_allreduce_f(net->grads->data, net->nparams, LT_DIST_SUM)) != LT_OK) {
            memset(net->grads->data, 0, (size_t)net->nparams * sizeof(float));
            return s;
        }
    }
    if (tm) tm->backward += (t1 = seconds()) - t0;
    if (net->nparams > 0) {
        if (!fused) {                   /* else begun before the backward pass */
            optim_segments(net, par ? net->g1 : NULL);
            if ((s = lt_optim_begin(opt, net->noseg, net->oseg, 1)) != LT_OK) return s;
        }
        *lossv += opt->penalty;         /* the kernel regularizers' loss, as Keras reports it */
        if (par) {
            par->opt = opt;
            run_par(par, PH_OPTIM);
        } else if (fused) {
            apply_unfused(net, opt);
        } else {
            lt_optim_apply(opt, 0, lt_optim_size(opt));
        }
    }
    commit_state(net);                  /* the step is applied: the state goes with it */
    if (net->monitor) lt_monitor_after_update(net->monitor, net);
    if (tm) {
        tm->optimizer += seconds() - t1;
        tm->steps++;
        if (a0 >= 0) tm->allocs += lt_alloc_count() - a0;
    }
    return LT_OK;
}

static lt_status check_targets(const lt_net *net, const float *const *ys, const int64_t *tn,
                               int64_t N, const lt_net_loss *loss) {
    for (int o = 0; o < net->noutputs; o++) {
        int64_t rows, K;
        rows_k(net, o, N, &rows, &K);
        lt_status s = lt_loss_check(loss[o].kind, rows, K, ys[o], tn[o]);
        if (s != LT_OK) return s;
    }
    return LT_OK;
}

lt_status lt_net_step(lt_net *net, const float *const *xs, const float *const *ys,
                      const int64_t *tn, int64_t N, const lt_net_loss *loss, lt_optim *opt,
                      double *lossv, int64_t *correct, int64_t *total) {
    lt_status s;
    if ((s = enter(net)) != LT_OK) return s;
    if ((s = lt_net_build(net, &lt_global_rng)) != LT_OK ||
        (s = check_targets(net, ys, tn, N, loss)) != LT_OK || (s = reserve(net, N, 0)) != LT_OK ||
        (s = lt_check_interrupt()) != LT_OK) {
        leave(net);
        return s;
    }
    par_job job;
    int par = use_par(net, N, 1);
    if (par) par_begin(net, &job, xs, N, 0);
    set_modes(net, 1);
    lt_layer_sync_batch = net->dist_rows > 0;
    s = train_step(net, xs, ys, N, loss, opt, lossv, correct, total, par ? &job : NULL);
    lt_layer_sync_batch = 0;
    restore_modes(net);
    if (par) lt_blas_threads(0);
    net->fwd_n = 0;                      /* the step consumed the forward */
    leave(net);
    return s;
}

lt_status lt_net_train_step(lt_net *net, const float *x, const float *y, int64_t N, int64_t tn,
                            lt_loss_kind loss, lt_optim *opt, double *lossv, int64_t *correct,
                            int64_t *total) {
    lt_net_loss l = {loss, 1.0f};
    return lt_net_step(net, &x, &y, &tn, N, &l, opt, lossv, correct, total);
}

static void gather(float *dst, const float *src, int64_t rowsz, const int64_t *idx, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        memcpy(dst + i * rowsz, src + idx[i] * rowsz, (size_t)rowsz * sizeof(float));
}

lt_status lt_net_shuffle(lt_net *net, int64_t n, lt_rng *r) {
    if (n != net->perm_n) {
        int64_t *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
        if (!p) return lt_seterr(LT_ENOMEM, "fit: out of memory");
        free(net->perm);
        net->perm = p;
        net->perm_n = n;
    }
    for (int64_t i = 0; i < n; i++) net->perm[i] = i;
    if (r) lt_rng_shuffle(r, net->perm, n);
    return LT_OK;
}

static int64_t rowsize(const lt_tensor *t) { return t->shape[0] ? t->numel / t->shape[0] : 0; }

lt_status lt_net_train_rows(lt_net *net, const lt_tensor *const *xs, const lt_tensor *const *ys,
                            int64_t start, int64_t count, const lt_net_loss *loss,
                            lt_optim *opt, double *lossv, int64_t *correct, int64_t *total) {
    lt_status s;
    if (start < 0 || count < 1 || start > net->perm_n || count > net->perm_n - start)
        return lt_seterr(LT_EARG, "train_rows: %lld rows from %lld: outside the %lld shuffled rows",
                         (long long)count, (long long)start, (long long)net->perm_n);
    if (net->busy) return enter(net);
    if ((s = lt_net_build(net, &lt_global_rng)) != LT_OK) return s;
    int64_t ysz = 0;
    for (int o = 0; o < net->noutputs; o++) ysz += rowsize(ys[o]);
    if ((s = reserve(net, count, ysz)) != LT_OK) return s;
    const float *xp[LT_MAX_MERGE], *yp[LT_MAX_MERGE];
    int64_t tn[LT_MAX_MERGE];
    float *px = net->xbuf, *py = net->ybuf;
    for (int k = 0; k < net->ninputs; k++) {
        gather(px, xs[k]->data, net->nodes[k].size, net->perm + start, count);
        xp[k] = px;
        px += count * net->nodes[k].size;
    }
    for (int o = 0; o < net->noutputs; o++) {
        int64_t r = rowsize(ys[o]);
        gather(py, ys[o]->data, r, net->perm + start, count);
        yp[o] = py;
        tn[o] = count * r;
        py += count * r;
    }
    if (!net->row_weights) return lt_net_step(net, xp, yp, tn, count, loss, opt, lossv, correct, total);
    if (count > net->wcap) {
        float *w = realloc(net->wbuf, (size_t)count * sizeof(float));
        if (!w) return lt_seterr(LT_ENOMEM, "fit: out of memory");
        net->wbuf = w;
        net->wcap = count;
    }
    gather(net->wbuf, net->row_weights, 1, net->perm + start, count);
    net->step_weights = net->wbuf;
    s = lt_net_step(net, xp, yp, tn, count, loss, opt, lossv, correct, total);
    net->step_weights = NULL;
    return s;
}

lt_status lt_net_predict(lt_net *net, const lt_tensor *const *xs, int64_t batch,
                         lt_tensor *const *outs) {
    lt_status s;
    for (int k = 0; k < net->ninputs; k++)
        if ((s = lt_net_check_input(net, k, xs[k])) != LT_OK) return s;
    int64_t N = xs[0]->shape[0];
    if (batch < 1) batch = 32;
    if (batch > N) batch = N;
    for (int64_t i = 0; i < N; i += batch) {
        int64_t n = N - i < batch ? N - i : batch;
        const float *xp[LT_MAX_MERGE];
        for (int k = 0; k < net->ninputs; k++) xp[k] = xs[k]->data + i * net->nodes[k].size;
        if ((s = lt_check_interrupt()) != LT_OK) return s;
        if ((s = lt_net_forward(net, xp, n, 0)) != LT_OK) return s;
        for (int o = 0; o < net->noutputs; o++) {
            int64_t osz = lt_net_out_size(net, o);
            memcpy(outs[o]->data + i * osz, lt_net_output(net, o),
                   (size_t)(n * osz) * sizeof(float));
        }
    }
    return LT_OK;
}

lt_status lt_net_evaluate(lt_net *net, const lt_tensor *const *xs, const lt_tensor *const *ys,
                          int64_t n, int64_t batch, const lt_net_loss *loss, double *lossv,
                          int64_t *correct, int64_t *total) {
    lt_status s;
    double sum = 0;
    *correct = *total = 0;
    if (batch < 1) batch = 32;
    for (int64_t i = 0; i < n; i += batch) {
        int64_t b = n - i < batch ? n - i : batch;
        const float *xp[LT_MAX_MERGE], *yp[LT_MAX_MERGE];
        int64_t tn[LT_MAX_MERGE];
        for (int k = 0; k < net->ninputs; k++) xp[k] = xs[k]->data + i * net->nodes[k].size;
        for (int o = 0; o < net->noutputs; o++) {
            yp[o] = ys[o]->data + i * rowsize(ys[o]);
            tn[o] = b * rowsize(ys[o]);
        }
        if ((s = check_targets(net, yp, tn, b, loss)) != LT_OK) return s;
        if ((s = lt_check_interrupt()) != LT_OK) return s;
        if ((s = lt_net_forward(net, xp, b, 0)) != LT_OK) return s;
        for (int o = 0; o < net->noutputs; o++) {
            int64_t rows, K, c, t;
            double l;
            rows_k(net, o, b, &rows, &K);
            lt_loss_eval(loss[o].kind, lt_net_output(net, o), rows, K, yp[o], &l, NULL);
            sum += loss[o].weight * l * (double)b;
            if (o == 0) {
                lt_loss_accuracy(loss[o].kind, lt_net_output(net, o), rows, K, yp[o], &c, &t);
                *correct += c;
                *total += t;
            }
        }
    }
    *lossv = sum / (double)n + lt_net_penalty(net);
    return LT_OK;
}
