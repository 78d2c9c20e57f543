-- lunette/progress.lua: fit's progress line cut to the terminal (lunette.columns()).
-- The line is "b/steps bar time step - metric: v - ...". When it does not fit, the bar
-- shortens first (to 5 cells), then metrics drop from the end, then the bar and the
-- per-step time go (Keras's order). The last line of an epoch drops nothing: metrics
-- that do not fit continue on indented lines.
local L = require "lunette"

local M = {}

local LOG_ORDER = { "accuracy", "loss", "val_accuracy", "val_loss" }
M.LOG_ORDER = LOG_ORDER

local function dwidth(s) return utf8.len(s) or #s end

-- The bar of n cells for done/total: "[===>....]" in ASCII, "━━━──" otherwise.
function M.bar(done, total, ascii, w)
  w = w or 20
  local n = total > 0 and math.floor(w * done / total) or w
  if ascii then
    if n >= w then return "[" .. string.rep("=", w) .. "]" end
    return "[" .. string.rep("=", n) .. ">" .. string.rep(".", w - n - 1) .. "]"
  end
  return string.rep("━", n) .. string.rep("─", w - n)
end

local function metrics(logs)
  local parts = {}
  for _, k in ipairs(LOG_ORDER) do
    if logs[k] ~= nil then parts[#parts + 1] = string.format("%s: %.4f", k, logs[k]) end
  end
  return parts
end

local function join(head, ms, n)
  local s = head
  for i = 1, n do s = s .. " - " .. ms[i] end
  return s
end

-- M.line(p, width, final) → text. p: {b=, steps=, ascii=, time="12s", step="3ms/step",
-- logs={...}}. The text fits width - 1 columns (the last column would wrap the line on
-- some terminals); with final it may span several lines instead of dropping metrics.
function M.line(p, width, final)
  local room = math.max((width or 80) - 1, 10)
  local count = string.rep(" ", #tostring(p.steps) - #tostring(p.b)) .. p.b .. "/" .. p.steps
  local ms = metrics(p.logs)
  local function head(bw, with_step)
    local h = count
    if bw then h = h .. " " .. M.bar(p.b, p.steps, p.ascii, bw) end
    h = h .. " " .. p.time
    if with_step then h = h .. " " .. p.step end
    return h
  end
  for bw = 20, 5, -1 do                             -- 1. a shorter bar
    local s = join(head(bw, true), ms, #ms)
    if dwidth(s) <= room then return s end
  end
  if final then                                      -- the epoch's line: wrap, drop nothing
    local h, best = head(nil, true), -1               -- the bar that keeps most metrics on line 1
    for bw = 20, 5, -1 do
      local hb, n = head(bw, true), 0
      if dwidth(hb) <= room then
        local w = dwidth(hb)
        for _, m in ipairs(ms) do
          if w + 3 + dwidth(m) > room then break end
          w, n = w + 3 + dwidth(m), n + 1
        end
        if n > best then h, best = hb, n end
      end
    end
    local lines, cur = {}, h
    for _, m in ipairs(ms) do
      if dwidth(cur) + 3 + dwidth(m) <= room then cur = cur .. " - " .. m
      else lines[#lines + 1] = cur; cur = "  - " .. m end
    end
    lines[#lines + 1] = cur
    return table.concat(lines, "\n")
  end
  for n = #ms - 1, 0, -1 do                          -- 2. fewer metrics
    local s = join(head(5, true), ms, n)
    if dwidth(s) <= room then return s end
  end
  for _, s in ipairs { head(nil, true), head(nil, false) } do   -- 3. no bar, no step time
    if dwidth(s) <= room then return s end
  end
  return count:sub(1, room)
end

return M
