/* monitor.h: layer health during training (fit{monitor=true}): per node, the fraction of
 * dead ReLU units (a unit: an output channel, dead when it is zero for every sample and
 * position of the batch), the mean and standard deviation of the node's output; per layer,
 * the norm of its parameters' gradient and the update-to-weight ratio ||Δθ|| / ||θ|| of
 * the optimizer step (about 1e-3 is healthy: Karpathy's rule of thumb). The net calls two
 * hooks in each training step; the statistics only read its buffers, so a monitored run
 * trains exactly as an unmonitored one. To stay cheap (a few per cent of a step) only every
 * `every`-th step is measured (the first one included); sums over the measured steps since
 * the last reset are kept, with the last measured step's values. */
#ifndef LT_MONITOR_H
#define LT_MONITOR_H

#include <stdint.h>

#include "nn/net.h"

/* Statistics of one node; the sums run over `steps` steps. dead is -1 for a node without
 * a ReLU output; gnorm and ratio are -1 for a layer without trainable parameters. */
typedef struct {
    double dead, mean, std, gnorm, ratio;
} lt_health;

typedef struct lt_monitor {
    int n;                     /* nodes of the net it was made for */
    int every, sampled;        /* measure every `every`-th step; whether this step is */
    int64_t tick;              /* steps seen since the start */
    int64_t steps;             /* measured steps summed since the last reset */
    lt_health *sum, *last;     /* per node */
    float *snap;               /* the parameters before the step's update */
    int64_t nsnap;
    uint8_t *alive;            /* per channel of one node: any non-zero output */
    int64_t nalive;
} lt_monitor;

lt_monitor *lt_monitor_new(int nnodes, int every);   /* NULL when out of memory */
void        lt_monitor_free(lt_monitor *m);          /* NULL is a no-op */
void        lt_monitor_reset(lt_monitor *m);         /* clears the sums */
void        lt_monitor_restart(lt_monitor *m, int every);  /* sums and step count */

/* Hooks of a training step (net.c): before_update once the gradients of the batch are
 * complete (in grads, plus the data-parallel worker's g1 when not NULL) and before the
 * optimizer; after_update once the parameters are updated. N: the batch. */
lt_status lt_monitor_before_update(lt_monitor *m, const lt_net *net, int64_t N,
                                   const float *g1);
void      lt_monitor_after_update(lt_monitor *m, const lt_net *net);

/* The statistics of one output (n floats) holding channels of width C: written into h
 * (dead only when relu). Exposed for tests. */
void lt_monitor_activation(const float *y, int64_t n, int64_t C, int relu, uint8_t *alive,
                           lt_health *h);

/* After a step refused for a non-finite loss: the first node (in the order the net runs
 * them) whose layer's parameters (*weights = 1) or whose output over the first N rows of
 * the last batch (*weights = 0) hold a NaN or an infinity; -1 when none does. */
int lt_monitor_first_nonfinite(const lt_net *net, int64_t N, int *weights);

#endif
