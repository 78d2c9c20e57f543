-- test_optim.lua: optim objects from Lua: Keras defaults, steps against hand-computed
-- values, several tensors in one step, state save/restore, and argument errors.
local T = require "check"
local L = require "lunette"
local optim, tensor, nn = L.optim, L.tensor, L.nn

T.check(math.abs(optim.SGD().lr - 0.01) < 1e-9, "SGD default lr 0.01")
T.check(math.abs(optim.Adam().lr - 1e-3) < 1e-9, "Adam default lr 1e-3")
T.check(optim.Adam():config().beta2 > 0.9989 and optim.RMSprop():config().rho > 0.899, "defaults")

-- SGD with momentum: w=1, g=0.5 twice, lr 0.1, mu 0.9 → 0.95, then v=-0.095 → 0.855
local w, g = tensor { 1 }, tensor { 0.5 }
local o = optim.SGD { lr = 0.1, momentum = 0.9 }
o:step({ w }, { g })
T.close(w, { 0.95 }, 1e-6, "sgd momentum step 1")
o:step({ w }, { g })
T.close(w, { 0.855 }, 1e-6, "sgd momentum step 2")

-- Nesterov: 1 + (0.9*-0.05 - 0.05) = 0.905; v=-0.095: 0.905 + (0.9*-0.095 - 0.05) = 0.7695
w = tensor { 1 }
o = optim.SGD { lr = 0.1, momentum = 0.9, nesterov = true }
o:step({ w }, { g }); o:step({ w }, { g })
T.close(w, { 0.7695 }, 1e-6, "nesterov two steps")

-- Adam (Keras update, eps outside the bias correction): values from the formula by hand
w = tensor { 1, 1 }
o = optim.Adam { learning_rate = 0.1 }
o:step(w, tensor { 0.5, 0.5 })
T.close(w, { 0.9000006324515321, 0.9000006324515321 }, 2e-6, "adam step 1")
o:step(w, tensor { -0.25, -0.25 })
T.close(w, { 0.8733670792079219, 0.8733670792079219 }, 2e-6, "adam step 2")
T.check(o.iterations == 2, "iterations")

-- RMSprop: v = 0.025, w = 1 - 0.1*0.5/sqrt(0.025+1e-7)
w = tensor { 1 }
o = optim.RMSprop { lr = 0.1 }
o:step({ w }, { g })
T.close(w, { 0.6837728664367966 }, 2e-6, "rmsprop step")

-- state round trip: a copy continues exactly like the original
local a, b = tensor { 1, 2, 3 }, tensor { 1, 2, 3 }
local oa, ob = optim.Adam { lr = 0.01 }, optim.Adam { lr = 0.01 }
oa:step(a, tensor { 0.1, -0.2, 0.3 })
b:copy(a)
ob:set_state(oa:state())
oa:step(a, tensor { 0.3, 0.1, -0.1 }); ob:step(b, tensor { 0.3, 0.1, -0.1 })
T.close(a, b, 0, "restored state continues identically")

-- a layer's parameters
local d = nn.Dense { 2, input_shape = { 3 } }
local p, gr = d:parameters()
gr[2]:fill(1)
local before = d.bias:get(1)
optim.SGD { lr = 0.5 }:step(p, gr)
T.close(d.bias:get(1), before - 0.5, 1e-7, "step on layer parameters")

-- errors
T.raises(function() optim.SGD():step({ tensor { 1 }, tensor { 2 } }, { tensor { 1 } }) end,
  "SGD:step: 2 parameters but 1 gradients")
T.raises(function() optim.SGD():step({ tensor { 1, 2 } }, { tensor { 1 } }) end,
  "SGD:step: parameter 1 has shape 2 but its gradient 1")
T.raises(function() optim.Adam { lr = -1 } end, "optim.Adam: lr must be positive, got -1")
T.raises(function() optim.SGD { momentum = 1.5 } end, "momentum must be in [0, 1)")
T.raises(function() local x = optim.SGD(); x.momentum = 2 end, "cannot set 'momentum'")
local s = optim.SGD(); s.lr = 0.5
T.close(s.lr, 0.5, 1e-7, "lr can change")
T.done()
