-- lunette/dashboard.lua: the live training screen of fit{dashboard=true} (the dashboard
-- contract in notes/contracts.md): start{epochs, steps, metrics, validation} → d;
-- d:batch(epoch, step, logs) → false when the user pressed q (stop early);
-- d:epoch(epoch, logs); d:health(rows) and d:warn(msg) (fit{monitor=true}: a layer health
-- panel under the header); d:finish(history) restores the terminal and leaves the final
-- curves and a summary inline. The screen is ncurses (src/plot/term.c) in cbreak mode,
-- so Ctrl-C still reaches the REPL's interrupt; it is redrawn at most every 0.1 s.
local L = require "lunette"
local P = L.plot

local M = {}
local D = {}
D.__index = D

local function clock(s)
  s = math.max(0, math.floor(s + 0.5))
  if s >= 3600 then return string.format("%d:%02d:%02d", s // 3600, s // 60 % 60, s % 60) end
  return string.format("%d:%02d", s // 60, s % 60)
end

local function fmt_logs(logs, keys)
  local out = {}
  for _, k in ipairs(keys) do
    if type(logs[k]) == "number" then out[#out + 1] = string.format("%s %.4f", k, logs[k]) end
  end
  return table.concat(out, "  ")
end

local LOG_KEYS = { "loss", "accuracy", "val_loss", "val_accuracy" }

-- Items laid into lines of at most w - 1 columns, each line starting with a space and
-- items separated by two spaces: a narrow window wraps the header, never cuts it.
local function flow(items, w, out)
  out = out or {}
  local line = ""
  for _, it in ipairs(items) do
    if it ~= "" then
      if line ~= "" and utf8.len(line) + 2 + utf8.len(it) > w - 2 then
        out[#out + 1] = " " .. line
        line = it
      else
        line = line == "" and it or line .. "  " .. it
      end
    end
  end
  if line ~= "" then out[#out + 1] = " " .. line end
  return out
end
M._flow = flow

local function log_items(logs, keys)
  local out = {}
  for _, k in ipairs(keys) do
    if type(logs[k]) == "number" then out[#out + 1] = string.format("%s %.4f", k, logs[k]) end
  end
  return out
end

function M.start(opts)
  opts = opts or {}
  local d = setmetatable({
    epochs = opts.epochs or 1, steps = math.max(1, opts.steps or 1),
    metrics = opts.metrics or { "loss", "accuracy" }, validation = opts.validation,
    t0 = L.clock(), last_draw = -1, done = 0,
    per_batch = { loss = {}, accuracy = {} },  -- per batch, over all epochs
    hist = { loss = {}, accuracy = {}, val_loss = {}, val_accuracy = {} },
    cur_epoch = 1, cur_step = 0, logs = {}, last_epoch_logs = nil, warnings = {},
  }, D)
  d.live = P._screen_begin() and true or false
  if d.live then d:draw() end
  return d
end
L._sethelp(M.start, "dashboard.start", [==[dashboard.start{epochs, steps, metrics={'loss','accuracy'}, validation=false}

Opens the live training screen (what fit{dashboard=true} uses): progress and ETA, loss
and accuracy per batch and per epoch, train and validation curves; q stops training
early. Returns d with d:batch(epoch, step, logs) (false: stop), d:epoch(epoch, logs)
and d:finish(history), which restores the terminal and prints the curves inline.
Without a terminal nothing is drawn live; finish still prints the summary.]==])

-- The plot shown live: batch values (x in epochs: batch s of epoch e at e-1+s/steps)
-- and the per-epoch train/validation values at x = 1..E.
function D:plot(w, h)
  local panels = {}
  local inv = 1 / self.steps
  local function panel(title, key)
    local series = {}
    if #self.per_batch[key] > 0 then
      series[#series + 1] = { name = key .. " (batch)", y = self.per_batch[key], x0 = inv, dx = inv }
    end
    if #self.hist[key] > 0 then series[#series + 1] = { name = key, y = self.hist[key] } end
    local vk = "val_" .. key
    if #self.hist[vk] > 0 then series[#series + 1] = { name = vk, y = self.hist[vk] } end
    if #series > 0 then
      panels[#panels + 1] = { kind = "lines", title = title, xlabel = "epoch", series = series }
    end
  end
  panel("Loss", "loss")
  panel("Accuracy", "accuracy")
  if #panels == 0 then return nil end
  return P._new { cols = #panels, panels = panels, width = w, height = h }
end

-- D:frame(w, h) → the header lines and the plot (or nil) of the screen at w×h, and the
-- plot's height: what draw shows, as data (tested without a terminal).
function D:frame(w, h)
  local now = L.clock()
  local total = self.epochs * self.steps
  local elapsed = now - self.t0
  local eta = self.done > 0 and elapsed / self.done * (total - self.done) or 0
  local frac = total > 0 and self.done / total or 0
  local barw = math.max(5, math.min(40, w - 50))
  local fill = math.floor(frac * barw + 0.5)
  local lines = flow({ string.format("Training: epoch %d/%d", self.cur_epoch, self.epochs),
    string.format("batch %d/%d", self.cur_step, self.steps), "elapsed " .. clock(elapsed),
    "ETA " .. (self.done > 0 and clock(eta) or "-"), "[q] stop early" }, w)
  local progress = { string.format("[%s%s] %3d%%", string.rep("#", fill), string.rep(".", barw - fill),
    math.floor(frac * 100 + 0.5)) }
  for _, it in ipairs(log_items(self.logs, LOG_KEYS)) do progress[#progress + 1] = it end
  flow(progress, w, lines)
  if self.last_epoch_logs then
    local e = log_items(self.last_epoch_logs, LOG_KEYS)
    table.insert(e, 1, "epoch " .. self.last_epoch_logs.epoch .. ":")
    flow(e, w, lines)
  else
    lines[#lines + 1] = ""
  end
  if self.health_rows then                -- fit{monitor=true}: the health panel
    local room = math.max(2, math.min(#self.health_rows + 2, h - #lines - 8))
    lines[#lines + 1] = (" Layer health (last batch; upd/w near 1e-3 is healthy)"):sub(1, w)
    for _, l in ipairs(require("lunette.health").lines(self.health_rows, w - 1, room - 1)) do
      lines[#lines + 1] = " " .. l
    end
  end
  for i = math.max(1, #self.warnings - 1), #self.warnings do
    lines[#lines + 1] = (" " .. self.warnings[i]):sub(1, w)
  end
  local ph = h - #lines - 1
  return lines, ph >= 6 and w >= 20 and self:plot(w, ph) or nil, ph
end

-- fit{monitor=true}: the last batch's health rows (health.lua), and warnings (a layer
-- that died), shown under the header and printed again when the dashboard closes.
function D:health(rows) self.health_rows = rows end
function D:warn(msg)
  self.warnings[#self.warnings + 1] = msg
  self.last_draw = -1
end

function D:draw()
  if not self.live then return end
  local w, h = P._screen_size()
  local lines, p, ph = self:frame(w, h)
  P._screen_draw(lines, p, 0, #lines + 1, w, ph)
  self.last_draw = L.clock()
end

-- Reads pending keys: true when q was pressed; redraws on resize.
function D:keys()
  while true do
    local k = P._screen_key(0)
    if k == nil then return false end
    if k == "q" or k == "esc" then return true end
    if k == "resize" then self.last_draw = -1 end
  end
end

function D:batch(epoch, step, logs)
  logs = logs or {}
  self.cur_epoch, self.cur_step, self.logs = epoch, step, logs
  self.done = (epoch - 1) * self.steps + step
  local i = self.done
  for _, k in ipairs { "loss", "accuracy" } do
    local v = logs[k]
    if type(v) == "number" then
      local s = self.per_batch[k]
      for j = #s + 1, i - 1 do s[j] = 0 / 0 end   -- keep positions aligned
      s[i] = v
    end
  end
  if not self.live then return true end
  if self:keys() then
    self.stopped = { epoch = epoch, step = step }
    return false
  end
  if self.last_draw < 0 or L.clock() - self.last_draw >= 0.1 or step == self.steps then self:draw() end
  return true
end

function D:epoch(epoch, logs)
  logs = logs or {}
  for k, s in pairs(self.hist) do
    if type(logs[k]) == "number" then s[epoch] = logs[k] end
  end
  local e = { epoch = epoch }
  for k, v in pairs(logs) do e[k] = v end
  self.last_epoch_logs = e
  if self.live then
    if self:keys() then self.stopped = self.stopped or { epoch = epoch, step = self.steps } end
    self:draw()
  else
    print(string.format("Epoch %d/%d  %s", epoch, self.epochs, fmt_logs(logs, LOG_KEYS)))
  end
  return not self.stopped
end

function D:finish(history)
  if self.finished then return end
  self.finished = true
  if self.live then P._screen_end() end
  self.live = false
  local h = type(history) == "table" and (history.history or history) or self.hist
  local ok, p = pcall(P.history, h)
  if ok then print(p) end
  local last = {}
  for _, k in ipairs(LOG_KEYS) do
    local s = h[k]
    if type(s) == "table" and #s > 0 then last[k] = s[#s] end
  end
  local elapsed = clock(L.clock() - self.t0)
  local what
  if self.stopped then
    what = string.format("Stopped early (q) at epoch %d, batch %d, after %s", self.stopped.epoch,
      self.stopped.step, elapsed)
  else
    local n = type(h.loss) == "table" and #h.loss or self.cur_epoch
    what = string.format("Trained %d epoch%s (%d batches) in %s", n, n == 1 and "" or "s", self.done, elapsed)
  end
  local summary = fmt_logs(last, LOG_KEYS)
  print(what .. (summary ~= "" and "; final " .. summary or ""))
  for _, w in ipairs(self.warnings) do print(w) end
end

return M
