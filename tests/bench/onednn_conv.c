/* bench_onednn_conv: oneDNN's convolution primitives (Debian's libdnnl 2.6, the library
 * PyTorch's CPU convolutions use) against Lunette's Conv2D layer on the lesson CIFAR-10
 * model's three convolutions at batch 32 (3×3, stride 2, 'valid'), one thread: forward,
 * backward data (not for the first layer: it has no dx) and backward weights with the bias,
 * as medians in ms, interleaved. oneDNN runs twice: on the layouts it picks itself ("any":
 * blocked, nChw16c and the like; the reorders from Lunette's channels-last tensors are not
 * timed, so this is its best case) and on Lunette's own (NHWC data, HWIO kernel). Not a
 * ctest, not built by default: CMake adds the target when libdnnl-dev is installed.
 *   apt-get install libdnnl-dev && cmake -S . -B build-perf && \
 *   cmake --build build-perf --target bench_onednn_conv && \
 *   OMP_NUM_THREADS=1 build-perf/bench_onednn_conv
 * (OMP_NUM_THREADS=1 in the environment: oneDNN's OpenMP reads it when the program starts.) */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/tensor.h"
#include "bench.h"
#include "nn/layer.h"

enum { REPS = 101 };

static void check(dnnl_status_t s, const char *what) {
    if (s == dnnl_success) return;
    fprintf(stderr, "bench_onednn_conv: %s failed (status %d)\n", what, (int)s);
    exit(1);
}

static dnnl_engine_t engine;
static dnnl_stream_t stream;

typedef struct {
    dnnl_primitive_t prim;
    int nargs;
    dnnl_exec_arg_t args[4];
} job;

/* A zeroed buffer in the layout md (the primitives' speed does not depend on the values). */
static dnnl_memory_t buffer(const dnnl_memory_desc_t *md) {
    dnnl_memory_t m;
    void *p;
    check(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE), "memory");
    check(dnnl_memory_get_data_handle(m, &p), "handle");
    memset(p, 0, dnnl_memory_desc_get_size(md));
    return m;
}

static const dnnl_memory_desc_t *md_of(dnnl_primitive_desc_t pd, dnnl_query_t q) {
    return dnnl_primitive_desc_query_md(pd, q, 0);
}

static void run(job *j) {
    check(dnnl_primitive_execute(j->prim, stream, j->nargs, j->args), "execute");
    check(dnnl_stream_wait(stream), "wait");
}

int main(void) {
    lt_set_threads(1);
    print_machine();
    const dnnl_version_t *v = dnnl_version();
    printf("oneDNN %d.%d.%d, %s threads\n", v->major, v->minor, v->patch,
           getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "all (OMP_NUM_THREADS unset)");
    check(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine");
    check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "stream");
    static const int shapes[3][4] = {{32, 32, 3, 32}, {15, 15, 32, 64}, {7, 7, 64, 128}};
    printf("%-9s %-15s | %27s %7s | %17s %7s\n", "oneDNN", "layer", "oneDNN fwd, bwd data, bwd w",
           "sum", "Lunette fwd, bwd", "sum");
    for (int plain = 0; plain < 2; plain++)
        for (int c = 0; c < 3; c++) {
            int N = 32, H = shapes[c][0], C = shapes[c][2], OC = shapes[c][3], OH = (H - 3) / 2 + 1;
            dnnl_dims_t sd = {N, C, H, H}, wd = {OC, C, 3, 3}, bd = {OC}, dd = {N, OC, OH, OH};
            dnnl_dims_t strides = {2, 2}, pad = {0, 0};
            dnnl_format_tag_t data = plain ? dnnl_nhwc : dnnl_format_tag_any;
            dnnl_format_tag_t kern = plain ? dnnl_hwio : dnnl_format_tag_any;
            dnnl_memory_desc_t smd, wmd, bmd, dmd;
            check(dnnl_memory_desc_init_by_tag(&smd, 4, sd, dnnl_f32, data), "src md");
            check(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, dnnl_f32, kern), "weights md");
            check(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x), "bias md");
            check(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, data), "dst md");
            dnnl_convolution_desc_t fd, bdd, bwd;
            dnnl_primitive_desc_t fpd, bdpd, bwpd;
            check(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training,
                                                     dnnl_convolution_direct, &smd, &wmd, &bmd,
                                                     &dmd, strides, pad, pad), "forward");
            check(dnnl_primitive_desc_create(&fpd, &fd, NULL, engine, NULL), "forward pd");
            check(dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &smd,
                                                           &wmd, &dmd, strides, pad, pad),
                  "backward data");
            check(dnnl_primitive_desc_create(&bdpd, &bdd, NULL, engine, fpd), "backward data pd");
            check(dnnl_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &smd,
                                                              &wmd, &bmd, &dmd, strides, pad, pad),
                  "backward weights");
            check(dnnl_primitive_desc_create(&bwpd, &bwd, NULL, engine, fpd),
                  "backward weights pd");
            job jobs[3] = {
                {NULL, 4, {{DNNL_ARG_SRC, buffer(md_of(fpd, dnnl_query_src_md))},
                           {DNNL_ARG_WEIGHTS, buffer(md_of(fpd, dnnl_query_weights_md))},
                           {DNNL_ARG_BIAS, buffer(&bmd)},
                           {DNNL_ARG_DST, buffer(md_of(fpd, dnnl_query_dst_md))}}},
                {NULL, 3, {{DNNL_ARG_DIFF_SRC, buffer(md_of(bdpd, dnnl_query_diff_src_md))},
                           {DNNL_ARG_WEIGHTS, buffer(md_of(bdpd, dnnl_query_weights_md))},
                           {DNNL_ARG_DIFF_DST, buffer(md_of(bdpd, dnnl_query_diff_dst_md))}}},
                {NULL, 4, {{DNNL_ARG_SRC, buffer(md_of(bwpd, dnnl_query_src_md))},
                           {DNNL_ARG_DIFF_WEIGHTS, buffer(md_of(bwpd, dnnl_query_diff_weights_md))},
                           {DNNL_ARG_DIFF_BIAS, buffer(&bmd)},
                           {DNNL_ARG_DIFF_DST, buffer(md_of(bwpd, dnnl_query_diff_dst_md))}}}};
            check(dnnl_primitive_create(&jobs[0].prim, fpd), "forward primitive");
            check(dnnl_primitive_create(&jobs[1].prim, bdpd), "backward data primitive");
            check(dnnl_primitive_create(&jobs[2].prim, bwpd), "backward weights primitive");

            lt_conv_opts o = {OC, 3, 3, 2, 2, LT_PAD_VALID, LT_ACT_NONE, 1};
            lt_layer *l = lt_conv2d_new(&o);
            int64_t in[3] = {H, H, C};
            lt_rng r;
            lt_rng_seed(&r, 1);
            if (!l || lt_layer_setup(l, 3, in) != LT_OK || lt_layer_build(l, &r) != LT_OK) return 1;
            size_t nx = (size_t)N * H * H * C, ny = (size_t)N * l->out_size;
            size_t ns = l->vt->scratch_size ? l->vt->scratch_size(l, N) : 0;
            /* aligned as the net's buffers are (gemm_impl.h reads aligned B rows in place) */
            float *x = aligned_alloc(64, (nx * 4 + 63) / 64 * 64),
                  *y = aligned_alloc(64, (ny * 4 + 63) / 64 * 64),
                  *dy = aligned_alloc(64, (ny * 4 + 63) / 64 * 64),
                  *dx = aligned_alloc(64, (nx * 4 + 63) / 64 * 64),
                  *scratch = aligned_alloc(64, (ns * 4 + 64) / 64 * 64);
            if (!x || !y || !dy || !dx || !scratch) return 1;
            for (size_t i = 0; i < nx; i++) x[i] = (float)rand() / RAND_MAX;
            for (size_t i = 0; i < ny; i++) dy[i] = (float)rand() / RAND_MAX - 0.5f;

            double t[5][REPS];   /* oneDNN fwd, bwd data, bwd weights; Lunette fwd, bwd */
            for (int k = 0; k < REPS + 5; k++) {
                int i = k < 5 ? 0 : k - 5;   /* 5 warm-up rounds, overwritten */
                for (int p = 0; p < 3; p++) {
                    double t0 = now();
                    if (p != 1 || c > 0) run(&jobs[p]);
                    t[p][i] = now() - t0;
                }
                double t0 = now();
                l->vt->forward(l, x, y, N, NULL, scratch);
                t[3][i] = now() - t0;
                t0 = now();
                l->vt->backward(l, x, y, dy, c > 0 ? dx : NULL, N, NULL, scratch);
                t[4][i] = now() - t0;
            }
            double m[5];
            for (int p = 0; p < 5; p++) {
                qsort(t[p], REPS, sizeof(double), cmp);
                m[p] = t[p][REPS / 2] * 1e3;
            }
            char name[32];
            snprintf(name, sizeof name, "%dx%dx%d->%d", H, H, C, OC);
            printf("%-9s %-15s | %8.3f %8.3f %8.3f ms %7.3f | %8.3f %8.3f ms %7.3f\n",
                   plain ? "NHWC" : "any", name, m[0], c > 0 ? m[1] : 0.0, m[2],
                   m[0] + (c > 0 ? m[1] : 0) + m[2], m[3], m[4], m[3] + m[4]);
            for (int p = 0; p < 3; p++) dnnl_primitive_destroy(jobs[p].prim);
            dnnl_primitive_desc_destroy(fpd);
            dnnl_primitive_desc_destroy(bdpd);
            dnnl_primitive_desc_destroy(bwpd);
            lt_layer_free(l);
            free(x); free(y); free(dy); free(dx); free(scratch);
        }
    return 0;
}
