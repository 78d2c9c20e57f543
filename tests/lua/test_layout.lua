-- test_layout.lua: model:summary in the width it has (lua/lunette/layout.lua): Keras's
-- table when it fits, narrower columns when they do, stacked rows when nothing else
-- fits; in ASCII and in Unicode boxes; no line wider than the width.
local T = require "check"
local L = require "lunette"
local layout = require "lunette.layout"

local function widest(s)
  local w = 0
  for l in (s .. "\n"):gmatch("([^\n]*)\n") do w = math.max(w, utf8.len(l)) end
  return w
end

local m = nn.Sequential { nn.Input { 20 }, nn.Embedding { 20, 8 }, nn.Conv1D { 16, 2 },
  nn.GlobalMaxPool1D(), nn.Dense { 1 } }
for _, w in ipairs { 40, 60, 80, 200 } do
  local s = m:summary_text { width = w }
  T.check(widest(s) < w, w .. " columns: the summary fits (" .. widest(s) .. ")")
  T.check(s:find("global_max_pooling1d (GlobalMaxPool1D)", 1, true) and s:find("Total params: 449", 1, true),
    w .. " columns: nothing is cut")
end
local s200 = m:summary_text { width = 200 }
T.check(s200:find(" Layer (type)                            Output Shape                    Param #", 1, true),
  "200 columns: Keras's column widths")
local s80 = m:summary_text { width = 80 }
T.check(widest(s80) == 79 and s80:find(" Layer (type) ", 1, true), "80 columns: columns narrowed to 79")
local s60 = m:summary_text { width = 60 }
T.check(s60:find("\nLayer (type)\n    Output Shape", 1, true) and s60:find("\nconv1d (Conv1D)\n    (None, 19, 16)", 1, true),
  "60 columns: stacked rows")

-- Unicode boxes follow the same rules
local rows = { { "conv2d (Conv2D)", "(None, 15, 15, 32)", "896" } }
local boxed = table.concat(layout.table({ "Layer (type)", "Output Shape", "Param #" }, rows,
  { widths = { 33, 26, 15 }, right = { false, false, true }, width = 80 }), "\n")
T.check(boxed:find("^┏") and widest(boxed) == 78, "80 columns: Keras's boxes (78 wide)")
local narrow = table.concat(layout.table({ "Layer (type)", "Output Shape", "Param #" }, rows,
  { widths = { 33, 26, 15 }, right = { false, false, true }, width = 60 }), "\n")
T.check(narrow:find("^┏") and widest(narrow) < 60, "60 columns: narrower boxes")
local stacked = table.concat(layout.table({ "Layer (type)", "Output Shape", "Param #" }, rows,
  { widths = { 33, 26, 15 }, right = { false, false, true }, width = 30 }), "\n")
T.check(not stacked:find("┏") and widest(stacked) < 30, "30 columns: stacked rows")
T.check(L._gethelp("Sequential:summary"):find("width", 1, true) ~= nil, "summary's help documents width")

T.done()
