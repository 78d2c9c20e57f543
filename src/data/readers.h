/* readers.h: dataset file readers: IDX (MNIST, Fashion-MNIST; raw or gzip) and
 * CIFAR-10 binary batches. Every input is untrusted: each failure returns a status
 * with a message naming the file and the problem, and no allocation is sized by a
 * header field before it has been checked against the data actually present.
 * References: IDX format, http://yann.lecun.com/exdb/mnist/ (big-endian header:
 * 0, 0, dtype code, ndim, then ndim uint32 sizes); CIFAR-10 binary version,
 * https://www.cs.toronto.edu/~kriz/cifar.html (records: 1 label byte + 1024 R,
 * 1024 G, 1024 B bytes, rows top to bottom). */
#ifndef LT_DATA_READERS_H
#define LT_DATA_READERS_H

#include <stddef.h>

#include "core/tensor.h"

/* IDX dtype codes. */
enum { LT_IDX_UBYTE = 0x08, LT_IDX_SBYTE = 0x09, LT_IDX_SHORT = 0x0B, LT_IDX_INT = 0x0C,
       LT_IDX_FLOAT = 0x0D, LT_IDX_DOUBLE = 0x0E };

/* Parses an IDX file held in memory: raw, or gzip-compressed (detected by the magic
 * bytes 1f 8b, never by a name; concatenated gzip members are accepted). `name`
 * labels the messages (a path, or NULL for "idx data"). On success *out is a new
 * float tensor of the file's shape (the caller frees it); on failure *out is NULL.
 * gzip input is inflated in a stream straight into the tensor: the output is
 * bounded by the header's shape, which is first checked against the tensor ceiling
 * (lt_get_max_numel) and against the most deflate can expand the input (1032:1). */
lt_status lt_idx_parse(const unsigned char *buf, size_t len, const char *name, lt_tensor **out);
/* Reads the file at path (raw or gzip) with lt_idx_parse. */
lt_status lt_idx_load(const char *path, lt_tensor **out);

#define LT_CIFAR_RECORD 3073              /* 1 label byte + 32*32*3 pixel bytes */

/* Parses CIFAR-10 binary records held in memory: len must be a positive multiple
 * of 3073 and every label 0..9. *images becomes a new N×32×32×3 tensor (channels
 * last, values 0..255) and *labels a new 1-d tensor of N 0-based class ids; the
 * caller frees both. On failure both are NULL. */
lt_status lt_cifar10_parse(const unsigned char *buf, size_t len, const char *name,
                           lt_tensor **images, lt_tensor **labels);
/* Reads and concatenates the batches at paths[0..n-1] (in order) into one pair of
 * tensors, decoding each file straight into its rows (no second copy). */
lt_status lt_cifar10_load(const char *const *paths, int n, lt_tensor **images,
                          lt_tensor **labels);

/* Reads a whole regular file into a new malloc'd buffer (*buf, *len; the caller
 * frees *buf). Missing files, directories, other non-regular files, files over
 * max_len bytes and read errors are errors naming path. */
lt_status lt_read_file(const char *path, size_t max_len, unsigned char **buf, size_t *len);

#endif
