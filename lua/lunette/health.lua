-- lunette/health.lua: layer health during fit{monitor=true}. The engine collects the
-- statistics in every training step (src/nn/monitor.c: dead ReLU units, activation mean
-- and spread, gradient norm, update-to-weight ratio); this module reads them after each
-- batch, warns once when a layer dies (every ReLU unit zero for whole batches), feeds the
-- dashboard's health panel, keeps each epoch's means in history.health and names the layer
-- where non-finite values first appear when the loss stops being finite.
local L = require "lunette"
local error = L._error

local M = {}
local H = {}
H.__index = H

-- fit{monitor=true} measures every EVERY-th batch (the first included): a measured step
-- costs 10-25 % more (tests/bench/monitor.lua), so this keeps the average to a few per cent.
M.EVERY = 4

-- The health rows worth showing: layers with parameters or ReLU outputs.
function M.rows(nodes)
  local out = {}
  for _, nd in ipairs(nodes or {}) do
    if nd.grad_norm or nd.dead then out[#out + 1] = nd end
  end
  return out
end

-- A short flag for a row (or nil): dead or dying ReLUs, updates far from ~1e-3 of the weights.
function M.flag(r)
  if r.dead and r.dead >= 1 then return "DEAD" end
  if r.dead and r.dead >= 0.5 then return "dying" end
  if r.update_ratio and r.update_ratio ~= r.update_ratio then return "nan" end
  if r.update_ratio and r.update_ratio > 2e-2 then return "upd/w high" end
  if r.update_ratio and r.update_ratio > 0 and r.update_ratio < 1e-5 then return "upd/w low" end
  return nil
end

local function num(v, f) return v and string.format(f, v) or "-" end

-- The health table as lines of at most w columns: one row per layer (its name, dead ReLU
-- percentage, activation mean and std, gradient norm, update/weight ratio, a flag).
function M.lines(nodes, w, max_rows)
  local rows = M.rows(nodes)
  local name_w = 6
  for _, r in ipairs(rows) do name_w = math.max(name_w, utf8.len(r.name) or #r.name) end
  name_w = math.min(name_w, math.max(8, w - 56))
  local function clip(s, n) return (utf8.len(s) or #s) > n and s:sub(1, n - 1) .. "~" or s end
  local fmt = "%-" .. name_w .. "s %5s %8s %8s %8s %8s %s"
  local out = { (fmt:format("layer", "dead", "mean", "std", "|grad|", "upd/w", "")):sub(1, w) }
  local n = #rows
  local shown = max_rows and math.min(n, math.max(1, max_rows - 1)) or n
  if max_rows and n <= max_rows - 1 then shown = n end
  for i = 1, shown do
    local r = rows[i]
    local line = fmt:format(clip(r.name, name_w), r.dead and string.format("%d%%", math.floor(100 * r.dead + 0.5)) or "-",
      num(r.mean, "%8.3f"), num(r.std, "%8.3f"), num(r.grad_norm, "%8.1e"), num(r.update_ratio, "%8.1e"),
      M.flag(r) or "")
    out[#out + 1] = line:gsub("%s+$", ""):sub(1, w)
  end
  if shown < n then out[#out + 1] = string.format("... and %d more layers", n - shown) end
  return out
end

-- model and x (fit's training inputs): for the per-epoch histograms.
function M.start(net, history, dash, show, tty, monitor, model, x)
  net:_monitor(true, monitor == true and M.EVERY or monitor)
  history.health = {}
  history.histograms = {}
  history.warnings = {}
  return setmetatable({ net = net, history = history, dash = dash, show = show, tty = tty, warned = {},
    dead = {}, seen = 0, model = model, x = x }, H)
end

M.BINS, M.SAMPLES = 20, 64

local function histogram(t)
  local ok, counts, lo, hi = pcall(L.plot._histogram, t, M.BINS)
  if not ok then return nil end
  return { counts = counts, lo = lo, hi = hi }
end

-- Each layer's weights and outputs (on the first SAMPLES training inputs, in inference
-- mode) as histograms of BINS bins over their own range: history.histograms[epoch].
function H:histograms(epoch)
  local out = {}
  local info = self.net:info()
  local nin = 0
  for _, nd in ipairs(info.nodes) do if nd.kind == "InputLayer" then nin = nin + 1 end end
  local outs
  if L.tensor.is(self.x) then
    local ok, o = pcall(self.net._outputs, self.net, self.x:slice(1, 1, math.min(M.SAMPLES, self.x.shape[1])))
    if ok then outs = o end
  end
  local seen = {}
  for id = nin + 1, #info.nodes do
    local nd = info.nodes[id]
    if not seen[nd.name] then
      seen[nd.name] = true
      local r = { name = nd.name, kind = nd.kind }
      local layer = self.model:get_layer(nd.name)
      if layer and nd.params > 0 then
        local ok, w = pcall(function() return layer.weight end)
        if ok and L.tensor.is(w) then r.weights = histogram(w) end
      end
      if outs then r.activations = histogram(outs[id - nin]) end
      out[#out + 1] = r
    end
  end
  self.history.histograms[epoch] = out
end

function H:warn(msg)
  self.history.warnings[#self.history.warnings + 1] = msg
  if self.dash then
    self.dash:warn(msg)
  else
    if self.tty then io.stdout:write("\r\27[K") end
    print(msg)
  end
end

function H:batch(epoch, b)
  local st = self.net:_health(false, self.seen)
  if not st then return end                   -- this batch was not measured
  self.seen = st.steps
  -- dead: every ReLU unit zero for the whole batch on two measured batches in a row (one
  -- alone happens early in healthy training, and the layer recovers)
  for _, nd in ipairs(st.nodes) do
    local all = nd.last and nd.last.dead and nd.last.dead >= 1
    local prev = self.dead[nd.name]
    self.dead[nd.name] = all and (prev or { epoch = epoch, batch = b }) or nil
    if all and prev and not self.warned[nd.name] then
      self.warned[nd.name] = true
      self:warn(string.format("warning: layer %s died at epoch %d, batch %d: all its ReLU units "
        .. "output zero for whole batches since then", nd.name, prev.epoch, prev.batch))
    end
  end
  if self.dash then
    local last = {}
    for i, nd in ipairs(st.nodes) do
      local r = { name = nd.name, kind = nd.kind }
      for k, v in pairs(nd.last or {}) do r[k] = v end
      last[i] = r
    end
    self.dash:health(last)
  end
end

function H:epoch(epoch)
  local st = self.net:_health(true)
  self.seen = 0
  local rows = {}
  for i, nd in ipairs(st.nodes) do
    nd.last = nil
    rows[i] = nd
  end
  self.history.health[epoch] = rows
  self:histograms(epoch)
end

-- The tail of the error message for a non-finite loss: where the non-finite values are.
function H:nonfinite()
  local name, what = self.net:_nonfinite()
  if not name then return "" end
  return string.format("; the first non-finite values are in the %s of layer %s", what, name)
end

function H:finish() self.net:_monitor(false) end

-- fit's check of its monitor option: true, false, or measure every n-th batch.
function M.check(v)
  if v ~= nil and type(v) ~= "boolean" and not (math.type(v) == "integer" and v >= 1 and v <= 1000000) then
    error("fit: monitor must be true, false or a batch interval n in 1..1000000 (measure every n-th batch), got "
      .. (type(v) == "string" and string.format("'%s' (a string)", v) or tostring(v)), 3)
  end
end

return M
