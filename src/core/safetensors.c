/* safetensors.c: the safetensors reader and atomic writer (see safetensors.h).
 * Layout: [u64 LE N][N bytes JSON header, space-padded so 8+N is a multiple of 8][data].
 * The JSON goes through Debian's libcjson; every number in it is checked to be an exact
 * non-negative integer, and the tensors must tile the data area exactly (the reference
 * implementation's validate(): sorted by offset, no gap, no overlap, nothing after). */
#include "core/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c writes host floats as little-endian F32: a little-endian host is required"
#endif

#define MAX_EXACT 9007199254740992.0          /* 2^53: beyond it doubles skip integers */

/* ---- messages ---- */

static lt_status bad(lt_status s, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static lt_status bad(lt_status s, const char *what, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lt_seterr(s, "%s: %s", what ? what : "safetensors data", msg);
}

static const char *json_type(const cJSON *v) {
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    return "an invalid value";
}

static uint64_t get_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

void lt_safetensors_free(lt_safetensors *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n; i++) {
        if (st->names) free(st->names[i]);
        if (st->tensors) lt_tensor_free(st->tensors[i]);
    }
    for (size_t i = 0; i < st->nmeta; i++) {
        if (st->meta_keys) free(st->meta_keys[i]);
        if (st->meta_values) free(st->meta_values[i]);
    }
    free(st->names);
    free(st->tensors);
    free(st->meta_keys);
    free(st->meta_values);
    free(st);
}

/* ---- header validation ---- */

typedef struct {
    const char *name;                 /* points into the cJSON tree */
    int ndim;
    int64_t shape[LT_MAX_DIMS];
    uint64_t begin, end;
} tinfo;

typedef struct {
    cJSON *root;
    tinfo *t;                         /* header order */
    size_t n;
    const cJSON *meta;                /* the __metadata__ object or NULL */
    size_t nmeta;
} layout;

static void layout_release(layout *lay) {
    cJSON_Delete(lay->root);
    free(lay->t);
    memset(lay, 0, sizeof *lay);
}

static int get_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= MAX_EXACT) || d != (double)(uint64_t)d) return 0;
    *out = (uint64_t)d;
    return 1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_begin(const void *a, const void *b) {
    const tinfo *x = *(const tinfo *const *)a, *y = *(const tinfo *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Reports the first duplicate among n strings (sorted copy), or returns NULL. */
static const char *find_duplicate(const char **s, size_t n) {
    qsort(s, n, sizeof *s, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(s[i - 1], s[i]) == 0) return s[i];
    return NULL;
}

static lt_status check_tensor(const cJSON *item, uint64_t datalen, const char *what, tinfo *ti) {
    const char *nm = item->string;
    if (!cJSON_IsObject(item))
        return bad(LT_EARG, what, "entry '%.80s' is %s, expected an object", nm, json_type(item));
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!dtype) return bad(LT_EARG, what, "tensor '%.80s' has no \"dtype\"", nm);
    if (!shape) return bad(LT_EARG, what, "tensor '%.80s' has no \"shape\"", nm);
    if (!offs) return bad(LT_EARG, what, "tensor '%.80s' has no \"data_offsets\"", nm);
    if (!cJSON_IsString(dtype))
        return bad(LT_EARG, what, "tensor '%.80s': \"dtype\" is %s, expected a string", nm,
                   json_type(dtype));
    if (strcmp(dtype->valuestring, "F32") != 0)
        return bad(LT_EARG, what, "tensor '%.80s' has dtype %.20s; Lunette reads only F32", nm,
                   dtype->valuestring);
    if (!cJSON_IsArray(shape))
        return bad(LT_EARG, what, "tensor '%.80s': \"shape\" is %s, expected an array", nm,
                   json_type(shape));
    int nd = cJSON_GetArraySize(shape);
    if (nd > LT_MAX_DIMS)
        return bad(LT_EARG, what, "tensor '%.80s' has %d dimensions (Lunette supports up to %d)",
                   nm, nd, LT_MAX_DIMS);
    ti->name = nm;
    ti->ndim = nd;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        uint64_t v;
        if (!get_uint(d, &v))
            return bad(LT_EARG, what, "tensor '%.80s': shape entry %d is not a non-negative "
                       "integer", nm, i + 1);
        if (v == 0)
            return bad(LT_EARG, what, "tensor '%.80s' has an empty dimension (shape entry %d "
                       "is 0): empty tensors are not supported", nm, i + 1);
        ti->shape[i] = (int64_t)v;
    }
    if (nd == 0) {                                    /* a scalar: stored as 1 element */
        ti->ndim = 1;
        ti->shape[0] = 1;
    }
    char fn[120];
    snprintf(fn, sizeof fn, "%s: tensor '%.60s'", what ? what : "safetensors data", nm);
    int64_t numel;
    lt_status s = lt_shape_check(fn, ti->ndim, ti->shape, &numel);
    if (s != LT_OK) return s;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !get_uint(offs->child, &ti->begin) || !get_uint(offs->child->next, &ti->end))
        return bad(LT_EARG, what, "tensor '%.80s': \"data_offsets\" must be an array of two "
                   "non-negative integers", nm);
    if (ti->begin > ti->end)
        return bad(LT_EARG, what, "tensor '%.80s': data_offsets [%llu, %llu] are reversed", nm,
                   (unsigned long long)ti->begin, (unsigned long long)ti->end);
    if (ti->end > datalen)
        return bad(LT_EARG, what, "tensor '%.80s': data_offsets [%llu, %llu] run past the end "
                   "of the data (%llu bytes)", nm, (unsigned long long)ti->begin,
                   (unsigned long long)ti->end, (unsigned long long)datalen);
    uint64_t need = (uint64_t)numel * sizeof(float);
    if (ti->end - ti->begin != need) {
        char sb[160];
        return bad(LT_EARG, what, "tensor '%.80s': shape %s needs %llu bytes but data_offsets "
                   "[%llu, %llu] hold %llu", nm, lt_shape_str(ti->ndim, ti->shape, sb, sizeof sb),
                   (unsigned long long)need, (unsigned long long)ti->begin,
                   (unsigned long long)ti->end, (unsigned long long)(ti->end - ti->begin));
    }
    return LT_OK;
}

/* Parses and validates the header text hdr[0..hlen) (hdr[hlen] == '\0') for a data area of
 * datalen bytes. Allocates only the cJSON tree (bounded by hlen) and one tinfo per tensor. */
static lt_status parse_layout(const char *hdr, size_t hlen, uint64_t datalen, const char *what,
                              layout *lay) {
    memset(lay, 0, sizeof *lay);
    const char *end = NULL;
    lay->root = cJSON_ParseWithLengthOpts(hdr, hlen, &end, 0);
    if (!lay->root) {
        size_t at = (end && end >= hdr && end <= hdr + hlen) ? (size_t)(end - hdr) : 0;
        return bad(LT_EARG, what, "the header is not valid JSON (error at header byte %zu of "
                   "%zu)", at, hlen);
    }
    for (const char *p = end; p < hdr + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            layout_release(lay);
            return bad(LT_EARG, what, "unexpected bytes after the JSON header (header byte %zu "
                       "of %zu)", (size_t)(p - hdr), hlen);
        }
    lt_status s = LT_OK;
    const char **names = NULL;
    const tinfo **order = NULL;
    if (!cJSON_IsObject(lay->root)) {
        s = bad(LT_EARG, what, "the header is %s, expected a JSON object", json_type(lay->root));
        goto fail;
    }
    size_t count = 0;
    for (const cJSON *c = lay->root->child; c; c = c->next) count++;
    lay->t = malloc((count ? count : 1) * sizeof *lay->t);
    names = malloc((count ? count : 1) * sizeof *names);
    if (!lay->t || !names) {
        s = bad(LT_ENOMEM, what, "out of memory reading a header of %zu entries", count);
        goto fail;
    }
    size_t nnames = 0;
    for (const cJSON *c = lay->root->child; c; c = c->next) {
        names[nnames++] = c->string;
        if (strcmp(c->string, "__metadata__") == 0) {
            if (cJSON_IsNull(c)) continue;
            if (!cJSON_IsObject(c)) {
                s = bad(LT_EARG, what, "\"__metadata__\" is %s, expected an object of strings",
                        json_type(c));
                goto fail;
            }
            lay->meta = c;
            lay->nmeta = 0;
            for (const cJSON *m = c->child; m; m = m->next, lay->nmeta++)
                if (!cJSON_IsString(m)) {
                    s = bad(LT_EARG, what, "metadata '%.80s' is %s, expected a string",
                            m->string, json_type(m));
                    goto fail;
                }
            continue;
        }
        if ((s = check_tensor(c, datalen, what, &lay->t[lay->n])) != LT_OK) goto fail;
        lay->n++;
    }
    const char *dup = find_duplicate(names, nnames);
    if (dup) {
        s = bad(LT_EARG, what, "the name '%.80s' appears twice in the header", dup);
        goto fail;
    }
    if (lay->meta && lay->nmeta > 0) {
        size_t k = 0;
        const char **more = realloc(names, lay->nmeta * sizeof *names);
        if (!more) {
            s = bad(LT_ENOMEM, what, "out of memory reading %zu metadata keys", lay->nmeta);
            goto fail;
        }
        names = more;
        for (const cJSON *m = lay->meta->child; m; m = m->next) names[k++] = m->string;
        if ((dup = find_duplicate(names, k))) {
            s = bad(LT_EARG, what, "the metadata key '%.80s' appears twice", dup);
            goto fail;
        }
    }
    /* The tensors must tile [0, datalen) exactly, in offset order. */
    order = malloc((lay->n ? lay->n : 1) * sizeof *order);
    if (!order) {
        s = bad(LT_ENOMEM, what, "out of memory checking %zu tensors", lay->n);
        goto fail;
    }
    for (size_t i = 0; i < lay->n; i++) order[i] = &lay->t[i];
    qsort(order, lay->n, sizeof *order, cmp_begin);
    uint64_t pos = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < lay->n; i++) {
        const tinfo *ti = order[i];
        if (ti->begin < pos) {
            s = bad(LT_EARG, what, "tensors '%.60s' and '%.60s' overlap (data_offsets start %llu "
                    "is before %llu)", prev, ti->name, (unsigned long long)ti->begin,
                    (unsigned long long)pos);
            goto fail;
        }
        if (ti->begin > pos) {
            s = bad(LT_EARG, what, "a gap of %llu unused bytes before tensor '%.80s' (data "
                    "offset %llu)", (unsigned long long)(ti->begin - pos), ti->name,
                    (unsigned long long)pos);
            goto fail;
        }
        pos = ti->end;
        prev = ti->name;
    }
    if (pos != datalen) {
        s = bad(LT_EARG, what, "%llu bytes of trailing data after the last tensor (the data "
                "area is %llu bytes, the tensors use %llu)", (unsigned long long)(datalen - pos),
                (unsigned long long)datalen, (unsigned long long)pos);
        goto fail;
    }
    free(names);
    free(order);
    return LT_OK;
fail:
    free(names);
    free(order);
    layout_release(lay);
    return s;
}

/* Allocates the result for a validated layout: names, metadata and uninitialised tensors. */
static lt_status alloc_result(const layout *lay, const char *what, lt_safetensors **out) {
    lt_safetensors *st = calloc(1, sizeof *st);
    if (!st) goto oom;
    st->names = calloc(lay->n ? lay->n : 1, sizeof *st->names);
    st->tensors = calloc(lay->n ? lay->n : 1, sizeof *st->tensors);
    st->meta_keys = calloc(lay->nmeta ? lay->nmeta : 1, sizeof *st->meta_keys);
    st->meta_values = calloc(lay->nmeta ? lay->nmeta : 1, sizeof *st->meta_values);
    if (!st->names || !st->tensors || !st->meta_keys || !st->meta_values) goto oom;
    st->n = lay->n;
    st->nmeta = lay->nmeta;
    for (size_t i = 0; i < lay->n; i++) {
        if (!(st->names[i] = strdup(lay->t[i].name))) goto oom;
        if (!(st->tensors[i] = lt_tensor_empty(lay->t[i].ndim, lay->t[i].shape))) {
            lt_status s = bad(LT_ENOMEM, what, "%s", lt_lasterror());
            lt_safetensors_free(st);
            return s;
        }
    }
    size_t k = 0;
    if (lay->meta)
        for (const cJSON *m = lay->meta->child; m; m = m->next, k++)
            if (!(st->meta_keys[k] = strdup(m->string)) ||
                !(st->meta_values[k] = strdup(m->valuestring)))
                goto oom;
    *out = st;
    return LT_OK;
oom:
    lt_safetensors_free(st);
    return bad(LT_ENOMEM, what, "out of memory");
}

/* ---- reading ---- */

lt_status lt_safetensors_parse(const unsigned char *buf, size_t len, const char *what,
                               lt_safetensors **out) {
    *out = NULL;
    if (len < 8)
        return bad(LT_EARG, what, "only %zu bytes, too short for a safetensors file (the header "
                   "length alone is 8)", len);
    uint64_t hlen = get_le64(buf);
    if (hlen > LT_SAFETENSORS_MAX_HEADER)
        return bad(LT_EARG, what, "header length %llu is absurd (the limit is %zu bytes)",
                   (unsigned long long)hlen, LT_SAFETENSORS_MAX_HEADER);
    if (hlen > len - 8)
        return bad(LT_EARG, what, "header length %llu is past the end of the file (%zu bytes)",
                   (unsigned long long)hlen, len);
    char *hdr = malloc((size_t)hlen + 1);        /* a terminated copy for cJSON */
    if (!hdr) return bad(LT_ENOMEM, what, "out of memory for a %llu-byte header",
                         (unsigned long long)hlen);
    memcpy(hdr, buf + 8, (size_t)hlen);
    hdr[hlen] = '\0';
    layout lay;
    lt_status s = parse_layout(hdr, (size_t)hlen, len - 8 - hlen, what, &lay);
    free(hdr);
    if (s != LT_OK) return s;
    lt_safetensors *st;
    if ((s = alloc_result(&lay, what, &st)) == LT_OK) {
        const unsigned char *data = buf + 8 + hlen;
        for (size_t i = 0; i < st->n; i++)
            memcpy(st->tensors[i]->data, data + lay.t[i].begin, lay.t[i].end - lay.t[i].begin);
        *out = st;
    }
    layout_release(&lay);
    return s;
}

/* Reads exactly n bytes at offset off; LT_EIO naming the path otherwise. */
static lt_status read_at(int fd, void *dst, size_t n, uint64_t off, const char *path) {
    unsigned char *p = dst;
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? (size_t)1 << 30 : n;
        ssize_t r = pread(fd, p, chunk, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return lt_seterr(LT_EIO, "cannot read '%s': %s", path, strerror(errno));
        if (r == 0) return lt_seterr(LT_EIO, "cannot read '%s': the file shrank while reading",
                                     path);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return LT_OK;
}

lt_status lt_safetensors_load(const char *path, lt_safetensors **out) {
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not hang; it is rejected below as not regular. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return lt_seterr(LT_EIO, "cannot read '%s': %s", path, strerror(errno));
    struct stat sb;
    lt_status s;
    if (fstat(fd, &sb) != 0) {
        s = lt_seterr(LT_EIO, "cannot read '%s': %s", path, strerror(errno));
        close(fd);
        return s;
    }
    if (!S_ISREG(sb.st_mode)) {
        s = lt_seterr(LT_EIO, "cannot read '%s': %s", path,
                      S_ISDIR(sb.st_mode) ? strerror(EISDIR) : "not a regular file");
        close(fd);
        return s;
    }
    uint64_t len = (uint64_t)sb.st_size;
    unsigned char lenbuf[8];
    if (len < 8) {
        close(fd);
        return bad(LT_EARG, path, "only %llu bytes, too short for a safetensors file (the "
                   "header length alone is 8)", (unsigned long long)len);
    }
    if ((s = read_at(fd, lenbuf, 8, 0, path)) != LT_OK) { close(fd); return s; }
    uint64_t hlen = get_le64(lenbuf);
    if (hlen > LT_SAFETENSORS_MAX_HEADER || hlen > len - 8) {
        close(fd);
        if (hlen > LT_SAFETENSORS_MAX_HEADER)
            return bad(LT_EARG, path, "header length %llu is absurd (the limit is %zu bytes)",
                       (unsigned long long)hlen, LT_SAFETENSORS_MAX_HEADER);
        return bad(LT_EARG, path, "header length %llu is past the end of the file (%llu bytes)",
                   (unsigned long long)hlen, (unsigned long long)len);
    }
    char *hdr = malloc((size_t)hlen + 1);
    if (!hdr) {
        close(fd);
        return bad(LT_ENOMEM, path, "out of memory for a %llu-byte header",
                   (unsigned long long)hlen);
    }
    if ((s = read_at(fd, hdr, (size_t)hlen, 8, path)) != LT_OK) {
        free(hdr);
        close(fd);
        return s;
    }
    hdr[hlen] = '\0';
    layout lay;
    s = parse_layout(hdr, (size_t)hlen, len - 8 - hlen, path, &lay);
    free(hdr);
    if (s != LT_OK) { close(fd); return s; }
    lt_safetensors *st = NULL;
    if ((s = alloc_result(&lay, path, &st)) == LT_OK) {
        for (size_t i = 0; i < st->n && s == LT_OK; i++) {
            s = read_at(fd, st->tensors[i]->data, lay.t[i].end - lay.t[i].begin,
                        8 + hlen + lay.t[i].begin, path);
            if (s == LT_OK) s = lt_check_interrupt();
        }
        if (s != LT_OK) { lt_safetensors_free(st); st = NULL; }
    }
    layout_release(&lay);
    close(fd);
    *out = st;
    return s;
}

/* ---- writing ---- */

/* Checks save's arguments: LT_EARG naming the problem. */
static lt_status check_save_args(size_t n, const char *const *names,
                                 const lt_tensor *const *tensors, size_t nmeta,
                                 const char *const *keys, const char *const *values) {
    for (size_t i = 0; i < n; i++) {
        if (!names[i]) return lt_seterr(LT_EARG, "safetensors.save: tensor %zu has no name", i + 1);
        if (!tensors[i])
            return lt_seterr(LT_EARG, "safetensors.save: tensor '%.80s' is missing", names[i]);
        if (strcmp(names[i], "__metadata__") == 0)
            return lt_seterr(LT_EARG, "safetensors.save: '__metadata__' is reserved and cannot "
                             "name a tensor");
    }
    for (size_t i = 0; i < nmeta; i++)
        if (!keys[i] || !values[i])
            return lt_seterr(LT_EARG, "safetensors.save: metadata entry %zu is missing its key "
                             "or value", i + 1);
    size_t m = n > nmeta ? n : nmeta;
    const char **tmp = malloc((m ? m : 1) * sizeof *tmp);
    if (!tmp) return lt_seterr(LT_ENOMEM, "safetensors.save: out of memory");
    if (n) memcpy(tmp, names, n * sizeof *tmp);
    const char *dup = find_duplicate(tmp, n);
    lt_status s = LT_OK;
    if (dup) s = lt_seterr(LT_EARG, "safetensors.save: the tensor name '%.80s' appears twice", dup);
    if (s == LT_OK) {
        if (nmeta) memcpy(tmp, keys, nmeta * sizeof *tmp);
        if ((dup = find_duplicate(tmp, nmeta)))
            s = lt_seterr(LT_EARG, "safetensors.save: the metadata key '%.80s' appears twice",
                          dup);
    }
    free(tmp);
    return s;
}

static cJSON *raw_uint(uint64_t v) {          /* exact integers, never through a double */
    char b[32];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    return cJSON_CreateRaw(b);
}

static lt_status build_header(size_t n, const char *const *names,
                              const lt_tensor *const *tensors, size_t nmeta,
                              const char *const *meta_keys, const char *const *meta_values,
                              unsigned char **hdr, size_t *len) {
    *hdr = NULL;
    lt_status s = check_save_args(n, names, tensors, nmeta, meta_keys, meta_values);
    if (s != LT_OK) return s;
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && nmeta > 0) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        ok = meta != NULL;
        for (size_t i = 0; ok && i < nmeta; i++)
            ok = cJSON_AddStringToObject(meta, meta_keys[i], meta_values[i]) != NULL;
    }
    uint64_t off = 0;
    for (size_t i = 0; ok && i < n; i++) {
        const lt_tensor *t = tensors[i];
        cJSON *o = cJSON_AddObjectToObject(root, names[i]);     /* keys in the reference's */
        cJSON *shape = NULL;                                    /* order: dtype, shape, offsets */
        ok = o && cJSON_AddStringToObject(o, "dtype", "F32") &&
             (shape = cJSON_AddArrayToObject(o, "shape"));
        for (int d = 0; ok && d < t->ndim; d++) {
            cJSON *v = raw_uint((uint64_t)t->shape[d]);
            ok = v && cJSON_AddItemToArray(shape, v);
        }
        cJSON *offs = ok ? cJSON_AddArrayToObject(o, "data_offsets") : NULL;
        uint64_t end = off + (uint64_t)t->numel * sizeof(float);
        cJSON *b = raw_uint(off), *e = raw_uint(end);
        ok = ok && offs && b && e;
        if (ok) {
            cJSON_AddItemToArray(offs, b);
            cJSON_AddItemToArray(offs, e);
        } else {
            cJSON_Delete(b);
            cJSON_Delete(e);
        }
        off = end;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) return lt_seterr(LT_ENOMEM, "safetensors.save: out of memory building the header");
    size_t tl = strlen(text), hl = (tl + 7) & ~(size_t)7;   /* 8 + hl is a multiple of 8 */
    unsigned char *out = malloc(8 + hl);
    if (!out) {
        cJSON_free(text);
        return lt_seterr(LT_ENOMEM, "safetensors.save: out of memory building the header");
    }
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(out + 8, text, tl);
    memset(out + 8 + tl, ' ', hl - tl);
    cJSON_free(text);
    *len = 8 + hl;
    *hdr = out;
    return LT_OK;
}

unsigned char *lt_safetensors_header(size_t n, const char *const *names,
                                     const lt_tensor *const *tensors, size_t nmeta,
                                     const char *const *meta_keys,
                                     const char *const *meta_values, size_t *len) {
    unsigned char *hdr;
    build_header(n, names, tensors, nmeta, meta_keys, meta_values, &hdr, len);
    return hdr;
}

static int write_all(int fd, const void *buf, size_t n) {
    const unsigned char *p = buf;
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? (size_t)1 << 30 : n;
        ssize_t w = write(fd, p, chunk);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Makes the rename durable: fsync the directory holding path (best effort). */
static void sync_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

lt_status lt_safetensors_save(const char *path, size_t n, const char *const *names,
                              const lt_tensor *const *tensors, size_t nmeta,
                              const char *const *meta_keys, const char *const *meta_values) {
    size_t hlen;
    unsigned char *hdr;
    lt_status s = build_header(n, names, tensors, nmeta, meta_keys, meta_values, &hdr, &hlen);
    if (s != LT_OK) return s;
    struct stat sb;
    /* rename() would replace a device node or FIFO (e.g. /dev/null as root) with a file */
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        free(hdr);
        return lt_seterr(LT_EIO, "cannot write '%s': %s", path,
                         S_ISDIR(sb.st_mode) ? strerror(EISDIR) : "not a regular file");
    }
    /* The temporary file lives next to the target so that rename() is atomic. O_EXCL with
     * a pid+counter name (not mkstemp) so the final file gets the usual umask permissions. */
    static unsigned counter;
    size_t tl = strlen(path) + 48;
    char *tmp = malloc(tl);
    if (!tmp) {
        free(hdr);
        return lt_seterr(LT_ENOMEM, "safetensors.save: out of memory");
    }
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(tmp, tl, "%s.tmp-%ld-%u", path, (long)getpid(), counter++);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        s = lt_seterr(LT_EIO, "cannot write '%s': %s", path, strerror(errno));
        free(hdr);
        free(tmp);
        return s;
    }
    if (write_all(fd, hdr, hlen) != 0)
        s = lt_seterr(LT_EIO, "cannot write '%s': %s", path, strerror(errno));
    for (size_t i = 0; s == LT_OK && i < n; i++) {
        if (write_all(fd, tensors[i]->data, (size_t)tensors[i]->numel * sizeof(float)) != 0)
            s = lt_seterr(LT_EIO, "cannot write '%s': %s", path, strerror(errno));
        else
            s = lt_check_interrupt();
    }
    if (s == LT_OK && fsync(fd) != 0)
        s = lt_seterr(LT_EIO, "cannot write '%s': %s", path, strerror(errno));
    if (close(fd) != 0 && s == LT_OK)
        s = lt_seterr(LT_EIO, "cannot write '%s': %s", path, strerror(errno));
    if (s == LT_OK && rename(tmp, path) != 0)
        s = lt_seterr(LT_EIO, "cannot write '%s': %s", path, strerror(errno));
    if (s != LT_OK) unlink(tmp);
    else sync_dir(path);
    free(hdr);
    free(tmp);
    return s;
}
