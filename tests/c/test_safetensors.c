/* test_safetensors.c: the safetensors reader and atomic writer (src/core/safetensors.h).
 * Round trip; the written bytes against a file built by hand from the format description;
 * every corrupt variant rejected with its message; environment failures (missing dir,
 * directory, FIFO, full and read-only disk on a tiny tmpfs when mount works, Ctrl-C) leave
 * the previous file intact and no temporary behind; an independent reader (python3). */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/safetensors.h"

static unsigned char buf[1 << 16];

/* A file image: u64 LE header length, the header text as given, then dlen data bytes. */
static size_t make_file(const char *hdr, const void *data, size_t dlen) {
    size_t hl = strlen(hdr);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    if (dlen) memcpy(buf + 8 + hl, data, dlen);
    return 8 + hl + dlen;
}

static int contains(const char *s, const char *frag) { return strstr(s, frag) != NULL; }

/* Parses buf[0..len) expecting failure with status want and a message holding frag. */
static void expect_reject(size_t len, lt_status want, const char *frag, const char *name) {
    lt_safetensors *st = (lt_safetensors *)1;
    lt_status s = lt_safetensors_parse(buf, len, "bad.safetensors", &st);
    int ok = s == want && st == NULL && contains(lt_lasterror(), frag) &&
             strncmp(lt_lasterror(), "bad.safetensors: ", 17) == 0;
    if (!ok) fprintf(stderr, "  %s: status %d, message: %s\n", name, s, lt_lasterror());
    CHECK(ok, name);
    if (s == LT_OK) lt_safetensors_free(st);
}

static const float F12[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void test_corrupt(void) {
    const char *ok_hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}";
    size_t n = make_file(ok_hdr, F12, 24);
    lt_safetensors *st = NULL;
    CHECK(lt_safetensors_parse(buf, n, "x", &st) == LT_OK && st && st->n == 1 &&
          st->tensors[0]->ndim == 2 && st->tensors[0]->shape[1] == 3 &&
          st->tensors[0]->data[5] == 6, "the valid base file parses");
    lt_safetensors_free(st);

    expect_reject(5, LT_EARG, "only 5 bytes, too short", "shorter than 8 bytes");
    make_file(ok_hdr, F12, 24);
    buf[0] = 0xff; buf[1] = 0x7f;   /* 32767 > file */
    expect_reject(n, LT_EARG, "header length 32767 is past the end of the file", "hlen past end");
    memset(buf, 0xff, 8);
    expect_reject(n, LT_EARG, "header length 18446744073709551615 is absurd", "hlen absurd");
    buf[0] = 1; buf[1] = 0xe1; buf[2] = 0xf5; buf[3] = 0x05;  /* 100000001 */
    buf[4] = buf[5] = buf[6] = buf[7] = 0;
    expect_reject(n, LT_EARG, "is absurd (the limit is 100000000 bytes)", "hlen just over 100 MB");
    memset(buf, 0, 8);
    expect_reject(8, LT_EARG, "the header is not valid JSON", "empty header");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",", NULL, 0), LT_EARG,
                  "the header is not valid JSON (error at header byte", "truncated JSON");
    expect_reject(make_file("[1,2]   ", NULL, 0), LT_EARG,
                  "the header is an array, expected a JSON object", "header is an array");
    expect_reject(make_file("{}  x   ", NULL, 0), LT_EARG,
                  "unexpected bytes after the JSON header (header byte 4 of 8)", "header garbage");
    expect_reject(make_file("{\"a\":5}", NULL, 0), LT_EARG,
                  "entry 'a' is a number, expected an object", "entry not an object");
    expect_reject(make_file("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", F12, 4), LT_EARG,
                  "tensor 'a' has no \"dtype\"", "missing dtype");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", F12, 4),
                  LT_EARG, "tensor 'a' has no \"shape\"", "missing shape");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", F12, 4), LT_EARG,
                  "tensor 'a' has no \"data_offsets\"", "missing data_offsets");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                            F12, 4), LT_EARG, "tensor 'a' has dtype F16; Lunette reads only F32",
                  "dtype F16");
    expect_reject(make_file("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", F12, 4),
                  LT_EARG, "tensor 'a': \"dtype\" is a number, expected a string", "dtype number");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}",
                            F12, 4), LT_EARG, "\"shape\" is an object, expected an array",
                  "shape object");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                            F12, 4), LT_EARG, "shape entry 1 is not a non-negative integer",
                  "negative dim");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1.5],\"data_offsets\":[0,4]}}",
                            F12, 4), LT_EARG, "shape entry 2 is not a non-negative integer",
                  "fractional dim");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,\"2\"],\"data_offsets\":[0,8]}}",
                            F12, 8), LT_EARG, "shape entry 2 is not a non-negative integer",
                  "string dim");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[0,0]}}",
                            NULL, 0), LT_EARG, "has an empty dimension (shape entry 2 is 0)",
                  "zero dim");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                            "\"data_offsets\":[0,4]}}", F12, 4), LT_EARG,
                  "tensor 'a' has 9 dimensions (Lunette supports up to 8)", "too many dims");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000,1000000,1000000],"
                            "\"data_offsets\":[0,4]}}", F12, 4), LT_ENOMEM,
                  "tensor 'a': shape 1000000x1000000x1000000 exceeds the tensor size limit",
                  "absurd shape");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],"
                            "\"data_offsets\":[0,4]}}", F12, 4), LT_EARG,
                  "shape entry 1 is not a non-negative integer", "dim beyond 2^53");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}",
                            F12, 4), LT_EARG, "\"data_offsets\" must be an array of two",
                  "one offset");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}",
                            F12, 8), LT_EARG, "\"data_offsets\" must be an array of two",
                  "three offsets");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}",
                            F12, 4), LT_EARG, "data_offsets [4, 0] are reversed", "reversed");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}",
                            F12, 8), LT_EARG,
                  "data_offsets [0, 12] run past the end of the data (8 bytes)", "past end");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],"
                            "\"data_offsets\":[0,18446744073709551615]}}", F12, 8), LT_EARG,
                  "\"data_offsets\" must be an array of two", "offset beyond 2^53");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}",
                            F12, 12), LT_EARG,
                  "shape 2x2 needs 16 bytes but data_offsets [0, 12] hold 12", "size mismatch");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                            F12, 12), LT_EARG,
                  "tensors 'a' and 'b' overlap (data_offsets start 4 is before 8)", "overlap");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                            F12, 8), LT_EARG, "a gap of 4 unused bytes before tensor 'a'",
                  "gap at start");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                            "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                            F12, 12), LT_EARG, "a gap of 4 unused bytes before tensor 'b'",
                  "gap between");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                            F12, 7), LT_EARG, "3 bytes of trailing data after the last tensor",
                  "trailing data");
    expect_reject(make_file("{}", F12, 4), LT_EARG, "4 bytes of trailing data", "data, no tensors");
    expect_reject(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                            "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                            F12, 8), LT_EARG, "the name 'a' appears twice in the header",
                  "duplicate names");
    expect_reject(make_file("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", NULL, 0), LT_EARG,
                  "the metadata key 'k' appears twice", "duplicate metadata");
    expect_reject(make_file("{\"__metadata__\":{\"k\":1}}", NULL, 0), LT_EARG,
                  "metadata 'k' is a number, expected a string", "metadata value number");
    expect_reject(make_file("{\"__metadata__\":[\"k\"]}", NULL, 0), LT_EARG,
                  "\"__metadata__\" is an array, expected an object of strings",
                  "metadata array");
    int64_t old = lt_get_max_numel();
    lt_set_max_numel(5);
    expect_reject(make_file(ok_hdr, F12, 24), LT_ENOMEM,
                  "shape 2x3 exceeds the tensor size limit of 5 elements", "over max_numel");
    lt_set_max_numel(old);

    /* Accepted variations: header order differs from data order; scalar shape; null
     * metadata; extra fields ignored. */
    n = make_file("{\"__metadata__\":null,\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":"
                  "[8,12],\"x\":1},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                  F12, 12);
    st = NULL;
    lt_status s = lt_safetensors_parse(buf, n, "x", &st);
    CHECK(s == LT_OK && st->n == 2 && strcmp(st->names[0], "b") == 0 &&
          st->tensors[0]->numel == 1 && st->tensors[0]->data[0] == 3 &&
          st->tensors[1]->data[1] == 2 && st->nmeta == 0, "out-of-order offsets, scalar, null meta");
    lt_safetensors_free(st);
}

/* The bytes save writes, compared with a file assembled by hand from the format. */
static void test_layout(void) {
    int64_t sa = 3, sb[2] = {1, 2};
    const float va[3] = {1.5f, -2, 0.25f}, vb[2] = {7, 8};
    lt_tensor *a = lt_tensor_from(1, &sa, va), *b = lt_tensor_from(2, sb, vb);
    const char *names[2] = {"layer.w", "b"};
    const lt_tensor *ts[2] = {a, b};
    const char *keys[2] = {"format", "note"}, *vals[2] = {"pt", "quote \" and \\ and \n"};
    CHECK(lt_safetensors_save("layout.safetensors", 2, names, ts, 2, keys, vals) == LT_OK,
          "save layout file");
    const char *json = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"quote \\\" and \\\\ and "
                       "\\n\"},\"layer.w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":"
                       "[0,12]},\"b\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[12,20]}}";
    unsigned char want[512];
    size_t jl = strlen(json), padded = jl;
    while ((8 + padded) % 8) padded++;
    uint64_t hl = padded;
    for (int i = 0; i < 8; i++) want[i] = (unsigned char)(hl >> (8 * i));
    memcpy(want + 8, json, jl);
    memset(want + 8 + jl, ' ', padded - jl);
    unsigned char *d = want + 8 + padded;
    for (int i = 0; i < 3; i++, d += 4) memcpy(d, &va[i], 4);   /* x86: host = LE */
    for (int i = 0; i < 2; i++, d += 4) memcpy(d, &vb[i], 4);
    size_t wl = (size_t)(d - want);
    FILE *f = fopen("layout.safetensors", "rb");
    unsigned char got[512];
    size_t gl = f ? fread(got, 1, sizeof got, f) : 0;
    if (f) fclose(f);
    CHECK(gl == wl && memcmp(got, want, wl) == 0, "byte-exact layout");
    if (gl != wl) fprintf(stderr, "  length %zu, expected %zu\n", gl, wl);
    CHECK(padded % 8 == 0 && padded > jl, "the header needed padding (test is meaningful)");

    lt_safetensors *st = NULL;
    CHECK(lt_safetensors_load("layout.safetensors", &st) == LT_OK, "load layout file");
    if (st) {
        CHECK(st->n == 2 && strcmp(st->names[0], "layer.w") == 0 &&
              strcmp(st->names[1], "b") == 0, "names in header order");
        check_close(st->tensors[0]->data, va, 3, 0, "tensor a round trip");
        check_close(st->tensors[1]->data, vb, 2, 0, "tensor b round trip");
        CHECK(st->tensors[1]->ndim == 2 && st->tensors[1]->shape[0] == 1 &&
              st->tensors[1]->shape[1] == 2, "shape round trip");
        CHECK(st->nmeta == 2 && strcmp(st->meta_keys[1], "note") == 0 &&
              strcmp(st->meta_values[1], vals[1]) == 0, "metadata round trip with escapes");
        lt_safetensors_free(st);
    }

    /* Independent reader: python3 with json + struct only. */
    if (system("command -v python3 >/dev/null 2>&1") == 0) {
        int rc = system("python3 -c \"\n"
            "import json, struct\n"
            "b = open('layout.safetensors', 'rb').read()\n"
            "n = struct.unpack('<Q', b[:8])[0]\n"
            "assert (8 + n) % 8 == 0\n"
            "h = json.loads(b[8:8 + n])\n"
            "assert h['__metadata__'] == {'format': 'pt', 'note': 'quote \\\" and \\\\\\\\ and \\\\n'}, h\n"
            "w = h['layer.w']; s, e = w['data_offsets']\n"
            "assert w['dtype'] == 'F32' and w['shape'] == [3]\n"
            "assert struct.unpack('<3f', b[8 + n + s:8 + n + e]) == (1.5, -2.0, 0.25)\n"
            "s, e = h['b']['data_offsets']\n"
            "assert h['b']['shape'] == [1, 2] and struct.unpack('<2f', b[8 + n + s:8 + n + e]) == (7, 8)\n"
            "assert 8 + n + e == len(b)\n\"");
        CHECK(rc == 0, "python3 json+struct reads the file");
    } else {
        printf("SKIP: python3 not found, no independent reader check\n");
    }

    /* Argument errors. */
    const char *dup[2] = {"x", "x"};
    CHECK(lt_safetensors_save("bad.safetensors", 2, dup, ts, 0, NULL, NULL) == LT_EARG &&
          contains(lt_lasterror(), "the tensor name 'x' appears twice"), "duplicate names on save");
    const char *res[1] = {"__metadata__"};
    CHECK(lt_safetensors_save("bad.safetensors", 1, res, ts, 0, NULL, NULL) == LT_EARG &&
          contains(lt_lasterror(), "'__metadata__' is reserved"), "reserved name on save");
    CHECK(access("bad.safetensors", F_OK) != 0, "nothing written on bad arguments");
    lt_tensor_free(a);
    lt_tensor_free(b);
}

/* Counts directory entries other than . and .. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int same_as(const char *path, const float *v, int64_t n) {
    lt_safetensors *st = NULL;
    if (lt_safetensors_load(path, &st) != LT_OK) return 0;
    int ok = st->n == 1 && st->tensors[0]->numel == n &&
             memcmp(st->tensors[0]->data, v, (size_t)n * 4) == 0;
    lt_safetensors_free(st);
    return ok;
}

static void test_environment(void) {
    int64_t n4 = 4;
    lt_tensor *t = lt_tensor_from(1, &n4, F12);
    const char *nm[1] = {"w"};
    const lt_tensor *ts[1] = {t};
    lt_safetensors *st = NULL;

    CHECK(lt_safetensors_load("no-such-file.safetensors", &st) == LT_EIO &&
          strcmp(lt_lasterror(), "cannot read 'no-such-file.safetensors': No such file or "
                 "directory") == 0, "missing file");
    mkdir("a-dir.safetensors", 0755);
    CHECK(lt_safetensors_load("a-dir.safetensors", &st) == LT_EIO &&
          strcmp(lt_lasterror(), "cannot read 'a-dir.safetensors': Is a directory") == 0,
          "directory");
    CHECK(lt_safetensors_save("a-dir.safetensors", 1, nm, ts, 0, NULL, NULL) == LT_EIO &&
          strcmp(lt_lasterror(), "cannot write 'a-dir.safetensors': Is a directory") == 0,
          "save over a directory");
    unlink("fifo.safetensors");
    if (mkfifo("fifo.safetensors", 0600) == 0) {
        CHECK(lt_safetensors_load("fifo.safetensors", &st) == LT_EIO &&
              contains(lt_lasterror(), "not a regular file"), "fifo rejected without hanging");
        unlink("fifo.safetensors");
    }
    CHECK(lt_safetensors_save("no-dir/x.safetensors", 1, nm, ts, 0, NULL, NULL) == LT_EIO &&
          strcmp(lt_lasterror(), "cannot write 'no-dir/x.safetensors': No such file or "
                 "directory") == 0, "missing directory");

    /* Truncated file on disk: the header now claims data past the end. */
    CHECK(lt_safetensors_save("trunc.safetensors", 1, nm, ts, 0, NULL, NULL) == LT_OK, "save");
    CHECK(truncate("trunc.safetensors", 70) == 0, "truncate");
    CHECK(lt_safetensors_load("trunc.safetensors", &st) == LT_EARG &&
          contains(lt_lasterror(), "trunc.safetensors: tensor 'w': data_offsets [0, 16] run past "
                   "the end of the data"), "truncated file");
    CHECK(truncate("trunc.safetensors", 7) == 0, "truncate");
    CHECK(lt_safetensors_load("trunc.safetensors", &st) == LT_EARG &&
          contains(lt_lasterror(), "only 7 bytes"), "truncated to 7 bytes");

    /* Ctrl-C during a save: the previous file stays, no temporary is left. */
    mkdir("intr", 0755);
    CHECK(lt_safetensors_save("intr/m.safetensors", 1, nm, ts, 0, NULL, NULL) == LT_OK, "save");
    lt_tensor *t2 = lt_tensor_full(1, &n4, 9);
    const lt_tensor *ts2[1] = {t2};
    lt_interrupted = 1;
    CHECK(lt_safetensors_save("intr/m.safetensors", 1, nm, ts2, 0, NULL, NULL) == LT_EINTR,
          "interrupted save reports LT_EINTR");
    CHECK(same_as("intr/m.safetensors", F12, 4), "interrupted save keeps the old file");
    CHECK(count_entries("intr") == 1, "interrupted save leaves no temporary");
    unlink("intr/m.safetensors");
    rmdir("intr");

    /* A full and then read-only file system: a 16 KiB tmpfs, when this process may mount. */
    char mnt[64], path[96], cmd[160];
    snprintf(mnt, sizeof mnt, "tmpfs-%ld", (long)getpid());
    snprintf(path, sizeof path, "%s/m.safetensors", mnt);
    mkdir(mnt, 0755);
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=16k tmpfs %s 2>/dev/null", mnt);
    if (geteuid() == 0 && system(cmd) == 0) {
        CHECK(lt_safetensors_save(path, 1, nm, ts, 0, NULL, NULL) == LT_OK, "small save fits");
        int64_t big = 16384;                              /* 64 KiB > 16 KiB */
        lt_tensor *tb = lt_tensor_full(1, &big, 1);
        const lt_tensor *tsb[1] = {tb};
        char want[160];
        snprintf(want, sizeof want, "cannot write '%s': No space left on device", path);
        CHECK(lt_safetensors_save(path, 1, nm, tsb, 0, NULL, NULL) == LT_EIO &&
              strcmp(lt_lasterror(), want) == 0, "disk full is LT_EIO naming the path");
        CHECK(same_as(path, F12, 4), "disk full keeps the old file");
        CHECK(count_entries(mnt) == 1, "disk full leaves no temporary");
        snprintf(cmd, sizeof cmd, "mount -o remount,ro %s", mnt);
        if (system(cmd) == 0) {
            snprintf(want, sizeof want, "cannot write '%s': Read-only file system", path);
            CHECK(lt_safetensors_save(path, 1, nm, ts2, 0, NULL, NULL) == LT_EIO &&
                  strcmp(lt_lasterror(), want) == 0, "read-only is LT_EIO naming the path");
            CHECK(same_as(path, F12, 4), "read-only keeps the old file");
        }
        lt_tensor_free(tb);
        snprintf(cmd, sizeof cmd, "umount %s", mnt);
        CHECK(system(cmd) == 0, "umount");
    } else {
        printf("SKIP: cannot mount a tmpfs here, no disk-full test\n");
    }
    rmdir(mnt);
    lt_tensor_free(t);
    lt_tensor_free(t2);
}

static void test_roundtrip_many(void) {
    /* Several shapes and random values, saved in a given order, loaded back bit-exact. */
    enum { K = 5 };
    lt_tensor *ts[K];
    const lt_tensor *cts[K];
    char namebuf[K][32];
    const char *names[K];
    for (int k = 0; k < K; k++) {
        int64_t shape[4] = {k + 1, 3, 2, k + 2};
        ts[k] = lt_tensor_randn(1 + k % 4, shape);
        cts[k] = ts[k];
        snprintf(namebuf[k], sizeof namebuf[k], "%d.conv2d.weight", K - k);
        names[k] = namebuf[k];
    }
    const char *keys[1] = {"architecture"}, *vals[1] = {"[{\"type\":\"Dense\"}]"};
    CHECK(lt_safetensors_save("many.safetensors", K, names, cts, 1, keys, vals) == LT_OK,
          "save 5 tensors");
    lt_safetensors *st = NULL;
    CHECK(lt_safetensors_load("many.safetensors", &st) == LT_OK && st->n == K, "load 5 tensors");
    for (int k = 0; st && k < K; k++) {
        CHECK(strcmp(st->names[k], names[k]) == 0 && lt_same_shape(st->tensors[k], ts[k]),
              "name and shape");
        CHECK(memcmp(st->tensors[k]->data, ts[k]->data, (size_t)ts[k]->numel * 4) == 0,
              "bit-exact data");
    }
    /* The in-memory parser gives the same as load. */
    FILE *f = fopen("many.safetensors", "rb");
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    lt_safetensors *st2 = NULL;
    CHECK(lt_safetensors_parse(buf, len, "many", &st2) == LT_OK && st2->n == K &&
          memcmp(st2->tensors[K - 1]->data, ts[K - 1]->data, (size_t)ts[K - 1]->numel * 4) == 0,
          "parse from memory");
    /* Every strict prefix of a valid file is rejected cleanly. */
    int all = 1;
    for (size_t cut = 0; cut < len; cut++) {
        lt_safetensors *p = NULL;
        if (lt_safetensors_parse(buf, cut, "cut", &p) == LT_OK) { all = 0; lt_safetensors_free(p); }
    }
    CHECK(all, "every truncation rejected");
    lt_safetensors_free(st);
    lt_safetensors_free(st2);
    for (int k = 0; k < K; k++) lt_tensor_free(ts[k]);
}

int main(void) {
    test_corrupt();
    test_layout();
    test_environment();
    test_roundtrip_many();
    CHECK_DONE();
}
