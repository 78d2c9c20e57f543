/* l_nn.h: what the nn and optim bindings share: the optimizer userdata (the network's
 * training step takes one). */
#ifndef LT_L_NN_H
#define LT_L_NN_H

#include "lua/l_util.h"
#include "nn/layer.h"
#include "nn/net.h"
#include "nn/optim.h"

#define OPTIM_MT "lunette.Optimizer"
typedef struct { lt_optim *o; } LOptim;

/* The optimizer at idx or a "bad argument" error naming lunette.Optimizer. */
lt_optim *lt_lua_checkoptim(lua_State *L, int idx);

/* Pushes a new lunette.Layer owning l (for layer kinds defined outside l_nn.c, e.g. the
 * augmentation layers). config_idx: a table of the layer's Keras-style config (saved with
 * models; nn[config.class](config) must rebuild the layer), or 0 for an empty one; its
 * "class" defaults to l's kind. The layer starts in inference mode. */
void lt_lua_pushlayer(lua_State *L, lt_layer *l, int config_idx);
/* The C network of the lunette.Net at idx (a model's _net; a "bad argument" error
 * otherwise, or an error while it runs). */
lt_net *lt_lua_checknet(lua_State *L, int idx);
/* The C layer of the lunette.Layer at idx (a "bad argument" error otherwise). */
lt_layer *lt_lua_checklayer(lua_State *L, int idx);

#endif
