/* test_pixels.c: the sixel and kitty encoders against byte streams worked out by hand on
 * fixed tiny images (see the comments: palette indices r·36 + g·6 + b of the 6x6x6 cube,
 * sixel characters 63 + bits of the band's rows, base64 by hand). */
#include <stdlib.h>

#include "check.h"
#include "plot/pixels.h"

static void expect_str(char *got, const char *want, const char *name) {
    int ok = got && strcmp(got, want) == 0;
    CHECK(ok, name);
    if (!ok) fprintf(stderr, "  got  %s\n  want %s\n", got ? got + 1 : "(null)", want + 1);
    free(got);
}

static void test_sixel(void) {
    /* 2x2: red black / red red. Black is #0, red (5,0,0) is #180 = 100% red. One band:
     * colour 0 at (0,1) only: columns '?' (0) then '@' (bit 0); colour 180: column 0 rows
     * 0-1 (bits 0b11: 'B'), column 1 row 1 (0b10: 'A'). */
    const uint8_t a[] = {255, 0, 0, 0, 0, 0, 255, 0, 0, 255, 0, 0};
    size_t n = 0;
    char *s = lt_sixel_encode(a, 2, 2, &n);
    CHECK(s && n == strlen(s), "sixel: the length");
    expect_str(s, "\033Pq\"1;1;2;2#0;2;0;0;0#180;2;100;0;0#0?@$#180BA\033\\", "sixel: 2x2 by hand");
    /* 6x1 red: one run of six '@' (bit 0) */
    uint8_t r6[18];
    for (int i = 0; i < 6; i++) { r6[3 * i] = 255; r6[3 * i + 1] = 0; r6[3 * i + 2] = 0; }
    expect_str(lt_sixel_encode(r6, 6, 1, NULL), "\033Pq\"1;1;6;1#180;2;100;0;0#180!6@\033\\",
               "sixel: a run of 6 as !6@");
    /* 1x7 grey (128 → level 3: #129 = 3·36+3·6+3, 60%): two bands, '~' (all six rows, 63+63)
     * then '@' (the 7th row alone), separated by - */
    uint8_t g7[21];
    for (int i = 0; i < 21; i++) g7[i] = 128;
    expect_str(lt_sixel_encode(g7, 1, 7, NULL), "\033Pq\"1;1;1;7#129;2;60;60;60#129~-#129@\033\\",
               "sixel: two bands");
    /* 3x1: blue, black, black: the trailing empty columns of colour 5 (blue) dropped */
    const uint8_t b3[] = {0, 0, 255, 0, 0, 0, 0, 0, 0};
    expect_str(lt_sixel_encode(b3, 3, 1, NULL),
               "\033Pq\"1;1;3;1#0;2;0;0;0#5;2;0;0;100#0?@@$#5@\033\\", "sixel: trailing columns dropped");
    CHECK(lt_sixel_encode(a, 0, 2, NULL) == NULL, "sixel: zero width refused");
    CHECK(lt_sixel_encode(a, 2, 9000, NULL) == NULL, "sixel: too tall refused");
}

static void test_kitty(void) {
    /* 1x1 red: bytes ff 00 00 → base64 "/wAA" */
    const uint8_t red[] = {255, 0, 0};
    size_t n = 0;
    char *s = lt_kitty_encode(red, 1, 1, &n);
    CHECK(s && n == strlen(s), "kitty: the length");
    expect_str(s, "\033_Ga=T,f=24,s=1,v=1,q=2;/wAA\033\\", "kitty: 1x1 red");
    /* 2x1: 01 02 03 04 05 06 → "AQID" "BAUG" */
    const uint8_t px[] = {1, 2, 3, 4, 5, 6};
    expect_str(lt_kitty_encode(px, 2, 1, NULL), "\033_Ga=T,f=24,s=2,v=1,q=2;AQIDBAUG\033\\",
               "kitty: 2x1 by hand");
    /* 1366x1 zeros: 4,098 bytes → 5,464 base64 characters: a chunk of 4,096 with m=1, then
     * the last 1,368 with m=0 */
    uint8_t *z = calloc(1366 * 3, 1);
    char *c = lt_kitty_encode(z, 1366, 1, &n);
    const char *h1 = "\033_Ga=T,f=24,s=1366,v=1,q=2,m=1;";
    size_t l1 = strlen(h1);
    int ok = c && strncmp(c, h1, l1) == 0 && strncmp(c + l1 + 4096, "\033\\\033_Gm=0;", 9) == 0 &&
             n == l1 + 4096 + 2 + 7 + 1368 + 2 && strcmp(c + n - 2, "\033\\") == 0;
    for (size_t i = 0; ok && i < 4096; i++) ok = c[l1 + i] == 'A';
    CHECK(ok, "kitty: chunks of 4096 with m=1 then m=0");
    free(c);
    free(z);
    CHECK(lt_kitty_encode(red, -1, 1, NULL) == NULL, "kitty: bad size refused");
}

int main(void) {
    test_sixel();
    test_kitty();
    CHECK_DONE();
}
