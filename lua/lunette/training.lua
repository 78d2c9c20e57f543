-- lunette/training.lua: training craft on the Lua side: the kernel regularizers nn.l1,
-- nn.l2 and nn.l1_l2 (read by the layers, applied in C), and the learning rate: the fit
-- callbacks nn.LearningRateScheduler and nn.ReduceLROnPlateau (Keras's), and nn.lr_find,
-- Smith's learning-rate range test. The per-step schedules (optim.schedules.*) are in C
-- (src/nn/optim.c), evaluated inside each update.
local L = require "lunette"
local error = L._error
local nn, tensor = L.nn, L.tensor

local function sethelp(f, name, text) L._sethelp(f, name, text) end

-- A value as an error message shows it: numbers as Lua prints them, text quoted.
local function shown(v)
  if type(v) == "string" then return string.format("'%s' (a string)", v) end
  if type(v) == "number" then return tostring(v) end
  return type(v) == "nil" and "nil" or ("a " .. type(v))
end

local function good_rate(v) return type(v) == "number" and v > 0 and v < math.huge end

-- ---- kernel regularizers: nn.l1, nn.l2, nn.l1_l2 ----

local Reg = { __name = "lunette.Regularizer" }
Reg.__index = Reg
function Reg:__tostring()
  if self.l1 > 0 and self.l2 > 0 then return string.format("L1L2(l1=%s, l2=%s)", tostring(self.l1), tostring(self.l2)) end
  if self.l1 > 0 then return string.format("L1(%s)", tostring(self.l1)) end
  return string.format("L2(%s)", tostring(self.l2))
end

local function factor(fn, k, v, def)
  if v == nil then return def end
  if type(v) ~= "number" or not (v >= 0 and v < math.huge) then
    error(string.format("%s: %s must be a finite number >= 0, got %s", fn, k, shown(v)))
  end
  return v
end

function nn.l1(x) return setmetatable({ l1 = factor("nn.l1", "the factor", x, 0.01), l2 = 0 }, Reg) end
function nn.l2(x) return setmetatable({ l1 = 0, l2 = factor("nn.l2", "the factor", x, 0.01) }, Reg) end
function nn.l1_l2(opts)
  opts = L._options(opts, "nn.l1_l2", "l1 l2")
  return setmetatable({ l1 = factor("nn.l1_l2", "l1", opts.l1, 0), l2 = factor("nn.l1_l2", "l2", opts.l2, 0) }, Reg)
end
local REG_HELP = "\n\nA kernel regularizer (Keras's): kernel_regularizer = nn.l2(1e-4) on nn.Conv2D,\n"
  .. "nn.Conv1D or nn.Dense adds l1·Σ|w| + l2·Σw² over the layer's kernel (not its bias)\nto the loss fit, "
  .. "train_on_batch and evaluate report (the progress line shows the sum,\nas Keras does) and its gradient to "
  .. "the kernel's in each step. A hand-written loop\n(model:backward, opt:step) does not add it. Frozen layers' "
  .. "kernels do not count."
sethelp(nn.l1, "nn.l1", "nn.l1(x=0.01)" .. REG_HELP .. "\nExample: nn.Dense{64, activation='relu', kernel_regularizer=nn.l1(1e-5)}")
sethelp(nn.l2, "nn.l2", "nn.l2(x=0.01)" .. REG_HELP .. "\nExample: nn.Conv2D{32, 3, kernel_regularizer=nn.l2(1e-4)}")
sethelp(nn.l1_l2, "nn.l1_l2", "nn.l1_l2{l1=0, l2=0}" .. REG_HELP .. "\nExample: nn.Dense{10, kernel_regularizer=nn.l1_l2{l1=1e-5, l2=1e-4}}")

-- ---- nn.LearningRateScheduler(fn) ----

local LRS = { __name = "lunette.LearningRateScheduler" }
LRS.__index = LRS

function nn.LearningRateScheduler(fn, opts)
  if type(fn) ~= "function" then
    error("nn.LearningRateScheduler: expected a function fn(epoch, lr) → lr, got " .. shown(fn))
  end
  opts = L._options(opts, "nn.LearningRateScheduler", "verbose")
  return setmetatable({ schedule = fn, verbose = opts.verbose or 0 }, LRS)
end
sethelp(nn.LearningRateScheduler, "nn.LearningRateScheduler", "nn.LearningRateScheduler(fn [, {verbose=0}])\n\n"
  .. "A fit callback (Keras's): before each epoch, sets the optimizer's lr to\nfn(epoch, lr), epoch counted "
  .. "from 1 and lr the current rate. fn must return a\npositive number; anything else stops fit with an "
  .. "error naming the value. An optimizer\nwhose lr is an optim.schedules object is refused (use one or the other).\n"
  .. "Example: callbacks={nn.LearningRateScheduler(function(epoch, lr) return epoch <= 3 and lr or lr * 0.5 end)}")

function LRS:on_epoch_begin(epoch, model)
  local opt = model.optimizer
  if opt.schedule then
    error(string.format("nn.LearningRateScheduler: the optimizer's lr is a schedule (%s); use one or the other",
      opt.schedule.name))
  end
  local lr = self.schedule(epoch, opt.lr)
  if not good_rate(lr) then
    error(string.format("nn.LearningRateScheduler: the schedule returned %s for epoch %d; expected a positive number",
      shown(lr), epoch))
  end
  opt.lr = lr
  if self.verbose ~= 0 and model._verbose ~= 0 then
    print(string.format("Epoch %d: LearningRateScheduler setting learning rate to %s.", epoch, tostring(lr)))
  end
end

-- ---- nn.ReduceLROnPlateau{...} ----

local RLR = { __name = "lunette.ReduceLROnPlateau" }
RLR.__index = RLR

local function opt_number(fn, opts, k, def, ok, want)
  local v = opts[k]
  if v == nil then return def end
  if type(v) ~= "number" or not ok(v) then error(string.format("%s: %s must be %s, got %s", fn, k, want, shown(v))) end
  return v
end

function nn.ReduceLROnPlateau(opts)
  local fn = "nn.ReduceLROnPlateau"
  opts = L._options(opts, fn, "monitor factor patience verbose mode min_delta cooldown min_lr")
  local monitor = opts.monitor or "val_loss"
  if type(monitor) ~= "string" then error(fn .. ": monitor must be a name such as 'val_loss', got " .. shown(monitor)) end
  local mode = opts.mode or "auto"
  if mode ~= "auto" and mode ~= "min" and mode ~= "max" then
    error(fn .. ": mode must be 'auto', 'min' or 'max', got " .. shown(mode))
  end
  local function count(v) return v >= 0 and v % 1 == 0 end
  return setmetatable({
    monitor = monitor, mode = nn._monitor_mode(monitor, mode),
    factor = opt_number(fn, opts, "factor", 0.1, function(v) return v > 0 and v < 1 end, "in (0, 1)"),
    patience = opt_number(fn, opts, "patience", 10, count, "a whole number >= 0"),
    cooldown = opt_number(fn, opts, "cooldown", 0, count, "a whole number >= 0"),
    min_delta = opt_number(fn, opts, "min_delta", 1e-4, function(v) return v >= 0 and v < math.huge end, "a finite number >= 0"),
    min_lr = opt_number(fn, opts, "min_lr", 0, function(v) return v >= 0 and v < math.huge end, "a finite number >= 0"),
    verbose = opts.verbose or 0 }, RLR)
end
sethelp(nn.ReduceLROnPlateau, "nn.ReduceLROnPlateau", "nn.ReduceLROnPlateau{monitor='val_loss', factor=0.1, "
  .. "patience=10, min_lr=0, min_delta=1e-4,\ncooldown=0, mode='auto', verbose=0}\n\n"
  .. "A fit callback (Keras's): when `monitor` has not improved by min_delta for\n`patience` epochs, "
  .. "multiplies the optimizer's lr by factor (not below min_lr), then\nwaits `cooldown` epochs before "
  .. "counting again. mode 'auto': 'max' for accuracies,\n'min' otherwise. The history's lr list shows the "
  .. "rates.\nExample: callbacks={nn.ReduceLROnPlateau{monitor='val_loss', factor=0.5, patience=2, min_lr=1e-5}}")

function RLR:on_train_begin()
  self.best, self.wait, self.cooldown_counter, self.warned = nil, 0, 0, false
end

function RLR:on_epoch_end(epoch, logs, model)
  local v = logs[self.monitor]
  if v == nil then
    if not self.warned then
      local k = {}
      for n in pairs(logs) do k[#k + 1] = n end
      table.sort(k)
      print(string.format("ReduceLROnPlateau: '%s' is not available (logs have %s)", self.monitor, table.concat(k, ", ")))
      self.warned = true
    end
    return
  end
  local opt = model.optimizer
  if opt.schedule then
    error(string.format("nn.ReduceLROnPlateau: the optimizer's lr is a schedule (%s); use one or the other",
      opt.schedule.name))
  end
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.wait = 0
  end
  if nn._better(self.mode, v, self.best, self.min_delta) then
    self.best, self.wait = v, 0
  elseif self.cooldown_counter == 0 then
    self.wait = self.wait + 1
    if self.wait >= self.patience then
      local old = opt.lr
      if old > self.min_lr then
        local new = math.max(old * self.factor, self.min_lr)
        if new > 0 then opt.lr = new end
        if self.verbose ~= 0 and model._verbose ~= 0 then
          print(string.format("Epoch %d: ReduceLROnPlateau reducing learning rate to %s.", epoch, tostring(opt.lr)))
        end
        self.cooldown_counter, self.wait = self.cooldown, 0
      end
    end
  end
end

-- ---- nn.lr_find(model, x, y) ----

local LRFind = { __name = "lunette.LRFind" }
LRFind.__index = LRFind

-- The weights, the moving statistics and the optimizer (state, rate) of a model, to put
-- back after the sweep.
local function snapshot(model)
  local params = model:parameters()
  local opt = model.optimizer
  local s = { flat = model:_flat_params():clone(), params = params, state = opt:state(params),
    lr = opt.schedule or opt.lr, stats = {} }
  for i, l in ipairs(model.layers) do
    local mm = l.moving_mean
    if mm then s.stats[i] = { mm:clone(), l.moving_variance:clone() } end
  end
  return s
end

local function restore(model, s)
  model:_flat_params():copy(s.flat)
  for i, st in pairs(s.stats) do
    local l = model.layers[i]
    l.moving_mean, l.moving_variance = st[1], st[2]
  end
  model.optimizer:set_state(s.params, s.state)
  model.optimizer.lr = s.lr
end

function nn.lr_find(model, x, y, opts)
  local fn = "nn.lr_find"
  opts = L._options(opts, fn, "start_lr end_lr steps batch_size diverge smooth")
  if type(model) ~= "table" or type(model.train_on_batch) ~= "function" then
    error(fn .. ": expected a model, got " .. shown(model))
  end
  if not model.loss then error(fn .. ": the model is not compiled: call model:compile{optimizer=..., loss=...} first") end
  local o = rawget(model, "optimizer")
  local omt = type(o) == "userdata" and getmetatable(o)
  if type(omt) ~= "table" or rawget(omt, "__name") ~= "lunette.Optimizer" then
    error(fn .. ": model.optimizer must be an optimizer (such as optim.Adam{lr=1e-3}), got " .. shown(o))
  end
  local function num(k, def, ok, want)
    local v = opts[k]
    if v == nil then return def end
    if type(v) ~= "number" or not ok(v) then error(string.format("%s: %s must be %s, got %s", fn, k, want, shown(v))) end
    return v
  end
  local start = num("start_lr", 1e-7, good_rate, "a positive number")
  local stop = num("end_lr", 10, good_rate, "a positive number")
  if stop <= start then error(string.format("%s: end_lr (%s) must be above start_lr (%s)", fn, tostring(stop), tostring(start))) end
  local steps = num("steps", 100, function(v) return v >= 2 and v % 1 == 0 end, "a whole number >= 2")
  local bs = num("batch_size", 32, function(v) return v >= 1 and v % 1 == 0 end, "a whole number >= 1")
  local diverge = num("diverge", 4, function(v) return v > 1 and v < math.huge end, "a number above 1")
  local beta = num("smooth", 0.9, function(v) return v >= 0 and v < 1 end, "in [0, 1)")
  if not (getmetatable(x) and x.shape) or not (getmetatable(y) and y.shape) then
    error(fn .. ": x and y must be tensors (one input, one output)")
  end
  local n = x.shape[1]
  if y.shape[1] ~= n then error(string.format("%s: x has %d samples but y %d", fn, n, y.shape[1])) end
  local saved = snapshot(model)
  local ratio = (stop / start) ^ (1 / (steps - 1))
  local res = setmetatable({ lr = {}, loss = {}, raw = {}, start_lr = start, ratio = ratio }, LRFind)
  local avg, best, pos = 0, math.huge, 0
  local ok, err = pcall(function()
    for i = 1, steps do
      local lr = start * ratio ^ (i - 1)
      model.optimizer.lr = lr
      local a = pos % n + 1
      local b = math.min(a + bs - 1, n)
      pos = b
      local okb, loss = pcall(model.train_on_batch, model, x:slice(1, a, b), y:slice(1, a, b))
      if not okb then
        if L.interrupted(loss) then error(loss, 0) end
        res.stopped = "the loss became nan or inf at lr " .. tostring(lr)
        break
      end
      avg = beta * avg + (1 - beta) * loss
      local smooth = avg / (1 - beta ^ i)           -- debiased, as fastai does
      res.lr[i], res.raw[i], res.loss[i] = lr, loss, smooth
      -- the first steps' average rests on few batches: the lowest loss is sought after them
      if smooth < best and (i > 5 or steps <= 10) then best, res.best_i = smooth, i end
      if i > 1 and smooth > diverge * best then
        res.stopped = string.format("the loss diverged (%.4g > %g × its best) at lr %s", smooth, diverge, tostring(lr))
        break
      end
    end
  end)
  restore(model, saved)
  if not ok then error(err, 0) end
  if res.best_i then res.suggestion = res.lr[res.best_i] / 10 end
  return res
end
sethelp(nn.lr_find, "nn.lr_find", "nn.lr_find(model, x, y [, opts]) → result\n\n"
  .. "Smith's learning-rate range test: one optimizer step per batch (in order, cycling)\nwhile the "
  .. "rate grows exponentially from start_lr to end_lr over `steps` steps; stops\nwhen the smoothed loss "
  .. "(exponential average, factor `smooth`) exceeds `diverge` times\nits best or becomes nan. Afterwards "
  .. "the weights, moving statistics, optimizer state\nand rate are restored. result.lr, result.loss "
  .. "(smoothed), result.raw, result.suggestion\n(the rate at the lowest loss after the first 5 steps, / 10); result:plot() draws "
  .. "loss against log10(rate)\n(without the first 5 steps, nor the last 5 of a diverged sweep: fastai's view), and\nprinting the result shows it.\nopts: start_lr=1e-7, end_lr=10, steps=100, "
  .. "batch_size=32, diverge=4, smooth=0.9 (fastai uses 0.98 over longer sweeps;\nthe average lags by about 1/(1-smooth) steps).\nExample: r = nn.lr_find(model, ds.x_train, ds.y_train); "
  .. "print(r); model.optimizer.lr = r.suggestion")

-- result.loss and result.lr as lists: a user's own table (a __len of 2^62, a __index)
-- would make table.move loop in C, where Ctrl-C cannot stop it
local function lists(self, fn)
  for _, k in ipairs { "loss", "lr" } do
    local v = rawget(self, k)
    if type(v) ~= "table" or getmetatable(v) ~= nil then
      error(string.format("%s: result.%s must be the list of numbers lr_find made, got %s", fn, k, shown(v)), 3)
    end
  end
end

function LRFind:plot(opts)
  opts = L._options(opts, "lr_find:plot", "title width height")
  lists(self, "lr_find:plot")
  -- the last steps of a diverged sweep would squash the curve into its bottom row: they
  -- are left out of the plot (as fastai does), not out of result.loss
  local a, n = 1, #self.loss
  if n > 15 then a = 6 end                      -- and so would the first, noisy ones
  if self.stopped and n - a > 10 then n = n - 5 end
  if n - a < 1 then error("lr_find: too few steps to plot (the loss diverged at once)") end
  return L.plot.lines({ loss = table.move(self.loss, a, n, 1, {}) }, { title = opts.title or "Loss against learning rate",
    xlabel = "log10(learning rate)", start = math.log(self.lr[a], 10), step = math.log(self.ratio, 10),
    width = opts.width, height = opts.height })
end
sethelp(LRFind.plot, "LRFind:plot", "result:plot([{title, width, height}]) → plot\n\nThe smoothed loss of "
  .. "nn.lr_find against log10 of the learning rate.")

function LRFind:__tostring()
  lists(self, "lr_find")
  local lines = {}
  if #self.loss >= 2 then lines[1] = tostring(self:plot()) end
  lines[#lines + 1] = string.format("lr_find: %d steps from %s to %s%s", #self.loss, tostring(self.start_lr),
    tostring(self.lr[#self.lr]), self.stopped and ("; stopped: " .. self.stopped) or "")
  if self.suggestion then
    lines[#lines + 1] = string.format("lowest loss %.4g at lr %.3g: suggested lr %.3g", self.loss[self.best_i],
      self.lr[self.best_i], self.suggestion)
  end
  return table.concat(lines, "\n")
end

return nn
