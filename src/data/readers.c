/* readers.c: IDX and CIFAR-10 binary readers (see readers.h for the formats).
 * IDX: a byte source (raw memory, or zlib inflate over memory in gzip mode) feeds a
 * converter from big-endian elements to floats; the header is read and checked
 * before the tensor is allocated. CIFAR-10: planar RGB records → N×32×32×3 rows. */
#include "data/readers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- files ---- */

static lt_status stat_regular(const char *path, size_t max_len, int fd, size_t *size) {
    struct stat st;
    if ((fd >= 0 ? fstat(fd, &st) : stat(path, &st)) != 0)
        return lt_seterr(LT_EIO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return lt_seterr(LT_EIO, "%s: is a directory, not a file", path);
    if (!S_ISREG(st.st_mode)) return lt_seterr(LT_EIO, "%s: not a regular file", path);
    if ((uintmax_t)st.st_size > max_len)
        return lt_seterr(LT_EIO, "%s: %lld bytes is larger than any valid file of this kind "
                         "(at most %zu bytes under the tensor size limit)", path,
                         (long long)st.st_size, max_len);
    *size = (size_t)st.st_size;
    return LT_OK;
}

lt_status lt_read_file(const char *path, size_t max_len, unsigned char **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return lt_seterr(LT_EIO, "%s: %s", path, strerror(errno));
    size_t size = 0;
    lt_status s = stat_regular(path, max_len, fd, &size);
    if (s != LT_OK) { close(fd); return s; }
    unsigned char *b = malloc(size ? size : 1);
    if (!b) {
        close(fd);
        return lt_seterr(LT_ENOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, b + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            s = lt_seterr(LT_EIO, "%s: read error: %s", path, strerror(errno));
            break;
        }
        if (r == 0) {
            s = lt_seterr(LT_EIO, "%s: file shrank while being read (%zu of %zu bytes)", path,
                          got, size);
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (s != LT_OK) { free(b); return s; }
    *buf = b;
    *len = size;
    return LT_OK;
}

/* ---- IDX: the byte source ---- */

typedef struct {
    const char *name;
    const unsigned char *buf;
    size_t len, pos;            /* raw mode: read position in buf */
    int gz;                     /* gzip mode: inflate over buf */
    int ended;                  /* gzip: the last member ended and no input remains */
    z_stream z;
} source;

static const char *dtype_name(int code) {
    switch (code) {
    case LT_IDX_UBYTE: return "unsigned byte";
    case LT_IDX_SBYTE: return "signed byte";
    case LT_IDX_SHORT: return "short";
    case LT_IDX_INT: return "int";
    case LT_IDX_FLOAT: return "float";
    case LT_IDX_DOUBLE: return "double";
    default: return NULL;
    }
}

static size_t dtype_size(int code) {
    switch (code) {
    case LT_IDX_SHORT: return 2;
    case LT_IDX_INT: case LT_IDX_FLOAT: return 4;
    case LT_IDX_DOUBLE: return 8;
    default: return 1;
    }
}

/* Pulls up to n bytes into dst; *got < n only at the end of the data. gzip streams
 * may hold several members (as `cat a.gz b.gz` makes); anything else after a member
 * is an error, as is a stream cut short or a failed CRC. */
static lt_status pull(source *s, unsigned char *dst, size_t n, size_t *got) {
    if (!s->gz) {
        size_t k = s->len - s->pos < n ? s->len - s->pos : n;
        memcpy(dst, s->buf + s->pos, k);
        s->pos += k;
        *got = k;
        return LT_OK;
    }
    *got = 0;
    while (*got < n && !s->ended) {
        size_t want = n - *got;
        s->z.next_out = dst + *got;
        s->z.avail_out = want > UINT_MAX ? UINT_MAX : (uInt)want;
        uInt before = s->z.avail_out;
        int r = inflate(&s->z, Z_NO_FLUSH);
        *got += before - s->z.avail_out;
        if (r == Z_STREAM_END) {
            if (s->z.avail_in == 0) { s->ended = 1; break; }
            if (s->z.avail_in < 2 || s->z.next_in[0] != 0x1f || s->z.next_in[1] != 0x8b)
                return lt_seterr(LT_EIO, "%s: %u bytes of garbage after the gzip data", s->name,
                                 s->z.avail_in);
            inflateReset(&s->z);
            continue;
        }
        if (r == Z_OK) continue;
        if (r == Z_BUF_ERROR && s->z.avail_in == 0)
            return lt_seterr(LT_EIO, "%s: truncated gzip stream (it ends before its end marker)",
                             s->name);
        if (r == Z_MEM_ERROR) return lt_seterr(LT_ENOMEM, "%s: out of memory in zlib", s->name);
        return lt_seterr(LT_EIO, "%s: corrupt gzip data (%s)", s->name,
                         s->z.msg ? s->z.msg : "zlib error");
    }
    return LT_OK;
}

/* ---- IDX: elements to floats ---- */

static inline uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void convert(int code, const unsigned char *p, size_t count, float *out) {
    switch (code) {
    case LT_IDX_UBYTE:
        for (size_t i = 0; i < count; i++) out[i] = (float)p[i];
        break;
    case LT_IDX_SBYTE:
        for (size_t i = 0; i < count; i++) out[i] = (float)(int8_t)p[i];
        break;
    case LT_IDX_SHORT:
        for (size_t i = 0; i < count; i++)
            out[i] = (float)(int16_t)(uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
        break;
    case LT_IDX_INT:
        for (size_t i = 0; i < count; i++) out[i] = (float)(int32_t)be32(p + 4 * i);
        break;
    case LT_IDX_FLOAT:
        for (size_t i = 0; i < count; i++) {
            uint32_t u = be32(p + 4 * i);
            float f;
            memcpy(&f, &u, 4);
            out[i] = f;
        }
        break;
    case LT_IDX_DOUBLE:
        for (size_t i = 0; i < count; i++) {
            uint64_t u = (uint64_t)be32(p + 8 * i) << 32 | be32(p + 8 * i + 4);
            double d;
            memcpy(&d, &u, 8);
            out[i] = (float)d;
        }
        break;
    }
}

/* ---- IDX: the parser ---- */

#define CHUNK ((size_t)1 << 16)       /* staging size for gzip: a multiple of every dtype size */
#define DEFLATE_MAX_RATIO 1032        /* deflate cannot expand its input more than this */

static lt_status parse_body(source *s, size_t len, lt_tensor **out) {
    unsigned char head[4 + 4 * 255];
    size_t got;
    lt_status st = pull(s, head, 4, &got);
    if (st != LT_OK) return st;
    if (got == 0) return lt_seterr(LT_EIO, "%s: empty file (no IDX header)", s->name);
    if (got < 4)
        return lt_seterr(LT_EIO, "%s: truncated IDX header (%zu of 4 magic bytes)", s->name, got);
    if (head[0] != 0 || head[1] != 0 || !dtype_name(head[2]))
        return lt_seterr(LT_EIO, "%s: not an IDX file (magic bytes %02x %02x %02x %02x; expected "
                         "00 00, a type code 08 09 0b 0c 0d or 0e, and a dimension count)",
                         s->name, head[0], head[1], head[2], head[3]);
    int code = head[2], nd = head[3];
    if (nd < 1 || nd > LT_MAX_DIMS)
        return lt_seterr(LT_EIO, "%s: IDX header has %d dimensions (Lunette reads 1 to %d)",
                         s->name, nd, LT_MAX_DIMS);
    if ((st = pull(s, head + 4, 4 * (size_t)nd, &got)) != LT_OK) return st;
    if (got < 4 * (size_t)nd)
        return lt_seterr(LT_EIO, "%s: truncated IDX header (%zu of the %d bytes of its %d "
                         "dimension sizes)", s->name, got, 4 * nd, nd);
    int64_t shape[LT_MAX_DIMS], numel;
    for (int i = 0; i < nd; i++) {
        shape[i] = be32(head + 4 + 4 * i);
        if (shape[i] == 0)
            return lt_seterr(LT_EIO, "%s: IDX dimension %d is 0 (an empty data set)", s->name, i + 1);
    }
    if ((st = lt_shape_check(s->name, nd, shape, &numel)) != LT_OK) return st;
    size_t esize = dtype_size(code), need = (size_t)numel * esize;  /* numel <= ceiling: no overflow */
    char sb[160];
    lt_shape_str(nd, shape, sb, sizeof sb);
    if (!s->gz && len - s->pos != need)
        return lt_seterr(LT_EIO, "%s: %s: the header's shape %s of %s needs %zu bytes of data, "
                         "the file holds %zu", s->name,
                         len - s->pos < need ? "truncated" : "size mismatch", sb,
                         dtype_name(code), need, len - s->pos);
    if (s->gz && need / DEFLATE_MAX_RATIO > len)
        return lt_seterr(LT_EIO, "%s: truncated: the header's shape %s of %s needs %zu bytes of "
                         "data, more than %zu compressed bytes can hold", s->name, sb,
                         dtype_name(code), need, len);
    lt_tensor *t = lt_tensor_empty(nd, shape);
    if (!t) return lt_seterr(LT_ENOMEM, "%s: %s", s->name, lt_lasterror());
    if (!s->gz) {
        convert(code, s->buf + s->pos, (size_t)numel, t->data);
        *out = t;
        return LT_OK;
    }
    unsigned char *stage = malloc(CHUNK);
    if (!stage) { lt_tensor_free(t); return lt_seterr(LT_ENOMEM, "%s: out of memory", s->name); }
    size_t done = 0;                  /* bytes of data converted */
    while (st == LT_OK && done < need) {
        size_t want = need - done < CHUNK ? need - done : CHUNK;
        if ((st = pull(s, stage, want, &got)) != LT_OK) break;
        if (got < want) {
            st = lt_seterr(LT_EIO, "%s: truncated: the header's shape %s of %s needs %zu bytes "
                           "of data, the decompressed file holds %zu", s->name, sb,
                           dtype_name(code), need, done + got);
            break;
        }
        convert(code, stage, got / esize, t->data + done / esize);
        done += got;
        st = lt_check_interrupt();
    }
    if (st == LT_OK) {                /* must be the end: also verifies the CRC */
        unsigned char extra[64];
        if ((st = pull(s, extra, sizeof extra, &got)) == LT_OK && got > 0)
            st = lt_seterr(LT_EIO, "%s: size mismatch: the decompressed data is longer than the "
                           "header's shape %s of %s (%zu bytes)", s->name, sb, dtype_name(code),
                           need);
    }
    free(stage);
    if (st != LT_OK) { lt_tensor_free(t); return st; }
    *out = t;
    return LT_OK;
}

lt_status lt_idx_parse(const unsigned char *buf, size_t len, const char *name, lt_tensor **out) {
    *out = NULL;
    source s = {.name = name ? name : "idx data", .buf = buf, .len = len};
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        s.gz = 1;
        if (inflateInit2(&s.z, 16 + MAX_WBITS) != Z_OK)   /* 16: gzip wrapper only */
            return lt_seterr(LT_ENOMEM, "%s: cannot initialise zlib", s.name);
        s.z.next_in = (unsigned char *)buf;                /* zlib does not write through it */
        s.z.avail_in = len > UINT_MAX ? UINT_MAX : (uInt)len;
        if (len > UINT_MAX) {
            inflateEnd(&s.z);
            return lt_seterr(LT_EIO, "%s: compressed file over 4 GiB", s.name);
        }
    }
    lt_status st = parse_body(&s, len, out);
    if (s.gz) inflateEnd(&s.z);
    return st;
}

/* The largest file worth reading: a header of 8 dimensions and the tensor ceiling of
 * 8-byte elements (a gzip file is smaller than what it holds, bar a few bytes). */
static size_t idx_max_len(void) {
    return 4 + 4 * LT_MAX_DIMS + (size_t)lt_get_max_numel() * 8 + 4096;
}

lt_status lt_idx_load(const char *path, lt_tensor **out) {
    unsigned char *buf;
    size_t len;
    *out = NULL;
    lt_status s = lt_read_file(path, idx_max_len(), &buf, &len);
    if (s != LT_OK) return s;
    s = lt_idx_parse(buf, len, path, out);
    free(buf);
    return s;
}

/* ---- CIFAR-10 ---- */

#define CIFAR_PIXELS 1024              /* 32×32 per plane */

static lt_status cifar_check_len(const char *name, size_t len) {
    if (len == 0) return lt_seterr(LT_EIO, "%s: empty file (no CIFAR-10 records)", name);
    if (len % LT_CIFAR_RECORD)
        return lt_seterr(LT_EIO, "%s: size %zu bytes is not a multiple of the %d-byte CIFAR-10 "
                         "record (1 label byte + 3072 pixel bytes): truncated or not a CIFAR-10 "
                         "binary batch", name, len, LT_CIFAR_RECORD);
    return LT_OK;
}

/* Decodes n = len/3073 checked-length records into img (n×32×32×3) and lab (n). */
static lt_status cifar_decode(const unsigned char *buf, size_t len, const char *name,
                              float *img, float *lab) {
    size_t n = len / LT_CIFAR_RECORD;
    for (size_t r = 0; r < n; r++)
        if (buf[r * LT_CIFAR_RECORD] > 9)
            return lt_seterr(LT_EIO, "%s: record %zu has label %d (CIFAR-10 labels are 0 to 9)",
                             name, r + 1, buf[r * LT_CIFAR_RECORD]);
    for (size_t r = 0; r < n; r++) {
        const unsigned char *rec = buf + r * LT_CIFAR_RECORD;
        const unsigned char *R = rec + 1, *G = R + CIFAR_PIXELS, *B = G + CIFAR_PIXELS;
        float *o = img + r * 3 * CIFAR_PIXELS;
        lab[r] = rec[0];
        for (int p = 0; p < CIFAR_PIXELS; p++) {
            o[3 * p] = R[p];
            o[3 * p + 1] = G[p];
            o[3 * p + 2] = B[p];
        }
    }
    return LT_OK;
}

static lt_status cifar_alloc(const char *name, int64_t n, lt_tensor **images, lt_tensor **labels) {
    int64_t shape[4] = {n, 32, 32, 3}, numel;
    lt_status s = lt_shape_check(name, 4, shape, &numel);
    if (s != LT_OK) return s;
    *images = lt_tensor_empty(4, shape);
    *labels = lt_tensor_empty(1, shape);
    if (!*images || !*labels) {
        lt_tensor_free(*images);
        lt_tensor_free(*labels);
        *images = *labels = NULL;
        return lt_seterr(LT_ENOMEM, "%s: out of memory for %lld images", name, (long long)n);
    }
    return LT_OK;
}

lt_status lt_cifar10_parse(const unsigned char *buf, size_t len, const char *name,
                           lt_tensor **images, lt_tensor **labels) {
    *images = *labels = NULL;
    if (!name) name = "cifar-10 data";
    lt_status s = cifar_check_len(name, len);
    if (s != LT_OK) return s;
    lt_tensor *img, *lab;
    if ((s = cifar_alloc(name, (int64_t)(len / LT_CIFAR_RECORD), &img, &lab)) != LT_OK) return s;
    if ((s = cifar_decode(buf, len, name, img->data, lab->data)) != LT_OK) {
        lt_tensor_free(img);
        lt_tensor_free(lab);
        return s;
    }
    *images = img;
    *labels = lab;
    return LT_OK;
}

static size_t cifar_max_len(void) {
    return (size_t)(lt_get_max_numel() / (3 * CIFAR_PIXELS) + 1) * LT_CIFAR_RECORD;
}

lt_status lt_cifar10_load(const char *const *paths, int n, lt_tensor **images,
                          lt_tensor **labels) {
    *images = *labels = NULL;
    if (n < 1) return lt_seterr(LT_EARG, "cifar10: no batch files given");
    /* Pass 1: sizes, so that one allocation holds every file. */
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t size = 0;
        lt_status s = stat_regular(paths[i], cifar_max_len(), -1, &size);
        if (s == LT_OK) s = cifar_check_len(paths[i], size);
        if (s != LT_OK) return s;
        total += (int64_t)(size / LT_CIFAR_RECORD);
    }
    lt_tensor *img, *lab;
    lt_status s = cifar_alloc(paths[0], total, &img, &lab);
    if (s != LT_OK) return s;
    /* Pass 2: read and decode each file into its rows. */
    int64_t row = 0;
    for (int i = 0; i < n && s == LT_OK; i++) {
        unsigned char *buf;
        size_t len;
        if ((s = lt_read_file(paths[i], cifar_max_len(), &buf, &len)) != LT_OK) break;
        if ((int64_t)(len / LT_CIFAR_RECORD) > total - row || len % LT_CIFAR_RECORD)
            s = lt_seterr(LT_EIO, "%s: the file changed size while being read", paths[i]);
        else
            s = cifar_decode(buf, len, paths[i], img->data + row * 3 * CIFAR_PIXELS,
                             lab->data + row);
        row += (int64_t)(len / LT_CIFAR_RECORD);
        free(buf);
        if (s == LT_OK) s = lt_check_interrupt();
    }
    if (s == LT_OK && row != total)
        s = lt_seterr(LT_EIO, "%s: a file changed size while being read", paths[0]);
    if (s != LT_OK) {
        lt_tensor_free(img);
        lt_tensor_free(lab);
        return s;
    }
    *images = img;
    *labels = lab;
    return LT_OK;
}
