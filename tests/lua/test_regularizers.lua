-- test_regularizers.lua: kernel_regularizer = nn.l1/nn.l2/nn.l1_l2 (Keras): the penalty
-- joins the loss fit/train_on_batch/evaluate report, its gradient joins the kernel's
-- (worked against a twin model without it), configs round-trip, bad values are named.
local T = require "check"
local L = require "lunette"
local nn, optim, tensor = L.nn, L.optim, L.tensor

local x, y = tensor { { 1, -2, 0.5 }, { 0.3, 0.1, -1 } }, tensor { { 1, 0 }, { 0, 1 } }
local function twin(reg)
  L.seed(3)
  local m = nn.Sequential { nn.Input { 3 }, nn.Dense { 2, kernel_regularizer = reg } }
  m:compile { optimizer = optim.SGD { lr = 0.1 }, loss = "mse" }
  m:parameters()
  return m
end
local function sumsq(t) return (t * t):sum() end

for _, case in ipairs {
  { nn.l2(0.1), function(w) return 0.1 * sumsq(w) end, function(w) return w * 0.2 end, "l2" },
  { nn.l1(0.05), function(w) return 0.05 * w:abs():sum() end,
    function(w) return w:apply(function(v) return v > 0 and 0.05 or v < 0 and -0.05 or 0 end) end, "l1" },
  { nn.l1_l2 { l1 = 0.05, l2 = 0.1 }, function(w) return 0.05 * w:abs():sum() + 0.1 * sumsq(w) end,
    function(w) return w * 0.2 + w:apply(function(v) return v > 0 and 0.05 or -0.05 end) end, "l1_l2" } } do
  local reg, pen, grad, name = case[1], case[2], case[3], case[4]
  local a, b = twin(reg), twin(nil)
  local w0 = a.layers[1].weight:clone()
  T.close(w0, b.layers[1].weight, 0, name .. ": twins")
  local la, lb = a:train_on_batch(x, y), b:train_on_batch(x, y)
  T.close(la, lb + pen(w0), 1e-6, name .. ": the step's loss includes the penalty")
  -- SGD: w_a = w0 - lr·(g + reg'(w0)) = w_b - 0.1·reg'(w0)
  T.close(a.layers[1].weight, b.layers[1].weight - grad(w0) * 0.1, 1e-6, name .. ": the penalty's gradient")
  T.close(a.layers[1].bias, b.layers[1].bias, 0, name .. ": no penalty on the bias")
  b.layers[1].weight = a.layers[1].weight
  T.close(a:evaluate(x, y, { verbose = 0 }), b:evaluate(x, y, { verbose = 0 }) + pen(a.layers[1].weight), 1e-6,
    name .. ": evaluate includes the penalty")
end

-- fit's reported loss includes it too; a frozen layer's penalty does not count
local a = twin(nn.l2(0.5))
local h = a:fit(x, y, { epochs = 1, batch_size = 2, verbose = 0, shuffle = false })
local b = twin(nil)
local hb = b:fit(x, y, { epochs = 1, batch_size = 2, verbose = 0, shuffle = false })
T.close(h.history.loss[1], hb.history.loss[1] + 0.5 * sumsq(twin(nil).layers[1].weight), 1e-6, "fit's loss")
a.layers[1].trainable = false
b.layers[1].weight = a.layers[1].weight
b.layers[1].bias = a.layers[1].bias
T.close(a:evaluate(x, y, { verbose = 0 }), b:evaluate(x, y, { verbose = 0 }), 1e-7, "frozen kernels do not count")

-- a frozen layer is neither updated nor decayed nor regularized, with every optimizer
for _, opt in ipairs { optim.AdamW { weight_decay = 0.5, lr = 0.1 }, optim.SGD { lr = 0.1, weight_decay = 0.5, momentum = 0.9 } } do
  L.seed(4)
  local frozen = nn.Dense { 4, kernel_regularizer = nn.l2(1), trainable = false }
  local m = nn.Sequential { nn.Input { 3 }, frozen, nn.Dense { 2 } }
  m:compile { optimizer = opt, loss = "mse" }
  local w, b = frozen.weight:clone(), frozen.bias:clone()
  m:fit(x, y, { epochs = 3, batch_size = 1, verbose = 0 })
  T.close(frozen.weight, w, 0, opt.name .. ": a frozen kernel stays, bit for bit")
  T.close(frozen.bias, b, 0, opt.name .. ": a frozen bias stays")
  T.check(#opt:state().params == 2, opt.name .. ": no optimizer state for the frozen layer")
end

-- saved with the model
local m = twin(nn.l2(0.25))
T.check(m.layers[1]:config().kernel_regularizer.l2 == 0.25, "config")
local path = os.tmpname()
m:save(path)
local m2 = nn.load(path)
os.remove(path)
T.check(m2.layers[1]:config().kernel_regularizer.l2 == 0.25, "saved and loaded")
T.close(m2:evaluate(x, y, { verbose = 0 }), m:evaluate(x, y, { verbose = 0 }), 1e-7, "same loss after load")

-- printing and bad input
T.check(tostring(nn.l2(1e-4)) == "L2(0.0001)" and tostring(nn.l1_l2 { l1 = 0.1, l2 = 0.2 }) == "L1L2(l1=0.1, l2=0.2)", "tostring")
T.raises(function() nn.l2(-1) end, "nn.l2: the factor must be a finite number >= 0, got -1")
T.raises(function() nn.l1(0 / 0) end, "nn.l1: the factor must be a finite number >= 0")
T.raises(function() nn.l1_l2 { l3 = 1 } end, "nn.l1_l2: unknown option 'l3'")
T.raises(function() nn.Dense { 2, kernel_regularizer = "l2" } end,
  "nn.Dense: kernel_regularizer must be nn.l1(x), nn.l2(x) or nn.l1_l2{l1=, l2=}, got string")
T.raises(function() nn.Conv2D { 2, 3, kernel_regularizer = { l2 = -1 } } end, "nn.Conv2D: kernel_regularizer: l2 must be a finite number >= 0, got -1")
T.raises(function() nn.Dense { 2, kernel_regularizer = { l3 = 1 } } end, "nn.Dense: kernel_regularizer: unknown option 'l3'")
T.raises(function() nn.Dense { 2, kernel_regulariser = nn.l2() } end, "(did you mean 'kernel_regularizer'?)")
T.done()
