-- fuzz/lua_api.lua: a fuzzer of the Lua API. Run by lunette (the sanitizer build in CI):
--   build-asan/lunette fuzz/lua_api.lua -- SEED STEPS [LOG]
-- Run it in a scratch directory: calls like model:save(name) write files where it runs.
-- From SEED it draws STEPS calls over a pool of values: tensors and views, layers, models
-- (Sequential and graph, compiled ones with data), symbolic tensors, optimizers (with weight
-- decay, clipping, schedules), schedules, regularizers, callbacks, fit histories, plots,
-- hostile tables (an __index that finalises pool objects or collects, a __close, option
-- tables with the API's option names and edge values), edge-case numbers and strings. Each
-- call is a random function or method of the API with random arguments from the pool; its
-- results join the pool. Between calls: collections, explicit __gc and __close calls on
-- pool objects, objects dropped. Errors are expected; what counts as a failure is what ends
-- the process (a sanitizer report, a signal) or a call that does not return (fuzz/run
-- times every process out). Each step is written to LOG before it runs, so a failure is
-- replayed by running the same SEED again (or read from the log).
local L = require "lunette"
local tensor, nn, optim, data, metrics, plot = L.tensor, L.nn, L.optim, L.data, L.metrics, L.plot

local seed, steps, logpath = tonumber(arg and arg[1]) or 1, tonumber(arg and arg[2]) or 2000, arg and arg[3]
local log = logpath and io.open(logpath, "w")
math.randomseed(seed)
L.seed(seed)
L.max_elements(1 << 20)            -- keep every allocation small: the fuzzer looks for misuse
local rnd = math.random
local function pick(t) return t[rnd(#t)] end

-- ---- the pool ----
local pool = {}
local function add(v)
  -- a string result may hold a path (an error message names this file by its absolute
  -- path): model:save(it) wrote files into the source tree's fuzz/, so no '/' joins the pool
  if type(v) == "string" then v = v:gsub("/", "_") end
  if v ~= nil then pool[#pool + 1] = v; if #pool > 200 then table.remove(pool, rnd(#pool)) end end
end
local function any() return #pool > 0 and pool[rnd(#pool)] or nil end
local function of(pred) local c = {} for _, v in ipairs(pool) do if pred(v) then c[#c + 1] = v end end return #c > 0 and pick(c) or nil end

local NUMBERS = { 0, 1, 2, 3, 4, -1, 0.5, 1e-7, 7, 16, 32, 2 ^ 31, 2 ^ 62, math.maxinteger, math.mininteger,
  0 / 0, 1 / 0, -1 / 0, 1e300, -1e300, -0.0, 1e-300, 0.3, 0.999, 2 ^ 53, -2 ^ 31, -7 }
-- the option names of the API (an option table drawn from these gets past the unknown-key check)
local OPTION_NAMES = { "trainable", "class_weight", "sample_weight", "monitor", "weight_decay", "clipnorm",
  "clipvalue", "global_clipnorm", "kernel_regularizer", "lr", "learning_rate", "momentum", "nesterov", "beta1",
  "beta2", "eps", "rho", "initial_learning_rate", "decay_steps", "decay_rate", "staircase", "boundaries",
  "values", "alpha", "warmup_target", "warmup_steps", "max_lr", "total_steps", "pct_start", "div_factor",
  "final_div_factor", "factor", "patience", "min_lr", "min_delta", "cooldown", "mode", "verbose", "epochs",
  "batch_size", "shuffle", "validation_data", "validation_split", "callbacks", "layer", "class", "label",
  "classes", "true_class", "pred_class", "x", "y_true", "y_pred", "model", "bins", "kind", "l1", "l2",
  "show_trainable", "start_lr", "end_lr", "steps", "diverge", "smooth", "normalize", "title", "width", "height",
  "cols", "iterations", "m", "v", "params", "_fields", "units", "filters", "activation", "optimizer", "loss",
  "metrics", "min", "max", "restore_best_weights", "training" }
local STRINGS = { "", "same", "valid", "relu", "softmax", "mse", "sparse_categorical_crossentropy", "adam",
  "accuracy", "x\0y", string.rep("a", 300), "weight", "bias", "name", "__gc", "/tmp/lunette-fuzz.safetensors",
  "val_loss", "loss", "val_accuracy", "auto", "min", "max", "weights", "activations", "text", "sixel", "kitty",
  "trainable", "lr", "monitor", "class_weight", "conv2d", "dense", "conv2d_1", "%s%n", "weight_decayy" }
for _, k in ipairs(OPTION_NAMES) do STRINGS[#STRINGS + 1] = k end
local function number() return rnd() < 0.7 and rnd(0, 5) or pick(NUMBERS) end
local function shape() local s = {} for i = 1, rnd(1, 4) do s[i] = rnd() < 0.9 and rnd(1, 6) or pick(NUMBERS) end return s end

local function edge()              -- a number for an option: mostly plausible, often not
  local r = rnd()
  if r < 0.3 then return rnd() end
  if r < 0.5 then return rnd(0, 10) end
  return pick(NUMBERS)
end
local function option_value()
  local r = rnd()
  if r < 0.5 then return edge() end
  if r < 0.6 then return rnd() < 0.5 end
  if r < 0.7 then return pick(STRINGS) end
  if r < 0.8 then local t = {} for i = 1, rnd(0, 4) do local k = rnd() < 0.8 and i or edge(); if k == k then t[k] = edge() end end return t end
  return any()
end
-- plausible values of the options, so that most calls get past the checks to the work
local function int(a, b) return function() return rnd(a, b) end end
local function num(v) return function() return v * (0.5 + rnd()) end end
local function bool() return rnd() < 0.5 end
local SANE = { epochs = int(1, 2), batch_size = int(1, 4), verbose = int(0, 0), shuffle = bool,
  validation_split = function() return rnd() < 0.8 and 0.5 or rnd() end, monitor = bool, class = int(0, 2),
  label = int(0, 2), true_class = int(0, 2), pred_class = int(0, 2), classes = function() return { "a", "b", "c" } end, alpha = num(0.4), title = function() return "t" end,
  width = int(20, 60), height = int(5, 15), bins = int(1, 8), min = num(-1), max = num(1), cols = int(1, 3),
  kind = function() return pick { "weights", "activations" } end, layer = function() return pick { "conv2d", "dense", "conv2d_1", 1, 2 } end,
  start_lr = num(1e-4), end_lr = num(1), steps = int(2, 6), diverge = num(4), smooth = num(0.5),
  normalize = bool, factor = num(0.4), patience = int(0, 2), min_lr = num(1e-5), min_delta = num(1e-4),
  cooldown = int(0, 1), mode = function() return pick { "auto", "min", "max" } end, l1 = num(1e-3), l2 = num(1e-3),
  initial_learning_rate = num(0.05), decay_steps = int(1, 20), decay_rate = num(0.5), staircase = bool,
  boundaries = function() return { 2, 5 } end, values = function() return { 0.1, 0.01, 0.001 } end,
  max_lr = num(0.05), total_steps = int(2, 30), pct_start = num(0.3), div_factor = num(25), final_div_factor = num(1e4),
  warmup_steps = int(0, 5), warmup_target = num(0.1), momentum = num(0.5), nesterov = bool, beta1 = num(0.6),
  beta2 = num(0.6), eps = num(1e-7), rho = num(0.6), weight_decay = num(1e-3), clipnorm = num(1), clipvalue = num(1),
  global_clipnorm = num(1), trainable = bool }
local function options(names, required)   -- an option table for a call taking these names
  local t = {}
  for _, k in ipairs(required or {}) do if rnd() < 0.97 then t[k] = SANE[k]() end end
  for _ = 1, rnd(0, 4) do
    local k = pick(names)
    t[k] = (SANE[k] and rnd() < 0.93) and SANE[k]() or option_value()
  end
  if rnd() < 0.04 then t[pick(OPTION_NAMES)] = option_value() end    -- often unknown to the call
  if rnd() < 0.02 then t[rnd(1, 3)] = option_value() end
  if rnd() < 0.05 then                                               -- reads that collect
    setmetatable(t, { __index = function() collectgarbage() return any() end })
  end
  return t
end

local function hostile()
  local kind = rnd(6)
  if kind == 5 then return options(OPTION_NAMES) end
  if kind == 6 then                  -- a class_weight-like map with edge keys and values
    local t = {}
    for _ = 1, rnd(1, 4) do
      local k = rnd() < 0.6 and rnd(0, 4) or pick(NUMBERS)
      if k == k then t[k] = edge() end
    end
    return t
  end
  if kind == 1 then       -- an __index that finalises a pool object and collects
    return setmetatable({}, { __index = function()
      local v = any()
      local mt = v ~= nil and getmetatable(v)
      if type(mt) == "table" and type(rawget(mt, "__gc")) == "function" then pcall(rawget(mt, "__gc"), v) end
      collectgarbage()
    end })
  elseif kind == 2 then   -- an options table with random keys and values
    local t = {}
    for _ = 1, rnd(0, 4) do t[pick(STRINGS)] = rnd() < 0.5 and number() or any() end
    for i = 1, rnd(0, 3) do t[i] = rnd() < 0.5 and number() or any() end
    return t
  elseif kind == 3 then   -- a list of pool values
    local t = {}
    for i = 1, rnd(1, 4) do t[i] = any() end
    return t
  end
  return setmetatable({}, { __close = function() collectgarbage() end, __len = function() return 2 ^ 62 end })
end

local function arg_value()
  local r = rnd()
  if r < 0.45 then return any() end
  if r < 0.65 then return number() end
  if r < 0.75 then return pick(STRINGS) end
  if r < 0.85 then return shape() end
  if r < 0.95 then return hostile() end
  return nil
end

-- ---- makers: well-formed objects, so calls get past argument checks ----
local function new_tensor() return tensor.randn(table.unpack(shape())) end
local LAYERS = {
  function() return nn.Dense { rnd(1, 5), activation = pick { "relu", "softmax", "linear" } } end,
  function() return nn.Conv2D { filters = rnd(1, 4), kernel = rnd(1, 3), padding = pick { "same", "valid" }, stride = rnd(1, 2) } end,
  function() return nn.Conv1D { filters = rnd(1, 4), kernel = rnd(1, 3) } end,
  function() return nn.MaxPool2D { rnd(1, 2) } end,
  function() return nn.AvgPool2D { rnd(1, 2), padding = "same" } end,
  function() return nn.GlobalAvgPool2D() end,
  function() return nn.Flatten() end,
  function() return nn.Dropout(0.5) end,
  function() return nn.BatchNorm() end,
  function() return nn.Embedding { 5, 3 } end,
  function() return nn.ReLU() end,
  function() return pick { nn.Add, nn.Multiply, nn.Maximum, nn.Average, nn.Subtract }() end,
  function() return nn.Concatenate { axis = pick { -1, 1, 2 } } end,
  function() return nn.Lambda { forward = function(x) local v = any(); collectgarbage(); return x end,
                                backward = function(x, dy) return dy end } end,
}
local function new_regularizer()
  local r = rnd(3)
  local x = rnd() < 0.8 and 1e-3 * rnd() or edge()
  if r == 1 then return nn.l1(x) elseif r == 2 then return nn.l2(x) end
  return nn.l1_l2(options { "l1", "l2" })
end
local function new_schedule()
  local S = optim.schedules
  return pick {
    function() return S.ExponentialDecay(options({ "initial_learning_rate", "decay_steps", "decay_rate", "staircase" },
                                                { "initial_learning_rate", "decay_steps", "decay_rate" })) end,
    function() return S.CosineDecay(options({ "initial_learning_rate", "decay_steps", "alpha", "warmup_target", "warmup_steps" },
                                           { "initial_learning_rate", "decay_steps" })) end,
    function() return S.PiecewiseConstant { boundaries = { rnd(0, 3), rnd() < 0.8 and rnd(4, 9) or edge() },
                                            values = { 0.1, rnd() < 0.8 and 0.01 or edge(), 0.001 } } end,
    function() return S.OneCycle(options({ "max_lr", "total_steps", "pct_start", "div_factor", "final_div_factor" },
                                        { "max_lr", "total_steps" })) end,
  }()
end
local OPTIMS = { "SGD", "Adam", "AdamW", "RMSprop" }
local function new_optimizer()
  local name = pick(OPTIMS)
  local o = options { "weight_decay", "clipnorm", "clipvalue", "global_clipnorm",
    table.unpack(name == "SGD" and { "momentum", "nesterov" } or name == "RMSprop" and { "rho", "eps" } or { "beta1", "beta2", "eps" }) }
  local clips = 0
  for _, k in ipairs { "clipnorm", "clipvalue", "global_clipnorm" } do
    if rawget(o, k) ~= nil then clips = clips + 1; if clips > 1 and rnd() < 0.8 then o[k] = nil end end
  end
  o.lr = rnd() < 0.3 and (rnd() < 0.1 and any() or new_schedule()) or (rnd() < 0.8 and 0.01 or edge())
  return optim[name](o)
end
local function layer_opts(t)          -- the new layer options on a well-formed layer
  if rnd() < 0.3 then t.trainable = rnd() < 0.03 and option_value() or rnd() < 0.5 end
  if rnd() < 0.3 then t.kernel_regularizer = rnd() < 0.97 and new_regularizer() or option_value() end
  return t
end
LAYERS[#LAYERS + 1] = function() return nn.Dense(layer_opts { rnd(1, 5), activation = pick { "relu", "softmax" } }) end
LAYERS[#LAYERS + 1] = function() return nn.Conv2D(layer_opts { rnd(1, 3), rnd(1, 3), padding = "same" }) end
LAYERS[#LAYERS + 1] = function() return nn.Conv1D(layer_opts { filters = rnd(1, 3), kernel = rnd(1, 2) }) end
local function new_layer() return pick(LAYERS)() end
local DATA = setmetatable({}, { __mode = "k" })   -- a compiled model's own x, y
-- what a callback or a Lua layer may do to the model that runs it (re-entrant calls,
-- freezing, a new rate or state, a collection): each is refused cleanly or works
local function meddle(m)
  local r = rnd(8)
  if r == 1 then collectgarbage()
  elseif r == 2 then m.trainable = rnd() < 0.5
  elseif r == 3 then local l = m.layers[rnd(#m.layers)]; l.trainable = rnd() < 0.5
  elseif r == 4 then m.optimizer.lr = rnd() < 0.5 and rnd() or new_schedule()
  elseif r == 5 then m.optimizer:set_state(m:parameters(), { iterations = rnd(0, 5) })
  elseif r == 6 then m:predict(DATA[m] and DATA[m][1] or any())
  elseif r == 7 then m:train_on_batch(DATA[m] and DATA[m][1] or any(), DATA[m] and DATA[m][2] or any())
  else m.optimizer = rnd() < 0.5 and new_optimizer() or option_value() end
end
local function new_callback(m)
  if m and rnd() < 0.4 then
    local f = function() if rnd() < 0.3 then meddle(m) end end
    return { [pick { "on_batch_end", "on_epoch_end", "on_epoch_begin", "on_train_begin" }] = f }
  end
  if rnd() < 0.5 then
    return nn.LearningRateScheduler(function(epoch, lr)
      if rnd() < 0.1 then collectgarbage() end
      return rnd() < 0.8 and lr * rnd() or rnd() < 0.5 and edge() or option_value()
    end, rnd() < 0.3 and options { "verbose" } or nil)
  end
  return nn.ReduceLROnPlateau(options { "monitor", "factor", "patience", "verbose", "mode", "min_delta", "cooldown", "min_lr" })
end
local function new_model()
  if rnd() < 0.5 then
    local ls = { nn.Input(shape()) }
    for i = 2, rnd(2, 4) do ls[i] = of(function(v) return getmetatable(v) == getmetatable(nn.ReLU()) end) or new_layer() end
    return nn.Sequential(ls)
  end
  local inp = nn.Input(shape())
  local h, prev = inp, inp
  for _ = 1, rnd(1, 4) do
    local l = new_layer()
    local ok, r = pcall(function() return l(rnd() < 0.3 and { h, prev } or h) end)
    if ok then prev, h = h, r end
  end
  return nn.Model { inputs = inp, outputs = h }
end
local function nrows_of(x) local ok, s = pcall(function() return x.shape end) return ok and type(s) == "table" and s[1] or 1 end
-- a small compiled image classifier and data that fit it: calls get past the shape checks
-- and reach fit, train_on_batch, lr_find, Grad-CAM, saliency and the plots.
local function new_compiled()
  -- wide: 16 or 32 channels into up to 64 filters on images down to 1×1, then a second
  -- convolution, so the direct kernels, the flipped-kernel input gradient and the blocks
  -- of cols run on shapes where a thread's share of the scratch is smallest; the second
  -- one 'valid' where it fits (the gradients that read patches in place), and sometimes a
  -- Dense layer big enough for its update to be fused (Adam in the gradient's tiles)
  local wide = rnd() < 0.3
  local H, C, K = wide and rnd(1, 4) or rnd(3, 5), wide and 16 * rnd(1, 2) or rnd(1, 2), rnd(2, 3)
  local ls = { nn.Input { H, H, C }, nn.Conv2D(layer_opts { wide and 16 * rnd(1, 4) or rnd(1, 3), rnd(1, 3),
                                                            padding = "same", activation = "relu" }) }
  if wide then
    local k = rnd(1, 3)
    ls[#ls + 1] = nn.Conv2D(layer_opts { 16 * rnd(1, 2), k, padding = H >= k and pick { "same", "valid" } or "same",
                                         stride = rnd(1, 2) })
  end
  if rnd() < 0.3 then ls[#ls + 1] = nn.BatchNorm() end
  if rnd() < 0.3 then ls[#ls + 1] = nn.Dropout(0.5) end
  local m
  if rnd() < 0.15 then                       -- a Lua layer that meddles with its own model
    ls[#ls + 1] = nn.Lambda { forward = function(x) if m and rnd() < 0.2 then pcall(meddle, m) end return x end,
                              backward = function(x, dy) if m and rnd() < 0.2 then pcall(meddle, m) end return dy end }
  end
  ls[#ls + 1] = nn.Flatten()
  if wide and rnd() < 0.5 then ls[#ls + 1] = nn.Dense { 1024, activation = "relu" } end
  ls[#ls + 1] = nn.Dense(layer_opts { K, activation = pick { "softmax", "linear" } })
  if rnd() < 0.5 then m = nn.Sequential(ls)
  else
    local h = ls[1]
    for i = 2, #ls do h = ls[i](h) end
    m = nn.Model { inputs = ls[1], outputs = h }
  end
  local plain = rnd() < 0.2 and pick { optim.Adam, optim.AdamW, optim.SGD }   -- steps that fuse
  m:compile { optimizer = plain and plain() or rnd() < 0.8 and new_optimizer() or optim.SGD(),
              loss = "sparse_categorical_crossentropy",
              metrics = rnd() < 0.5 and { "accuracy" } or nil }
  local n = rnd(1, 6)
  local x, y = tensor.randn(n, H, H, C), tensor.zeros(n)
  for i = 1, n do y:set(i, rnd(0, K - 1)) end
  if rnd() < 0.2 then x:set(1, 1, 1, 1, pick(NUMBERS)) end
  DATA[m] = { x, y }
  return m, x, y
end
local function compiled() return of(function(v) return type(v) == "table" and v.optimizer ~= nil and v.fit ~= nil end) end
local function data_for(m)             -- x, y of the model's shape (often), or pool values
  local d = DATA[m]
  if d and rnd() < 0.8 then
    if rnd() < 0.8 then return d[1], d[2] end
    local y = d[2]:clone()             -- labels out of range, negative, NaN, huge
    y:set(rnd(nrows_of(y)), pick(NUMBERS))
    return d[1], y
  end
  return any(), any()
end
local function weights(n)              -- sample_weight: a tensor, a table, or garbage
  local r = rnd()
  local function w1() return rnd() < 0.9 and 2 * rnd() or edge() end
  if r < 0.4 then local w = tensor.zeros(n) for i = 1, n do w:set(i, w1()) end return w end
  if r < 0.6 then local w = {} for i = 1, n do w[i] = w1() end return w end
  if r < 0.7 then return tensor.zeros(n + rnd(1, 2)) end
  return option_value()
end
local function class_weight()
  if rnd() < 0.8 then local t = {} for k = 0, rnd(0, rnd() < 0.9 and 1 or 3) do t[k] = rnd() < 0.8 and 2 * rnd() or edge() end return t end
  return hostile()
end
-- the calls of the new training API with well-formed objects and random options
local SCENARIOS = {
  function() local m, x, y = new_compiled(); DATA[m] = { x, y }; add(x); add(y); return m end,
  function()
    local m = compiled() or new_compiled()
    local x, y = data_for(m)
    local o = options { "epochs", "batch_size", "verbose", "shuffle", "validation_split", "monitor", "callbacks" }
    if o.epochs == nil or type(o.epochs) == "number" and o.epochs > 3 then o.epochs = rnd(1, 2) end
    if rnd() < 0.4 then o.class_weight = class_weight() end
    if rnd() < 0.4 then o.sample_weight = weights(nrows_of(x)) end
    if rnd() < 0.4 then o.callbacks = { new_callback(m), rnd() < 0.3 and new_callback(m) or nil } end
    if rnd() < 0.2 then o.validation_data = { x, y } end
    o.verbose = rnd() < 0.9 and 0 or o.verbose
    return m:fit(x, y, o)
  end,
  function()
    local m = compiled() or new_compiled()
    local x, y = data_for(m)
    local o = rnd() < 0.05 and option_value() or {}
    if type(o) == "table" and rnd() < 0.6 then o.sample_weight = weights(nrows_of(x)) end
    if type(o) == "table" and rnd() < 0.5 then o.class_weight = class_weight() end
    return m:train_on_batch(x, y, o)
  end,
  function()
    local m = compiled() or new_compiled()
    local x, y = data_for(m)
    local o = options { "start_lr", "end_lr", "steps", "batch_size", "diverge", "smooth" }
    if type(o.steps) ~= "number" or o.steps > 20 then o.steps = rnd(2, 8) end
    return nn.lr_find(m, x, y, o)
  end,
  function()
    local m = compiled() or new_compiled()
    local x = data_for(m)
    local f = rnd(4)
    if (f > 2 or rnd() < 0.5) and type(x) == "userdata" and rnd() < 0.95 then pcall(function() x = x[1] end) end
    local function conv_name()                 -- mostly a layer with maps, by its name
      local names = {}
      for _, l in ipairs(m.layers or {}) do if l.kind == "Conv2D" then names[#names + 1] = l.name end end
      return #names > 0 and rnd() < 0.8 and pick(names) or SANE.layer()
    end
    if f == 1 then local o = options { "class" }; if rnd() < 0.6 then o.layer = conv_name() end return metrics.gradcam(m, x, o) end
    if f == 2 then return metrics.saliency(m, x, options { "class" }) end
    local o = options { "class", "label", "classes", "alpha", "title", "width", "height" }
    if f == 3 then return plot.saliency(m, x, o) end
    if rnd() < 0.5 then o.layer = conv_name() end
    return plot.gradcam(m, x, o)
  end,
  function()
    local h = of(function(v) return type(v) == "table" and (v.history ~= nil or v.health ~= nil) end) or option_value()
    local f = rnd(4)
    if f == 1 then return plot.health(h, options { "title", "width", "height" }) end
    if f == 2 then return plot.history(h, options { "title", "width", "height", "lr" }) end
    if f == 3 then return plot.hist(h, options { "layer", "kind", "cols", "title", "width", "height" }) end
    return plot.hist(rnd() < 0.5 and any() or new_tensor(), options { "bins", "min", "max", "title", "width", "height" })
  end,
  function()
    local m = compiled() or new_compiled()
    local x, y = data_for(m)
    local ok, p = pcall(m.predict, m, x)
    local yp = ok and p or any()
    local r = rnd(3)
    if r == 1 then return metrics.misclassified(y, yp, options { "true_class", "pred_class" }) end
    local ids = yp
    if ok then pcall(function() ids = yp:argmax(2) end) end
    local cm = select(2, pcall(metrics.confusion_matrix, y, ids))
    local o = options { "classes", "normalize", "title", "width", "height" }
    if rnd() < 0.5 then                                -- the drill-down's data
      o.x, o.y_true = rnd() < 0.9 and x or any(), rnd() < 0.9 and y or any()
      o.y_pred = rnd() < 0.9 and (rnd() < 0.5 and ids or yp) or any()
      if rnd() < 0.5 then o.model = rnd() < 0.9 and m or any() end
    end
    return plot.confusion(rnd() < 0.9 and cm or any(), o)
  end,
  function()                                           -- per-parameter optimizer state
    local o = of(function(v) return pcall(function() return v.iterations end) and type(v) == "userdata" and v.set_state end)
      or new_optimizer()
    local l = of(function(v) return pcall(function() return v.parameters end) and type(v) ~= "table" and v.parameters end) or new_layer()
    local ok, p, g = pcall(l.parameters, l)
    if not ok then p, g = any(), any() end
    local r = rnd(4)
    if r == 1 then return o:step(p, g) end
    if r == 2 then return o:state(rnd() < 0.7 and p or any()) end
    local s = rnd() < 0.5 and select(2, pcall(o.state, o, p)) or option_value()
    if type(s) == "table" and rnd() < 0.5 then s[pick { "iterations", "m", "v" }] = option_value() end
    return o:set_state(rnd() < 0.8 and p or any(), s)
  end,
  function()                                           -- trainable, user fields, config
    local v = any()
    local k = pick { "trainable", "trainable", "note", "units", "filters", "_fields", "kernel_regularizer", "lr",
      "weight_decay", "clipnorm", "schedule" }
    v[k] = rnd() < 0.6 and rnd() < 0.5 or option_value()
    return v
  end,
  function()                                           -- save and load: user fields, frozen layers, state
    local m = compiled() or new_compiled()
    local l = m.layers[rnd(#m.layers)]
    if rnd() < 0.5 then l[pick { "note", "tag", "units", "_fields", "trainable" }] = rnd() < 0.7 and pick(STRINGS) or option_value() end
    if rnd() < 0.3 then m.trainable = rnd() < 0.5 end
    local path = "fuzz-model-" .. rnd(3) .. ".safetensors"
    m:save(path, rnd() < 0.1 and option_value() or nil)
    local m2 = nn.load(rnd() < 0.9 and path or pick(STRINGS), rnd() < 0.2 and options { "custom_objects" } or nil)
    DATA[m2] = DATA[m]
    if rnd() < 0.5 then m2:predict((data_for(m2))) end
    return m2
  end,
  function()                                           -- the C helpers under them, with edge values
    local r = rnd(4)
    local function t(nd) local sh = {} for i = 1, nd do sh[i] = rnd(1, 4) end local v = tensor.randn(table.unpack(sh))
      if rnd() < 0.3 then v:set(1, pick(NUMBERS)) end return v end
    if r == 1 then local a = t(4); return metrics._cam(a, rnd() < 0.8 and a:clone() or t(4)) end
    if r == 2 then return metrics._resize(t(3), rnd() < 0.8 and rnd(1, 9) or pick(NUMBERS), rnd() < 0.8 and rnd(1, 9) or pick(NUMBERS)) end
    if r == 3 then return metrics._absmax(t(rnd(2, 4))) end
    local v = rnd() < 0.5 and t(rnd(1, 3)) or tensor.fill and t(1)
    if rnd() < 0.3 then v:fill(pick(NUMBERS)) end
    return plot._histogram(v, rnd() < 0.8 and rnd(1, 20) or pick(NUMBERS), rnd() < 0.5 and edge() or nil, rnd() < 0.5 and edge() or nil)
  end,
  function()                                           -- number and odd keys on layers and optimizers
    local v = of(function(x) return type(x) == "userdata" end) or new_layer()
    local k = pick { 1, 2.5, -1, math.mininteger, true, "", "_fields", "x\0y" }
    v[k] = option_value()
    return v[k]
  end,
  function()                                           -- the network under a model: explain, outputs, health
    local m = compiled() or new_compiled()
    local x = (DATA[m] or {})[1] or any()
    local net = m:_network(x, "fuzz")
    local r = rnd(4)
    local node = rnd() < 0.8 and rnd(0, #net:info().nodes + 1) or pick(NUMBERS)
    local n = nrows_of(x)
    if r == 1 then
      local dy = tensor.randn(rnd() < 0.9 and n or n + 1, rnd(1, 4))
      if rnd() < 0.5 then return net:explain(x, dy, rnd() < 0.5) end
      return net:explain(x, dy, rnd() < 0.5, node)
    end
    if r == 2 then return net:_outputs(rnd() < 0.9 and x or any()) end
    if r == 3 then return net:_monitor(rnd() < 0.7, rnd() < 0.8 and rnd(1, 3) or pick(NUMBERS)) end
    return net:_health(), net:_nonfinite()
  end,
  function() return L.graphics(rnd() < 0.7 and pick { "text", "sixel", "kitty", "auto" } or option_value()) end,
  function() return L._options(option_value(), pick(STRINGS), pick { "a b|c", "", "lr monitor", pick(STRINGS) }, rnd(-1, 2)) end,
}

local MAKERS = { new_tensor, new_layer, new_model, new_optimizer, new_schedule, new_regularizer, new_callback,
  function() return pick { optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop }() end,
  function() return nn.loss(pick { "mse", "sparse_categorical_crossentropy", "binary_crossentropy" }) end,
  function() local t = any(); return type(t) == "userdata" and pcall(t.slice, t, 1, 1, 1) and t:slice(1, 1, 1) or nil end,
  function() return nn.Input(shape()) end }

-- ---- calls ----
local MODULES = { tensor = tensor, nn = nn, optim = optim, metrics = metrics, plot = plot, schedules = optim.schedules,
  lunette = L }
local SKIP = { load = true, view = true, idx = true, cifar10_batch = true, max_elements = true, interrupted = true,
  download = true, _test_interrupt = true, graphics = true, dashboard = true }
local function functions()
  local fs = {}
  for mname, m in pairs(MODULES) do
    for k, f in pairs(m) do
      if type(f) == "function" and not SKIP[k] then fs[#fs + 1] = { mname .. "." .. k, f } end
    end
  end
  table.sort(fs, function(a, b) return a[1] < b[1] end)      -- the same order for a seed
  return fs
end
local FUNCS = functions()

local function methods_of(v)
  local names = {}
  if type(v) == "table" then
    local mt = getmetatable(v)
    local idx = type(mt) == "table" and rawget(mt, "__index")
    if type(idx) == "function" then idx = rawget(mt, "methods") end   -- models: __index is a function
    if type(idx) == "table" then for k, f in pairs(idx) do if type(f) == "function" then names[#names + 1] = k end end end
  elseif type(v) == "userdata" then
    local mt = getmetatable(v)
    if type(mt) == "table" then
      for k, f in pairs(mt) do if type(f) == "function" and k:sub(1, 2) ~= "__" then names[#names + 1] = k end end
      local ok, idx = pcall(function() return mt.__methods end)
      if ok and type(idx) == "table" then for k in pairs(idx) do names[#names + 1] = k end end
    end
    for _, k in ipairs { "forward", "backward", "parameters", "train", "evaluate", "zero_grad", "config",
      "reshape", "slice", "clone", "copy", "fill", "apply", "sum", "matmul", "permute", "transpose", "get", "set",
      "step", "state", "set_state", "predict", "fit", "compile", "summary", "save", "weight", "bias",
      "_network", "_flat_params", "_out_shape", "info", "train_rows", "shuffle", "flat", "build",
      "render", "size", "count_params" } do
      names[#names + 1] = k
    end
  end
  table.sort(names)
  return names
end

local SETS = { "weight", "bias", "name", "moving_mean", "training", "layers", "stop_training", "loss",
  "trainable", "lr", "note", "_fields", "units", "kernel_regularizer", "optimizer", "schedule", "iterations" }

local succeeded = 0
local stats = os.getenv("LUA_API_STATS") and {}   -- LUA_API_STATS=1: calls and successes per kind
                                                   -- (=errors, =all: with the error messages)
local function step(i)
  local r = rnd()
  local desc, f
  if r < 0.2 then
    local m = rnd(#MAKERS)
    desc, f = "make " .. m, MAKERS[m]
  elseif r < 0.35 then
    local m = rnd(#SCENARIOS)
    desc, f = "scenario " .. m, SCENARIOS[m]
  elseif r < 0.55 then
    local fn = pick(FUNCS)
    local args = {}
    for j = 1, rnd(0, 3) do args[j] = arg_value() end
    desc, f = "call " .. fn[1], function() return fn[2](table.unpack(args, 1, 3)) end
  elseif r < 0.85 then
    local obj = any()
    local names = obj ~= nil and methods_of(obj) or {}
    if #names == 0 then return "nothing" end
    local name = pick(names)
    local args = {}
    for j = 1, rnd(0, 4) do args[j] = arg_value() end
    local mt = getmetatable(obj)
    desc = "method " .. name .. " of " .. tostring(type(mt) == "table" and rawget(mt, "__name") or type(obj))
    f = function()
      local m = obj[name]
      if type(m) == "function" then return m(obj, table.unpack(args, 1, 4)) end
      return m
    end
  elseif r < 0.92 then
    local obj, k, v = any(), pick(SETS), arg_value()
    desc, f = "set " .. k, function() obj[k] = v end
  elseif r < 0.96 then
    local obj = any()
    desc, f = "finalise", function()
      local mt = getmetatable(obj)
      if type(mt) == "table" then
        local g = rawget(mt, pick { "__gc", "__close" })
        if type(g) == "function" then g(obj) end
      end
    end
  else
    desc, f = "collect", function() pool[rnd(math.max(#pool, 1))] = nil; collectgarbage() end
  end
  if log then log:write(i, " ", desc, "\n"); log:flush() end
  local t0 = L.clock()
  debug.sethook(function()                 -- a long call is interrupted, then abandoned
    local dt = L.clock() - t0
    if dt > 10 then                      -- the error is being swallowed: say where, and stop
      io.stderr:write("fuzz: step ", i, " (", desc, ") still runs after 10 s\n", debug.traceback(), "\n")
      os.exit(3)
    end
    if dt > 2 then error("fuzz: step over 2 s") elseif dt > 0.5 then L._test_interrupt(true) end
  end, "", 10000)
  local res = table.pack(pcall(f))
  debug.sethook()
  if res[1] then succeeded = succeeded + 1 end
  if stats then
    local k = desc:match("^scenario %d+") or desc:match("^call [%w_.]+") or desc:match("^%w+")
    local st = stats[k] or { 0, 0 }
    stats[k] = st
    st[1], st[2] = st[1] + 1, st[2] + (res[1] and 1 or 0)
    local show = os.getenv("LUA_API_STATS")           -- "errors": the scenarios' errors, "all": every error
    if not res[1] and (show == "all" or show == "errors" and desc:match("^scenario")) then print(desc, res[2]) end
  end
  L._test_interrupt(false)
  if res[1] then for j = 2, math.min(res.n, 4) do add(res[j]) end end
  return desc
end

for _ = 1, 6 do add(select(2, pcall(new_tensor))); add(select(2, pcall(new_layer))) end
for i = 1, steps do step(i) end
pcall(L.threads, 1)
collectgarbage()
if stats then
  local ks = {} for k in pairs(stats) do ks[#ks + 1] = k end table.sort(ks)
  for _, k in ipairs(ks) do print(string.format("%-40s %5d calls %5d returned", k, stats[k][1], stats[k][2])) end
end
print(string.format("lua_api fuzz: seed %d, %d steps (%d returned), no crash", seed, steps, succeeded))
