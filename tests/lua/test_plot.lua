-- test_plot.lua: plot.* from Lua: rendering through the bindings (exact text for small
-- known inputs, checked by eye), the 0..255 auto-detection, grids with titles, history
-- panels, feature maps through a layer sequence, and clear errors for bad input.
local T = require "check"
plot.style("ascii")
T.check(plot.style() == "ascii", "style forced to ascii")

-- a 4x4 ramp given as 0..255 renders like the same ramp in 0..1 (auto-detected scale)
local r255 = plot.image(tensor.arange(16):reshape(4, 4) * 17, { title = "ramp" }):render()
local r1 = plot.image(tensor.arange(16):reshape(4, 4) / 15, { title = "ramp" }):render()
T.check(r255 == r1, "0..255 detected")
T.check(r1 == "  ramp\n  ....::\n::--====\n++++**##\n##%%%%@@", "4x4 ramp golden (ascii)")
T.check(plot.image(tensor.arange(16):reshape(1, 4, 4, 1) / 15, { title = "ramp" }):render() == r1,
  "1xHxWx1 accepted")

-- confusion with class names and counts: same text as the C golden
local cm = tensor { { 5, 1, 0 }, { 2, 7, 1 }, { 0, 0, 9 } }
local want = table.concat({
  "     Confusion matrix",
  "True label",
  "             cat  dog bird",
  "       cat |:: 5    1    0",
  "       dog |.. 2 ** 7    1",
  "      bird |   0    0 ## 9",
  "            Predicted label" }, "\n")
T.check(plot.confusion(cm, { classes = { "cat", "dog", "bird" } }):render() == want, "confusion golden (ascii)")
local norm = plot.confusion(cm, { classes = { "cat", "dog", "bird" }, normalize = true }):render()
T.check(norm:find("0.83", 1, true) and norm:find("Normalized confusion matrix", 1, true), "normalized shows row fractions")
T.check(tostring(plot.confusion(cm)) == plot.confusion(cm):render(), "tostring renders inline")

-- long class names: columns by index, rows "name index"
local big = plot.confusion(tensor.eye(3) * 100, { classes = { "T-shirt/top", "Trouser", "Pullover" } }):render()
T.check(big:find("T-shirt/top 0 |## 100      0      0", 1, true) and big:find("\n%s+0%s+1%s+2\n"),
  "long names: indices on columns")

-- lines: several series, legend, round ticks
local l = plot.lines({ loss = { 2, 1.2, 0.8, 0.6, 0.5 }, val_loss = { 1.8, 1.3, 1.0, 0.9, 0.95 } },
  { title = "Loss", xlabel = "epoch", width = 40, height = 14 }):render()
T.check(l:find("* loss  + val_loss", 1, true), "legend with markers")
T.check(l:find("2.0 +", 1, true) and l:find("0.5 +", 1, true) and l:find("1.5 +", 1, true), "round y ticks")
T.check(l:find("\n     1       2        3       4       5\n", 1, true), "x ticks 1..5")
T.check(plot.lines({ tensor { 1, 2, 3 } }):render(40, 10) ~= nil, "a tensor series")

-- history: two panels, train and validation
local h = { history = { loss = { 1, 0.5, 0.3 }, val_loss = { 1.1, 0.7, 0.6 },
                        accuracy = { 0.5, 0.8, 0.9 }, val_accuracy = { 0.45, 0.7, 0.8 } } }
local hs = plot.history(h):render(100, 20)
local first = hs:match("^[^\n]*")
T.check(first:find("Loss", 1, true) and first:find("Accuracy", 1, true), "history: side by side titles")
T.check(hs:find("* accuracy  + val_accuracy", 1, true) and hs:find("* loss  + val_loss", 1, true), "history legends")
T.check(plot.history({ loss = { 3, 2 } }):render(60, 12):find("* loss", 1, true), "history: plain table, loss only")

-- images grid with "True label: 3 Predicted: 5" titles split over two lines
local g = plot.images(tensor.zeros(2, 4, 4, 1), { labels = { 3, 1 }, predictions = { 5, 1 }, cols = 2 }):render()
T.check(g:find("True label: 3 True label: 1", 1, true) and g:find("Predicted: 5  Predicted: 1", 1, true),
  "grid titles")
local named = plot.images(tensor.zeros(1, 4, 4), { labels = { 1 }, classes = { "cat", "dog" } }):render()
T.check(named:find("Label: dog", 1, true), "labels by class name")

-- feature maps through a sequence of layers (forward called in turn)
local double = { forward = function(_, x) return x * 2 end, name = "double" }
local pool = { forward = function(_, x) return tensor.maxpool2d(x, { size = 2 }) end, name = "pool" }
local model = { layers = { double, pool } }
local fm = plot.featuremaps(model, tensor.rand(4, 4, 3), 2):render()
T.check(fm:find("layer 2 pool: 1x2x2x3", 1, true), "featuremaps title names layer and shape")
T.check(plot.featuremaps(model, tensor.rand(4, 4, 3), "double"):render():find("1x4x4x3", 1, true), "layer by name")
T.check(plot.filters(tensor.randn(3, 3, 3, 2)):render():find("(RGB)", 1, true), "RGB filters")

-- bars and histogram counts
local b = plot.bar({ 1, 2, 4 }, { "a", "b", "c" }, { width = 30 }):render()
T.check(b == "a |###### 1\nb |############ 2\nc |######################## 4", "bars golden")
local hist = plot.hist({ 1, 2, 2, 3, 3, 3 }, { bins = 3 }):render(40, 4)
T.check(hist:find("[1, 1.67) |", 1, true) and hist:find(" 3\n", 1, true) == nil and hist:find("| ?#+ 1\n") ~= nil,
  "hist: first bin has 1")
T.check(hist:find("[2.33, 3] |", 1, true), "hist: last bin closed")
-- values near FLT_MAX, all equal: lo - 0.5 == lo, the width is 0 and the bin was a NaN
-- cast to an integer (undefined); every value now counts in the first bin
local hc = plot._histogram(tensor { 3e38, 3e38, 3e38 }, 4)
T.check(hc[1] == 3 and hc[2] == 0 and hc[4] == 0, "hist: a zero-width range counts its values once, in bin 1")
-- bins, min and max are checked where they are given, by name
T.raises(function() plot.hist({ 1, 2 }, { bins = 2 ^ 31 }) end, "plot.hist: bins must be a whole number in 1..1000, got 2147483648.0")
T.raises(function() plot.hist({ 1, 2 }, { min = 0 / 0 }) end, "plot.hist: min must be a finite number, got")
T.raises(function() plot.hist({ 1, 2 }, { min = 3, max = 1 }) end, "plot.hist: min (3) must be below max (1)")
T.raises(function() plot.hist({ 1, 2 }, { width = (1 << 32) + 10 }) end, "width and height must be 1..4096, got 4294967306 and 0")
-- a wrong mode is named briefly (a model used to print its whole summary into the message)
T.raises(function() lunette.graphics(nn.Sequential { nn.Input { 2 }, nn.Dense { 1 } }) end,
  "lunette.graphics: mode must be 'text', 'sixel', 'kitty' or 'auto', got a table")
T.raises(function() lunette.graphics("pixels") end, "got 'pixels'")

-- styles: unicode braille and half blocks, colour codes only in colour
plot.style("unicode")
local u = plot.lines({ a = { 1, 2, 3 } }):render(30, 10)
T.check(u:find("\u{2502}", 1, true) and not u:find("\27[", 1, true), "unicode: box drawing, no SGR")
plot.style("color")
local c = plot.image(tensor.rand(4, 4)):render()
T.check(c:find("\u{2580}", 1, true) and c:find("\27[0;38;5;", 1, true), "color: half blocks with 256-colour SGR")
plot.style("auto")
T.check(plot.style() == "ascii", "auto under ctest (not a tty): ascii")

-- bad input: clear errors
T.raises(function() plot.lines { loss = {} } end, "plot.lines: series 'loss' is empty")
T.raises(function() plot.lines {} end, "plot.lines: no series to plot")
T.raises(function() plot.lines { loss = { 1, "x" } } end, "plot.lines: series 'loss' item 2 is a string")
T.raises(function() plot.confusion(tensor.zeros(3, 3), { classes = { "a", "b" } }) end,
  "plot.confusion: 2 class names for a 3x3 matrix")
T.raises(function() plot.confusion(tensor.zeros(3, 4)) end, "plot.confusion: expected a square kxk matrix, got 3x4")
T.raises(function() plot.image(tensor.zeros(4, 4, 2)) end, "plot.image: expected an image HxW, HxWx1 or HxWx3, got 4x4x2")
T.raises(function() plot.image(tensor.zeros(10)) end, "got 10")
T.raises(function() plot.images(tensor.zeros(4, 4)) end, "plot.images: expected a batch NxHxW or NxHxWxC")
T.raises(function() plot.images(tensor.zeros(2, 4, 4), { labels = { 1 } }) end, "plot.images: 1 labels for 2 images")
T.raises(function() plot.bar({ 1, 2 }, { "a" }) end, "plot.bar: 1 labels for 2 values")
T.raises(function() plot.history({}) end, "plot.history: the history has no loss or accuracy values")
T.raises(function() plot.featuremaps(model, tensor.rand(4, 4, 3), 3) end, "plot.featuremaps: layer 3 is not in 1..2")
T.raises(function() plot.featuremaps(model, tensor.rand(4, 4, 3), {layer = 1}) end, "plot.featuremaps: layer must be an index or a name, got a table")
T.raises(function() plot.featuremaps(tensor.zeros(10)) end, "not feature maps")
T.raises(function() plot.filters(tensor.zeros(3, 3)) end, "plot.filters: expected KHxKWxINxOUT kernels, got 3x3")
T.raises(function() plot.style("neon") end, "invalid option 'neon'")

-- help text for every function
for _, name in ipairs { "lines", "history", "confusion", "image", "images", "featuremaps", "filters", "bar", "hist", "style" } do
  T.check(lunette._gethelp(plot[name]) ~= nil, "help for plot." .. name)
end
-- ten classes with long names fit 80 columns (compact cells) and keep every column
do
  local cm = tensor.zeros(10, 10)
  for i = 1, 10 do cm:set(i, i, 950) end
  local names = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" }
  local text = tostring(plot.confusion(cm, { classes = names, width = 80 }))
  local widest = 0
  for line in text:gmatch("[^\n]+") do widest = math.max(widest, #line) end
  T.check(widest <= 80, "10-class confusion fits 80 columns, widest line " .. widest)
  T.check(text:find("Ankle boot 9 |   0", 1, true) and select(2, text:gsub("950", "")) == 10,
    "every cell of the 10-class matrix is shown")
  local narrow = tostring(plot.confusion(cm, { normalize = true, width = 40 }))
  T.check(select(2, narrow:gsub("1%.00", "")) == 10, "a too-narrow width still shows every column")
end

T.done()
