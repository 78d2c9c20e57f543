/* layer.h: the layer interface of the CNN engine. Every layer struct starts with an
 * lt_layer header whose small vtable (setup/init/forward/backward/destroy) does the work;
 * one file per layer kind under src/nn/. Shapes are per sample (no batch dimension) and
 * channels-last: images H×W×C, sequences L×C. Conv kernels are KH×KW×C×OC, dense kernels
 * in×out (Keras). Parameters (w, b) and their gradients (dw, db) are views into flat
 * blocks owned by whoever built them (a standalone layer, or a network: one contiguous
 * buffer per network, grads in the same layout). Backward ACCUMULATES into dw/db. */
#ifndef LT_LAYER_H
#define LT_LAYER_H

#include "core/ops.h"
#include "core/rng.h"
#include "core/tensor.h"

/* Activations a layer can fuse into its output (Keras `activation=`). */
typedef enum {
    LT_ACT_NONE = 0, LT_ACT_RELU, LT_ACT_SIGMOID, LT_ACT_TANH, LT_ACT_SOFTMAX, LT_ACT_LEAKY_RELU
} lt_act;

typedef struct lt_layer lt_layer;

/* What a layer kind declares about itself (lt_layer_vt.flags). */
enum {
    /* forward and backward treat samples independently, keep nothing in the layer struct
     * between calls but what every row range writes alike, and cache and scratch sizes are
     * linear in N: a network may split a batch by rows across threads */
    LT_LAYER_SPLITTABLE = 1,
    /* backward applies the fused activation's derivative unless skip_act_grad is set, so a
     * loss may hand it the gradient w.r.t. the pre-activation (softmax/sigmoid fusion) */
    LT_LAYER_FUSABLE_ACT = 2,
    /* backward may fail (sets err): a layer written in Lua */
    LT_LAYER_FALLIBLE = 4,
    /* backward hands its kernel's gradient to update when that is set (see update) */
    LT_LAYER_FUSABLE_UPDATE = 8
};

/* Most inputs a merge layer takes. */
#define LT_MAX_MERGE 16

typedef struct lt_layer_vt {
    const char *kind;    /* Keras class name, e.g. "Conv2D" */
    /* Computes out_shape, the parameter shapes (wshape/nw/nb/nstate) from a per-sample
     * input shape, without allocating anything. Errors name the layer and the shapes. */
    lt_status (*setup)(lt_layer *l, int nd, const int64_t *in);
    /* Fills freshly allocated parameters (Keras initialisers, from r). May be NULL. */
    void (*init)(lt_layer *l, lt_rng *r);
    /* Floats this layer keeps from forward to backward for a batch of N (may be NULL → 0). */
    size_t (*cache_size)(const lt_layer *l, int64_t N);
    /* Floats of scratch used only inside one forward or backward call (NULL → 0). */
    size_t (*scratch_size)(const lt_layer *l, int64_t N);
    /* y = f(x) for N samples. x: N×in_size, y: N×out_size. */
    lt_status (*forward)(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                         float *scratch);
    /* dy: N×out_size gradient w.r.t. y (may be overwritten); dx: N×in_size or NULL when
     * the input gradient is not needed. Accumulates into dw, db. */
    void (*backward)(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                     int64_t N, const float *cache, float *scratch);
    void (*destroy)(lt_layer *l);   /* frees kind-specific members (may be NULL) */
    void (*init_state)(lt_layer *l); /* fills freshly allocated state (may be NULL) */
    unsigned flags;                  /* LT_LAYER_* */
    /* Layers with several inputs (merge layers; NULL for the others): the same contracts as
     * setup, forward and backward, on n inputs. in_shape/in_size are the first input's. */
    lt_status (*setup_n)(lt_layer *l, int n, const int *nd, const int64_t (*in)[LT_MAX_DIMS]);
    lt_status (*forward_n)(lt_layer *l, int n, const float *const *x, float *y, int64_t N);
    void (*backward_n)(lt_layer *l, int n, const float *const *x, const float *y,
                       const float *dy, float *const *dx, int64_t N);
} lt_layer_vt;

struct lt_layer {
    const lt_layer_vt *vt;
    size_t size;                    /* bytes of the whole kind-specific struct */
    int refs;                       /* owners: its Lua object, each network using it */
    uint64_t setup_id;              /* changes with every successful setup */
    /* set by a backward that failed (a Lua layer's error); the caller reads and clears it */
    lt_status err;
    int running;                    /* networks in a call using it: no set-up meanwhile */
    char name[64];                  /* "conv2d_1": used in messages and summaries */
    int in_nd, out_nd;              /* per-sample shapes, valid once set_up */
    int64_t in_shape[LT_MAX_DIMS], out_shape[LT_MAX_DIMS];
    int64_t in_size, out_size;
    int set_up;
    /* The per-sample input shape fixed by input_shape or by a network that set the layer
     * up (fixed_nd 0: none, the layer sets itself up for whatever it first gets): a
     * standalone forward of another shape is an error, never a silent re-setup. */
    int fixed_nd;
    int64_t fixed_shape[LT_MAX_DIMS];
    int training;                   /* dropout and batchnorm behave differently */
    /* trainable = false (Keras): a network's optimizer step leaves its parameters as they
     * are, and a frozen batchnorm runs in inference mode inside a training step; read at
     * every step, so changing it takes effect at the next one */
    int frozen;
    /* kernel_regularizer (Keras): l1·Σ|w| + l2·Σw² over the kernel joins the training loss
     * (its gradient joins the kernel's in the optimizer step, see optim.h) */
    float l1, l2;
    lt_act act;                     /* fused output activation */
    float alpha;                    /* LeakyReLU slope */
    int skip_act_grad;              /* set by the net: dy is already w.r.t. pre-activation */
    int use_bias;
    /* parameter shapes (computed by setup) and views (NULL until built) */
    int wnd;
    int64_t wshape[4];
    int64_t nw, nb;
    lt_tensor *w, *b, *dw, *db;
    /* non-trainable state (batchnorm moving mean and variance), owned by the layer */
    int64_t nstate;
    lt_tensor *state;
    /* Applies the state update a training-mode forward computed into its cache (batchnorm:
     * the moving averages of the batch statistics). A training forward never changes the
     * state itself, so a step that is not applied (non-finite loss, interrupt) leaves it as
     * it was; whoever runs the forward commits (a network in the same place as its
     * optimizer step). Set by the constructor of a layer with state; NULL otherwise. */
    void (*commit)(lt_layer *l, const float *cache);
    /* Set by a network for the backward of one training step, on a layer of kind
     * LT_LAYER_FUSABLE_UPDATE whose batch is not split (net.c, fused updates): the kernel's
     * gradient is not accumulated into dw but handed over in blocks as it is computed,
     * update(update_ctx, first element, gradient, count), which applies the optimizer's
     * step to those weights at once. The layer computes dx first, from the weights as the
     * forward used them. */
    void (*update)(void *ctx, int64_t off, const float *g, int64_t n);
    /* Set with update: the step of all of the kernel (rows × cols, rows cols apart) from its
     * gradient given as the product Aᵀ·B (A: K×rows, B: K×cols), folded into the step where
     * the optimizer has a kernel for it (optim.h, lt_optim_apply_product). Returns 0, with
     * nothing done, otherwise: then update, by blocks. */
    int (*update_product)(void *ctx, int rows, int cols, int K, const float *A, int lda,
                          const float *B, int ldb);
    void *update_ctx;
};

/* ---- constructors: each returns a new layer (free with lt_layer_free) or NULL ---- */
typedef struct {
    int64_t filters, kh, kw, sh, sw;
    lt_padding pad;
    lt_act act;
    int use_bias;
} lt_conv_opts;
lt_layer *lt_conv2d_new(const lt_conv_opts *o);
lt_layer *lt_conv1d_new(const lt_conv_opts *o);            /* uses kw, sw */
lt_layer *lt_dense_new(int64_t units, lt_act act, int use_bias);
/* Max/average pooling; dims 1 (N×L×C) or 2 (N×H×W×C). */
lt_layer *lt_pool_new(int dims, int is_max, int64_t size, int64_t stride, lt_padding pad);
lt_layer *lt_global_pool_new(int dims, int is_max);
lt_layer *lt_flatten_new(void);
lt_layer *lt_dropout_new(float rate);
lt_layer *lt_batchnorm_new(float momentum, float epsilon);
lt_layer *lt_embedding_new(int64_t vocab, int64_t dim);
lt_layer *lt_activation_new(lt_act act, float alpha);     /* ReLU, Sigmoid, ... layers */
lt_layer *lt_input_new(int nd, const int64_t *shape);
/* Merge layers (Keras Add, Subtract, Multiply, Average, Maximum, Concatenate). */
typedef enum {
    LT_MERGE_ADD, LT_MERGE_SUBTRACT, LT_MERGE_MULTIPLY, LT_MERGE_AVERAGE, LT_MERGE_MAXIMUM,
    LT_MERGE_CONCAT
} lt_merge_op;
lt_layer *lt_merge_new(lt_merge_op op, int axis);           /* axis: Concatenate's (-1 last) */
/* Layers are reference counted: a new layer has one owner; lt_layer_ref adds one (a network
 * using it), lt_layer_free drops one and frees the layer with the last. */
static inline lt_layer *lt_layer_ref(lt_layer *l) { l->refs++; return l; }
void      lt_layer_free(lt_layer *l);                        /* NULL is a no-op */

/* Allocates the header of a layer struct of `size` bytes (zeroed), with defaults. */
lt_layer *lt_layer_alloc(size_t size, const lt_layer_vt *vt);

/* Sets the per-sample input shape (runs vt->setup). When the layer already has
 * parameters, a shape that needs different ones is an error ("conv2d: input has 3
 * channels, layer expects 1"). */
lt_status lt_layer_setup(lt_layer *l, int nd, const int64_t *in);
/* The same for a merge layer on n inputs (a single-input layer takes n == 1). */
lt_status lt_layer_setup_n(lt_layer *l, int n, const int *nd, const int64_t (*in)[LT_MAX_DIMS]);
/* Fixes the layer's current input shape (see lt_layer.fixed_nd). */
static inline void lt_layer_fix_shape(lt_layer *l) {
    l->fixed_nd = l->in_nd;
    for (int i = 0; i < l->in_nd; i++) l->fixed_shape[i] = l->in_shape[i];
}
/* a·b for sizes, saturating at INT64_MAX instead of overflowing: a setup multiplies
 * sizes from options before lt_layer_setup_n checks the shapes against the element
 * limit, which refuses the saturated value. */
static inline int64_t lt_mul_sat(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

/* Trainable parameter count (valid after setup). */
static inline int64_t lt_layer_nparams(const lt_layer *l) { return l->nw + l->nb; }

/* Binds w/b/dw/db as views of params/grads (flat 1-d) starting at off. Existing values
 * are copied over when the layer already had parameters; otherwise they are initialised
 * from r. grads are zeroed. */
lt_status lt_layer_bind(lt_layer *l, lt_tensor *params, lt_tensor *grads, int64_t off,
                        lt_rng *r);
/* Builds standalone parameters (its own flat blocks) when not built yet. */
lt_status lt_layer_build(lt_layer *l, lt_rng *r);
/* Allocates the non-trainable state (when nstate > 0 and not yet allocated). */
lt_status lt_layer_build_state(lt_layer *l);
/* Commits the state update of the layer's last training-mode forward on `cache` (see
 * lt_layer.commit); a no-op for layers without state or after an inference forward. */
static inline void lt_layer_commit(lt_layer *l, const float *cache) {
    if (l->commit && l->state) l->commit(l, cache);
}

/* Set by a network during a distributed training step (net.h, lt_net.dist_rows): layers
 * with batch statistics (batch normalisation) sum them over the processes (src/dist), so
 * the statistics are those of the global batch. Zero otherwise. */
extern int lt_layer_sync_batch;
/* Floats of cols a convolution unfolds at a time (conv2d.c): 262144, about 1 MB. */
extern int64_t lt_conv_block_floats;

/* ---- shared kernels ---- */
const char *lt_act_name(lt_act a);                   /* "relu", ... ("linear" for none) */
int         lt_act_parse(const char *s, lt_act *a);  /* 1 on success */
/* y[r, j] = act(y[r, j] + b[j]) for rows×width (b may be NULL). Softmax over each row. */
void lt_bias_act(float *y, const float *b, int64_t rows, int64_t width, lt_act act,
                 float alpha);
/* dy ← dy ⊙ act'(y) (given the activation's output y); softmax uses the row Jacobian. */
void lt_act_backward(const float *y, float *dy, int64_t rows, int64_t width, lt_act act,
                     float alpha);
/* db[j] += Σ_r dy[r, j] */
void lt_colsum_acc(const float *dy, int64_t rows, int64_t width, float *db);
/* dst (cols×rows) = srcᵀ (src: rows×cols), or += when add: a product computed as its
 * transpose put back (Conv2D's weight gradient, Dense's input gradient). */
void lt_transpose_to(float *dst, const float *src, int64_t rows, int64_t cols, int add);
/* The start of a Conv2D's or Dense's backward: dz = dy ⊙ act'(y) in place (unless
 * skip_act_grad), then db += Σ_rows dz when the layer has a bias; ReLU's in one pass. */
void lt_act_bias_backward(lt_layer *l, const float *y, float *dy, int64_t rows, int64_t width);
/* Glorot (Xavier) uniform: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)). */
void lt_glorot_uniform(float *w, int64_t n, int64_t fan_in, int64_t fan_out, lt_rng *r);

/* Writes "N×d1×d2" style text "(None, 15, 15, 32)" into buf. */
const char *lt_layer_shape_str(int nd, const int64_t *shape, char *buf, size_t size);

#endif
