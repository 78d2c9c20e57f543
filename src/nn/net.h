/* net.h: a network: a directed acyclic graph of layers (Sequential is the chain) with one
 * contiguous parameter buffer (grads in the same layout) and per-batch activation, cache
 * and gradient buffers sized once for the largest batch seen and reused: steady-state
 * training allocates nothing. The training step is one call: forward, loss, backward
 * (softmax/sigmoid + cross-entropy fused), optimizer step (which also zeroes the gradients
 * for the next step, so between steps the net's gradient buffer reads zero). The net holds
 * a reference on each of its layers; their w/b become views of the net's buffer. */
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

/* A node of the graph: a graph input (layer NULL) or a layer applied to earlier nodes. */
typedef struct {
    lt_layer *layer;
    int nin;
    int in[LT_MAX_MERGE];                /* input node ids, each < this node's id */
    int nd;                              /* per-sample output shape */
    int64_t shape[LT_MAX_DIMS], size;
    int nconsumers;                      /* nodes reading this one */
    uint64_t setup_id;                   /* the layer's setup this net made */
    /* backward plan (see plan_backward in net.c): the gradient slot of d loss / d output
     * (-1: not needed), and per input the slot its gradient is written to and, when another
     * consumer wrote that input's gradient first, the slot it is then added into */
    int gslot, dxslot[LT_MAX_MERGE], dxadd[LT_MAX_MERGE];
} lt_node;

/* Per output: the loss and its weight in the total (Keras loss_weights). */
typedef struct {
    lt_loss_kind kind;
    float weight;
} lt_net_loss;

/* A layer's part in a training step whose optimizer step is fused into the backward
 * pass (fused updates, net.c): its kernel's optimizer segment (-1: none this step), the
 * optimizer, and whether the layer handed its gradient over. */
typedef struct lt_net_update {
    const lt_optim *opt;
    int seg, ran;
} lt_net_update;

typedef struct {
    int n;                               /* nodes: the inputs first, in topological order */
    lt_node *nodes;
    int ninputs, noutputs;
    int outputs[LT_MAX_MERGE];           /* output node ids */
    int nlayers;                         /* distinct layers (a shared layer once), owned */
    lt_layer **layers;
    int chain;                           /* one input, each node reads the previous one */
    int64_t in_size;                     /* per-sample floats of input 0 */
    int64_t nparams;                     /* all, frozen layers' too (one flat buffer) */
    lt_tensor *params, *grads;           /* flat, NULL until lt_net_build */
    /* batch buffers, for up to cap samples */
    int64_t cap;
    float *mem;
    float **out, **cache;                /* per node (out of an input node: unused) */
    float *scratch, *slots, *xbuf, *ybuf;
    int nslots, plan_dx;                 /* gradient slots; whether the plan has input grads */
    char *plan_frozen;                   /* per layer: frozen when the plan was made */
    int64_t gstride;                     /* per-sample floats of a slot: the largest node */
    int64_t slot_floats;                 /* floats of a slot: cap·gstride, aligned */
    int64_t sstride;                     /* per-sample floats of scratch: the largest layer */
    int64_t ysize;                       /* per-sample target floats ybuf holds */
    int64_t fwd_n;                       /* batch of the last training forward (0: none) */
    const float *fwd_x[LT_MAX_MERGE];    /* its inputs (the caller keeps them alive) */
    int64_t *perm, perm_n;
    lt_net_timing timing;
    /* data-parallel steps on 2 threads (see parallel.h): every layer can run on a row
     * range; the worker's gradient block (like grads, zero between steps) and stream */
    int splittable;
    int rowwise;                         /* every layer treats samples alone at inference */
    int *keep;                           /* per node: its layer's training flag, kept aside */
    float *g1;
    lt_rng rng1;
    lt_optim_seg *oseg;                  /* the optimizer's segments (optim_segments in net.c) */
    int noseg;
    lt_net_update *upd;                  /* per layer (fused updates in net.c) */
    int busy;                            /* inside a call (a Lua layer may call back) */
    /* Keras's sample_weight: per-sample weights of the loss (NULL: all 1), borrowed. The
     * next lt_net_step reads step_weights (N floats); lt_net_train_rows gathers them from
     * row_weights (one per data row, indexed like the rows) into wbuf. The weighted loss
     * is Σ w_i·loss_i / N (Keras: summed over the batch, divided by its size). */
    const float *step_weights, *row_weights;
    float *wbuf;
    int64_t wcap;
    struct lt_monitor *monitor;          /* layer health per step (monitor.h), or NULL */
    /* Data parallelism over processes (src/dist, set by a distributed fit): when > 0, a
     * training step on N rows is this rank's share of a global batch of dist_rows rows;
     * see lt_net_step. 0: this process alone. */
    int64_t dist_rows;
} lt_net;

/* A graph network. ninputs input nodes with per-sample shapes (in_nd[k], in_shape[k]),
 * then nlayers nodes: layer k reads the nodes in[k][0 .. nin[k]) (ids < ninputs + k); a
 * layer may appear at several nodes (shared weights, one input shape). outputs: node ids.
 * Sets the layers up; allocates no parameters; takes a reference on every layer. NULL on
 * error (the message names the layer and the shapes). */
lt_net *lt_net_new_graph(int ninputs, const int *in_nd, const int64_t (*in_shape)[LT_MAX_DIMS],
                         int nlayers, lt_layer *const *layers, const int *nin,
                         const int (*in)[LT_MAX_MERGE], int noutputs, const int *outputs);
/* A chain of n layers on one input (Sequential). */
lt_net *lt_net_new(int n, lt_layer **layers, int in_nd, const int64_t *in_shape);
void    lt_net_free(lt_net *net);          /* drops its references on the layers */
/* Allocates the flat parameter and gradient buffers and binds every layer to them
 * (keeping weights a layer already had, initialising the others from r). Idempotent. */
lt_status lt_net_build(lt_net *net, lt_rng *r);
/* Per-sample output floats and last axis (classes) of output k. */
int64_t   lt_net_out_size(const lt_net *net, int k);
int64_t   lt_net_out_width(const lt_net *net, int k);
/* Checks that x is N×(shape of input k) with N >= 1; the message names both shapes. */
lt_status lt_net_check_input(const lt_net *net, int k, const lt_tensor *x);

/* Forward pass of N samples (xs[k]: N×input k) in training or inference mode; the outputs
 * are in net->out[net->outputs[k]] (valid until the next call). A training-mode forward
 * updates the non-trainable state (batchnorm moving statistics), as a Keras training call
 * does, and keeps what backward needs until the next call. */
lt_status lt_net_forward(lt_net *net, const float *const *xs, int64_t N, int training);
static inline const float *lt_net_output(const lt_net *net, int k) {
    return net->out[net->outputs[k]];
}
/* Backward of the last training forward from the gradients dys[k] (N×output k): accumulates
 * the parameter gradients into net->grads (those of frozen layers stay zero) and writes the
 * input gradients into dxs[k] (an entry or dxs itself may be NULL). */
lt_status lt_net_backward(lt_net *net, const float *const *dys, float *const *dxs);
/* Gradients for explanations (saliency, Grad-CAM): a forward of xs (N samples) in
 * inference mode on one thread, keeping every node's output, then a backward from dys[k]
 * (N×output k). With `logits`, an output layer's fused softmax or sigmoid is skipped: dys
 * are taken w.r.t. its pre-activation (the class score before the softmax). Writes node
 * `node`'s output into onode and d/d(that output) into dnode (N×node size; either may be
 * NULL; node -1: none), the inputs' gradients into dxs (an entry or dxs may be NULL).
 * Changes no parameter, accumulated gradient or layer state; ends a pending training
 * forward (backward then asks for a new one). dys NULL: the forward alone (every node's
 * output is then in net->out until the next call; dnode and dxs are not written). */
lt_status lt_net_explain(lt_net *net, const float *const *xs, int64_t N, const float *const *dys,
                         int logits, int node, float *onode, float *dnode, float *const *dxs);
/* One training step on xs (N samples) and targets ys[k] (tn[k] floats: N×output k for dense
 * targets, N class ids for sparse), one loss per output: forward, loss, backward, optimizer
 * step. *loss is the weighted total of the batch means, correct/total the accuracy counts
 * of output 0. All or nothing: on a non-finite loss returns LT_ENAN, on an interrupt
 * (checked before the step) LT_EINTR, and then neither the parameters nor the optimizer
 * nor any layer's non-trainable state (batchnorm moving statistics) changed.
 * Distributed (net->dist_rows > 0, every rank calls it in step): the loss gradient is
 * scaled by N/dist_rows, batch statistics are summed over the ranks, the loss and accuracy
 * counts are those of the global batch (so every rank takes the same decision on a
 * non-finite loss), and the gradients are summed over the ranks before the optimizer:
 * the update is that of one process on the global batch. */
lt_status lt_net_step(lt_net *net, const float *const *xs, const float *const *ys,
                      const int64_t *tn, int64_t N, const lt_net_loss *loss, lt_optim *opt,
                      double *lossv, int64_t *correct, int64_t *total);
/* The optimizer step inside lt_net_step: one lt_optim_seg per parameter tensor (a layer's
 * weight [off, off+nw), then its bias [off+nw, off+nw+nb), layers in net->layers order) of
 * every layer that is not frozen, built at each step (optim_segments in net.c), then
 * lt_optim_begin once and lt_optim_apply over the segments (split between the threads).
 * A frozen layer's (lt_layer.frozen, Keras's trainable = false) tensors are not passed to
 * the optimizer (no update, no decay, their state untouched), only their gradients are
 * zeroed. The segments are the same parameters as layer:parameters()' tensors: the
 * optimizer's state is shared with a hand-written loop's opt:step. */

/* The kernel regularizers' loss at the current weights (trainable layers): Σ l1·|w| + l2·w²
 * (Keras adds it to the loss it reports; lt_net_step and lt_net_evaluate include it). */
double lt_net_penalty(const lt_net *net);

/* lt_net_step for one input and one output. */
lt_status lt_net_train_step(lt_net *net, const float *x, const float *y, int64_t N, int64_t tn,
                            lt_loss_kind loss, lt_optim *opt, double *lossv, int64_t *correct,
                            int64_t *total);
/* Same as lt_net_step on rows perm[start .. start+count) of xs and ys (as set by
 * lt_net_shuffle), gathered into the net's own batch buffers. */
lt_status lt_net_train_rows(lt_net *net, const lt_tensor *const *xs, const lt_tensor *const *ys,
                            int64_t start, int64_t count, const lt_net_loss *loss,
                            lt_optim *opt, double *lossv, int64_t *correct, int64_t *total);
/* Sets perm to 0..n-1, shuffled with r when r is not NULL. */
lt_status lt_net_shuffle(lt_net *net, int64_t n, lt_rng *r);
/* Inference on all of xs in batches; outs[k]: N×(output k shape) preallocated. Checks for
 * interrupts between batches. */
lt_status lt_net_predict(lt_net *net, const lt_tensor *const *xs, int64_t batch,
                         lt_tensor *const *outs);
/* Weighted total loss and output 0's accuracy counts of the first n rows in inference mode. */
lt_status lt_net_evaluate(lt_net *net, const lt_tensor *const *xs, const lt_tensor *const *ys,
                          int64_t n, int64_t batch, const lt_net_loss *loss, double *lossv,
                          int64_t *correct, int64_t *total);

#endif
