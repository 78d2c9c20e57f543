-- test_explain.lua: saliency and Grad-CAM against independent computations: finite
-- differences of the class score (before the softmax) of a copy of the model whose last
-- Dense is linear, and Grad-CAM's formula worked in Lua from the maps of the model cut at
-- the layer and the finite-difference gradients of the rest; both in inference mode
-- (the models hold Dropout and BatchNorm, which differ in training). Then graph models,
-- the bilinear resize by hand, misclassified, and the errors.
local T = require "check"

local function conv_layers(act_last)
  return {
    nn.Conv2D { filters = 4, kernel = 3, padding = 'same', activation = 'tanh', name = 'c1' },
    nn.BatchNorm {},
    nn.Conv2D { filters = 3, kernel = 3, stride = 2, activation = 'tanh', name = 'c2' },
    nn.Flatten(), nn.Dropout(0.5), nn.Dense { 5, activation = act_last, name = 'out' } }
end

-- a, b: lists of layers; copies weights, biases and batchnorm statistics from a into b
local function copy(a, b)
  for i = 1, #a do
    if a[i]:count_params() > 0 then
      b[i].weight = a[i].weight
      if b[i].kind ~= "BatchNormalization" and a[i].bias then b[i].bias = a[i].bias end
      if b[i].kind == "BatchNormalization" then
        b[i].bias = a[i].bias
        b[i].moving_mean = a[i].moving_mean
        b[i].moving_variance = a[i].moving_variance
      end
    end
  end
end

lunette.seed(7)
local la = conv_layers('softmax')
local A = nn.Sequential { nn.Input { 6, 6, 2 }, table.unpack(la) }
A:predict(tensor.zeros(1, 6, 6, 2))                   -- allocates (random) weights
la[2].moving_mean = tensor { 0.1, -0.2, 0.3, 0.05 }   -- a batchnorm that is not the identity
la[2].moving_variance = tensor { 0.5, 2, 1.5, 0.8 }
la[2].weight = tensor { 1.5, 0.7, -1.1, 0.9 }
local lb = conv_layers(nil)
local B = nn.Sequential { nn.Input { 6, 6, 2 }, table.unpack(lb) }
B:predict(tensor.zeros(1, 6, 6, 2))
copy(la, lb)

local x = tensor.randn(6, 6, 2)
-- B's logits are A's: their softmax is A's output
local z, p = B:predict(x:reshape(1, 6, 6, 2)), A:predict(x:reshape(1, 6, 6, 2))
local ez, s = {}, 0
for j = 1, 5 do ez[j] = math.exp(z:get(1, j)); s = s + ez[j] end
T.close(p:get(1, 3), ez[3] / s, 1e-5, "the copy's softmax is the model's output")

-- d z_c / d x by central differences on B (inference mode)
local function fd_input(model, x0, c, eps)
  local g = x0:clone() * 0
  local flat, gf = x0:clone():reshape(-1), g:reshape(-1)
  local shape = x0.shape
  for i = 1, flat:numel() do
    local v = flat:get(i)
    flat:set(i, v + eps)
    local up = model:predict(flat:reshape(1, table.unpack(shape))):get(1, c + 1)
    flat:set(i, v - eps)
    local dn = model:predict(flat:reshape(1, table.unpack(shape))):get(1, c + 1)
    flat:set(i, v)
    gf:set(i, (up - dn) / (2 * eps))
  end
  return g
end

for _, c in ipairs { 0, 3 } do
  local g = fd_input(B, x, c, 1e-2)
  local want = tensor.zeros(6, 6)
  for i = 1, 6 do for j = 1, 6 do
    want:set(i, j, math.max(math.abs(g:get(i, j, 1)), math.abs(g:get(i, j, 2))))
  end end
  local sal = metrics.saliency(A, x, { class = c })
  T.check(sal.shape[1] == 6 and sal.shape[2] == 6 and #sal.shape == 2, "saliency of one sample is HxW")
  T.close(sal, want, 2e-3 * want:max(), "saliency = max over channels |d z_c/dx| (finite differences), class " .. c)
end
-- a batch: one class per sample, each row as alone
local xb = tensor.randn(3, 6, 6, 2)
local sb = metrics.saliency(A, xb, { class = { 1, 4, 2 } })
T.check(#sb.shape == 3 and sb.shape[1] == 3, "saliency of a batch is NxHxW")
T.close(sb[2], metrics.saliency(A, xb[2], { class = 4 }), 1e-6, "a batch's row = that sample alone")
-- default class: the predicted one
local pc = A:predict(x:reshape(1, 6, 6, 2)):argmax(2):get(1)
T.close(metrics.saliency(A, x), metrics.saliency(A, x, { class = pc }), 0, "default class is the prediction")

-- Grad-CAM by hand: the model cut after c2 (head) and the rest (tail, linear), copies
local hl = conv_layers(nil)
local head = nn.Sequential { nn.Input { 6, 6, 2 }, hl[1], hl[2], hl[3] }
head:predict(tensor.zeros(1, 6, 6, 2))
copy({ la[1], la[2], la[3] }, hl)
local tl = conv_layers(nil)
local tail = nn.Sequential { nn.Input { 2, 2, 3 }, tl[4], tl[5], tl[6] }
tail:predict(tensor.zeros(1, 2, 2, 3))
tl[6].weight, tl[6].bias = la[6].weight, la[6].bias

local function bilinear(m, H, W)        -- pixel centres aligned, edges clamped
  local h, w = m.shape[1], m.shape[2]
  local out = tensor.zeros(H, W)
  for Y = 0, H - 1 do for X = 0, W - 1 do
    local sy = math.min(math.max((Y + 0.5) * h / H - 0.5, 0), h - 1)
    local sx = math.min(math.max((X + 0.5) * w / W - 0.5, 0), w - 1)
    local y0, x0 = math.floor(sy), math.floor(sx)
    local y1, x1 = math.min(y0 + 1, h - 1), math.min(x0 + 1, w - 1)
    local fy, fx = sy - y0, sx - x0
    local v = (m:get(y0 + 1, x0 + 1) * (1 - fx) + m:get(y0 + 1, x1 + 1) * fx) * (1 - fy)
      + (m:get(y1 + 1, x0 + 1) * (1 - fx) + m:get(y1 + 1, x1 + 1) * fx) * fy
    out:set(Y + 1, X + 1, v)
  end end
  return out
end

for _, c in ipairs { 1, 2 } do
  local maps = head:predict(x:reshape(1, 6, 6, 2))[1]          -- 2x2x3
  local g = fd_input(tail, maps, c, 1e-2)
  local coarse = tensor.zeros(2, 2)
  for i = 1, 2 do for j = 1, 2 do
    local v = 0
    for k = 1, 3 do
      local alpha = 0
      for a = 1, 2 do for b = 1, 2 do alpha = alpha + g:get(a, b, k) / 4 end end
      v = v + alpha * maps:get(i, j, k)
    end
    coarse:set(i, j, math.max(v, 0))
  end end
  local want = bilinear(coarse, 6, 6)
  local cam = metrics.gradcam(A, x, { class = c, layer = 'c2' })
  T.check(#cam.shape == 2 and cam.shape[1] == 6 and cam.shape[2] == 6, "gradcam of one sample is HxW")
  T.close(cam, want, 1e-3 * math.max(want:max(), 1e-3), "gradcam by hand (cut model, finite differences), class " .. c)
end
T.close(metrics.gradcam(A, x, { class = 2 }), metrics.gradcam(A, x, { class = 2, layer = 'c2' }), 0,
  "default layer: the last with HxWxC maps")

-- a separate Softmax layer is skipped the same way as a fused one (its input: the logits)
local sl = conv_layers(nil)
local S = nn.Sequential { nn.Input { 6, 6, 2 }, table.unpack(sl) }
S:add(nn.Softmax())
S:predict(tensor.zeros(1, 6, 6, 2))
copy(la, sl)
T.close(metrics.saliency(S, x, { class = 3 }), metrics.saliency(A, x, { class = 3 }), 1e-6,
  "saliency through a separate Softmax layer = through a fused one")

-- explanations change nothing: weights, accumulated gradients, batchnorm statistics
local params, grads = A:parameters()
A:compile { optimizer = 'sgd', loss = 'sparse_categorical_crossentropy' }
A:forward(xb, { training = true })
A:backward(tensor.ones(3, 5))
local before = {}
for i, g in ipairs(grads) do before[i] = g:clone() end
local w0 = params[1]:clone()
local mm = la[2].moving_mean:clone()
metrics.gradcam(A, xb)
metrics.saliency(A, xb)
for i, g in ipairs(grads) do T.close(g, before[i], 0, "accumulated gradient " .. i .. " unchanged") end
T.close(params[1], w0, 0, "weights unchanged")
T.close(la[2].moving_mean, mm, 0, "batchnorm statistics unchanged")
T.raises(function() A:backward(tensor.ones(3, 5)) end, "run forward", "an explanation ends a pending training forward")

-- bilinear resize: 2x2 → 4x4 worked by hand
T.close(metrics._resize(tensor { { { 0, 1 }, { 2, 3 } } }, 4, 4)[1],
  { { 0, 0.25, 0.75, 1 }, { 0.5, 0.75, 1.25, 1.5 }, { 1.5, 1.75, 2.25, 2.5 }, { 2, 2.25, 2.75, 3 } }, 1e-6,
  "bilinear resize by hand")
-- the CAM combination: alpha = (mean G) per channel, ReLU(sum alpha·A)
local Am = tensor { { { { 1, 2 }, { 0, 1 } }, { { 3, 0 }, { 1, -1 } } } }   -- 1x2x2x2
local Gm = tensor { { { { 1, -1 }, { 1, 0 } }, { { 1, 0 }, { 1, -3 } } } }  -- alpha = {1, -1}
T.close(metrics._cam(Am, Gm)[1], { { 0, 0 }, { 3, 2 } }, 1e-6, "cam combination by hand")

-- graph models: a residual block; saliency against finite differences of a linear copy
local function graph(act)
  local inp = nn.Input { 5, 5, 2 }
  local h = nn.Conv2D { filters = 3, kernel = 3, padding = 'same', activation = 'tanh', name = 'g1' }(inp)
  local y = nn.Conv2D { filters = 3, kernel = 3, padding = 'same', activation = 'tanh', name = 'g2' }(h)
  local r = nn.Add()({ h, y })
  local out = nn.Dense { 4, activation = act, name = 'gout' }(nn.Flatten()(r))
  return nn.Model { inputs = inp, outputs = out }
end
local GA, GB = graph('softmax'), graph(nil)
GA:predict(tensor.zeros(1, 5, 5, 2)); GB:predict(tensor.zeros(1, 5, 5, 2))
for _, name in ipairs { 'g1', 'g2', 'gout' } do
  GB:get_layer(name).weight = GA:get_layer(name).weight
  GB:get_layer(name).bias = GA:get_layer(name).bias
end
local gx = tensor.randn(5, 5, 2)
local gg = fd_input(GB, gx, 2, 1e-2)
local gw = tensor.zeros(5, 5)
for i = 1, 5 do for j = 1, 5 do
  gw:set(i, j, math.max(math.abs(gg:get(i, j, 1)), math.abs(gg:get(i, j, 2))))
end end
T.close(metrics.saliency(GA, gx, { class = 2 }), gw, 2e-3 * gw:max(), "graph model: saliency by finite differences")
local gcam = metrics.gradcam(GA, gx, { class = 2, layer = 'g1' })
T.check(#gcam.shape == 2 and gcam.shape[1] == 5 and gcam:min() >= 0, "graph model: gradcam at a layer with two consumers")
local gcam2 = metrics.gradcam(GA, gx, { class = 2 })
T.check(gcam2.shape[1] == 5, "graph model: default layer")

-- misclassified: positions (1-based) of wrong predictions, by cell
local yt, yp = { 0, 1, 2, 1, 6, 6 }, { 0, 2, 2, 0, 0, 0 }
T.close(metrics.misclassified(yt, yp), { 2, 4, 5, 6 }, 0, "misclassified: all wrong")
T.close(metrics.misclassified(yt, yp, { true_class = 6, pred_class = 0 }), { 5, 6 }, 0, "one cell")
T.close(metrics.misclassified(yt, yp, { pred_class = 0 }), { 4, 5, 6 }, 0, "one column")
T.check(#metrics.misclassified(yt, yp, { true_class = 2 }) == 0, "a row with none wrong")
local probs = tensor { { 0.9, 0.1 }, { 0.2, 0.8 }, { 0.6, 0.4 } }
T.close(metrics.misclassified({ 0, 0, 1 }, probs), { 2, 3 }, 0, "misclassified from scores")

-- plot.gradcam / plot.saliency: the image and the heat map side by side, the top 3
local names = { "cat", "dog", "frog", "ship", "car" }
local probs1 = A:predict(x:reshape(1, 6, 6, 2))
local ord = { 0, 1, 2, 3, 4 }
table.sort(ord, function(a, b) return probs1:get(1, a + 1) > probs1:get(1, b + 1) end)
local want_top = string.format("Top 3: %s %.1f%%, %s %.1f%%, %s %.1f%%", names[ord[1] + 1], 100 * probs1:get(1, ord[1] + 1),
  names[ord[2] + 1], 100 * probs1:get(1, ord[2] + 1), names[ord[3] + 1], 100 * probs1:get(1, ord[3] + 1))
local img = tensor.rand(6, 6, 2)
local gp = plot.gradcam(A, x, { label = 3, classes = names, layer = 'c2' })
local txt = gp:render(80, 24, "ascii")
T.check(txt:find(want_top, 1, true), "plot.gradcam: the top-3 probabilities in order: " .. txt:sub(1, 200))
T.check(txt:find("True: ship", 1, true) and txt:find("Predicted: " .. names[ord[1] + 1], 1, true), "true and predicted class")
T.check(txt:find("Grad-CAM of " .. names[ord[1] + 1] .. " at c2", 1, true), "the heat map's title")
local w, h = gp:size()
T.check(w <= 80 and h <= 24, "plot.gradcam fits 80x24")
local sp = plot.saliency(A, x, { class = 2, classes = names }):render(80, 24, "unicode")
T.check(sp:find("Saliency of frog", 1, true), "plot.saliency of the chosen class")
-- a 32x32 RGB image on a small CNN at 80x24 in colour
local big = nn.Sequential { nn.Conv2D { filters = 4, kernel = 3, stride = 2, activation = 'relu', input_shape = { 32, 32, 3 } },
  nn.Flatten(), nn.Dense { 10, activation = 'softmax' } }
local ps = plot.style()
plot.style("color")
local bp = plot.gradcam(big, tensor.rand(32, 32, 3))
local bw, bh = bp:size()
plot.style(ps == "color" and "color" or ps)
T.check(bw <= 80 and bh <= 24, "a 32x32 Grad-CAM fits 80x24 in colour: " .. bw .. "x" .. bh)
T.raises(function() plot.gradcam(A, x, { colour = true }) end, "plot.gradcam: unknown option 'colour'")
T.raises(function() plot.gradcam(A, tensor.rand(2, 6, 6, 2)) end, "one image at a time")
T.raises(function() plot.saliency(A, x, { layer = 'c2' }) end, "unknown option 'layer'")
T.raises(function() plot.gradcam(A, x, { layer = 'out' }) end, "not HxWxC maps")

-- errors
T.raises(function() metrics.gradcam(A, x, { layer = 'nope' }) end, "no layer named 'nope'")
T.raises(function() metrics.gradcam(A, x, { layer = 'out' }) end, "not HxWxC maps")
T.raises(function() metrics.gradcam(A, x, { klass = 1 }) end, "unknown option 'klass'")
T.raises(function() metrics.gradcam(A, x, { class = 5 }) end, "class 5 is not a class id in 0..4")
T.raises(function() metrics.saliency(A, tensor.zeros(5, 5, 2)) end, "the model takes 6x6x2")
T.raises(function() metrics.saliency(A, "x") end, "x must be a tensor")
T.raises(function() metrics.gradcam(42, x) end, "expected a model")
T.raises(function() metrics.saliency(A, x, { layer = 'c2' }) end, "unknown option 'layer'")
T.raises(function() metrics.misclassified(yt, yp, { truth = 1 }) end, "unknown option 'truth'")
T.raises(function() metrics.misclassified(yt, yp, { true_class = -1 }) end, "true_class must be a class id")
-- 2^70 is a whole number but no integer: it became nil, and the filter was silently dropped
T.raises(function() metrics.misclassified(yt, yp, { true_class = 2 ^ 70 }) end, "true_class must be a class id (0, 1, 2, ...), got 1.1805916207174e+21")
T.raises(function() metrics.misclassified(yt, yp, { pred_class = "1" }) end, "pred_class must be a class id (0, 1, 2, ...), got '1' (a string)")
T.raises(function() metrics.misclassified({ 0, 1 }, { 0 }) end, "y_true has 2 labels, y_pred has 1")
-- net:explain without a node (four arguments) gives the input gradients: it read its own
-- Hold box as the node ("bad argument #4 to 'explain' (number expected, got lunette.Hold)")
do
  local xb = tensor.randn(2, 6, 6, 2)
  local net = A:_network(xb, "test")
  local a, g, dx = net:explain(xb, tensor.ones(2, 5), true)
  local _, _, dx5 = net:explain(xb, tensor.ones(2, 5), true, nil)
  T.check(a == nil and g == nil and dx ~= nil, "explain with no node: no maps, the input gradient")
  T.close(dx, dx5, 0, "explain with 4 arguments = with an explicit nil node")
end
T.done()
