/* fuzz_idx.c: libFuzzer target for lt_idx_parse (src/data/readers.h): raw and gzip IDX
 * files from any bytes give a tensor or a clean error, never a crash or a leak. */
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
    lt_tensor *t = NULL;
    if (lt_idx_parse(data, size, "fuzz", &t) == LT_OK) {
        if (!t || t->numel < 1) abort();
        lt_tensor_free(t);
    } else if (t) {
        abort();
    }
    return 0;
}
