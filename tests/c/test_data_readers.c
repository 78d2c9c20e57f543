/* test_data_readers.c: IDX and CIFAR-10 readers on small files written here in the
 * real formats (raw and gzip, every IDX dtype), and corrupt variants whose messages
 * are asserted. Every truncation of a gzip file is parsed too (no crash, no leak). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "check.h"
#include "data/readers.h"

/* ---- writers ---- */

typedef struct { unsigned char *p; size_t n; } buf;

static void put(buf *b, const void *src, size_t n) {
    b->p = realloc(b->p, b->n + n);
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_be(buf *b, uint64_t v, int bytes) {
    unsigned char c[8];
    for (int i = 0; i < bytes; i++) c[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    put(b, c, (size_t)bytes);
}

static buf idx_header(int code, int nd, const uint32_t *dims) {
    buf b = {0};
    unsigned char h[4] = {0, 0, (unsigned char)code, (unsigned char)nd};
    put(&b, h, 4);
    for (int i = 0; i < nd; i++) put_be(&b, dims[i], 4);
    return b;
}

static buf gzip_of(const unsigned char *p, size_t n) {
    z_stream z = {0};
    deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    buf o = {malloc(deflateBound(&z, n) + 64), 0};
    z.next_in = (unsigned char *)p;
    z.avail_in = (uInt)n;
    z.next_out = o.p;
    z.avail_out = (uInt)(deflateBound(&z, n) + 64);
    deflate(&z, Z_FINISH);
    o.n = z.total_out;
    deflateEnd(&z);
    return o;
}

static void write_file(const char *path, buf b) {
    FILE *f = fopen(path, "wb");
    fwrite(b.p, 1, b.n, f);
    fclose(f);
}

static int has(const char *msg, const char *frag) {
    if (strstr(msg, frag)) return 1;
    fprintf(stderr, "  message was: %s\n  expected:    %s\n", msg, frag);
    return 0;
}

/* Parses b and expects failure with a message containing frag. */
static void expect_error(buf b, const char *frag, const char *name) {
    lt_tensor *t = (lt_tensor *)1;
    lt_status s = lt_idx_parse(b.p, b.n, "f.idx", &t);
    CHECK(s != LT_OK && t == NULL, name);
    CHECK(has(lt_lasterror(), frag), name);
}

/* ---- IDX round trips ---- */

static void test_dtypes(void) {
    uint32_t dims[2] = {2, 3};
    struct { int code, size; int64_t raw[6]; float want[6]; } cases[] = {
        {0x08, 1, {0, 1, 127, 128, 200, 255}, {0, 1, 127, 128, 200, 255}},
        {0x09, 1, {0, 1, 127, 0x80, 0xff, 0xfe}, {0, 1, 127, -128, -1, -2}},
        {0x0B, 2, {0, 300, 0x7fff, 0x8000, 0xffff, 0xfed4}, {0, 300, 32767, -32768, -1, -300}},
        {0x0C, 4, {0, 70000, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffeee90},
         {0, 70000, 2147483647.f, -2147483648.f, -1, -70000}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        buf b = idx_header(cases[k].code, 2, dims);
        for (int i = 0; i < 6; i++) put_be(&b, (uint64_t)cases[k].raw[i], cases[k].size);
        for (int gz = 0; gz < 2; gz++) {
            buf in = gz ? gzip_of(b.p, b.n) : b;
            lt_tensor *t;
            lt_status s = lt_idx_parse(in.p, in.n, "mem", &t);
            CHECK(s == LT_OK, "idx dtype parses");
            if (s != LT_OK) { fprintf(stderr, "  %s\n", lt_lasterror()); continue; }
            CHECK(t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3, "idx dtype shape");
            char name[64];
            snprintf(name, sizeof name, "idx dtype 0x%02x %s", cases[k].code, gz ? "gz" : "raw");
            check_close(t->data, cases[k].want, 6, 0, name);
            lt_tensor_free(t);
            if (gz) free(in.p);
        }
        free(b.p);
    }
    /* float and double, big-endian IEEE */
    float fv[4] = {1.5f, -2.25f, 3e-3f, 65504.f};
    double dv[4] = {3.25, -1e10, 1.0 / 3, 0};
    uint32_t d4[1] = {4};
    buf bf = idx_header(0x0D, 1, d4), bd = idx_header(0x0E, 1, d4);
    for (int i = 0; i < 4; i++) {
        uint32_t u; uint64_t w;
        memcpy(&u, &fv[i], 4); put_be(&bf, u, 4);
        memcpy(&w, &dv[i], 8); put_be(&bd, w, 8);
    }
    lt_tensor *t;
    CHECK(lt_idx_parse(bf.p, bf.n, "mem", &t) == LT_OK && t->numel == 4, "idx float parses");
    check_close(t->data, fv, 4, 0, "idx float values");
    lt_tensor_free(t);
    float dwant[4] = {3.25f, -1e10f, (float)(1.0 / 3), 0};
    CHECK(lt_idx_parse(bd.p, bd.n, "mem", &t) == LT_OK && t->numel == 4, "idx double parses");
    check_close(t->data, dwant, 4, 0, "idx double values");
    lt_tensor_free(t);
    free(bf.p);
    free(bd.p);
}

static void test_files(void) {
    uint32_t dims[3] = {3, 4, 5};
    buf b = idx_header(0x08, 3, dims);
    float want[60];
    for (int i = 0; i < 60; i++) {
        unsigned char v = (unsigned char)(i * 7 % 256);
        put(&b, &v, 1);
        want[i] = v;
    }
    buf g = gzip_of(b.p, b.n);
    write_file("rt-raw.idx", b);
    write_file("rt-named-raw.gz", b);           /* a misleading name: detection is by magic */
    write_file("rt-gz.idx", g);
    const char *paths[3] = {"rt-raw.idx", "rt-named-raw.gz", "rt-gz.idx"};
    for (int k = 0; k < 3; k++) {
        lt_tensor *t;
        lt_status s = lt_idx_load(paths[k], &t);
        CHECK(s == LT_OK, paths[k]);
        if (s != LT_OK) { fprintf(stderr, "  %s\n", lt_lasterror()); continue; }
        CHECK(t->ndim == 3 && t->shape[0] == 3 && t->shape[1] == 4 && t->shape[2] == 5,
              "idx file shape");
        check_close(t->data, want, 60, 0, paths[k]);
        lt_tensor_free(t);
    }
    /* two gzip members (as `cat a.gz b.gz` makes): header in one, data in the other */
    buf g1 = gzip_of(b.p, 16), g2 = gzip_of(b.p + 16, b.n - 16), cat = {0};
    put(&cat, g1.p, g1.n);
    put(&cat, g2.p, g2.n);
    lt_tensor *t;
    CHECK(lt_idx_parse(cat.p, cat.n, "cat", &t) == LT_OK, "idx multi-member gzip parses");
    if (t) { check_close(t->data, want, 60, 0, "idx multi-member values"); lt_tensor_free(t); }

    /* environment errors */
    CHECK(lt_idx_load("no-such-file.idx", &t) == LT_EIO && t == NULL, "missing file fails");
    CHECK(has(lt_lasterror(), "no-such-file.idx: No such file or directory"), "missing file msg");
    mkdir("a-directory", 0755);
    CHECK(lt_idx_load("a-directory", &t) == LT_EIO, "directory fails");
    CHECK(has(lt_lasterror(), "a-directory: is a directory, not a file"), "directory msg");

    /* gzip corruption */
    buf trunc = {g.p, g.n - 10};
    expect_error(trunc, "f.idx: truncated gzip stream", "gz truncated");
    buf bad = {0};
    put(&bad, g.p, g.n);
    bad.p[10] = 0xff;                                /* deflate block type 3: invalid */
    expect_error(bad, "f.idx: corrupt gzip data (invalid block type)", "gz corrupt");
    buf crc = {0};
    put(&crc, g.p, g.n);
    crc.p[crc.n - 6] ^= 1;                           /* the CRC32 in the trailer */
    expect_error(crc, "f.idx: corrupt gzip data (incorrect data check)", "gz bad crc");
    buf junk = {0};
    put(&junk, g.p, g.n);
    put(&junk, "junk", 4);
    expect_error(junk, "f.idx: 4 bytes of garbage after the gzip data", "gz trailing garbage");
    buf longer = {0};
    put(&longer, b.p, b.n);
    put(&longer, "xyz", 3);
    buf glong = gzip_of(longer.p, longer.n);
    expect_error(glong, "f.idx: size mismatch: the decompressed data is longer than the header's "
                 "shape 3x4x5 of unsigned byte (60 bytes)", "gz longer than header");
    buf gshort = gzip_of(b.p, b.n - 1);
    expect_error(gshort, "f.idx: truncated: the header's shape 3x4x5 of unsigned byte needs 60 "
                 "bytes of data, the decompressed file holds 59", "gz shorter than header");
    /* every truncation and many bit flips: errors, never a crash */
    int ok_count = 0;
    for (size_t n = 0; n < g.n; n++) {
        lt_status s = lt_idx_parse(g.p, n, "cut", &t);
        if (s == LT_OK) { ok_count++; lt_tensor_free(t); }
    }
    CHECK(ok_count == 0, "no truncation of a gzip file parses");
    for (size_t i = 0; i < g.n; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            g.p[i] ^= (unsigned char)(1 << bit);
            if (lt_idx_parse(g.p, g.n, "flip", &t) == LT_OK) lt_tensor_free(t);
            g.p[i] ^= (unsigned char)(1 << bit);
        }
    CHECK(1, "bit flips survived");
    free(b.p); free(g.p); free(g1.p); free(g2.p); free(cat.p); free(bad.p); free(crc.p);
    free(junk.p); free(longer.p); free(glong.p); free(gshort.p);
}

static void test_idx_errors(void) {
    uint32_t dims[2] = {2, 3};
    buf b = idx_header(0x08, 2, dims);
    put(&b, "\1\2\3\4\5\6", 6);
    buf empty = {b.p, 0};
    expect_error(empty, "f.idx: empty file (no IDX header)", "empty");
    buf three = {b.p, 3};
    expect_error(three, "f.idx: truncated IDX header (3 of 4 magic bytes)", "short magic");
    buf hdr = {b.p, 9};
    expect_error(hdr, "f.idx: truncated IDX header (5 of the 8 bytes of its 2 dimension sizes)",
                 "short header");
    buf cut = {b.p, b.n - 1};
    expect_error(cut, "f.idx: truncated: the header's shape 2x3 of unsigned byte needs 6 bytes of "
                 "data, the file holds 5", "raw truncated");
    buf more = {0};
    put(&more, b.p, b.n);
    put(&more, "\7", 1);
    expect_error(more, "f.idx: size mismatch: the header's shape 2x3 of unsigned byte needs 6 "
                 "bytes of data, the file holds 7", "raw too long");
    free(more.p);
    b.p[0] = 0x50;
    expect_error(b, "f.idx: not an IDX file (magic bytes 50 00 08 02;", "bad magic");
    b.p[0] = 0;
    b.p[2] = 0x07;
    expect_error(b, "f.idx: not an IDX file (magic bytes 00 00 07 02;", "bad dtype");
    b.p[2] = 0x08;
    b.p[3] = 0;
    expect_error(b, "f.idx: IDX header has 0 dimensions (Lunette reads 1 to 8)", "0 dims");
    b.p[3] = 9;
    expect_error(b, "f.idx: IDX header has 9 dimensions (Lunette reads 1 to 8)", "9 dims");
    free(b.p);
    uint32_t zero[2] = {2, 0};
    buf z = idx_header(0x08, 2, zero);
    expect_error(z, "f.idx: IDX dimension 2 is 0", "zero dim");
    free(z.p);
    /* products that overflow 64 bits, or exceed the ceiling, are refused before allocating */
    uint32_t huge[4] = {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
    buf h = idx_header(0x0E, 4, huge);
    expect_error(h, "f.idx: shape 4294967295x4294967295x4294967295x4294967295 exceeds the tensor "
                 "size limit", "overflowing dims");
    free(h.p);
    /* a big claim (under the ceiling) with little data: refused by the size check */
    uint32_t big[3] = {60000, 100, 100};
    buf bg = idx_header(0x08, 3, big);
    put(&bg, "abc", 3);
    expect_error(bg, "f.idx: truncated: the header's shape 60000x100x100 of unsigned byte needs "
                 "600000000 bytes of data, the file holds 3", "big claim raw");
    buf gbig = gzip_of(bg.p, bg.n);
    expect_error(gbig, "f.idx: truncated: the header's shape 60000x100x100 of unsigned byte "
                 "needs 600000000 bytes of data, more than", "big claim gz");
    free(bg.p);
    free(gbig.p);
}

/* ---- CIFAR-10 ---- */

static buf cifar_records(int n, const int *labels) {
    buf b = {0};
    for (int r = 0; r < n; r++) {
        unsigned char rec[LT_CIFAR_RECORD];
        rec[0] = (unsigned char)labels[r];
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 1024; p++) rec[1 + c * 1024 + p] = (unsigned char)((p * 3 + c * 50 + r * 7) % 256);
        put(&b, rec, sizeof rec);
    }
    return b;
}

static void test_cifar(void) {
    int labels[3] = {6, 9, 0};
    buf b = cifar_records(3, labels);
    lt_tensor *img, *lab;
    CHECK(lt_cifar10_parse(b.p, b.n, "mem", &img, &lab) == LT_OK, "cifar parses");
    CHECK(img->ndim == 4 && img->shape[0] == 3 && img->shape[1] == 32 && img->shape[2] == 32 &&
          img->shape[3] == 3, "cifar images 3x32x32x3");
    CHECK(lab->ndim == 1 && lab->shape[0] == 3, "cifar labels 1-d");
    float want_lab[3] = {6, 9, 0};
    check_close(lab->data, want_lab, 3, 0, "cifar labels");
    int bad = 0;                                 /* independent index arithmetic */
    for (int r = 0; r < 3; r++)
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                for (int c = 0; c < 3; c++) {
                    float v = img->data[((r * 32 + y) * 32 + x) * 3 + c];
                    if (v != (float)b.p[r * 3073 + 1 + c * 1024 + y * 32 + x]) bad++;
                }
    CHECK(bad == 0, "cifar pixels channels-last");
    lt_tensor_free(img);
    lt_tensor_free(lab);

    write_file("batch_a.bin", b);
    int l2[2] = {1, 2};
    buf b2 = cifar_records(2, l2);
    write_file("batch_b.bin", b2);
    const char *paths[2] = {"batch_a.bin", "batch_b.bin"};
    CHECK(lt_cifar10_load(paths, 2, &img, &lab) == LT_OK, "cifar load two files");
    CHECK(img && img->shape[0] == 5 && lab->shape[0] == 5, "cifar concatenated 5 records");
    if (img) {
        float wl[5] = {6, 9, 0, 1, 2};
        check_close(lab->data, wl, 5, 0, "cifar concatenated labels");
        CHECK(img->data[3 * 3072 + 3 * 5 + 1] == (float)b2.p[1 + 1024 + 5], "cifar 2nd file pixels");
    }
    lt_tensor_free(img);
    lt_tensor_free(lab);

    buf cut = {b.p, b.n - 1};
    CHECK(lt_cifar10_parse(cut.p, cut.n, "f.bin", &img, &lab) == LT_EIO && !img && !lab,
          "cifar truncated fails");
    CHECK(has(lt_lasterror(), "f.bin: size 9218 bytes is not a multiple of the 3073-byte CIFAR-10 "
              "record"), "cifar truncated msg");
    CHECK(lt_cifar10_parse(b.p, 0, "f.bin", &img, &lab) == LT_EIO, "cifar empty fails");
    CHECK(has(lt_lasterror(), "f.bin: empty file (no CIFAR-10 records)"), "cifar empty msg");
    b.p[3073] = 10;
    CHECK(lt_cifar10_parse(b.p, b.n, "f.bin", &img, &lab) == LT_EIO && !img, "cifar label 10 fails");
    CHECK(has(lt_lasterror(), "f.bin: record 2 has label 10 (CIFAR-10 labels are 0 to 9)"),
          "cifar label msg");
    write_file("batch_bad.bin", b);
    const char *p2[2] = {"batch_a.bin", "batch_bad.bin"};
    CHECK(lt_cifar10_load(p2, 2, &img, &lab) == LT_EIO && !img, "cifar load bad 2nd file fails");
    CHECK(has(lt_lasterror(), "batch_bad.bin: record 2 has label 10"), "cifar load names the file");
    const char *p3[1] = {"nope.bin"};
    CHECK(lt_cifar10_load(p3, 1, &img, &lab) == LT_EIO, "cifar missing fails");
    CHECK(has(lt_lasterror(), "nope.bin: No such file or directory"), "cifar missing msg");
    const char *p4[1] = {"a-directory"};
    CHECK(lt_cifar10_load(p4, 1, &img, &lab) == LT_EIO, "cifar directory fails");
    CHECK(has(lt_lasterror(), "a-directory: is a directory, not a file"), "cifar directory msg");
    free(b.p);
    free(b2.p);
}

int main(void) {
    mkdir("a-directory", 0755);
    test_dtypes();
    test_files();
    test_idx_errors();
    test_cifar();
    CHECK_DONE();
}
