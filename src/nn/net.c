/* net.c: sequential network, training step and batched inference (see net.h).
 * Buffers (one aligned allocation, grown only when a bigger batch arrives):
 *   out[i]   N×out_size(i)      activations, kept for backward
 *   cache[i] layer i's forward→backward cache (im2col columns, argmax, dropout mask)
 *   scratch  N×sstride (sstride: the largest per-sample scratch of any layer, conv dcols);
 *            rows r0.. use it from r0·sstride on, for the same reason as ga/gb
 *   ga, gb   gradient ping-pong, N×gstride (gstride: the largest per-sample activation);
 *            a thread working on rows r0.. uses both from r0·gstride on, so threads on
 *            different layers never overlap
 *   xbuf, ybuf  a gathered batch for lt_net_train_rows */
#include "nn/net.h"
#include "nn/parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Layers whose forward and backward treat samples independently, keep nothing in the
 * layer struct between calls but what every row range writes alike, and whose cache and
 * scratch sizes are linear in N: a batch can be split by rows across threads. */
static int splittable(const lt_layer *l) {
    if (l->commit) return 0;   /* its state update reads one whole-batch cache */
    static const char *const kinds[] = {"Conv2D", "Conv1D", "Dense", "MaxPool2D", "AvgPool2D",
                                        "MaxPool1D", "AvgPool1D", "Flatten", "Dropout",
                                        "Activation", "ReLU", "Sigmoid", "Tanh", "Softmax",
                                        "LeakyReLU", NULL};
    for (int i = 0; kinds[i]; i++)
        if (strcmp(l->vt->kind, kinds[i]) == 0) return 1;
    return 0;
}

static void record_shape(lt_net *net, int i) {
    lt_layer *l = net->layers[i];
    net->shapes[i][0] = l->in_nd;
    memcpy(&net->shapes[i][1], l->in_shape, (size_t)l->in_nd * sizeof(int64_t));
}

/* Runs setup through the chain from the net's input shape. */
static lt_status setup_chain(lt_net *net) {
    int nd = net->in_nd;
    int64_t shape[LT_MAX_DIMS];
    memcpy(shape, net->in_shape, sizeof shape);
    for (int i = 0; i < net->n; i++) {
        lt_layer *l = net->layers[i];
        lt_status s = lt_layer_setup(l, nd, shape);
        if (s != LT_OK) return s;
        record_shape(net, i);
        nd = l->out_nd;
        memcpy(shape, l->out_shape, sizeof shape);
    }
    /* the layers now belong to a net of this shape: standalone forwards must agree */
    for (int i = 0; i < net->n; i++) lt_layer_fix_shape(net->layers[i]);
    return LT_OK;
}

/* A layer may have been set up for another shape since (used standalone): redo it. */
static lt_status ensure_setup(lt_net *net) {
    for (int i = 0; i < net->n; i++) {
        lt_layer *l = net->layers[i];
        if (l->in_nd != net->shapes[i][0] ||
            memcmp(l->in_shape, &net->shapes[i][1], (size_t)l->in_nd * sizeof(int64_t)) != 0)
            return setup_chain(net);
    }
    return LT_OK;
}

lt_net *lt_net_new(int n, lt_layer **layers, int in_nd, const int64_t *in_shape) {
    if (n < 1) {
        lt_seterr(LT_EARG, "Sequential: the model has no layers");
        return NULL;
    }
    lt_net *net = calloc(1, sizeof *net);
    if (!net || !(net->layers = malloc((size_t)n * sizeof *layers)) ||
        !(net->keep = malloc((size_t)n * sizeof *net->keep)) ||
        !(net->shapes = calloc((size_t)n, sizeof *net->shapes))) {
        if (net) {
            free(net->layers);
            free(net->keep);
        }
        free(net);
        lt_seterr(LT_ENOMEM, "Sequential: out of memory");
        return NULL;
    }
    net->n = n;
    memcpy(net->layers, layers, (size_t)n * sizeof *layers);
    net->in_nd = in_nd;
    memcpy(net->in_shape, in_shape, (size_t)in_nd * sizeof *in_shape);
    net->in_size = 1;
    for (int i = 0; i < in_nd; i++) net->in_size *= in_shape[i];
    net->splittable = 1;
    for (int i = 0; i < n; i++) net->splittable &= splittable(layers[i]);
    if (setup_chain(net) != LT_OK) {
        lt_net_free(net);
        return NULL;
    }
    for (int i = 0; i < n; i++) net->nparams += lt_layer_nparams(layers[i]);
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
    free(net->g1);
    free(net->keep);
    free(net->shapes);
    free(net->layers);
    free(net);
}

int64_t lt_net_out_size(const lt_net *net) { return net->layers[net->n - 1]->out_size; }

int64_t lt_net_out_width(const lt_net *net) {
    const lt_layer *l = net->layers[net->n - 1];
    return l->out_shape[l->out_nd - 1];
}

lt_status lt_net_build(lt_net *net, lt_rng *r) {
    lt_status s = ensure_setup(net);
    if (s != LT_OK) return s;
    int bound = net->params != NULL;
    for (int i = 0; i < net->n && bound; i++) {
        lt_layer *l = net->layers[i];
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
        for (int i = 0; i < net->n; i++) {
            lt_layer *l = net->layers[i];
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
    }
    for (int i = 0; i < net->n; i++)
        if ((s = lt_layer_build_state(net->layers[i])) != LT_OK) return s;
    return LT_OK;
}

lt_status lt_net_check_input(const lt_net *net, const lt_tensor *x) {
    int ok = x->ndim == net->in_nd + 1 &&
             memcmp(x->shape + 1, net->in_shape, (size_t)net->in_nd * sizeof(int64_t)) == 0;
    if (ok) return LT_OK;
    char a[200], b[200];
    const lt_layer *l = net->layers[0];
    return lt_seterr(LT_ESHAPE, "%s (%s): expected input of shape %s, got %s", l->name,
                     l->vt->kind, lt_layer_shape_str(net->in_nd, net->in_shape, a, sizeof a),
                     lt_shape_str(x->ndim, x->shape, b, sizeof b));
}

/* ---- buffers ---- */

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static lt_status reserve(lt_net *net, int64_t N, int64_t ysize) {
    if (N <= net->cap && ysize <= net->ysize && net->mem) return LT_OK;
    if (N < net->cap) N = net->cap;
    if (ysize < net->ysize) ysize = net->ysize;
    size_t total = 0, scratch = 0, gmax = (size_t)(N * net->in_size);
    for (int i = 0; i < net->n; i++) {
        lt_layer *l = net->layers[i];
        total += round16((size_t)(N * l->out_size));
        if (l->vt->cache_size) total += round16(l->vt->cache_size(l, N));
        size_t sc = l->vt->scratch_size ? l->vt->scratch_size(l, N) : 0;
        if (sc > scratch) scratch = sc;
        if ((size_t)(N * l->out_size) > gmax) gmax = (size_t)(N * l->out_size);
    }
    scratch = (scratch + (size_t)N - 1) / (size_t)N * (size_t)N;   /* N whole rows */
    total += round16(scratch) + 2 * round16(gmax) + round16((size_t)(N * net->in_size)) +
             round16((size_t)(N * ysize));
    float *mem = NULL;
    float **out = malloc((size_t)net->n * sizeof *out), **cache = malloc((size_t)net->n * sizeof *cache);
    if (!out || !cache || posix_memalign((void **)&mem, 64, total * sizeof(float)) != 0) {
        free(out);
        free(cache);
        return lt_seterr(LT_ENOMEM, "Sequential: out of memory for the buffers of a batch of "
                         "%lld (%.1f MB)", (long long)N, (double)total * 4 / 1e6);
    }
    memset(mem, 0, total * sizeof(float));
    float *p = mem;
    for (int i = 0; i < net->n; i++) {
        lt_layer *l = net->layers[i];
        out[i] = p;
        p += round16((size_t)(N * l->out_size));
        cache[i] = p;
        if (l->vt->cache_size) p += round16(l->vt->cache_size(l, N));
    }
    net->scratch = p; p += round16(scratch);
    net->ga = p; p += round16(gmax);
    net->gb = p; p += round16(gmax);
    net->xbuf = p; p += round16((size_t)(N * net->in_size));
    net->ybuf = p;
    free(net->mem);
    free(net->out);
    free(net->cache);
    net->mem = mem;
    net->out = out;
    net->cache = cache;
    net->cap = N;
    net->ysize = ysize;
    net->gstride = (int64_t)(gmax / (size_t)N);
    net->sstride = (int64_t)(scratch / (size_t)N);
    return LT_OK;
}

/* ---- forward / backward on a row range ---- */

/* The per-layer buffers of rows r0.. of the batch: activations and gradients are N×size,
 * caches and scratch linear in N (see splittable), so rows r0.. start at size(r0). */
static float *cache_at(const lt_net *net, int i, int64_t r0) {
    const lt_layer *l = net->layers[i];
    return net->cache[i] + (r0 && l->vt->cache_size ? l->vt->cache_size(l, r0) : 0);
}

/* Scratch of rows r0..: one stride for all layers, so that two threads on different
 * layers (the backward of one, the forward or backward of another) never overlap. */
static float *scratch_at(const lt_net *net, int64_t r0) { return net->scratch + r0 * net->sstride; }

/* Forward of rows r0 .. r0+n (x: the whole batch's input). Training flags are set by
 * the caller. */
static lt_status forward_rows(lt_net *net, const float *x, int64_t r0, int64_t n) {
    lt_status s = LT_OK;
    for (int i = 0; i < net->n && s == LT_OK; i++) {
        lt_layer *l = net->layers[i];
        const float *in = i ? net->out[i - 1] : x;
        s = l->vt->forward(l, in + r0 * l->in_size, net->out[i] + r0 * l->out_size, n,
                           cache_at(net, i, r0), scratch_at(net, r0));
    }
    return s;
}

/* Floats of the largest per-chunk activation in chunked inference: 128 Ki floats (512 KB)
 * keep a chunk's input, output and the next layer's reads inside a 2 MB L2. */
enum { CHUNK_FLOATS = 1 << 17 };

/* Inference forward of a splittable net on one thread. The leading layers up to the first
 * Dense run chunk by chunk (a few samples through all of them, their activations ping-
 * ponging in the idle gradient buffers ga/gb while they are in cache), so a large batch
 * does not stream every convolution's output through memory; the last of them writes its
 * rows to out[], and the Dense layers and what follows run on the whole batch (their
 * weights are read once per batch, not per chunk). Only the last chunked layer's out[]
 * is filled: nothing reads the intermediate activations of an inference forward. Same
 * results as forward_rows: every layer here treats samples independently. */
static lt_status infer_rows(lt_net *net, const float *x, int64_t N) {
    int j = 0;
    int64_t big = net->in_size;
    while (j < net->n && strcmp(net->layers[j]->vt->kind, "Dense") != 0) {
        if (net->layers[j]->out_size > big) big = net->layers[j]->out_size;
        j++;
    }
    int64_t rows = CHUNK_FLOATS / big;
    if (j < 2 || rows < 1 || rows >= N) return forward_rows(net, x, 0, N);
    for (int64_t r0 = 0; r0 < N; r0 += rows) {
        int64_t n = N - r0 < rows ? N - r0 : rows;
        const float *in = x + r0 * net->in_size;
        for (int i = 0; i < j; i++) {
            lt_layer *l = net->layers[i];
            float *o = i == j - 1 ? net->out[i] + r0 * l->out_size : i % 2 ? net->gb : net->ga;
            lt_status s = l->vt->forward(l, in, o, n, net->cache[i], net->scratch);
            if (s != LT_OK) return s;
            in = o;
        }
    }
    for (int i = j; i < net->n; i++) {
        lt_layer *l = net->layers[i];
        lt_status s = l->vt->forward(l, net->out[i - 1], net->out[i], N, net->cache[i],
                                     net->scratch);
        if (s != LT_OK) return s;
    }
    return LT_OK;
}

/* Backward of rows r0 .. r0+n from their loss gradient at ga + r0·gstride. */
static void backward_rows(lt_net *net, const float *x, int64_t r0, int64_t n) {
    float *dy = net->ga + r0 * net->gstride, *dx = net->gb + r0 * net->gstride;
    for (int i = net->n - 1; i >= 0; i--) {
        lt_layer *l = net->layers[i];
        const float *in = i ? net->out[i - 1] : x;
        /* the first layer's input gradient is never needed */
        l->vt->backward(l, in + r0 * l->in_size, net->out[i] + r0 * l->out_size, dy,
                        i ? dx : NULL, n, cache_at(net, i, r0), scratch_at(net, r0));
        float *t = dy; dy = dx; dx = t;
    }
}

/* Applies the non-trainable state updates (batchnorm moving averages) of the last
 * training forward: called only once that forward's step is applied, so a step refused
 * for a non-finite loss or an interrupt leaves the state as it was. Layers with a commit
 * hook are never split across threads (see splittable): their cache is whole-batch. */
static void commit_state(lt_net *net) {
    for (int i = 0; i < net->n; i++) lt_layer_commit(net->layers[i], net->cache[i]);
}

/* ---- data-parallel phases on 2 threads (parallel.h) ---- */

enum { PH_FORWARD, PH_BACKWARD, PH_OPTIM };

typedef struct {
    lt_net *net;
    const float *x;
    int64_t N, n0;             /* thread 0 takes rows [0, n0), thread 1 [n0, N) */
    int phase;
    const lt_optim *opt;
    lt_status st[2];
} par_job;

static void par_phase(void *arg, int tid) {
    par_job *j = arg;
    lt_net *net = j->net;
    int64_t r0 = tid ? j->n0 : 0, n = tid ? j->N - j->n0 : j->n0;
    if (tid) {
        lt_tls_rng = &net->rng1;
        lt_tls_grad_src = net->grads->data;
        lt_tls_grad_dst = net->g1;
    }
    j->st[tid] = LT_OK;
    switch (j->phase) {
    case PH_FORWARD:
        j->st[tid] = forward_rows(net, j->x, r0, n);
        break;
    case PH_BACKWARD:
        backward_rows(net, j->x, r0, n);
        break;
    case PH_OPTIM: {
        int64_t P = net->nparams, half = (P / 2 + 15) & ~(int64_t)15;
        if (half > P) half = P;
        lt_optim_apply(j->opt, net->params->data, net->grads->data, net->g1,
                       tid ? half : 0, tid ? P : half);
        break;
    }
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

static lt_status forward(lt_net *net, const float *x, int64_t N, int training, par_job *par) {
    for (int i = 0; i < net->n; i++) {
        net->keep[i] = net->layers[i]->training;
        net->layers[i]->training = training;
    }
    lt_status s = par                              ? run_par(par, PH_FORWARD)
                  : !training && net->splittable ? infer_rows(net, x, N)
                                                 : forward_rows(net, x, 0, N);
    for (int i = 0; i < net->n; i++) net->layers[i]->training = net->keep[i];
    return s;
}

lt_status lt_net_forward(lt_net *net, const float *x, int64_t N, int training, const float **y) {
    lt_status s;
    if ((s = lt_net_build(net, &lt_global_rng)) != LT_OK || (s = reserve(net, N, 0)) != LT_OK)
        return s;
    par_job job = {net, x, N, (N + 1) / 2, PH_FORWARD, NULL, {LT_OK, LT_OK}};
    int par = use_par(net, N, 0);
    if (par) {
        lt_blas_threads(1);
        if (training) lt_rng_seed(&net->rng1, lt_rng_next(&lt_global_rng));
    }
    s = forward(net, x, N, training, par ? &job : NULL);
    if (par) lt_blas_threads(0);
    if (s != LT_OK) return s;
    if (training) commit_state(net);    /* a training forward outside a step (Keras) */
    *y = net->out[net->n - 1];
    return LT_OK;
}

/* The output activation the loss can fuse with (softmax/sigmoid), or NONE. */
static int fusable(const lt_layer *last, lt_loss_kind k) {
    if (k == LT_LOSS_CCE || k == LT_LOSS_SCCE) return last->act == LT_ACT_SOFTMAX;
    if (k == LT_LOSS_BCE) return last->act == LT_ACT_SIGMOID;
    return 0;
}

static lt_status train_step(lt_net *net, const float *x, const float *y, int64_t N,
                            lt_loss_kind loss, lt_optim *opt, double *lossv, int64_t *correct,
                            int64_t *total, par_job *par) {
    lt_status s;
    lt_layer *last = net->layers[net->n - 1];
    int64_t K = lt_net_out_width(net), rows = N * last->out_size / K;
    lt_net_timing *tm = net->timing.on ? &net->timing : NULL;
    int64_t a0 = tm ? lt_alloc_count() : 0;
    double t0 = tm ? seconds() : 0, t1 = 0;
    if (par) lt_rng_seed(&net->rng1, lt_rng_next(&lt_global_rng));
    if ((s = forward(net, x, N, 1, par)) != LT_OK) return s;
    if (tm) tm->forward += (t1 = seconds()) - t0;
    const float *pred = net->out[net->n - 1];
    int fuse = fusable(last, loss);
    if (fuse) {
        lt_loss_eval(loss, pred, rows, K, y, lossv, NULL);
        lt_loss_fused_grad(loss, pred, rows, K, y, net->ga);
    } else {
        lt_loss_eval(loss, pred, rows, K, y, lossv, net->ga);
    }
    if (!isfinite(*lossv))
        return lt_seterr(LT_ENAN, "the loss is %s", isnan(*lossv) ? "nan" : "inf");
    lt_loss_accuracy(loss, pred, rows, K, y, correct, total);
    if ((s = lt_check_interrupt()) != LT_OK) return s;
    if (tm) tm->loss += (t0 = seconds()) - t1;
    /* grads (and the worker's g1) are zero here: zeroed when allocated, and by every
     * step's fused optimizer pass */
    last->skip_act_grad = fuse;
    if (par)   /* the worker's rows of the loss gradient go to its own part of ga */
        memmove(net->ga + par->n0 * net->gstride, net->ga + par->n0 * last->out_size,
                (size_t)((N - par->n0) * last->out_size) * sizeof(float));
    if (par) run_par(par, PH_BACKWARD);
    else backward_rows(net, x, 0, N);
    last->skip_act_grad = 0;
    if (tm) tm->backward += (t1 = seconds()) - t0;
    if (net->nparams > 0) {
        if (par) {
            if ((s = lt_optim_begin(opt, net->nparams)) != LT_OK) return s;
            par->opt = opt;
            run_par(par, PH_OPTIM);
        } else if ((s = lt_optim_step_zero(opt, net->params->data, net->grads->data,
                                           net->nparams)) != LT_OK) {
            return s;
        }
    }
    commit_state(net);                  /* the step is applied: the state goes with it */
    if (tm) {
        tm->optimizer += seconds() - t1;
        tm->steps++;
        if (a0 >= 0) tm->allocs += lt_alloc_count() - a0;
    }
    return LT_OK;
}

lt_status lt_net_train_step(lt_net *net, const float *x, const float *y, int64_t N, int64_t tn,
                            lt_loss_kind loss, lt_optim *opt, double *lossv, int64_t *correct,
                            int64_t *total) {
    lt_status s;
    if ((s = lt_net_build(net, &lt_global_rng)) != LT_OK) return s;
    lt_layer *last = net->layers[net->n - 1];
    int64_t K = lt_net_out_width(net), rows = N * last->out_size / K;
    if ((s = lt_loss_check(loss, rows, K, y, tn)) != LT_OK) return s;
    if ((s = reserve(net, N, 0)) != LT_OK) return s;
    if ((s = lt_check_interrupt()) != LT_OK) return s;
    par_job job = {net, x, N, (N + 1) / 2, PH_FORWARD, NULL, {LT_OK, LT_OK}};
    int par = use_par(net, N, 1);
    if (par) lt_blas_threads(1);
    s = train_step(net, x, y, N, loss, opt, lossv, correct, total, par ? &job : NULL);
    if (par) lt_blas_threads(0);
    return s;
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

lt_status lt_net_train_rows(lt_net *net, const lt_tensor *x, const lt_tensor *y, int64_t ysz,
                            int64_t start, int64_t count, lt_loss_kind loss, lt_optim *opt,
                            double *lossv, int64_t *correct, int64_t *total) {
    lt_status s;
    if (start < 0 || count < 1 || start + count > net->perm_n)
        return lt_seterr(LT_EARG, "train_rows: rows %lld..%lld outside the %lld shuffled rows",
                         (long long)start, (long long)(start + count), (long long)net->perm_n);
    if ((s = lt_net_build(net, &lt_global_rng)) != LT_OK) return s;
    if ((s = reserve(net, count, ysz)) != LT_OK) return s;
    gather(net->xbuf, x->data, net->in_size, net->perm + start, count);
    gather(net->ybuf, y->data, ysz, net->perm + start, count);
    return lt_net_train_step(net, net->xbuf, net->ybuf, count, count * ysz, loss, opt, lossv,
                             correct, total);
}

lt_status lt_net_predict(lt_net *net, const lt_tensor *x, int64_t batch, lt_tensor *out) {
    lt_status s = lt_net_check_input(net, x);
    if (s != LT_OK) return s;
    int64_t N = x->shape[0], osz = lt_net_out_size(net);
    if (batch < 1) batch = 32;
    if (batch > N) batch = N;
    for (int64_t i = 0; i < N; i += batch) {
        int64_t n = N - i < batch ? N - i : batch;
        const float *y;
        if ((s = lt_check_interrupt()) != LT_OK) return s;
        if ((s = lt_net_forward(net, x->data + i * net->in_size, n, 0, &y)) != LT_OK) return s;
        memcpy(out->data + i * osz, y, (size_t)(n * osz) * sizeof(float));
    }
    return LT_OK;
}

lt_status lt_net_evaluate(lt_net *net, const lt_tensor *x, const lt_tensor *y, int64_t ysz,
                          int64_t n, int64_t batch, lt_loss_kind loss, double *lossv,
                          int64_t *correct, int64_t *total) {
    lt_status s;
    int64_t K = lt_net_out_width(net), osz = lt_net_out_size(net);
    double sum = 0;
    *correct = *total = 0;
    if (batch < 1) batch = 32;
    for (int64_t i = 0; i < n; i += batch) {
        int64_t b = n - i < batch ? n - i : batch;
        const float *pred;
        const float *yt = y->data + i * ysz;
        int64_t rows = b * osz / K, c, t;
        double l;
        if ((s = lt_loss_check(loss, rows, K, yt, b * ysz)) != LT_OK) return s;
        if ((s = lt_check_interrupt()) != LT_OK) return s;
        if ((s = lt_net_forward(net, x->data + i * net->in_size, b, 0, &pred)) != LT_OK) return s;
        lt_loss_eval(loss, pred, rows, K, yt, &l, NULL);
        lt_loss_accuracy(loss, pred, rows, K, yt, &c, &t);
        sum += l * (double)b;
        *correct += c;
        *total += t;
    }
    *lossv = sum / (double)n;
    return LT_OK;
}
