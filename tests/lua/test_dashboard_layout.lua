-- test_dashboard_layout.lua: the dashboard's screen (lua/lunette/dashboard.lua D:frame)
-- at 60, 80 and 200 columns without a terminal: the header wraps instead of being cut
-- (the ETA and "[q] stop early" are whole), no line is wider than the window, and the
-- curves' legends list every series (wrapped onto a second line when narrow).
local T = require "check"
local dash = require "lunette.dashboard"
plot.style("unicode")

local d = dash.start { epochs = 3, steps = 1875, validation = true }   -- not live: no terminal
T.check(d.live == false, "no terminal: not live")
for b = 1, 1875 do d:batch(1, b, { loss = 1 / b, accuracy = b / 2000 }) end
d:epoch(1, { loss = 0.5, accuracy = 0.8, val_loss = 0.6, val_accuracy = 0.7 })
for b = 1, 100 do d:batch(2, b, { loss = 0.4, accuracy = 0.85 }) end

local function widest(s)
  local w = 0
  for l in (s .. "\n"):gmatch("([^\n]*)\n") do w = math.max(w, utf8.len(l)) end
  return w
end
for _, w in ipairs { 60, 80, 200 } do
  local lines, p = d:frame(w, 30)
  local head = table.concat(lines, "\n")
  T.check(widest(head) < w, w .. " columns: the header fits (" .. widest(head) .. ")")
  T.check(head:find("ETA %d+:%d%d") and head:find("[q] stop early", 1, true), w .. " columns: ETA and q whole")
  T.check(head:find("val_accuracy 0.7000", 1, true) ~= nil, w .. " columns: the epoch's metrics are all there")
  T.check(p ~= nil, w .. " columns: curves drawn")
  local text = p:render()
  T.check(widest(text) <= w, w .. " columns: the curves fit")
  for _, name in ipairs { "loss (batch)", "val_loss", "accuracy (batch)", "val_accuracy" } do
    T.check(text:find(name, 1, true) ~= nil, w .. " columns: legend shows " .. name)
  end
end
local narrow = table.concat((d:frame(60, 30)), "\n")
T.check(select(2, narrow:gsub("\n", "")) >= 3, "60 columns: the header took more lines")
d:finish()
T.done()
