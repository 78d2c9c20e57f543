-- lunette/plot.lua: the plot constructors (lines, history, confusion, image, images,
-- featuremaps, filters, bar, hist). Each checks its arguments, builds a spec of panels
-- and hands it to the C side (plot._new, src/lua/l_plot.c), which owns the data and
-- renders it (src/plot/plot.c). Every constructor returns a plot object: print(p)
-- draws it inline, p:view() opens the full-screen viewer.
local L = require "lunette"
local error = L._error     -- errors point at the caller's code, not this file
local P = L.plot
local tensor = L.tensor

local function help(fn, name, text) L._sethelp(fn, name, text) end

-- ---- argument helpers ----

local function is_tensor(x) return tensor.is(x) end

-- A series (table of numbers or a tensor) checked for `fn`; returns it unchanged.
local function series_values(fn, name, v)
  if is_tensor(v) then
    return v
  elseif type(v) == "table" then
    if #v == 0 then error(string.format("%s: series '%s' is empty", fn, name), 3) end
    for i = 1, #v do
      if type(v[i]) ~= "number" then
        error(string.format("%s: series '%s' item %d is a %s, expected a number", fn, name, i,
          type(v[i])), 3)
      end
    end
    return v
  end
  error(string.format("%s: series '%s' must be a table of numbers or a tensor, got a %s", fn,
    name, type(v)), 3)
end

local function opt_size(spec, opts)
  if opts then
    spec.width, spec.height = opts.width, opts.height
  end
  return spec
end

local function shape_str(t)
  return table.concat(t:size(), "x")
end

-- Scales an image tensor into 0..1: values above 1 are taken as 0..255; `normalize`
-- stretches min..max to 0..1 (a constant image becomes 0).
local function unit_range(t, normalize)
  local mn, mx = t:min(), t:max()
  if normalize then
    if mx > mn then return (t - mn) / (mx - mn) end
    return t * 0
  end
  if mx > 1 then return t / 255 end
  return t
end

-- An image tensor as H×W×C (C 1 or 3), accepting H×W, H×W×1, H×W×3 and 1×H×W×C.
local function as_image(fn, t)
  if not is_tensor(t) then
    if type(t) ~= "table" then
      error(fn .. ": expected an image tensor (HxW, HxWx1 or HxWx3), got a " .. type(t), 3)
    end
    t = tensor(t)
  end
  local s = t:size()
  if #s == 4 and s[1] == 1 then t = t:reshape(s[2], s[3], s[4]); s = t:size() end
  if #s == 2 then t = t:reshape(s[1], s[2], 1); s = t:size() end
  if #s ~= 3 or (s[3] ~= 1 and s[3] ~= 3) then
    error(string.format("%s: expected an image HxW, HxWx1 or HxWx3, got %s", fn, shape_str(t)), 3)
  end
  return t
end

local function label_name(classes, v)
  if type(v) ~= "number" then return tostring(v) end
  if classes and classes[v + 1] then return tostring(classes[v + 1]) end
  return string.format("%d", v)
end

local function to_list(fn, what, v, n)
  if v == nil then return nil end
  local out = {}
  if is_tensor(v) then
    local flat = v:reshape(-1)
    for i = 1, flat:numel() do out[i] = flat:get(i) end
  elseif type(v) == "table" then
    for i = 1, #v do out[i] = v[i] end
  else
    error(string.format("%s: '%s' must be a table or a tensor, got a %s", fn, what, type(v)), 3)
  end
  if n and #out < n then
    error(string.format("%s: %d %s for %d images", fn, #out, what, n), 3)
  end
  return out
end

-- ---- line charts ----

-- lines{name=series, ...}: named series are drawn in name order.
function P.lines(series, opts)
  local fn = "plot.lines"
  opts = L._options(opts, "plot.lines", "name title xlabel ylabel start step width height")
  local list = {}
  if is_tensor(series) or (type(series) == "table" and type(series[1]) == "number") then
    list[1] = { name = opts.name or "y", y = series_values(fn, opts.name or "y", series) }
  elseif type(series) == "table" then
    local names = {}
    for k in pairs(series) do names[#names + 1] = tostring(k) end
    table.sort(names)
    for _, k in ipairs(names) do
      local v = series[k]
      if v == nil then v = series[tonumber(k)] end
      list[#list + 1] = { name = k, y = series_values(fn, k, v) }
    end
  else
    error(fn .. ": expected a table of named series, got a " .. type(series), 2)
  end
  if #list == 0 then error(fn .. ": no series to plot", 2) end
  return P._new(opt_size({
    title = nil,
    panels = { { kind = "lines", title = opts.title, xlabel = opts.xlabel or "step",
                 ylabel = opts.ylabel, x0 = opts.start or 1, dx = opts.step or 1, series = list } },
  }, opts))
end
help(P.lines, "plot.lines", [==[plot.lines{name=series, ...} [, opts]

A line chart of one or more series (tables of numbers or 1-D tensors), each with its
own colour (or marker without colour), a legend, round y ticks and an x axis counting
points from 1. NaN values are skipped and marked with x on the x axis.
opts: title, xlabel ('step'), ylabel, start (x of the first point, 1), step (1),
width, height (default: the terminal's width).
Example: plot.lines({loss={2.3, 1.1, 0.7}, val_loss={2.0, 1.3, 1.0}}, {title='Loss', xlabel='epoch'})]==])

function P.history(h, opts)
  local fn = "plot.history"
  opts = L._options(opts, "plot.history", "title width height lr")
  if type(h) ~= "table" then error(fn .. ": expected the history model:fit returns, got a " .. type(h), 2) end
  local hist = type(h.history) == "table" and h.history or h
  local function get(...)
    for _, k in ipairs { ... } do
      if type(hist[k]) == "table" and #hist[k] > 0 then return hist[k] end
    end
  end
  local panels = {}
  local loss, val_loss = get("loss"), get("val_loss")
  local acc, val_acc = get("accuracy", "acc"), get("val_accuracy", "val_acc")
  local function panel(title, ylabel, a, an, b, bn)
    local s = {}
    if a then s[#s + 1] = { name = an, y = series_values(fn, an, a) } end
    if b then s[#s + 1] = { name = bn, y = series_values(fn, bn, b) } end
    if #s > 0 then
      panels[#panels + 1] = { kind = "lines", title = title, xlabel = "epoch", series = s }
    end
  end
  panel("Loss", "loss", loss, "loss", val_loss, "val_loss")
  panel("Accuracy", "accuracy", acc, "accuracy", val_acc, "val_accuracy")
  -- the learning rate when it changed during training (a schedule, a callback), or asked for
  local lr = get("lr", "learning_rate")
  local varies = false
  for i = 2, lr and #lr or 0 do varies = varies or lr[i] ~= lr[1] end
  if lr and (opts.lr == true or (varies and opts.lr ~= false)) then panel("Learning rate", "lr", lr, "lr") end
  if #panels == 0 then error(fn .. ": the history has no loss or accuracy values", 2) end
  return P._new(opt_size({ title = opts.title, cols = #panels, panels = panels }, opts))
end
help(P.history, "plot.history", [==[plot.history(h [, opts])

Loss and accuracy per epoch side by side (train and validation), like the lesson's two
matplotlib figures, and the learning rate when it changed (a schedule or a callback;
lr=true always shows it, lr=false never). h is what model:fit returns (h.history.loss,
.accuracy, .val_loss, .val_accuracy, .lr) or that history table itself.
opts: title, width, height, lr.
Example: h = model:fit(x, y, {epochs=5, validation_data={xv, yv}}); plot.history(h)]==])

-- ---- confusion matrices ----

function P.confusion(cm, opts)
  local fn = "plot.confusion"
  opts = L._options(opts, "plot.confusion", "classes normalize title width height x y_true y_pred model")
  if not is_tensor(cm) then
    if type(cm) ~= "table" then error(fn .. ": expected a kxk matrix (tensor or table), got a " .. type(cm), 2) end
    local ok, t = pcall(tensor, cm)
    if not ok then error(fn .. ": " .. tostring(t):gsub("^[^\n]-:%d+: ", "")) end
    cm = t
  end
  local s = cm:size()
  if #s ~= 2 or s[1] ~= s[2] then
    error(string.format("%s: expected a square kxk matrix, got %s", fn, shape_str(cm)), 2)
  end
  local classes = opts.classes
  if classes ~= nil then
    if type(classes) ~= "table" then error(fn .. ": classes must be a table of names", 2) end
    if #classes ~= s[1] then
      error(string.format("%s: %d class names for a %dx%d matrix", fn, #classes, s[1], s[2]), 2)
    end
    local c = {}
    for i = 1, #classes do c[i] = tostring(classes[i]) end
    classes = c
  end
  local spec = opt_size({ panels = { { kind = "confusion", cm = cm, classes = classes,
    normalize = opts.normalize and true or false,
    title = opts.title or (opts.normalize and "Normalized confusion matrix" or "Confusion matrix") } } }, opts)
  local drill = P._drill_data(fn, s[1], classes, opts)
  if drill then spec._view = function(p) P._drill_view(p, drill) end end
  return P._new(spec)
end
help(P.confusion, "plot.confusion", [==[plot.confusion(cm [, opts])

A confusion matrix (kxk: rows true labels, columns predicted, as
metrics.confusion_matrix returns) with the value in every cell, shaded by value,
class names on both axes, "True label" and "Predicted label".
opts: classes (k names), normalize (false: counts; true: each row divided by its sum),
title, width, height.
Drill-down: given the samples too (x: NxHxWxC images, y_true: N ids, y_pred: N ids or
NxK probabilities, and optionally model), p:view() lets the arrow keys pick a cell and
Enter page through its images (n/p or the arrows), each with its true and predicted
class and its probabilities; g shows its Grad-CAM (needs model); Esc returns to the
matrix, q leaves. From Lua: metrics.misclassified(y_true, y_pred, {true_class, pred_class}).
Example: plot.confusion(metrics.confusion_matrix(y, pred, 10), {classes=ds.classes, normalize=true})]==])

-- ---- confusion-matrix drill-down (plot.confusion with x, y_true, y_pred [, model]) ----

local explain_plot      -- plot.gradcam's body (below)

local function ids_of(fn, what, v, n)
  if not is_tensor(v) then
    if type(v) ~= "table" then error(string.format("%s: %s must be a tensor or a table of class ids", fn, what), 4) end
    v = tensor(v)
  end
  return v
end

-- Checks the drill-down options; nil when none is given.
function P._drill_data(fn, k, classes, opts)
  if opts.x == nil and opts.y_true == nil and opts.y_pred == nil and opts.model == nil then return nil end
  local x, yt, yp = opts.x, opts.y_true, opts.y_pred
  if not is_tensor(x) or #x.shape < 3 then error(fn .. ": drill-down: x must be the images (NxHxWxC)", 3) end
  if yt == nil or yp == nil then error(fn .. ": drill-down: needs x, y_true and y_pred", 3) end
  yt, yp = ids_of(fn, "y_true", yt), ids_of(fn, "y_pred", yp)
  local n = x.shape[1]
  if yt.shape[1] ~= n or yp.shape[1] ~= n then
    error(string.format("%s: drill-down: x has %d samples, y_true %d, y_pred %d", fn, n, yt.shape[1], yp.shape[1]), 3)
  end
  local probs
  if #yp.shape == 2 and yp.shape[2] > 1 then
    if yp.shape[2] ~= k then error(string.format("%s: drill-down: y_pred has %d classes, the matrix %d", fn, yp.shape[2], k), 3) end
    probs = yp
  end
  local model = opts.model
  if model ~= nil and (type(model) ~= "table" or type(model._network) ~= "function") then
    error(fn .. ": drill-down: model must be a model (nn.Sequential or nn.Model)", 3)
  end
  -- the samples of every cell, in order
  local ti, pi = yt:reshape(-1), probs and probs:argmax(2) or yp:reshape(-1)
  local cells = {}
  for i = 1, n do
    local a, b = ti:get(i), pi:get(i)
    if a >= 0 and a < k and b >= 0 and b < k and a % 1 == 0 and b % 1 == 0 then
      local key = math.tointeger(a * k + b)
      local c = cells[key]
      if not c then c = {}; cells[key] = c end
      c[#c + 1] = i
    end
  end
  return { k = k, classes = classes, x = x, yt = ti, yp = pi, probs = probs, model = model, cells = cells }
end

-- The page of sample i: the image and its probabilities, or its Grad-CAM.
local function drill_page(d, i, cam)
  local t, pr = math.tointeger(d.yt:get(i)), math.tointeger(d.yp:get(i))
  if cam then
    return explain_plot("plot.confusion", "gradcam", d.model, d.x[i], { label = t, class = pr, classes = d.classes })
  end
  local img = d.x[i]
  local xs = img.shape
  if #xs == 3 and xs[3] ~= 1 and xs[3] ~= 3 then img = img:mean(3):reshape(xs[1], xs[2], 1) end
  img = as_image("plot.confusion", img)
  if img:max() > 1 then img = img / 255 end
  local panels = { { kind = "image", px = img,
    title = "True: " .. label_name(d.classes, t) .. " Predicted: " .. label_name(d.classes, pr) } }
  local probs = d.probs and d.probs[i]
  if not probs and d.model then
    local ok, pp = pcall(d.model.predict, d.model, d.x[i]:reshape(1, table.unpack(d.x[i].shape)))
    if ok then probs = (type(pp) == "table" and pp[1] or pp)[1] end
  end
  if probs then
    local K = probs:numel()
    local order = {}
    for j = 1, K do order[j] = j - 1 end
    table.sort(order, function(a, b)
      local pa, pb = probs:get(a + 1), probs:get(b + 1)
      if pa ~= pb then return pa > pb end
      return a < b
    end)
    local vals, labels = {}, {}
    for j = 1, math.min(K, 5) do
      vals[j] = probs:get(order[j] + 1)
      labels[j] = label_name(d.classes, order[j])
    end
    panels[2] = { kind = "bars", values = tensor(vals), labels = labels, title = "Probabilities" }
  end
  return P._new { cols = #panels, panels = panels, title = string.format("True: %s  Predicted: %s  (sample %d)",
    label_name(d.classes, t), label_name(d.classes, pr), i) }
end

-- The drill-down viewer (raw keys): the matrix with a cell cursor, then the pages of a cell.
function P._drill_view(p, d)
  if not P._screen_begin(true) then print(p) return end
  local ci, cj, mode, list, pos, cam, note = 0, 0, "matrix", nil, 1, false, nil
  local function name(c) return label_name(d.classes, c) end
  local ok, err = pcall(function()
    while true do
      if mode == "matrix" then
        local n = #(d.cells[ci * d.k + cj] or {})
        local status = string.format(" true %s, predicted %s: %d image%s%s   [arrows] move  [enter] images  [q] quit",
          name(ci), name(cj), n, n == 1 and "" or "s", note and "  (" .. note .. ")" or "")
        P._screen_show(p, { panel = 0, i = ci, j = cj }, status)
      else
        local i = list[pos]
        local okp, page = pcall(drill_page, d, i, cam)
        if not okp then
          cam = false
          note = tostring(page):gsub("^[^\n]-:%d+: ", "")
          page = drill_page(d, i, false)
        end
        local status = string.format(" true %s, predicted %s: image %d/%d (sample %d)%s   [n/p] page  [g] %s  [esc] back  [q] quit",
          name(d.yt:get(i)), name(d.yp:get(i)), pos, #list, i, note and "  (" .. note .. ")" or "",
          cam and "image" or "Grad-CAM")
        P._screen_show(page, nil, status)
      end
      note = nil
      local k
      repeat k = P._screen_key(250) until k ~= nil
      if k == "q" or k == "eof" then return end
      if mode == "matrix" then
        if k == "left" then cj = math.max(cj - 1, 0)
        elseif k == "right" then cj = math.min(cj + 1, d.k - 1)
        elseif k == "up" then ci = math.max(ci - 1, 0)
        elseif k == "down" then ci = math.min(ci + 1, d.k - 1)
        elseif k == "esc" then return
        elseif k == "enter" then
          list = d.cells[ci * d.k + cj]
          if list and #list > 0 then mode, pos, cam = "images", 1, false else note = "no images in this cell" end
        end
      else
        if k == "esc" then mode = "matrix"
        elseif k == "right" or k == "n" or k == "pgdn" or k == " " or k == "down" then pos = math.min(pos + 1, #list)
        elseif k == "left" or k == "p" or k == "pgup" or k == "up" then pos = math.max(pos - 1, 1)
        elseif k == "g" then
          if d.model then cam = not cam else note = "Grad-CAM needs the model: plot.confusion(cm, {..., model=m})" end
        end
      end
    end
  end)
  P._screen_end()
  if not ok then error(err, 0) end
end

-- ---- images ----

function P.image(t, opts)
  local fn = "plot.image"
  opts = L._options(opts, "plot.image", "title normalize width height")
  local img = unit_range(as_image(fn, t), opts.normalize)
  local s = img:size()
  local title = opts.title or string.format("%s", table.concat(s, "x"))
  return P._new(opt_size({ panels = { { kind = "image", px = img, title = title } } }, opts))
end
help(P.image, "plot.image", [==[plot.image(t [, opts])

An image drawn with half blocks in colour (one cell = 1x2 pixels), or with shade
characters in the colourless styles. t is HxW or HxWx1 (grey) or HxWx3 (RGB),
or 1xHxWxC; values 0..1, or 0..255 (detected: any value above 1).
opts: title (default the shape), normalize (stretch min..max to 0..1), width, height.
Example: plot.image(ds.x_train[1], {title=ds.classes[ds.y_train:get(1) + 1]})]==])

-- A grid of image panels from a list of HxWxC tensors already in 0..1.
local function grid(fn, imgs, titles, opts, title)
  local n = #imgs
  local cols = opts.cols
  if not cols then
    local tw = P._term_size()
    local s = imgs[1]:size()
    local colour = P.style() == "color"
    local cw = math.max(colour and s[2] or 2 * s[2], 12)
    cols = math.max(1, math.min(n, 10, (tw + 1) // (cw + 1)))
  end
  if type(cols) ~= "number" or cols < 1 then error(fn .. ": cols must be a positive integer", 3) end
  local panels = {}
  for i = 1, n do panels[i] = { kind = "image", px = imgs[i], title = titles and titles[i] } end
  return P._new(opt_size({ title = title, cols = math.floor(cols), panels = panels }, opts))
end

function P.images(batch, opts)
  local fn = "plot.images"
  opts = L._options(opts, "plot.images", "max normalize labels predictions|pred titles classes title cols width height")
  local list = {}
  if is_tensor(batch) then
    local s = batch:size()
    if #s < 3 or #s > 4 or (#s == 4 and s[4] ~= 1 and s[4] ~= 3) then
      error(string.format("%s: expected a batch NxHxW or NxHxWxC (C 1 or 3), got %s", fn, shape_str(batch)), 2)
    end
    for i = 1, s[1] do list[i] = batch[i] end
  elseif type(batch) == "table" then
    for i = 1, #batch do list[i] = batch[i] end
  else
    error(fn .. ": expected a batch tensor or a table of images, got a " .. type(batch), 2)
  end
  if #list == 0 then error(fn .. ": no images", 2) end
  local max = opts.max or 64
  local n = math.min(#list, max)
  local big = false
  for i = 1, n do
    list[i] = as_image(fn, list[i])
    if not opts.normalize and list[i]:max() > 1 then big = true end
  end
  for i = 1, n do
    local img = list[i]
    if opts.normalize then img = unit_range(img, true) elseif big then img = img / 255 end
    list[i] = img
  end
  for i = n + 1, #list do list[i] = nil end
  local labels = to_list(fn, "labels", opts.labels, n)
  local preds = to_list(fn, "predictions", opts.predictions or opts.pred, n)
  local titles = to_list(fn, "titles", opts.titles, n)
  if not titles and (labels or preds) then
    titles = {}
    for i = 1, n do
      if labels and preds then
        titles[i] = "True label: " .. label_name(opts.classes, labels[i]) .. " Predicted: " .. label_name(opts.classes, preds[i])
      elseif labels then
        titles[i] = "Label: " .. label_name(opts.classes, labels[i])
      else
        titles[i] = "Predicted: " .. label_name(opts.classes, preds[i])
      end
    end
  end
  if titles then for i = 1, n do titles[i] = tostring(titles[i]) end end
  return grid(fn, list, titles, opts, opts.title)
end
help(P.images, "plot.images", [==[plot.images(batch [, opts])

A grid of images with a title above each. batch is NxHxW or NxHxWxC (C 1 or 3), or a
table of images; values 0..1 or 0..255.
opts: labels (true class ids), predictions (predicted ids; with labels the titles read
"True label: 3 Predicted: 5"), classes (names for the ids), titles (strings, instead),
cols (default: as many as fit), max (64 images), normalize (each image min..max),
title, width, height. In the viewer the arrows move from image to image.
Example: plot.images(ds.x_test:slice(1, 1, 8), {labels=ds.y_test:slice(1, 1, 8), classes=ds.classes})]==])

-- ---- feature maps and filters ----

local function layers_of(model)
  if type(model) == "table" or type(model) == "userdata" then
    local ok, ls = pcall(function() return model.layers end)
    if ok and type(ls) == "function" then ls = model:layers() end
    if ok and type(ls) == "table" then return ls end
  end
  return nil
end

local function layer_name(l, i)
  local ok, name = pcall(function() return l.name end)
  if ok and type(name) == "string" then return name end
  local mt = getmetatable(l)
  local tn = type(mt) == "table" and rawget(mt, "__name")
  return type(tn) == "string" and tn:gsub("^lunette%.", "") or ("layer " .. i)
end

-- The output of layer `which` (index or name) for input x, by calling each layer's
-- forward in turn (or the model's own helper when it has one).
local function layer_output(fn, model, x, which)
  local layers = layers_of(model)
  if not layers then error(fn .. ": expected a model with layers (nn.Sequential), got a " .. type(model), 3) end
  local mt = getmetatable(model)
  if type(mt) == "table" and mt.__name == "lunette.Model" then
    error(fn .. ": takes a Sequential model (graph models are not supported here yet)", 3)
  end
  local idx = which
  if type(which) ~= "number" and type(which) ~= "string" then
    error(string.format("%s: layer must be an index or a name, got a %s", fn, type(which)), 3)
  end
  if type(which) == "string" then
    for i, l in ipairs(layers) do if layer_name(l, i) == which then idx = i end end
    if type(idx) ~= "number" then error(fn .. ": no layer named '" .. which .. "'", 3) end
  end
  if type(idx) ~= "number" or idx < 1 or idx > #layers or idx % 1 ~= 0 then
    error(string.format("%s: layer %s is not in 1..%d", fn, tostring(which), #layers), 3)
  end
  if not is_tensor(x) then x = tensor(x) end
  local s = x:size()
  if #s == 3 then x = x:reshape(1, s[1], s[2], s[3]) elseif #s == 2 then x = x:reshape(1, s[1], s[2], 1) end
  -- a model checks x against its input shape first: a layer's own forward would set an
  -- unbuilt layer up for x's (wrong) shape and leave the model broken
  if type(model) == "table" and type(model._network) == "function" then
    local ok, err = pcall(model.forward, model, x)
    if not ok then error(fn .. ": " .. tostring(err):gsub("^[^\n]-:%d+: ", ""), 3) end
  end
  local out = x
  for i = 1, idx do out = layers[i]:forward(out) end
  return out, layer_name(layers[idx], idx), idx
end

function P.featuremaps(model, x, layer, opts)
  local fn = "plot.featuremaps"
  local out, name, idx
  if is_tensor(model) then                  -- featuremaps(activation [, opts])
    out, opts, name = model, (type(x) == "table" and x or opts), "output"
  else
    out, name, idx = layer_output(fn, model, x, layer)
  end
  opts = L._options(opts, "plot.featuremaps", "max title cols width height")
  local s = out:size()
  local maps = out
  if #s == 4 and s[1] == 1 then maps = out:reshape(s[2], s[3], s[4]) elseif #s == 2 then maps = out:reshape(s[1], s[2], 1) end
  local ms = maps:size()
  if #ms ~= 3 then
    error(string.format("%s: %s gives %s, not feature maps (HxWxC)", fn,
      idx and string.format("layer %d (%s)", idx, name) or "the tensor", shape_str(out)), 2)
  end
  local h, w, c = ms[1], ms[2], ms[3]
  local chw = maps:permute(3, 1, 2)
  local n = math.min(c, opts.max or 64)
  local imgs, titles = {}, {}
  for i = 1, n do
    imgs[i] = unit_range(chw[i]:reshape(h, w, 1), true)
    titles[i] = tostring(i)
  end
  local title = string.format("%s%s: %s%s", idx and string.format("layer %d ", idx) or "", name,
    shape_str(out), n < c and string.format(" (first %d of %d channels)", n, c) or
    string.format(" (%d channel%s, each scaled to its min..max)", c, c == 1 and "" or "s"))
  return grid(fn, imgs, titles, opts, opts.title or title)
end
help(P.featuremaps, "plot.featuremaps", [==[plot.featuremaps(model, x, layer [, opts]) or plot.featuremaps(activation [, opts])

A grid of one layer's output channels for input x (HxWxC or 1xHxWxC), each scaled to
its own min..max, with the output shape in the title: what convolution filters
respond to, and what max pooling keeps. layer is an index (1-based) or a layer name;
the output is computed by calling each layer's forward up to it. Given a tensor
(HxWxC or 1xHxWxC), its channels are drawn directly.
opts: cols, max (64 channels), title, width, height.
Example: plot.featuremaps(model, ds.x_test[1], 2)]==])

function P.filters(layer, opts)
  local fn = "plot.filters"
  opts = L._options(opts, "plot.filters", "channel max title cols width height")
  local w = layer
  if not is_tensor(w) then
    local ok, lw = pcall(function() return layer.weight end)
    if not ok or not is_tensor(lw) then error(fn .. ": expected a convolution layer or a kernel tensor", 2) end
    w = lw
  end
  local s = w:size()
  if #s ~= 4 then
    error(string.format("%s: expected KHxKWxINxOUT kernels, got %s", fn, shape_str(w)), 2)
  end
  local kh, kw, cin, cout = s[1], s[2], s[3], s[4]
  local ch = opts.channel or 1
  local colour = cin == 3 and not opts.channel
  local per = w:permute(4, 1, 2, 3)          -- OUT×KH×KW×IN
  local n = math.min(cout, opts.max or 64)
  local imgs, titles = {}, {}
  for i = 1, n do
    local k = per[i]
    if not colour then k = k:permute(3, 1, 2)[ch]:reshape(kh, kw, 1) end
    imgs[i] = unit_range(k, true)
    titles[i] = tostring(i)
  end
  local title = string.format("kernels %s: %d filter%s%s", shape_str(w), cout, cout == 1 and "" or "s",
    colour and " (RGB)" or string.format(" (input channel %d of %d)", ch, cin))
  return grid(fn, imgs, titles, opts, opts.title or title)
end
help(P.filters, "plot.filters", [==[plot.filters(layer [, opts])

A grid of a convolution layer's kernels (weights KHxKWxINxOUT), one image per output
filter, each scaled to its min..max: RGB when IN is 3, else one input channel.
opts: channel (input channel, default 1), cols, max (64), title, width, height.
Example: plot.filters(model.layers[1])]==])

-- ---- bars and histograms ----

function P.bar(values, labels, opts)
  local fn = "plot.bar"
  if type(labels) == "table" and opts == nil and labels[1] == nil and next(labels) ~= nil then
    opts, labels = labels, labels.labels
  end
  opts = L._options(opts, "plot.bar", "labels title width height")
  local v = values
  if not is_tensor(v) then
    if type(v) ~= "table" then error(fn .. ": expected values (a table of numbers or a tensor), got a " .. type(v), 2) end
    if #v == 0 then error(fn .. ": no values", 2) end
    v = tensor(v)
  end
  local n = v:numel()
  if labels ~= nil then
    if type(labels) ~= "table" then error(fn .. ": labels must be a table of strings", 2) end
    if #labels ~= n then error(string.format("%s: %d labels for %d values", fn, #labels, n), 2) end
    local l = {}
    for i = 1, n do l[i] = tostring(labels[i]) end
    labels = l
  end
  return P._new(opt_size({ panels = { { kind = "bars", values = v:reshape(-1), labels = labels,
    title = opts.title } } }, opts))
end
help(P.bar, "plot.bar", [==[plot.bar(values [, labels [, opts]])

Horizontal bars, one per value, with its label and value.
values: a table of numbers or a tensor; labels: as many strings (default 1, 2, ...).
opts: title, width, height.
Example: plot.bar({0.91, 0.85, 0.62}, {'T-shirt/top', 'Trouser', 'Pullover'})]==])

local function fmt_edge(v)
  local s = string.format("%.3g", v)
  if s == "-0" then s = "0" end
  return s
end

-- plot.hist(history, {layer, kind}): one layer's histograms per epoch, small multiples.
local function hist_epochs(fn, history, opts)
  local hs = history.histograms
  if type(hs) ~= "table" or #hs == 0 then
    error(fn .. ": the history has no histograms: train with fit{..., monitor=true}", 3)
  end
  local kind = opts.kind or "weights"
  if kind ~= "weights" and kind ~= "activations" then
    error(fn .. ": kind must be 'weights' or 'activations', got " .. tostring(kind), 3)
  end
  local name = opts.layer
  if name == nil then
    for _, r in ipairs(hs[1]) do if r[kind] then name = r.name break end end
    if not name then error(fn .. ": no layer has " .. kind .. " histograms", 3) end
  end
  local panels = {}
  for e, layers in ipairs(hs) do
    local found
    for _, r in ipairs(layers) do if r.name == name then found = r end end
    if not found then error(string.format("%s: no layer named '%s' in the history", fn, tostring(name)), 3) end
    local h = found[kind]
    if not h then error(string.format("%s: layer '%s' has no %s", fn, name, kind), 3) end
    local n = #h.counts
    local dx = (h.hi - h.lo) / n
    panels[#panels + 1] = { kind = "lines", title = "epoch " .. e, x0 = h.lo + dx / 2, dx = dx,
      series = { { name = "count", y = h.counts } } }
  end
  local cols = opts.cols or math.min(#panels, (L.columns() or 80) >= 100 and 4 or 3)
  return P._new(opt_size({ title = opts.title or string.format("%s of %s per epoch (%d bins over each epoch's range)",
    kind == "weights" and "Weights" or "Activations", name, #panels[1].series[1].y),
    cols = cols, panels = panels }, opts))
end

function P.hist(t, opts)
  local fn = "plot.hist"
  if type(t) == "table" and not is_tensor(t) and (t.histograms ~= nil or t.history ~= nil) then
    return hist_epochs(fn, t, L._options(opts, fn, "layer kind cols title width height"))
  end
  opts = L._options(opts, "plot.hist", "bins min max title width height")
  if not is_tensor(t) then
    if type(t) ~= "table" then error(fn .. ": expected a tensor or a table of numbers, got a " .. type(t), 2) end
    if #t == 0 then error(fn .. ": no values", 2) end
    t = tensor(t)
  end
  -- checked here, named: C would say "bad argument #2 to '_histogram'", and a NaN or
  -- reversed range "no finite values"
  local bins = opts.bins or 10
  if type(bins) ~= "number" or bins % 1 ~= 0 or bins < 1 or bins > 1000 then
    error(string.format("%s: bins must be a whole number in 1..1000, got %s", fn,
      type(bins) == "string" and string.format("'%s' (a string)", bins) or tostring(bins)), 2)
  end
  for _, k in ipairs { "min", "max" } do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge) then
      error(string.format("%s: %s must be a finite number, got %s", fn, k, tostring(v)), 2)
    end
  end
  if opts.min and opts.max and opts.min >= opts.max then
    error(string.format("%s: min (%s) must be below max (%s)", fn, tostring(opts.min), tostring(opts.max)), 2)
  end
  local counts, lo, hi, skipped = P._histogram(t, bins, opts.min, opts.max)
  local labels = {}
  for i = 1, bins do
    local a, b = lo + (hi - lo) * (i - 1) / bins, lo + (hi - lo) * i / bins
    labels[i] = string.format("[%s, %s%s", fmt_edge(a), fmt_edge(b), i == bins and "]" or ")")
  end
  local title = opts.title or string.format("Histogram of %d values%s", t:numel(),
    skipped > 0 and string.format(" (%d outside or not finite)", skipped) or "")
  return P._new(opt_size({ panels = { { kind = "bars", values = counts, labels = labels, title = title } } }, opts))
end
help(P.hist, "plot.hist", [==[plot.hist(t [, opts]) or plot.hist(history [, {layer=, kind=}])

A histogram of a tensor's values (NaN and infinities left out and counted in the title).
opts: bins (10), min, max (the range; default the data's), title, width, height.
Given the history of fit{..., monitor=true}: one layer's weights (kind='weights', the
default) or outputs on 64 training samples (kind='activations') at the end of each
epoch, as small multiples, one chart per epoch (20 bins over that epoch's range).
opts: layer (a name; default the first with such values), kind, cols, title, width, height.
Example: plot.hist(model.layers[1].weight, {bins=20})]==])


-- ---- what the network looks at: Grad-CAM and saliency ----

-- A heat value 0..1 as a "jet" colour (blue → cyan → yellow → red).
local function jet(v)
  local function c(x) return x < 0 and 0 or x > 1 and 1 or x end
  return c(1.5 - math.abs(4 * v - 3)), c(1.5 - math.abs(4 * v - 2)), c(1.5 - math.abs(4 * v - 1))
end

-- The heat map h (HxW, >= 0) scaled to its maximum, over img (HxWxC in 0..1): in colour a
-- jet-coloured blend (alpha: the heat's weight), otherwise the heat alone in grey levels
-- (a blend would only darken the shades).
local function heat_image(img, h, alpha)
  local s = img:size()
  local H, W, C = s[1], s[2], s[3]
  local mx = h:max()
  local hn = mx > 0 and h / mx or h * 0
  if P.style() ~= "color" then return hn:reshape(H, W, 1) end
  local out = tensor.zeros(H, W, 3)
  local ih, hh, oh = img:reshape(-1), hn:reshape(-1), out:reshape(-1)
  for p = 0, H * W - 1 do
    local v = hh:get(p + 1)
    local r, g, b = jet(v)
    local a = alpha * (0.35 + 0.65 * v)      -- cold areas let the image show through
    local px = { r, g, b }
    for k = 1, 3 do
      local base = ih:get(p * C + (C == 3 and k or 1))
      oh:set(p * 3 + k, (1 - a) * base + a * px[k])
    end
  end
  return out
end

function explain_plot(fn, what, model, x, opts)
  opts = L._options(opts, fn, "class label classes alpha title width height" .. (what == "gradcam" and " layer" or ""))
  local mopts = { class = opts.class, layer = opts.layer }
  if not is_tensor(x) then error(fn .. ": x must be one image tensor (HxWxC), got a " .. type(x), 3) end
  if #x.shape == 4 then
    if x.shape[1] ~= 1 then error(string.format("%s: one image at a time (x is a batch of %d)", fn, x.shape[1]), 3) end
    x = x[1]
  end
  if opts.class ~= nil and type(opts.class) ~= "number" then error(fn .. ": class must be one class id", 3) end
  local alpha = opts.alpha or 0.5
  if type(alpha) ~= "number" or alpha < 0 or alpha > 1 then error(fn .. ": alpha must be a number in 0..1", 3) end
  local classes = opts.classes
  if classes ~= nil and type(classes) ~= "table" then error(fn .. ": classes must be a table of names", 3) end
  local M = L.metrics
  local ok, heat, ctx = pcall(function()
    if what == "gradcam" then
      local cam, c = M._gradcam("plot.gradcam", model, x, mopts)
      return cam[1], c
    end
    return M.saliency(model, x, mopts), nil
  end)
  if not ok then error(tostring(heat):gsub("^[^\n]-:%d+: ", ""), 3) end
  local probs = model:predict(x:reshape(1, table.unpack(x.shape)))
  if type(probs) == "table" then probs = probs[1] end
  local K = probs.shape[2]
  local order = {}
  for j = 1, K do order[j] = j - 1 end
  table.sort(order, function(a, b)
    local pa, pb = probs:get(1, a + 1), probs:get(1, b + 1)
    if pa ~= pb then return pa > pb end
    return a < b
  end)
  local cls = opts.class and math.tointeger(opts.class) or order[1]
  local top = {}
  for i = 1, math.min(3, K) do
    top[i] = string.format("%s %.1f%%", label_name(classes, order[i]), 100 * probs:get(1, order[i] + 1))
  end
  local xs = x.shape
  if #xs == 3 and xs[3] ~= 1 and xs[3] ~= 3 then       -- neither grey nor RGB: the channels' mean
    x = x:mean(3):reshape(xs[1], xs[2], 1)
  end
  local img = as_image(fn, x)
  if img:max() > 1 then img = img / 255 end
  local first = "Predicted: " .. label_name(classes, order[1])
  if opts.label ~= nil then first = "True: " .. label_name(classes, opts.label) .. " " .. first end
  local second = what == "gradcam"
    and string.format("Grad-CAM of %s at %s", label_name(classes, cls), ctx.layer)
    or string.format("Saliency of %s", label_name(classes, cls))
  local panels = { { kind = "image", px = img, title = first },
    { kind = "image", px = heat_image(img, heat, alpha), title = second } }
  return P._new(opt_size({ title = opts.title or ("Top " .. #top .. ": " .. table.concat(top, ", ")),
    cols = 2, panels = panels }, opts))
end

function P.gradcam(model, x, opts) return explain_plot("plot.gradcam", "gradcam", model, x, opts) end
help(P.gradcam, "plot.gradcam", [==[plot.gradcam(model, x [, opts])

The image x (HxWxC) and, beside it, its Grad-CAM heat map (metrics.gradcam: where
the evidence for the class lies, from the gradient of the class score before the
softmax at a convolution's maps) over it: in colour, blue (cold) to red (hot); in
the colourless styles the heat alone in shades. Above: the top-3 probabilities;
the image's title gives the true (opts.label) and predicted classes.
opts: class (default the predicted one), layer (default the last with HxWxC maps),
label (the true class id), classes (names), alpha (the heat's weight, 0.5), title,
width, height.
Example: plot.gradcam(model, ds.x_test[1], {label=ds.y_test:get(1), classes=ds.classes})]==])

function P.saliency(model, x, opts) return explain_plot("plot.saliency", "saliency", model, x, opts) end
help(P.saliency, "plot.saliency", [==[plot.saliency(model, x [, opts])

The image x (HxWxC) and, beside it, its saliency map (metrics.saliency: the size
of the class score's gradient at each pixel, Simonyan et al. 2014) over it, drawn
as plot.gradcam draws its heat map, with the same titles.
opts: class (default the predicted one), label (the true class id), classes (names),
alpha (0.5), title, width, height.
Example: plot.saliency(model, ds.x_test[1], {label=ds.y_test:get(1), classes=ds.classes})]==])

-- ---- layer health (fit{monitor=true}) ----

function P.health(history, opts)
  local fn = "plot.health"
  opts = L._options(opts, fn, "title width height")
  local hh = type(history) == "table" and history.health
  if type(hh) ~= "table" or #hh == 0 then
    error(fn .. ": expected the history of fit{..., monitor=true} (it has no health records)", 2)
  end
  local H = require "lunette.health"
  local order, series = {}, {}
  for e, nodes in ipairs(hh) do
    for _, r in ipairs(H.rows(nodes)) do
      if not series[r.name] then
        series[r.name] = { dead = {}, ratio = {}, grad = {}, std = {} }
        order[#order + 1] = r.name
      end
      local s = series[r.name]
      local function lg(v) return (v and v > 0) and math.log(v, 10) or 0 / 0 end
      s.dead[e] = r.dead or 0 / 0
      s.ratio[e] = lg(r.update_ratio)
      s.grad[e] = lg(r.grad_norm)
      s.std[e] = r.std or 0 / 0
    end
  end
  local E = #hh
  local function panel(title, key, skip_missing)
    local list = {}
    for _, name in ipairs(order) do
      local y, any = {}, false
      for e = 1, E do
        local v = series[name][key][e]
        if v == nil then v = 0 / 0 end
        y[e] = v
        any = any or v == v
      end
      if any or not skip_missing then list[#list + 1] = { name = name, y = y } end
    end
    if #list == 0 then return nil end
    return { kind = "lines", title = title, xlabel = "epoch", series = list }
  end
  local panels = {}
  for _, p in ipairs { panel("log10 update/weight (-3 is healthy)", "ratio", true),
    panel("Dead ReLU units (fraction)", "dead", true), panel("log10 gradient norm", "grad", true),
    panel("Activation std", "std", true) } do
    panels[#panels + 1] = p
  end
  return P._new(opt_size({ title = opts.title, cols = 2, panels = panels }, opts))
end
help(P.health, "plot.health", [==[plot.health(history [, opts])

Layer health per epoch from the history of fit{..., monitor=true}: one curve per
layer in four panels: the update-to-weight ratio (log10; about -3 is healthy, much
higher means too large a learning rate, much lower too small), the fraction of dead
ReLU units (channels that output zero for a whole batch), the gradient norm (log10)
and the spread (std) of the activations. history.health[e] holds the numbers: per
node name, kind, dead, mean, std, grad_norm, update_ratio (means over the epoch).
opts: title, width, height.
Example: h = model:fit(x, y, {epochs=5, monitor=true}); plot.health(h)]==])

-- ---- real pixels ----

function L.graphics(mode)
  if mode ~= nil and mode ~= "text" and mode ~= "sixel" and mode ~= "kitty" and mode ~= "auto" then
    error("lunette.graphics: mode must be 'text', 'sixel', 'kitty' or 'auto', got "     -- not a model's whole summary
      .. (type(mode) == "string" and string.format("'%s'", mode) or type(mode) == "number" and tostring(mode) or "a " .. type(mode)), 2)
  end
  return P._graphics(mode)
end
help(L.graphics, "lunette.graphics", [==[lunette.graphics([mode]) → in use, mode

How images (plot.image, images, featuremaps, filters, gradcam, saliency) print: 'text'
(half blocks), 'sixel' or 'kitty' (real pixels, for terminals with those graphics
protocols), or 'auto' (the default): kitty under kitty ($KITTY_WINDOW_ID, TERM=xterm-kitty),
sixel in foot, mlterm, contour, WezTerm or a TERM naming sixel; calling
lunette.graphics('auto') also asks the terminal (its device attributes, 200 ms at most)
and uses sixel when it answers that it has it. Always text in pipes, with --plain,
--check or NO_COLOR. Returns the protocol in use now and the mode set.
Example: lunette.graphics('sixel'); print(plot.image(ds.x_test[1]))]==])

-- ---- model graphs ----

-- plot.model(model): the nodes in order, one line each, with an arrow down where a node
-- reads the one above it and the other inputs named on the node's line.
function P.model(model, opts)
  local mt = getmetatable(model)
  local info
  if type(mt) == "table" and (mt.__name == "lunette.Model" or mt.__name == "lunette.Sequential") then
    info = model:_network(nil, "plot.model"):info()
  else
    error("plot.model: expected a model (nn.Sequential or nn.Model), got a " .. type(model), 2)
  end
  opts = L._options(opts, "plot.model", "width")
  local ascii = L.nn._ascii()
  local width = opts.width or L.columns()
  local down, gap, from = ascii and "|" or "│", ascii and ":" or "┊", ascii and "<-" or "◄─"
  local outputs = {}
  for _, o in ipairs(info.outputs) do outputs[o] = true end
  local lines = {}
  local function shape(s)
    local parts = { "None" }
    for i = 1, #s do parts[#parts + 1] = tostring(s[i]) end
    return "(" .. table.concat(parts, ", ") .. ")"
  end
  for i, nd in ipairs(info.nodes) do
    if i > 1 then
      local reads_prev = false
      for _, p in ipairs(nd.inputs) do reads_prev = reads_prev or p == i - 1 end
      lines[#lines + 1] = "  " .. (reads_prev and down or gap)
    end
    local line = string.format("[%d] %s (%s) %s", i, nd.name, nd.kind, shape(nd.output_shape))
    local others = {}
    for _, p in ipairs(nd.inputs) do
      if p ~= i - 1 then others[#others + 1] = string.format("[%d] %s", p, info.nodes[p].name) end
    end
    if #others > 0 then line = line .. "  " .. from .. " " .. table.concat(others, ", ") end
    if outputs[i] then line = line .. (ascii and "  -> output" or "  → output") end
    if utf8.len(line) and utf8.len(line) > width then     -- long: the inputs on a line of their own
      local cut = line:find("  " .. from, 1, true) or line:find("  ", #line - 12, true)
      if cut then
        lines[#lines + 1] = line:sub(1, cut - 1)
        line = "      " .. line:sub(cut + 2)
      end
    end
    lines[#lines + 1] = line
  end
  return table.concat(lines, "\n")
end
help(P.model, "plot.model", [==[plot.model(model [, {width=n}]) → string
The model's graph as text: one line per node in the order the model runs them
([i] name (kind) output shape), a vertical bar where a node reads the one above
it, and '◄─ [j] name' for its other inputs (skip connections, merges); the outputs
are marked; a line longer than the width (the terminal's) puts the inputs on the next.
Plain ASCII with --plain or in pipes.
Example: print(plot.model(model))]==])
help(P, "plot", [==[plot: charts, images and matrices drawn as text.

Every constructor returns a plot object: it prints inline (so it stays in the scrollback and in replay logs), p:view() opens the full-screen viewer, p:render(w, h, style) gives the text. Plots fit the terminal's width (lunette.columns()) unless given width= and height=.
Curves: plot.lines, plot.history, plot.health. Matrices: plot.confusion. Images: plot.image, plot.images, plot.featuremaps, plot.filters. What a network looks at: plot.gradcam, plot.saliency. Distributions: plot.bar, plot.hist. Graphs: plot.model. Style: plot.style.
Example: plot.history(model:fit(x, y, {epochs=5, validation_split=0.1}))]==])

return P
