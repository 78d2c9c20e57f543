/* l_data.h: what the data bindings share with the augmentation layers' bindings
 * (l_augment.c): reading augmentation options from a Lua table. */
#ifndef LT_L_DATA_H
#define LT_L_DATA_H

#include "data/augment.h"
#include "lua/l_util.h"

/* Reads a Keras-style factor at field `key` of the table at idx into r: a number f
 * gives [-f, f], a table {lo, hi} gives [lo, hi], absent gives def. Raises on bad values. */
void lt_lua_factor(lua_State *L, int idx, const char *key, const char *fn, float *r, float def);
/* Reads fill ('reflect'|'wrap'|'nearest'|'constant'), fill_value and interpolation
 * ('bilinear'|'nearest') of the table at idx into o. */
void lt_lua_fill_opts(lua_State *L, int idx, const char *fn, lt_augment_opts *o);
/* Parses a flip mode name ('horizontal', 'vertical', 'horizontal_and_vertical'). */
int lt_lua_flip_mode(lua_State *L, const char *mode, const char *fn);

#endif
