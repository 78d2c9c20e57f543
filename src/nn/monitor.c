/* monitor.c: layer health statistics for fit{monitor=true} (see monitor.h). One pass over
 * each node's output (sum, sum of squares and, after a ReLU, which channels ever fire),
 * one over the gradients, and a copy of the parameters before the update to measure it.
 * Reference for the update-to-weight ratio: A. Karpathy, CS231n notes, "Babysitting the
 * learning process". */
#include "nn/monitor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

lt_monitor *lt_monitor_new(int nnodes, int every) {
    lt_monitor *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n = nnodes;
    m->every = every < 1 ? 1 : every;
    m->sum = calloc((size_t)nnodes, sizeof *m->sum);
    m->last = calloc((size_t)nnodes, sizeof *m->last);
    if (!m->sum || !m->last) {
        lt_monitor_free(m);
        return NULL;
    }
    return m;
}

void lt_monitor_free(lt_monitor *m) {
    if (!m) return;
    free(m->sum);
    free(m->last);
    free(m->snap);
    free(m->alive);
    free(m);
}

void lt_monitor_reset(lt_monitor *m) {
    memset(m->sum, 0, (size_t)m->n * sizeof *m->sum);
    m->steps = 0;
}

void lt_monitor_restart(lt_monitor *m, int every) {
    lt_monitor_reset(m);
    m->every = every < 1 ? 1 : every;
    m->tick = 0;
}

/* Sums of squares over millions of parameters: 8 float lanes (which the compiler turns
 * into vector registers: a double accumulator would not vectorise) flushed into a double
 * every 4096 values, so the float sums stay short. */
enum { LANES = 8, FLUSH = 4096 };

static double sumsq2(const float *a, const float *b, int64_t n) {   /* Σ (a + b)², b may be NULL */
    double total = 0;
    for (int64_t e0 = 0; e0 < n; e0 += FLUSH) {
        int64_t e1 = e0 + FLUSH < n ? e0 + FLUSH : n, e = e0;
        float acc[LANES] = {0};
        if (b) {
            for (; e + LANES <= e1; e += LANES)
                for (int j = 0; j < LANES; j++) {
                    float v = a[e + j] + b[e + j];
                    acc[j] += v * v;
                }
            for (; e < e1; e++) acc[0] += (a[e] + b[e]) * (a[e] + b[e]);
        } else {
            for (; e + LANES <= e1; e += LANES)
                for (int j = 0; j < LANES; j++) acc[j] += a[e + j] * a[e + j];
            for (; e < e1; e++) acc[0] += a[e] * a[e];
        }
        for (int j = 0; j < LANES; j++) total += acc[j];
    }
    return total;
}

static double sumsq_diff(const float *a, const float *b, int64_t n) {   /* Σ (a - b)² */
    double total = 0;
    for (int64_t e0 = 0; e0 < n; e0 += FLUSH) {
        int64_t e1 = e0 + FLUSH < n ? e0 + FLUSH : n, e = e0;
        float acc[LANES] = {0};
        for (; e + LANES <= e1; e += LANES)
            for (int j = 0; j < LANES; j++) {
                float v = a[e + j] - b[e + j];
                acc[j] += v * v;
            }
        for (; e < e1; e++) acc[0] += (a[e] - b[e]) * (a[e] - b[e]);
        for (int j = 0; j < LANES; j++) total += acc[j];
    }
    return total;
}

void lt_monitor_activation(const float *y, int64_t n, int64_t C, int relu, uint8_t *alive,
                           lt_health *h) {
    double s = 0, ss = 0;
    for (int64_t e0 = 0; e0 < n; e0 += FLUSH) {        /* 8 float lanes, as sumsq2 */
        int64_t e1 = e0 + FLUSH < n ? e0 + FLUSH : n, e = e0;
        float a[LANES] = {0}, b[LANES] = {0};
        for (; e + LANES <= e1; e += LANES)
            for (int j = 0; j < LANES; j++) {
                a[j] += y[e + j];
                b[j] += y[e + j] * y[e + j];
            }
        for (; e < e1; e++) {
            a[0] += y[e];
            b[0] += y[e] * y[e];
        }
        for (int j = 0; j < LANES; j++) {
            s += a[j];
            ss += b[j];
        }
    }
    double mean = n ? s / (double)n : 0, var = n ? ss / (double)n - mean * mean : 0;
    h->mean = mean;
    h->std = sqrt(var > 0 ? var : 0);
    h->dead = -1;
    if (!relu || C < 1) return;
    memset(alive, 0, (size_t)C);
    for (int64_t r = 0; r + C <= n; r += C)
        for (int64_t c = 0; c < C; c++) alive[c] |= y[r + c] != 0.0f;
    int64_t dead = 0;
    for (int64_t c = 0; c < C; c++) dead += !alive[c];
    h->dead = (double)dead / (double)C;
}

/* Whether node i's output has been through a ReLU. */
static int relu_output(const lt_node *d) {
    return d->layer && d->layer->act == LT_ACT_RELU;
}

/* The first node of layer l (its parameter statistics are kept there). */
static int first_node(const lt_net *net, const lt_layer *l) {
    for (int i = net->ninputs; i < net->n; i++)
        if (net->nodes[i].layer == l) return i;
    return -1;
}

static int64_t param_offset(const lt_net *net, const lt_layer *l) {
    const lt_tensor *t = l->w ? l->w : l->b;
    return t->data - net->params->data;
}

lt_status lt_monitor_before_update(lt_monitor *m, const lt_net *net, int64_t N,
                                   const float *g1) {
    m->sampled = m->tick++ % m->every == 0;
    if (!m->sampled) return LT_OK;
    if (net->nparams > m->nsnap) {
        float *s = realloc(m->snap, (size_t)net->nparams * sizeof(float));
        if (!s) return lt_seterr(LT_ENOMEM, "monitor: out of memory");
        m->snap = s;
        m->nsnap = net->nparams;
    }
    for (int i = net->ninputs; i < net->n; i++) {
        const lt_node *d = &net->nodes[i];
        int64_t C = d->shape[d->nd - 1];
        if (C > m->nalive) {
            uint8_t *a = realloc(m->alive, (size_t)C);
            if (!a) return lt_seterr(LT_ENOMEM, "monitor: out of memory");
            m->alive = a;
            m->nalive = C;
        }
        lt_monitor_activation(net->out[i], N * d->size, C, relu_output(d), m->alive, &m->last[i]);
        m->last[i].gnorm = m->last[i].ratio = -1;
    }
    for (int k = 0; k < net->nlayers; k++) {
        const lt_layer *l = net->layers[k];
        int64_t np = lt_layer_nparams(l);
        int i = first_node(net, l);
        if (np == 0 || i < 0) continue;
        int64_t off = param_offset(net, l);
        m->last[i].gnorm = sqrt(sumsq2(net->grads->data + off, g1 ? g1 + off : NULL, np));
    }
    if (net->nparams > 0)
        memcpy(m->snap, net->params->data, (size_t)net->nparams * sizeof(float));
    return LT_OK;
}

void lt_monitor_after_update(lt_monitor *m, const lt_net *net) {
    if (!m->sampled) return;
    for (int k = 0; k < net->nlayers; k++) {
        const lt_layer *l = net->layers[k];
        int64_t np = lt_layer_nparams(l);
        int i = first_node(net, l);
        if (np == 0 || i < 0) continue;
        int64_t off = param_offset(net, l);
        double dd = sumsq_diff(net->params->data + off, m->snap + off, np);
        double ww = sumsq2(m->snap + off, NULL, np);
        m->last[i].ratio = ww > 0 ? sqrt(dd / ww) : (dd > 0 ? INFINITY : 0);
    }
    for (int i = net->ninputs; i < net->n; i++) {
        lt_health *s = &m->sum[i], *h = &m->last[i];
        s->dead += h->dead;
        s->mean += h->mean;
        s->std += h->std;
        s->gnorm += h->gnorm;
        s->ratio += h->ratio;
    }
    m->steps++;
}

static int finite_all(const float *v, int64_t n) {
    for (int64_t e = 0; e < n; e++)
        if (!isfinite(v[e])) return 0;
    return 1;
}

int lt_monitor_first_nonfinite(const lt_net *net, int64_t N, int *weights) {
    if (N > net->cap) N = net->cap;
    for (int i = net->ninputs; i < net->n; i++) {
        const lt_layer *l = net->nodes[i].layer;
        int64_t np = lt_layer_nparams(l);
        if (np > 0 && net->params && !finite_all(net->params->data + param_offset(net, l), np)) {
            *weights = 1;
            return i;
        }
        if (net->out && net->out[i] && !finite_all(net->out[i], N * net->nodes[i].size)) {
            *weights = 0;
            return i;
        }
    }
    return -1;
}
