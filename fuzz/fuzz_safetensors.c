/* fuzz_safetensors.c: libFuzzer target for lt_safetensors_parse (src/core/safetensors.h).
 * Any bytes must give LT_OK or a clean error, never a crash, leak or huge allocation.
 * Property: a file that parses re-serializes (lt_safetensors_header + data) to bytes that
 * parse again to the same names, shapes, values and metadata. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"

static void check_roundtrip(const lt_safetensors *st) {
    size_t hl;
    unsigned char *hdr = lt_safetensors_header(st->n, (const char *const *)st->names,
                                               (const lt_tensor *const *)st->tensors, st->nmeta,
                                               (const char *const *)st->meta_keys,
                                               (const char *const *)st->meta_values, &hl);
    if (!hdr) return;                 /* e.g. a NUL-truncated name duplicated another */
    size_t total = hl;
    for (size_t i = 0; i < st->n; i++) total += (size_t)st->tensors[i]->numel * 4;
    unsigned char *buf = malloc(total);
    if (!buf) abort();
    memcpy(buf, hdr, hl);
    size_t off = hl;
    for (size_t i = 0; i < st->n; i++) {
        memcpy(buf + off, st->tensors[i]->data, (size_t)st->tensors[i]->numel * 4);
        off += (size_t)st->tensors[i]->numel * 4;
    }
    free(hdr);
    lt_safetensors *again = NULL;
    if (lt_safetensors_parse(buf, total, "again", &again) != LT_OK) abort();
    if (again->n != st->n || again->nmeta != st->nmeta) abort();
    for (size_t i = 0; i < st->n; i++) {
        if (strcmp(again->names[i], st->names[i]) != 0) abort();
        if (!lt_same_shape(again->tensors[i], st->tensors[i])) abort();
        if (memcmp(again->tensors[i]->data, st->tensors[i]->data,
                   (size_t)st->tensors[i]->numel * 4) != 0) abort();
    }
    for (size_t i = 0; i < st->nmeta; i++)
        if (strcmp(again->meta_keys[i], st->meta_keys[i]) ||
            strcmp(again->meta_values[i], st->meta_values[i]))
            abort();
    lt_safetensors_free(again);
    free(buf);
}

/* A ceiling well under the fuzzer's memory limit: big shapes must be errors, not OOMs. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    lt_set_max_numel((int64_t)1 << 24);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lt_safetensors *st = NULL;
    if (lt_safetensors_parse(data, size, "fuzz", &st) == LT_OK) {
        check_roundtrip(st);
        lt_safetensors_free(st);
    } else if (st != NULL) {
        abort();                      /* failure must leave *out NULL */
    }
    return 0;
}
