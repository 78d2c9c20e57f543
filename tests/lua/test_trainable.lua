-- test_trainable.lua: frozen layers and transfer learning (issue 16): trainable as an
-- option and a field, frozen weights bit-identical after fit (one and two threads, every
-- optimizer), summary and count_params, save/load of the flag, a frozen BatchNorm in
-- inference mode, model.trainable, get_layer, a saved base under a new head.
local T = require "check"
local L = require "lunette"
local nn, tensor, optim = L.nn, L.tensor, L.optim

L.seed(3)
local x = tensor.rand(32, 6, 6, 1)
local yt = {}
for i = 1, 32 do yt[i] = (i * 7) % 3 end
local y = tensor(yt)

local function same(a, b) return (a - b):abs():max() == 0 end

local function build(frozen_conv)
  return nn.Sequential{ nn.Input{6, 6, 1},
    nn.Conv2D{filters=3, kernel=3, activation="relu", trainable=not frozen_conv},
    nn.BatchNorm(), nn.Flatten(), nn.Dense{units=3, activation="softmax"} }
end

-- frozen weights do not move under any optimizer, on one or two threads; the others do
for _, threads in ipairs{1, 2} do
  for _, opt in ipairs{"sgd", "adam", "rmsprop"} do
    L.threads(threads)
    local m = build(true)
    m:compile{optimizer=opt, loss="sparse_categorical_crossentropy"}
    local c, d = m:get_layer(1), m:get_layer(4)
    local cw, cb, dw = c.weight:clone(), c.bias:clone(), d.weight:clone()
    m:fit(x, y, {epochs=2, batch_size=8, verbose=0})
    T.check(same(c.weight, cw) and same(c.bias, cb), string.format("frozen conv bit-identical (%s, %d threads)", opt, threads))
    T.check(not same(d.weight, dw), string.format("trainable dense moved (%s, %d threads)", opt, threads))
    -- unfrozen after compile: takes effect at the next step, no recompile
    c.trainable = true
    m:train_on_batch(x, y)
    T.check(not same(c.weight, cw), "unfrozen conv moves at the next step (" .. opt .. ")")
  end
end
L.threads(1)

-- summary and count_params
local m = build(true)
local info = m:summary_text()
-- conv 3·3·1·3 + 3 = 30 (frozen), BN γ, β 6 + moving statistics 6, dense 48·3 + 3
local conv_p, bn_p, bn_s, dense_p = 30, 6, 6, (4 * 4 * 3) * 3 + 3
T.check(info:find("Total params: " .. (conv_p + bn_p + bn_s + dense_p) .. " ", 1, true) ~= nil, "total params")
T.check(m:count_params() == conv_p + bn_p + bn_s + dense_p, "count_params counts frozen ones: " .. m:count_params())
T.check(info:find("Trainable params: " .. (bn_p + dense_p) .. " ", 1, true) ~= nil, "trainable count\n" .. info)
T.check(info:find("Non-trainable params: " .. (conv_p + bn_s) .. " ", 1, true) ~= nil, "non-trainable count")
m.trainable = false
T.check(m:summary_text():find("Trainable params: 0 ", 1, true) ~= nil, "model.trainable = false freezes all")
T.check(m.trainable == false and m:get_layer(1).trainable == false and m:get_layer(2).trainable == false, "model.trainable read")
m.trainable = true
T.check(m:get_layer(1).trainable == true and m.trainable == true, "model.trainable = true")
local p = m:parameters()
m:get_layer(1).trainable = false
T.check(#m:parameters() == #p - 2, "parameters() leaves frozen layers out")

-- Keras's show_trainable column
local st = m:summary_text{show_trainable=true, width=100}
T.check(st:find("Trainable", 1, true) and st:find("conv2d %(Conv2D%).-N") and st:find("flatten %(Flatten%).- %-")
  and st:find("dense %(Dense%).-Y"), "show_trainable column\n" .. st)

-- a Lua layer with parameters freezes too
do
  local ll = nn.Layer{weight={3, 2}, trainable=false, output_shape={2},
    forward=function(self, x) return x:matmul(self.weight) end,
    backward=function(self, x, dy) return dy:matmul(self.weight:transpose(1, 2)), x:transpose(1, 2):matmul(dy) end}
  local ml = nn.Sequential{nn.Input{3}, ll, nn.Dense{units=2}}
  ml:compile{optimizer="sgd", loss="mse"}
  ml:predict(tensor.randn(2, 3))
  local w0 = ll.weight:clone()
  ml:fit(tensor.randn(8, 3), tensor.randn(8, 2), {verbose=0, batch_size=4})
  T.check(same(ll.weight, w0), "frozen nn.Layer bit-identical")
  ll.trainable = true
  ml:fit(tensor.randn(8, 3), tensor.randn(8, 2), {verbose=0, batch_size=4})
  T.check(not same(ll.weight, w0), "unfrozen nn.Layer trains")
  T.raises(function() nn.Lambda{forward=function(x) return x end, trainable=false} end,
    "nn.Lambda: unknown option 'trainable'")
end

-- a frozen base is not backpropagated through (Keras): a frozen layer's backward runs only
-- when a trainable layer below it needs the gradient
do
  local calls = 0
  local function counting(trainable)
    return nn.Layer{weight={3, 3}, trainable=trainable, output_shape={3},
      forward=function(self, x) return x:matmul(self.weight) end,
      backward=function(self, x, dy) calls = calls + 1
        return dy:matmul(self.weight:transpose(1, 2)), x:transpose(1, 2):matmul(dy) end}
  end
  local base = counting(false)
  local mf = nn.Sequential{nn.Input{3}, base, nn.Dense{units=2}}
  mf:compile{optimizer="sgd", loss="mse"}
  local xs, ys = tensor.randn(8, 3), tensor.randn(8, 2)
  mf:fit(xs, ys, {verbose=0, batch_size=4})
  T.check(calls == 0, "a frozen base's backward is skipped (" .. calls .. " calls)")
  base.trainable = true
  mf:fit(xs, ys, {verbose=0, batch_size=4})
  T.check(calls == 2, "unfrozen: its backward runs again at the next step (" .. calls .. " calls)")
  base.trainable = false
  mf:train_on_batch(xs, ys)
  T.check(calls == 2, "frozen again: skipped again")
  calls = 0
  local mid = counting(false)
  local mm = nn.Sequential{nn.Input{3}, nn.Dense{units=3}, mid, nn.Dense{units=2}}
  mm:compile{optimizer="sgd", loss="mse"}
  mm:fit(xs, ys, {verbose=0, batch_size=8})
  T.check(calls == 1, "a frozen layer above a trainable one still passes the gradient down")
end

-- bad input
T.raises(function() nn.Flatten{trainable=false} end, "nn.Flatten: trainable=false: a Flatten layer has no parameters")
T.raises(function() nn.Dropout{rate=0.1, trainable=true} end, "a Dropout layer has no parameters")
T.raises(function() m:get_layer(3).trainable = false end, "flatten.trainable = false: a Flatten layer has no parameters")
T.raises(function() m:get_layer(1).trainable = 0 end, "conv2d.trainable must be true or false, got number")
T.raises(function() nn.Dense{units=2, trainable="no"} end, "nn.Dense: 'trainable' must be true or false, got string")
T.raises(function() m.trainable = nil end, "model.trainable must be true or false")
T.check(m:get_layer(3).trainable == nil, "a layer without parameters has no trainable flag")
T.raises(function() m:get_layer("conv") end, "get_layer: no layer named 'conv' (did you mean 'conv2d'?)")
T.raises(function() m:get_layer(9) end, "get_layer: index 9 is outside 1..4")

-- a frozen BatchNorm runs in inference mode: its moving statistics do not move, and the
-- training step's output equals the inference output (the moving statistics are used)
do
  local bn = nn.BatchNorm{trainable=false}
  local mb = nn.Sequential{ nn.Input{4}, nn.Dense{units=4}, bn, nn.Dense{units=2} }
  mb:compile{optimizer=optim.SGD{lr=0.1}, loss="mse"}
  local xb, yb = tensor.randn(8, 4), tensor.randn(8, 2)
  mb:predict(xb)
  bn.moving_mean = tensor{0.5, -0.5, 1, 2}
  bn.moving_variance = tensor{2, 3, 0.5, 1}
  local mm, mv, g = bn.moving_mean:clone(), bn.moving_variance:clone(), bn.weight:clone()
  local yi = mb:forward(xb)
  local yt2 = mb:forward(xb, {training=true})
  T.close(yt2, yi, 1e-6, "frozen BN: a training forward = the inference forward")
  mb:fit(xb, yb, {epochs=2, batch_size=4, verbose=0})
  T.check(same(bn.moving_mean, mm) and same(bn.moving_variance, mv), "frozen BN: moving statistics unchanged")
  T.check(same(bn.weight, g), "frozen BN: gamma unchanged")
  -- and an unfrozen one in training mode differs from inference
  bn.trainable = true
  T.check((mb:forward(xb, {training=true}) - mb:forward(xb)):abs():max() > 1e-3, "unfrozen BN trains on batch statistics")
end

-- hand-written loop: backward leaves a frozen layer's gradients at zero
do
  local mh = build(true)
  mh:compile{optimizer="sgd", loss="sparse_categorical_crossentropy"}
  local out = mh:forward(x, {training=true})
  mh:backward(out - 0.1)
  T.check(mh:get_layer(1).grad_weight:abs():max() == 0, "frozen layer's gradient stays zero in backward")
  T.check(mh:get_layer(4).grad_weight:abs():max() > 0, "a trainable layer's gradient is not")
end

-- save/load keeps the flag; a loaded base under a new head, fine-tuned
do
  local path = os.tmpname()
  local base = build(true)
  base:compile{optimizer="adam", loss="sparse_categorical_crossentropy"}
  base:fit(x, y, {epochs=1, verbose=0})
  T.check(base:save(path), "save")
  local loaded = nn.load(path)
  T.check(loaded:get_layer(1).trainable == false and loaded:get_layer(4).trainable == true, "flag saved and loaded")
  T.check(loaded:summary_text():find("Non-trainable params: " .. (conv_p + bn_s) .. " ", 1, true) ~= nil, "loaded summary counts")
  -- transfer: the conv base (layers 1..3) of the loaded model under a new 2-class head
  loaded.trainable = false
  local head = nn.Dense{units=2, activation="softmax"}
  local new = nn.Sequential{ nn.Input{6, 6, 1}, table.unpack(loaded.layers, 1, 3) }
  new:add(head)
  new:compile{optimizer="adam", loss="sparse_categorical_crossentropy"}
  local cw = new:get_layer(1).weight:clone()
  local hw = head.weight:clone()
  local y2 = tensor.rand(32):gt(0.5)
  new:fit(x, y2, {epochs=2, batch_size=8, verbose=0})
  T.check(same(new:get_layer(1).weight, cw), "transfer: frozen base bit-identical")
  T.check(not same(head.weight, hw), "transfer: the head trains")
  -- then fine-tune the whole thing
  new.trainable = true
  new:fit(x, y2, {epochs=1, batch_size=8, verbose=0})
  T.check(not same(new:get_layer(1).weight, cw), "fine-tuning moves the base")
  -- a whole Sequential model as an item: its layers, in order
  local stacked = nn.Sequential{ build(false), nn.Dense{units=2} }
  T.check(#stacked.layers == 5 and stacked.layers[1].kind == "Conv2D", "a Sequential inside Sequential adds its layers")
  os.remove(path)
end

T.done()
