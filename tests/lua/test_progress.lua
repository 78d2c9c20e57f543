-- test_progress.lua: fit's progress line (lua/lunette/progress.lua) at 40, 60, 80 and 200
-- columns: it fits the width; the bar shortens first, then metrics drop from the end
-- (the in-place line), while the epoch's last line wraps its metrics instead.
local T = require "check"
local P = require "lunette.progress"

local function p(b) return { b = b, steps = 1875, ascii = false, time = "12s", step = "6ms/step",
  logs = { loss = 0.4554, accuracy = 0.8434, val_loss = 0.3658, val_accuracy = 0.8717 } } end
local function lines(s)
  local t = {}
  for l in (s .. "\n"):gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end
local function widest(s)
  local w = 0
  for _, l in ipairs(lines(s)) do w = math.max(w, utf8.len(l)) end
  return w
end

local wide = P.line(p(120), 200)
T.check(wide == " 120/1875 ━─────────────────── 12s 6ms/step - accuracy: 0.8434 - loss: 0.4554"
  .. " - val_accuracy: 0.8717 - val_loss: 0.3658", "200 columns: Keras's full line: " .. wide)
for _, w in ipairs { 40, 60, 80, 200 } do
  local s = P.line(p(120), w)
  T.check(not s:find("\n") and utf8.len(s) < w, w .. " columns: the in-place line fits (" .. s .. ")")
  local f = P.line(p(1875), w, true)
  T.check(widest(f) < w, w .. " columns: the epoch's line fits")
  T.check(f:find("val_loss: 0.3658", 1, true) ~= nil, w .. " columns: the epoch's line keeps every metric")
end
local at80 = P.line(p(120), 80)
T.check(at80 == " 120/1875 ───── 12s 6ms/step - accuracy: 0.8434 - loss: 0.4554",
  "80 columns: a 5-cell bar, then the val metrics dropped: " .. at80)
local at40 = P.line(p(120), 40)
T.check(at40 == " 120/1875 ───── 12s 6ms/step", "40 columns: no metrics: " .. at40)
T.check(P.line(p(120), 20) == " 120/1875 12s", "20 columns: count and time only")
T.check(P.bar(10, 20, true, 10) == "[=====>....]", "ascii bar of 10 cells")

T.done()
