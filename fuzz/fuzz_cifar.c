/* fuzz_cifar.c: libFuzzer target for lt_cifar10_parse (src/data/readers.h). */
#include <stdint.h>
#include <stdlib.h>

#include "data/readers.h"

/* A ceiling well under the fuzzer's memory limit: big shapes must be errors, not OOMs. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    lt_set_max_numel((int64_t)1 << 24);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lt_tensor *images = NULL, *labels = NULL;
    if (lt_cifar10_parse(data, size, "fuzz", &images, &labels) == LT_OK) {
        if (!images || !labels || images->shape[0] != labels->shape[0]) abort();
        for (int64_t i = 0; i < labels->numel; i++)
            if (!(labels->data[i] >= 0 && labels->data[i] <= 9)) abort();
        lt_tensor_free(images);
        lt_tensor_free(labels);
    } else if (images || labels) {
        abort();
    }
    return 0;
}
