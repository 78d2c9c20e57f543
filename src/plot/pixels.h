/* pixels.h: images as real pixels for terminals that can show them: the sixel format
 * (DEC, as xterm -ti vt340, mlterm, foot, WezTerm implement it) and the kitty graphics
 * protocol. Pure encoders from 8-bit RGB to the escape sequences; choosing when to use
 * them is the caller's (lunette.graphics). */
#ifndef LT_PIXELS_H
#define LT_PIXELS_H

#include <stddef.h>
#include <stdint.h>

/* Sixel: ESC P q, raster attributes "1;1;w;h (square pixels), the palette of the colours
 * used (each pixel mapped to the nearest of the 6x6x6 cube, index r·36 + g·6 + b, defined
 * as #i;2;R;G;B in percent), then bands of 6 rows: per colour present in the band, in
 * index order, #i and one character 63 + (bit k set when row k of the band has that
 * colour) per column, runs of 4 or more as !n<char>, the trailing empty columns dropped,
 * colours separated by $ and bands by -; then ESC \. rgb is h rows of w·3 bytes. Returns a
 * malloc'd NUL-terminated string (*len its length, may be NULL), NULL on a bad size or no
 * memory. */
char *lt_sixel_encode(const uint8_t *rgb, int w, int h, size_t *len);

/* Kitty graphics: the RGB data (f=24) transmitted and shown at the cursor (a=T), replies
 * suppressed (q=2), base64 in chunks of 4096: ESC _G a=T,f=24,s=w,v=h,q=2[,m=1] ; data
 * ESC \ then ESC _G m=1 (more) or m=0 (last) ; data ESC \ for the rest. Same ownership as
 * lt_sixel_encode. */
char *lt_kitty_encode(const uint8_t *rgb, int w, int h, size_t *len);

#endif
