-- lunette/metrics.lua: classification_report on top of the C metrics
-- (src/lua/l_metrics.c: accuracy, confusion_matrix). Per class, as sklearn's report:
-- precision = TP/(TP+FP), recall = TP/(TP+FN), f1 = 2PR/(P+R) (0 when undefined),
-- support = the true count; then accuracy, macro and support-weighted averages.
local L = require "lunette"
local error = L._error     -- errors point at the caller's code, not this file
local M = L.metrics

function M.classification_report(y_true, y_pred, opts)
  local fn = "metrics.classification_report"
  opts = L._options(opts, "metrics.classification_report", "classes k")
  local classes = opts.classes
  local k = opts.k or (classes and #classes) or nil
  local cm = M.confusion_matrix(y_true, y_pred, k)
  k = cm:size(1)
  if classes and #classes ~= k then
    error(string.format("%s: %d class names for %d classes", fn, #classes, k), 2)
  end
  local rows, total, correct = {}, 0, 0
  for i = 1, k do
    local tp, colsum, rowsum = cm:get(i, i), 0, 0
    for j = 1, k do
      colsum = colsum + cm:get(j, i)
      rowsum = rowsum + cm:get(i, j)
    end
    local p = colsum > 0 and tp / colsum or 0
    local r = rowsum > 0 and tp / rowsum or 0
    local f = (p + r) > 0 and 2 * p * r / (p + r) or 0
    rows[i] = { name = classes and tostring(classes[i]) or tostring(i - 1), p = p, r = r, f = f, n = rowsum }
    total, correct = total + rowsum, correct + tp
  end
  local w = 12
  for _, r in ipairs(rows) do w = math.max(w, #r.name) end
  local out = { string.format("%" .. w .. "s %9s %9s %9s %9s", "", "precision", "recall", "f1-score", "support"), "" }
  local mp, mr, mf, wp, wr, wf = 0, 0, 0, 0, 0, 0
  for _, r in ipairs(rows) do
    out[#out + 1] = string.format("%" .. w .. "s %9.2f %9.2f %9.2f %9d", r.name, r.p, r.r, r.f, r.n)
    mp, mr, mf = mp + r.p / k, mr + r.r / k, mf + r.f / k
    if total > 0 then
      wp, wr, wf = wp + r.p * r.n / total, wr + r.r * r.n / total, wf + r.f * r.n / total
    end
  end
  out[#out + 1] = ""
  out[#out + 1] = string.format("%" .. w .. "s %9s %9s %9.2f %9d", "accuracy", "", "", total > 0 and correct / total or 0, total)
  out[#out + 1] = string.format("%" .. w .. "s %9.2f %9.2f %9.2f %9d", "macro avg", mp, mr, mf, total)
  out[#out + 1] = string.format("%" .. w .. "s %9.2f %9.2f %9.2f %9d", "weighted avg", wp, wr, wf, total)
  return table.concat(out, "\n")
end
L._sethelp(M.classification_report, "metrics.classification_report", [==[metrics.classification_report(y_true, y_pred [, opts])

A text table like sklearn's: precision, recall, f1-score and support for each class,
then accuracy, the macro average and the support-weighted average. Labels are 0-based
class ids; y_pred may be NxK scores (argmax).
opts: classes (names, one per class), k (the class count; default from classes or labels).
Example: print(metrics.classification_report(ds.y_test, model:predict(ds.x_test), {classes=ds.classes}))]==])

-- ---- misclassified samples ----

function M.misclassified(y_true, y_pred, opts)
  local fn = "metrics.misclassified"
  opts = L._options(opts, fn, "true_class pred_class")
  for _, k in ipairs { "true_class", "pred_class" } do
    local v = opts[k]
    -- a whole float beyond the integers (2^70) must not become nil below: no filter at all
    if v ~= nil and (type(v) ~= "number" or math.tointeger(v) == nil or v < 0) then
      error(string.format("%s: %s must be a class id (0, 1, 2, ...), got %s", fn, k,
        type(v) == "string" and string.format("'%s' (a string)", v) or tostring(v)), 2)
    end
  end
  local ok, r = pcall(M._misclassified, y_true, y_pred,
    opts.true_class and math.tointeger(opts.true_class), opts.pred_class and math.tointeger(opts.pred_class))
  if not ok then error(tostring(r), 2) end
  return r
end
L._sethelp(M.misclassified, "metrics.misclassified", [==[metrics.misclassified(y_true, y_pred [, {true_class=, pred_class=}]) → {i, ...}

The 1-based positions of the samples whose prediction is wrong, in order; with
true_class and/or pred_class, only those of that confusion-matrix cell (row true_class,
column pred_class, 0-based ids). y_pred may be class ids or NxK scores (argmax).
Example: idx = metrics.misclassified(ds.y_test, probs, {true_class=6, pred_class=0}); plot.image(ds.x_test[idx[1]])]==])

-- ---- what the network looks at: saliency and Grad-CAM ----

-- Checks model, x and opts for an explanation and runs the prediction. Returns a context:
-- net, info (net:info()), xb (a batch), single (x was one sample), probs (N×K, output 1),
-- cls (N 0-based class ids to explain) and dys (the one-hot class scores per output).
local function explain_begin(fn, model, x, opts, known)
  if type(model) ~= "table" or type(model._network) ~= "function" then
    error(string.format("%s: expected a model (nn.Sequential or nn.Model), got a %s", fn, type(model)), 3)
  end
  local names = {}
  for n in pairs(known) do names[#names + 1] = n end
  table.sort(names)
  opts = L._options(opts, fn, names)
  if model._nin ~= 1 then error(fn .. ": takes a model with one input", 3) end
  if not L.tensor.is(x) then error(fn .. ": x must be a tensor (one sample HxWxC or a batch NxHxWxC), got a " .. type(x), 3) end
  local ok, net = pcall(model._network, model, x, fn)
  if not ok then error(tostring(net):gsub("^[^\n]-:%d+: ", ""), 3) end
  local info = net:info()
  local ins = info.nodes[1].output_shape
  local xs = x.shape
  local single = #xs == #ins
  local xb = single and x:reshape(1, table.unpack(xs)) or x
  local bs = xb.shape
  local same = #bs == #ins + 1
  for i = 1, #ins do same = same and bs[i + 1] == ins[i] end
  if not same then
    error(string.format("%s: x is %s, the model takes %s (one sample) or Nx%s", fn, table.concat(xs, "x"),
      table.concat(ins, "x"), table.concat(ins, "x")), 3)
  end
  local probs = model:predict(xb)
  if model._multi_out then probs = probs[1] end
  if #probs.shape ~= 2 then
    error(string.format("%s: needs a classifier (output N x classes), the output is %s", fn,
      table.concat(probs.shape, "x")), 3)
  end
  local N, K = probs.shape[1], probs.shape[2]
  local cls = {}
  local c = opts.class
  local pred = probs:argmax(2)
  for i = 1, N do
    local v
    if c == nil then v = pred:get(i)
    elseif type(c) == "number" then v = c
    elseif L.tensor.is(c) then v = c:reshape(-1):get(i)
    elseif type(c) == "table" then v = c[i]
    else error(fn .. ": class must be a class id, or one per sample (a table or tensor)", 3) end
    if type(v) ~= "number" or v % 1 ~= 0 or v < 0 or v >= K then
      error(string.format("%s: class %s is not a class id in 0..%d", fn, tostring(v), K - 1), 3)
    end
    cls[i] = math.tointeger(v)
  end
  local dy = L.tensor.zeros(N, K)
  for i = 1, N do dy:set(i, cls[i] + 1, 1) end
  local dys = dy
  if model._multi_out then
    dys = { dy }
    local all = model:predict(xb)
    for o = 2, #all do dys[o] = all[o] * 0 end
  end
  return { net = net, info = info, xb = xb, single = single, probs = probs, cls = cls, dys = dys, N = N }
end

-- The node id of layer `name` in info (the last node with an HxWxC map when nil).
local function cam_node(fn, info, name)
  local nin = 0
  for _, nd in ipairs(info.nodes) do if nd.kind == "InputLayer" then nin = nin + 1 end end
  if name == nil then
    for i = #info.nodes, nin + 1, -1 do
      local s = info.nodes[i].output_shape
      if #s == 3 and s[1] * s[2] > 1 then return i, info.nodes[i].name end
    end
    error(fn .. ": the model has no layer with HxWxC maps (a convolution)", 4)
  end
  if type(name) ~= "string" then error(fn .. ": layer must be a layer name (as summary() shows it)", 4) end
  local id
  for i = nin + 1, #info.nodes do
    if info.nodes[i].name == name then
      if id then error(string.format("%s: layer '%s' is used at several places of the model", fn, name), 4) end
      id = i
    end
  end
  if not id then error(string.format("%s: the model has no layer named '%s'", fn, name), 4) end
  local s = info.nodes[id].output_shape
  if #s ~= 3 then
    error(string.format("%s: layer '%s' gives %s, not HxWxC maps (choose a convolution)", fn, name, table.concat(s, "x")), 4)
  end
  return id, name
end

local function image_hw(fn, ctx)
  local s = ctx.xb.shape
  if #s ~= 4 and #s ~= 3 then error(fn .. ": needs image inputs (HxWxC)", 4) end
  return s[2], s[3]
end

-- Grad-CAM with its details (plot.gradcam uses them): the maps at the input size (N×H×W),
-- the context of explain_begin and the layer's name.
function M._gradcam(fn, model, x, opts)
  local ctx = explain_begin(fn, model, x, opts, { class = true, layer = true })
  local H, W = image_hw(fn, ctx)
  local id, name = cam_node(fn, ctx.info, (opts or {}).layer)
  local A, G = ctx.net:explain(ctx.xb, ctx.dys, true, id)
  local cam = M._resize(M._cam(A, G), H, W)
  ctx.layer = name
  return cam, ctx
end

function M.gradcam(model, x, opts)
  local cam, ctx = M._gradcam("metrics.gradcam", model, x, opts)
  if ctx.single then return cam[1] end
  return cam
end
L._sethelp(M.gradcam, "metrics.gradcam", [==[metrics.gradcam(model, x [, {class=, layer=}]) → HxW (or NxHxW) tensor

Grad-CAM (Selvaraju et al. 2017): where in the image the evidence for a class lies.
The gradient of the class score BEFORE the softmax (a Dense with a softmax activation
is taken at its logits) w.r.t. a convolution's maps A (h x w x K) is averaged over each
map (alpha_k), the maps are summed with these weights, negatives are cut (ReLU) and the
h x w result is resized bilinearly to the image's H x W. Computed in inference mode;
changes no weight or gradient. x: one sample (HxWxC) or a batch. Works on Sequential
and graph models with one input.
opts: class (0-based id, or one per sample; default the predicted class), layer (a
layer name; default the last layer with HxWxC maps).
Example: cam = metrics.gradcam(model, ds.x_test[1], {layer='conv2d_2'}); cam:max()]==])

function M.saliency(model, x, opts)
  local ctx = explain_begin("metrics.saliency", model, x, opts, { class = true })
  local _, _, dx = ctx.net:explain(ctx.xb, ctx.dys, true, nil)
  local s = M._absmax(dx)
  if ctx.single then return s[1] end
  return s
end
L._sethelp(M.saliency, "metrics.saliency", [==[metrics.saliency(model, x [, {class=}]) → HxW (or NxHxW) tensor

A saliency map (Simonyan et al. 2014): the magnitude of the gradient of the class
score (before the softmax) w.r.t. each input pixel, the largest over the channels:
the pixels whose change would change the score most. Computed in inference mode;
changes no weight or gradient. x: one sample or a batch.
opts: class (0-based id, or one per sample; default the predicted class).
Example: s = metrics.saliency(model, ds.x_test[1]); plot.image(s, {normalize=true})]==])

L._sethelp(M, "metrics", [==[metrics: scoring predictions against 0-based class ids.

metrics.accuracy(y_true, y_pred), metrics.confusion_matrix(y_true, y_pred, k), metrics.classification_report(y_true, y_pred, opts), metrics.misclassified(y_true, y_pred, {true_class, pred_class}); what a model looks at: metrics.gradcam(model, x, {class, layer}), metrics.saliency(model, x, {class}). Predictions may be class ids or N×K scores (the argmax is taken).
Example: plot.confusion(metrics.confusion_matrix(ds.y_test, model:predict(ds.x_test), 10))]==])

return M
