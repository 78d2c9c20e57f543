/* net.h: a sequential network of layers with one contiguous parameter buffer (grads in
 * the same layout) and per-batch activation, cache and gradient buffers sized once for
 * the largest batch seen and reused: steady-state training allocates nothing.
 * The training step is one call: forward, loss, backward (softmax/sigmoid + cross-entropy
 * fused), optimizer step (which also zeroes the gradients for the next step, so between
 * steps the net's gradient buffer reads zero). Layers are borrowed (the caller keeps them alive and must not
 * free them while the net exists); their w/b become views of the net's buffer. */
#ifndef LT_NET_H
#define LT_NET_H

#include "nn/layer.h"
#include "nn/loss.h"
#include "nn/optim.h"

/* Optional per-phase timing of lt_net_train_step (for tests/bench): off by default; when
 * `on`, each step adds its phases' seconds and the heap allocations the step made (when
 * the build counts them, see lt_alloc_count) and counts the step. */
typedef struct {
    int on;
    int64_t steps, allocs;
    double forward, loss, backward, optimizer;
} lt_net_timing;

/* Heap allocations (malloc/calloc/realloc/aligned) made by the process so far, or -1 when
 * the build does not count them (cmake -DLUNETTE_COUNT_ALLOCS=ON, benchmarks only). */
int64_t lt_alloc_count(void);

typedef struct {
    int n;
    lt_layer **layers;
    int in_nd;
    int64_t in_shape[LT_MAX_DIMS], in_size;
    int64_t (*shapes)[LT_MAX_DIMS + 1];   /* per layer: [nd, in shape...] the net set up */
    int64_t nparams;                     /* trainable */
    lt_tensor *params, *grads;           /* flat, NULL until lt_net_build */
    /* batch buffers, for up to cap samples */
    int64_t cap;
    float *mem;
    float **out, **cache;
    float *scratch, *ga, *gb, *xbuf, *ybuf;
    int64_t gstride;                     /* per-sample floats of ga/gb: the largest layer */
    int64_t sstride;                     /* per-sample floats of scratch: the largest layer */
    int64_t ysize;                       /* per-sample target floats ybuf holds */
    int64_t *perm, perm_n;
    lt_net_timing timing;
    /* data-parallel steps on 2 threads (see parallel.h): every layer can run on a row
     * range; the worker's gradient block (like grads, zero between steps) and stream */
    int splittable;
    int *keep;                           /* per layer: its own training flag, kept aside */
    float *g1;
    lt_rng rng1;
} lt_net;

/* Sets the layers up for a per-sample input shape; allocates no parameters. Caller owns
 * the result (lt_net_free); NULL on error (a layer's message naming it and the shapes). */
lt_net *lt_net_new(int n, lt_layer **layers, int in_nd, const int64_t *in_shape);
void    lt_net_free(lt_net *net);          /* leaves the layers alone; NULL is a no-op */
/* Allocates the flat parameter and gradient buffers and binds every layer to them
 * (keeping weights a layer already had, initialising the others from r). Idempotent. */
lt_status lt_net_build(lt_net *net, lt_rng *r);
int64_t   lt_net_out_size(const lt_net *net);     /* per-sample output floats */
int64_t   lt_net_out_width(const lt_net *net);    /* last axis of the output (classes) */
/* Checks that x is N×(input shape) with N >= 1; the message names the first layer and
 * both shapes. */
lt_status lt_net_check_input(const lt_net *net, const lt_tensor *x);

/* Forward pass of N samples (x: N×in_size) in training or inference mode; *y points to
 * the net's output buffer (valid until the next call). A training-mode forward updates
 * the non-trainable state (batchnorm moving statistics), as a Keras training call does. */
lt_status lt_net_forward(lt_net *net, const float *x, int64_t N, int training, const float **y);
/* One training step on x (N samples) and targets y (tn floats: N×out for dense targets, N
 * class ids for sparse): forward, loss, backward, optimizer step. *loss is the batch mean,
 * correct/total the accuracy counts. All or nothing: on a non-finite loss returns LT_ENAN,
 * on an interrupt (checked before the step) LT_EINTR, and then neither the parameters nor
 * the optimizer nor any layer's non-trainable state (batchnorm moving statistics) changed. */
lt_status lt_net_train_step(lt_net *net, const float *x, const float *y, int64_t N, int64_t tn,
                            lt_loss_kind loss, lt_optim *opt, double *lossv, int64_t *correct,
                            int64_t *total);
/* Same as lt_net_train_step on rows perm[start .. start+count) of x and y (as set by
 * lt_net_shuffle), gathered into the net's own batch buffers. ysz: target floats per row. */
lt_status lt_net_train_rows(lt_net *net, const lt_tensor *x, const lt_tensor *y, int64_t ysz,
                            int64_t start, int64_t count, lt_loss_kind loss, lt_optim *opt,
                            double *lossv, int64_t *correct, int64_t *total);
/* Sets perm to 0..n-1, shuffled with r when r is not NULL. */
lt_status lt_net_shuffle(lt_net *net, int64_t n, lt_rng *r);
/* Inference on all of x in batches; out: N×(output shape) preallocated. Checks for
 * interrupts between batches. */
lt_status lt_net_predict(lt_net *net, const lt_tensor *x, int64_t batch, lt_tensor *out);
/* Mean loss and accuracy counts of the first n rows of x, y in inference mode. */
lt_status lt_net_evaluate(lt_net *net, const lt_tensor *x, const lt_tensor *y, int64_t ysz,
                          int64_t n, int64_t batch, lt_loss_kind loss, double *lossv,
                          int64_t *correct, int64_t *total);

#endif
