/* safetensors.h: read and write the safetensors format (huggingface/safetensors, docs/
 * "format"): u64 little-endian header length N, N bytes of JSON header
 * {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
 * padded with spaces to a multiple of 8, then the raw little-endian tensor bytes, offsets
 * relative to the first byte after the header. Lunette writes and reads F32 only.
 * Files are untrusted: every field is validated against the real size before allocating.
 * A scalar (shape []) loads as a 1-element 1-d tensor; tensors with a 0 dimension are
 * rejected (Lunette tensors have no empty dimensions). Assumes a little-endian host. */
#ifndef LT_SAFETENSORS_H
#define LT_SAFETENSORS_H

#include <stddef.h>

#include "core/tensor.h"

/* Largest header we accept (the reference implementation's limit is 100 MB too). */
#define LT_SAFETENSORS_MAX_HEADER ((size_t)100000000)

/* The contents of a file. Ownership: everything here belongs to the struct and is freed by
 * lt_safetensors_free; a caller may steal a tensor by setting tensors[i] to NULL. */
typedef struct lt_safetensors {
    size_t n;                  /* tensors, in header order */
    char **names;
    lt_tensor **tensors;
    size_t nmeta;              /* __metadata__ entries, in header order */
    char **meta_keys;
    char **meta_values;
} lt_safetensors;

void lt_safetensors_free(lt_safetensors *st);      /* NULL is a no-op */

/* Parses a whole file image buf[0..len). `what` names the source in messages (a path, or
 * NULL for "safetensors data"). On success *out is a new lt_safetensors the caller frees.
 * Fails with LT_EARG ("<what>: <problem>") when the bytes are not a valid F32 safetensors
 * file: short header, header length past the end or over 100 MB, invalid JSON, missing or
 * ill-typed fields, a dtype other than F32, shape/offset disagreement, offsets out of range,
 * overlapping or leaving gaps, trailing bytes, duplicate names, a tensor over
 * lt_get_max_numel(); LT_ENOMEM when memory runs out. *out is NULL on failure. */
lt_status lt_safetensors_parse(const unsigned char *buf, size_t len, const char *what,
                               lt_safetensors **out);

/* Reads the file at path (a regular file). Environment failures (missing, a directory,
 * unreadable, read error) are LT_EIO "<path>: <strerror>"; content problems are LT_EARG as
 * for lt_safetensors_parse. Memory is allocated only after the header has been validated
 * against the file's actual size; tensor data is read straight into the tensors. */
lt_status lt_safetensors_load(const char *path, lt_safetensors **out);

/* Writes n tensors (names[i] → tensors[i], in that order in the header and the data) and
 * nmeta metadata pairs (in that order; no __metadata__ entry when nmeta is 0) to path,
 * atomically: the bytes go to a temporary file in the same directory, which is flushed,
 * fsync'ed and renamed over path. Arguments are borrowed. Fails with LT_EARG for bad
 * arguments (duplicate or empty names, "__metadata__" as a tensor name, duplicate keys),
 * LT_EIO "cannot write '<path>': <strerror>" for any file-system error, LT_EINTR on Ctrl-C;
 * on any failure the temporary file is removed and a previous file at path is untouched. */
lt_status lt_safetensors_save(const char *path, size_t n, const char *const *names,
                              const lt_tensor *const *tensors, size_t nmeta,
                              const char *const *meta_keys, const char *const *meta_values);

/* The header bytes (including the 8-byte length and the space padding) that
 * lt_safetensors_save writes for the same arguments; *len receives the size. A malloc'd
 * buffer the caller frees, or NULL (LT_EARG/LT_ENOMEM in lt_lasterror()). */
unsigned char *lt_safetensors_header(size_t n, const char *const *names,
                                     const lt_tensor *const *tensors, size_t nmeta,
                                     const char *const *meta_keys,
                                     const char *const *meta_values, size_t *len);

#endif
