-- test_nn_layers.lua: the layer objects from Lua: Keras argument names, shapes (TF 'same'
-- at stride 2), forward against tensor.conv2d, backward against finite differences
-- through the binding, weight assignment, modes, parameters() views, and error messages.
local T = require "check"
local L = require "lunette"
local nn, tensor = L.nn, L.tensor
L.seed(3)

-- shapes: 'same' at stride 2 gives ceil(in/2); 'valid' floor((in-k)/s)+1
local c = nn.Conv2D { filters = 4, kernel = 3, stride = 2, padding = "same", input_shape = { 7, 7, 2 } }
T.check(c.output_shape[1] == 4 and c.output_shape[3] == 4, "same stride 2: 7 -> 4")
T.check(c:count_params() == 3 * 3 * 2 * 4 + 4, "conv2d params")
T.check(not c.built, "input_shape alone allocates nothing")
local w = c.weight
T.check(w.shape[1] == 3 and w.shape[2] == 3 and w.shape[3] == 2 and w.shape[4] == 4, "kernel KHxKWxCxOC")
T.check(c.built, "weight access builds")
local lim = math.sqrt(6 / (9 * 2 + 9 * 4))
T.check(w:max() <= lim and w:min() >= -lim and w:std() > lim / 4, "glorot uniform range")
T.check(c.bias:max() == 0 and c.bias:min() == 0, "zero biases")
local v = nn.Conv2D { 8, { 3, 3 }, strides = 2, input_shape = { 32, 32, 3 } }
T.check(v.output_shape[1] == 15 and v:config().padding == "valid", "positional filters/kernel, valid 32 -> 15")
local k = nn.Conv2D { filters = 2, kernel_size = { 2, 3 }, strides = { 1, 2 } }
T.check(k:config().kernel_size[2] == 3 and k:config().strides[2] == 2, "rectangular kernel and strides")

-- forward = tensor.conv2d (+ bias) for both paddings, and with asymmetric TF padding
for _, pad in ipairs { "valid", "same" } do
  local l = nn.Conv2D { filters = 3, kernel = 3, stride = 2, padding = pad }
  local x = tensor.randn(2, 8, 7, 2)
  local y = l:forward(x)
  l.bias = tensor { 0.5, -1, 2 }
  local y2 = l:forward(x)
  local ref = tensor.conv2d(x, l.weight, { stride = 2, padding = pad })
  T.close(y, ref, 1e-4, "conv2d layer = tensor.conv2d (" .. pad .. ")")
  T.close(y2 - y, (ref * 0 + tensor { 0.5, -1, 2 }), 1e-5, "bias broadcast over channels")
end

-- backward against central differences through the binding (L = sum(y * r))
local function gradcheck(name, layer, x, eps)
  eps = eps or 1e-2
  local y = layer:forward(x)
  local r = tensor.randn(table.unpack(y.shape))
  layer:zero_grad()
  local dx = layer:backward(x, r)
  local function loss() return (layer:forward(x) * r):sum() end
  local worst = 0
  local xf = x:reshape(-1)
  local dxf = dx:reshape(-1)
  for i = 1, math.min(xf:numel(), 25) do
    local s = xf:get(i)
    xf:set(i, s + eps); local lp = loss()
    xf:set(i, s - eps); local lm = loss()
    xf:set(i, s)
    local num = (lp - lm) / (2 * eps)
    worst = math.max(worst, math.abs(num - dxf:get(i)) / math.max(1e-2, math.abs(num) + math.abs(dxf:get(i))))
  end
  T.check(worst < 2e-2, name .. " dx through Lua (worst " .. worst .. ")")
  local p, g = layer:parameters()
  for j = 1, #p do
    local pf, gf = p[j]:reshape(-1), g[j]:reshape(-1)
    worst = 0
    for i = 1, math.min(pf:numel(), 25) do
      local s = pf:get(i)
      pf:set(i, s + eps); local lp = loss()
      pf:set(i, s - eps); local lm = loss()
      pf:set(i, s)
      local num = (lp - lm) / (2 * eps)
      worst = math.max(worst, math.abs(num - gf:get(i)) / math.max(1e-2, math.abs(num) + math.abs(gf:get(i))))
    end
    T.check(worst < 2e-2, name .. " param " .. j .. " grad through Lua (worst " .. worst .. ")")
  end
end
gradcheck("Conv2D same s2 tanh", nn.Conv2D { filters = 3, kernel = 3, stride = 2, padding = "same", activation = "tanh" }, tensor.randn(2, 5, 6, 2))
gradcheck("Conv1D", nn.Conv1D { filters = 2, kernel = 3, activation = "sigmoid" }, tensor.randn(2, 7, 3))
gradcheck("Dense softmax", nn.Dense { 4, activation = "softmax" }, tensor.randn(3, 5))
gradcheck("AvgPool2D same", nn.AvgPool2D { size = 2, padding = "same" }, tensor.randn(2, 5, 5, 2))
gradcheck("BatchNorm (training)", nn.BatchNorm():train(), tensor.randn(6, 3, 4))

-- parameters() are views: opt-style updates change the layer
local d = nn.Dense { 2, input_shape = { 3 } }
local p, g = d:parameters()
p[2]:fill(7)
T.check(d.bias:get(1) == 7, "parameters() returns views")
T.check(#p == 2 and #g == 2 and g[1].shape[1] == 3, "weight and bias with grads")
local nb = nn.Dense { 2, use_bias = false, input_shape = { 3 } }
T.check(nb.bias == nil and nb:count_params() == 6, "use_bias=false")

-- weight assignment: right shape copies, wrong shape is a clear error
d.weight = tensor { { 1, 2 }, { 3, 4 }, { 5, 6 } }
T.close(d:forward(tensor { { 1, 0, 0 } }), tensor { { 8, 9 } }, 1e-6, "assigned weight used")
T.raises(function() d.weight = tensor.zeros(2, 3) end, "dense.weight: expected a tensor of shape 3x2, got 2x3")
T.raises(function() nn.Flatten().weight = tensor.zeros(2) end, "flatten (Flatten) has no weight")

-- modes: standalone layers start in inference mode (Keras); train() turns dropout on
local drop = nn.Dropout(0.5)
local x = tensor.ones(200, 10)
T.close(drop:forward(x), x, 0, "dropout is identity at inference")
drop:train()
local y = drop:forward(x)
local zeros = y:eq(0):sum()
T.check(zeros > 700 and zeros < 1300, "about half dropped")
T.check(y:max() == 2, "inverted dropout scales by 1/(1-rate)")
T.close(drop:backward(x, x), y, 0, "dropout backward uses the forward's mask")
T.check(nn.Dropout { rate = 0.2 }:config().rate == 0.2 and nn.Dropout { 0.3 }:config().rate == 0.3, "Dropout rate forms")

-- batchnorm: moving averages with Keras momentum
local bn = nn.BatchNorm():train()
local xb = tensor.randn(16, 4) * 2 + 3
bn:forward(xb)
T.close(bn.moving_mean, xb:mean(1) * 0.01, 1e-5, "moving_mean = 0.99*0 + 0.01*mean")
T.close(bn.moving_variance, (xb:std(1) * xb:std(1)) * 0.01 + 0.99, 1e-4, "moving_variance (biased batch var)")
bn:evaluate()
local yb = bn:forward(xb)
T.close(yb, (xb - bn.moving_mean) / ((bn.moving_variance + 1e-3):apply(math.sqrt)), 1e-4, "inference uses moving stats")

-- activations, pools, flatten order
T.close(nn.ReLU():forward(tensor { { -1, 2 } }), tensor { { 0, 2 } }, 0, "ReLU")
T.close(nn.LeakyReLU():forward(tensor { { -1, 2 } }), tensor { { -0.3, 2 } }, 1e-7, "LeakyReLU default slope 0.3")
T.close(nn.Softmax():forward(tensor { { 0, 0 } }), tensor { { 0.5, 0.5 } }, 1e-7, "Softmax")
local img = tensor.arange(1, 17):reshape(1, 4, 4, 1)
T.close(nn.MaxPool2D { 2 }:forward(img):reshape(-1), tensor { 6, 8, 14, 16 }, 0, "MaxPool2D 4x4 by hand")
T.close(nn.GlobalMaxPool2D():forward(img), tensor { { 16 } }, 0, "GlobalMaxPool2D")
T.close(nn.GlobalAvgPool2D():forward(img), tensor { { 8.5 } }, 1e-6, "GlobalAvgPool2D")
local hwc = tensor.arange(1, 13):reshape(1, 2, 3, 2)
T.close(nn.Flatten():forward(hwc), tensor.arange(1, 13):reshape(1, 12), 0, "Flatten keeps channels-last order")
T.close(nn.MaxPool1D { 2 }:forward(tensor { { { 1 }, { 3 }, { 2 }, { 5 } } }):reshape(-1), tensor { 3, 5 }, 0, "MaxPool1D")
local e = nn.Embedding { 10, 4 }
T.check(e:forward(tensor { { 1, 2, 3 } }).shape[3] == 4, "Embedding N×L → N×L×dim")
T.raises(function() e:forward(tensor { { 1, 10 } }) end, "embedding: input 2 is 10, expected an integer id in 0..9")

-- errors name the layer and the shapes
local c1 = nn.Conv2D { filters = 2, kernel = 3 }         -- set up (and built) by its first forward
c1:forward(tensor.zeros(1, 8, 8, 1))
T.raises(function() c1:forward(tensor.zeros(1, 8, 8, 3)) end, "conv2d: input has 3 channels, layer expects 1")
T.raises(function() c1:forward(tensor.zeros(8, 8)) end, "conv2d (Conv2D): expects input N×H×W×C, got a sample of shape 8")
T.check(c1:forward(tensor.zeros(1, 10, 10, 1)).shape[2] == 8, "a lazily built Conv2D takes other image sizes (Keras)")
-- a layer given input_shape takes only that shape: the model's message, no silent re-setup
local want5 = "conv2d (Conv2D): expected input of shape (None, 5, 5, 1), got "
local c5 = nn.Conv2D { filters = 2, kernel = 3, input_shape = { 5, 5, 1 } }
T.raises(function() c5:forward(tensor.randn(1, 5, 5, 2)) end, want5 .. "1x5x5x2", "input_shape: other channels")
T.raises(function() c5:forward(tensor.randn(1, 7, 7, 1)) end, want5 .. "1x7x7x1", "input_shape: other size")
T.raises(function() c5:forward(tensor.randn(2, 5, 5)) end, want5 .. "2x5x5", "input_shape: other rank")
T.raises(function() c5:forward(tensor.randn(5)) end, "conv2d (Conv2D): input 5 has no batch dimension")
T.check(c5:forward(tensor.randn(2, 5, 5, 1)).shape[4] == 2, "input_shape: the right shape runs")
do -- the bugs.md case: a model holding c5 still takes its 1-channel input
  local m = nn.Sequential { c5, nn.Flatten(), nn.Dense { 3, activation = "softmax" } }
  T.check(m:predict(tensor.randn(2, 5, 5, 1)).shape[2] == 3, "a model keeps its layer's input shape")
end
do -- layers a model set up (no input_shape of their own) are held to the model's shapes
  local m = nn.Sequential { nn.Dense { 4, input_shape = { 3 } }, nn.Dense { 2 } }
  local d2 = m.layers[2]
  T.raises(function() d2:forward(tensor.randn(2, 5)) end,
    d2.name .. " (Dense): expected input of shape (None, 4), got 2x5", "a model's layer: other features")
  T.check(m:predict(tensor.randn(2, 3)).shape[2] == 2, "the model still predicts after the refused forward")
  T.check(d2:forward(tensor.randn(2, 4)).shape[2] == 2, "a model's layer runs on the model's shape")
  local m2 = nn.Sequential { nn.Conv2D { filters = 2, kernel = 3 }, nn.Flatten(), nn.Dense { 2 } }
  m2:predict(tensor.randn(1, 6, 6, 1))                  -- the model's shape comes from its data
  T.raises(function() m2.layers[1]:forward(tensor.randn(1, 6, 6, 2)) end,
    m2.layers[1].name .. " (Conv2D): expected input of shape (None, 6, 6, 1), got 1x6x6x2")
end
do -- without input_shape a standalone layer still sets itself up on its first forward
  local d = nn.Dense { 3 }
  T.check(d:forward(tensor.randn(2, 7)).shape[2] == 3 and d.weight.shape[1] == 7, "lazy Dense builds for 7 features")
end
T.raises(function() nn.Conv2D { filters = 2 } end, "nn.Conv2D: missing argument 'kernel_size'")
T.raises(function() nn.Conv2D { filters = 2, kernel = 3, padding = "full" } end, "padding must be 'valid' or 'same', got 'full'")
T.raises(function() nn.Dense { 3, activation = "swish" } end, "unknown activation 'swish'")
T.raises(function() nn.Dropout(1.5) end, "Dropout: rate must be in [0, 1) (got 1.5)")
T.raises(function() nn.Dense { 3 }.weight = tensor.zeros(2, 3) end, "its input shape is not known yet")
T.check(L._gethelp(nn.Conv2D) ~= nil and L._gethelp(nn.Dense) ~= nil, "layers have help text")
-- a standalone Conv2D is in inference mode, whose forward may skip the im2col columns
-- (16 filters take the direct kernel): backward must still give the right dW. With dy = 1
-- everywhere, dW[di, dj, c, o] = sum over output pixels (i, j) of x[i+di-1, j+dj-1, c]
-- ('same' padding: zero outside), the same for every o; computed here by loops.
do
  lunette.seed(3)
  local x = tensor.randn(1, 4, 4, 8)
  local conv = nn.Conv2D { filters = 16, kernel = 3, padding = "same" }
  conv:forward(x)
  local _, g = conv:parameters()
  conv:backward(x, tensor.ones(1, 4, 4, 16))
  local worst = 0
  for di = 1, 3 do
    for dj = 1, 3 do
      for c = 1, 8 do
        local want = 0
        for i = 1, 4 do
          for j = 1, 4 do
            local yy, xx = i + di - 2, j + dj - 2
            if yy >= 1 and yy <= 4 and xx >= 1 and xx <= 4 then want = want + x:get(1, yy, xx, c) end
          end
        end
        for o = 1, 16, 5 do worst = math.max(worst, math.abs(g[1]:get(di, dj, c, o) - want)) end
      end
    end
  end
  T.check(worst < 1e-4, "inference-mode conv backward: dW by loops (worst " .. worst .. ")")
end

T.done()
