-- fuzz/lua_api.lua: a fuzzer of the Lua API. Run by lunette (the sanitizer build in CI):
--   build-asan/lunette fuzz/lua_api.lua -- SEED STEPS [LOG]
-- Run it in a scratch directory: calls like model:save(name) write files where it runs.
-- From SEED it draws STEPS calls over a pool of values: tensors and views, layers, models
-- (Sequential and graph), symbolic tensors, optimizers, losses, hostile tables (an __index
-- that finalises pool objects or collects, a __close), edge-case numbers and strings. Each
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
local function add(v) if v ~= nil then pool[#pool + 1] = v; if #pool > 200 then table.remove(pool, rnd(#pool)) end end end
local function any() return #pool > 0 and pool[rnd(#pool)] or nil end
local function of(pred) local c = {} for _, v in ipairs(pool) do if pred(v) then c[#c + 1] = v end end return #c > 0 and pick(c) or nil end

local NUMBERS = { 0, 1, 2, 3, 4, -1, 0.5, 1e-7, 7, 16, 32, 2 ^ 31, 2 ^ 62, math.maxinteger, math.mininteger,
  0 / 0, 1 / 0, -1 / 0, 1e300 }
local STRINGS = { "", "same", "valid", "relu", "softmax", "mse", "sparse_categorical_crossentropy", "adam",
  "accuracy", "x\0y", string.rep("a", 300), "weight", "bias", "name", "__gc", "/tmp/lunette-fuzz.safetensors" }
local function number() return rnd() < 0.7 and rnd(0, 5) or pick(NUMBERS) end
local function shape() local s = {} for i = 1, rnd(1, 4) do s[i] = rnd() < 0.9 and rnd(1, 6) or pick(NUMBERS) end return s end

local function hostile()
  local kind = rnd(4)
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
local function new_layer() return pick(LAYERS)() end
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
local MAKERS = { new_tensor, new_layer, new_model,
  function() return pick { optim.SGD, optim.Adam, optim.RMSprop }() end,
  function() return nn.loss(pick { "mse", "sparse_categorical_crossentropy", "binary_crossentropy" }) end,
  function() local t = any(); return type(t) == "userdata" and pcall(t.slice, t, 1, 1, 1) and t:slice(1, 1, 1) or nil end,
  function() return nn.Input(shape()) end }

-- ---- calls ----
local MODULES = { tensor = tensor, nn = nn, optim = optim, metrics = metrics }
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
      "_network", "_flat_params", "_out_shape", "info", "train_rows", "shuffle", "flat", "build" } do
      names[#names + 1] = k
    end
  end
  table.sort(names)
  return names
end

local SETS = { "weight", "bias", "name", "moving_mean", "training", "layers", "stop_training", "loss" }

local succeeded = 0
local function step(i)
  local r = rnd()
  local desc, f
  if r < 0.25 then
    local m = rnd(#MAKERS)
    desc, f = "make " .. m, MAKERS[m]
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
    desc, f = "method " .. name, function()
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
    if dt > 2 then error("fuzz: step over 2 s") elseif dt > 0.5 then L._test_interrupt(true) end
  end, "", 10000)
  local res = table.pack(pcall(f))
  debug.sethook()
  if res[1] then succeeded = succeeded + 1 end
  L._test_interrupt(false)
  if res[1] then for j = 2, math.min(res.n, 4) do add(res[j]) end end
  return desc
end

for _ = 1, 6 do add(select(2, pcall(new_tensor))); add(new_layer()) end
for i = 1, steps do step(i) end
pcall(L.threads, 1)
collectgarbage()
print(string.format("lua_api fuzz: seed %d, %d steps (%d returned), no crash", seed, steps, succeeded))
