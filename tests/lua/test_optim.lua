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
ob:set_state(b, oa:state(a))
oa:step(a, tensor { 0.3, 0.1, -0.1 }); ob:step(b, tensor { 0.3, 0.1, -0.1 })
T.close(a, b, 0, "restored state continues identically")
-- a wrong state is named (it said "bad argument #-2 to 'set_state'")
T.raises(function() ob:set_state(b, { m = 3 }) end, "Adam:set_state: state.m must be a tensor, got number")
T.raises(function() ob:set_state(b, { v = "x" }) end, "Adam:set_state: state.v must be a tensor, got string")
T.raises(function() ob:set_state(b, 7) end, "Adam:set_state: the state must be a table {iterations, m, v}")

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
T.raises(function() optim.Adam { lr = -1 } end, "optim.Adam: lr must be a positive finite number, got -1")
T.raises(function() optim.SGD { momentum = 1.5 } end, "momentum must be in [0, 1)")
T.raises(function() local x = optim.SGD(); x.momentum = 2 end, "cannot set 'momentum'")
local s = optim.SGD(); s.lr = 0.5
T.close(s.lr, 0.5, 1e-7, "lr can change")

-- ---- issue 16: state per parameter, decay, clipping, schedules, printing, bad input ----

-- a model stepped layer by layer (once each per iteration) = one step over all of its
-- parameters, bit for bit, whatever the optimizer's options (but global_clipnorm, whose
-- norm is that of the gradients one call is given)
local function twin()
  L.seed(5)
  local m = nn.Sequential { nn.Input { 6, 6, 2 }, nn.Conv2D { 3, 3 }, nn.Flatten(), nn.Dense { 4 } }
  m:parameters()   -- builds the weights now, from the seed
  return m
end
for _, mk in ipairs {
  function() return optim.Adam { lr = 0.01, weight_decay = 0.1, clipnorm = 0.5 } end,
  function() return optim.AdamW { lr = 0.01, clipvalue = 0.05 } end,
  function() return optim.SGD { lr = 0.05, momentum = 0.9, clipvalue = 0.01 } end,
  function() return optim.RMSprop { lr = optim.schedules.ExponentialDecay { initial_learning_rate = 0.01,
    decay_steps = 1, decay_rate = 0.5 } } end } do
  local a, b = twin(), twin()
  local oa, ob = mk(), mk()
  local x = tensor.randn { 3, 6, 6, 2 }
  for it = 1, 3 do
    for _, m in ipairs { a, b } do
      m:zero_grad()
      local y = m:forward(x, { training = true })
      m:backward(y * 1)     -- d(sum y²/2)/dy = y
    end
    local pa, ga = a:parameters()
    oa:step(pa, ga)
    for i, l in ipairs(b.layers) do
      local p, g = l:parameters()
      if #p > 0 then ob:step(p, g) end
    end
  end
  local pa, pb = a:parameters(), b:parameters()
  local same = true
  for i = 1, #pa do
    for k, v in ipairs(pa[i]:reshape(-1):totable()) do same = same and v == pb[i]:reshape(-1):get(k) end
  end
  T.check(same, oa.name .. ": layer by layer = one step over all, bit for bit")
  T.check(oa.iterations == 3 and ob.iterations == 3, oa.name .. ": 3 iterations either way")
  local st = ob:state()
  T.check(#st.params == 4 and st.params[1].t == 3 and st.params[1].size == 54, "opt:state() per tensor")
end

-- fit uses the same per-parameter state as opt:step on the layers' tensors
do
  local m = twin()
  local opt = optim.Adam { lr = 0.01 }
  m:compile { optimizer = opt, loss = "mse" }
  m:fit(tensor.randn { 4, 6, 6, 2 }, tensor.randn { 4, 4 }, { epochs = 2, batch_size = 2, verbose = 0 })
  T.check(opt.iterations == 4, "fit: 4 steps")
  local s = opt:state()
  T.check(#s.params == 4 and s.params[3].t == 4, "fit keeps the state per layer tensor")
  local p = m:parameters()
  T.check(opt:state(p[1]).iterations == 4 and opt:state(p[1]).m:numel() == 54, "opt:state(params)")
end

-- weight decay: only kernels decay (a zero gradient isolates the decay)
do
  local d = nn.Dense { 2, input_shape = { 2 } }
  local p, g = d:parameters()
  p[1]:fill(1); p[2]:fill(1)
  optim.SGD { lr = 0.5, weight_decay = 0.1 }:step(p, g)
  T.close(p[1], { { 0.95, 0.95 }, { 0.95, 0.95 } }, 1e-7, "SGD weight_decay: w -= w·wd·lr")
  T.close(p[2], { 1, 1 }, 0, "the bias does not decay")
  local bn = nn.BatchNorm { input_shape = { 3 } }
  local bp, bg = bn:parameters()
  bp[1]:fill(2)
  optim.AdamW { weight_decay = 0.5, lr = 0.1 }:step(bp, bg)
  T.close(bp[1], { 2, 2, 2 }, 0, "BatchNorm's scale does not decay")
end

-- numbers print as written
T.check(tostring(optim.SGD { lr = 0.1 }) == "SGD(lr=0.1, iterations=0)", tostring(optim.SGD { lr = 0.1 }))
T.check(optim.SGD { lr = 0.1 }:config().lr == 0.1, "config keeps the user's lr")
T.check(optim.SGD { lr = 0.1 }.lr == 0.1, "opt.lr as written")
T.check(tostring(optim.AdamW { lr = 3e-4, clipnorm = 1 }) == "AdamW(lr=0.0003, weight_decay=0.01, clipnorm=1, iterations=0)",
  tostring(optim.AdamW { lr = 3e-4, clipnorm = 1 }))
local cs = optim.schedules.CosineDecay { initial_learning_rate = 0.1, decay_steps = 1000 }
T.check(tostring(cs) == "CosineDecay(initial_learning_rate=0.1, decay_steps=1000)", tostring(cs))
T.check(tostring(optim.SGD { lr = cs }) == "SGD(lr=CosineDecay(initial_learning_rate=0.1, decay_steps=1000), iterations=0)",
  tostring(optim.SGD { lr = cs }))

-- schedules from Lua: closed forms
local ed = optim.schedules.ExponentialDecay { initial_learning_rate = 0.1, decay_steps = 100, decay_rate = 0.96 }
T.close(ed(250), 0.1 * 0.96 ^ 2.5, 1e-15, "ExponentialDecay(250)")
local pc = optim.schedules.PiecewiseConstant { boundaries = { 10, 20 }, values = { 1, 0.5, 0.25 } }
T.check(pc(10) == 1 and pc(11) == 0.5 and pc(21) == 0.25, "PiecewiseConstant")
T.close(cs(500), 0.05, 1e-15, "CosineDecay halfway")
local wu = optim.schedules.CosineDecay { initial_learning_rate = 0, warmup_target = 0.1, warmup_steps = 10, decay_steps = 90 }
T.close(wu(5), 0.05, 1e-15, "warm-up halfway")
local oc = optim.schedules.OneCycle { max_lr = 0.1, total_steps = 100 }
T.close(oc(0), 0.004, 1e-15, "OneCycle starts at max_lr/25")
T.check(pc:config().name == "PiecewiseConstant" and pc.values[3] == 0.25, "schedule config")
local so = optim.SGD { lr = pc }
T.check(so.lr == 1 and so.schedule.name == "PiecewiseConstant", "opt.lr is the schedule's value")
so.lr = 0.3
T.check(so.lr == 0.3 and so.schedule == nil, "a number replaces the schedule")

-- a model with a schedule saves and loads it
do
  local m = twin()
  m:compile { optimizer = optim.SGD { lr = pc, momentum = 0.5 }, loss = "mse" }
  m:fit(tensor.randn { 2, 6, 6, 2 }, tensor.randn { 2, 4 }, { epochs = 1, verbose = 0 })
  local path = os.tmpname()
  m:save(path)
  local m2 = nn.load(path)
  os.remove(path)
  T.check(m2.optimizer.schedule ~= nil and m2.optimizer.schedule.values[2] == 0.5, "schedule saved and loaded")
  T.check(m2.optimizer.iterations == 1, "iterations restored")
  local p1, p2 = m:parameters(), m2:parameters()
  T.close(m2.optimizer:state(p2[1]).m, m.optimizer:state(p1[1]).m, 0, "momentum restored per tensor")
end

-- bad input names the value
T.raises(function() optim.SGD { weight_decay = -0.1 } end, "optim.SGD: weight_decay must be a finite number >= 0, got -0.1")
T.raises(function() optim.Adam { weight_decay = 0 / 0 } end, "weight_decay must be a finite number >= 0, got")
T.raises(function() optim.Adam { lr = math.huge } end, "optim.Adam: lr must be a positive finite number, got inf")
T.raises(function() optim.SGD { clipnorm = -1 } end, "optim.SGD: clipnorm must be a positive finite number, got -1")
T.raises(function() optim.RMSprop { clipvalue = 0 } end, "clipvalue must be a positive finite number, got 0")
T.raises(function() optim.AdamW { global_clipnorm = 1 / 0 } end, "global_clipnorm must be a positive finite number, got inf")
T.raises(function() optim.SGD { clipnorm = 1, clipvalue = 1 } end, "only one of clipnorm, clipvalue and global_clipnorm")
T.raises(function() optim.SGD { lr = "fast" } end, "'lr' must be a number or an optim.schedules object, got string")
T.raises(function() local x = optim.SGD(); x.lr = -2 end, "SGD: lr must be a positive finite number, got -2")
T.raises(function() optim.schedules.ExponentialDecay { initial_learning_rate = 0.1, decay_steps = 0, decay_rate = 0.5 } end,
  "decay_steps must be a positive finite number, got 0")
T.raises(function() optim.schedules.PiecewiseConstant { boundaries = { 10 }, values = { 1 } } end,
  "1 boundaries need 2 values, got 1")
T.raises(function() optim.schedules.PiecewiseConstant { boundaries = { 10, 5 }, values = { 1, 2, 3 } } end,
  "boundaries must increase, got 5 after 10")
T.raises(function() optim.schedules.CosineDecay { decay_steps = 10 } end, "missing argument 'initial_learning_rate'")
T.raises(function() optim.schedules.OneCycle { max_lr = 1, total_steps = 100, pct_start = 1.5 } end,
  "pct_start must be in (0, 1), got 1.5")
T.raises(function() cs(-1) end, "step must be a finite number >= 0, got -1")
T.done()
