-- test_sample_weight.lua: fit{sample_weight, class_weight} (issue 16) against a hand
-- computation: the reported loss is Σ w_i·loss_i / N (Keras) and one SGD step moves the
-- weights by the weighted gradient, worked out here in plain Lua loops; on one and two
-- threads, with mse (the plain gradient) and softmax + sparse cross-entropy (the fused one).
local T = require "check"
local L = require "lunette"
local nn, tensor, optim = L.nn, L.tensor, L.optim

local N, D, K, lr = 6, 3, 2, 0.1

local function matrix(t) return t:totable() end

-- one full-batch SGD step of a linear Dense (D→K) by hand; returns loss, W', b'
local function hand_step(W, b, x, y, w, kind)
  local dW, db, loss = {}, {}, 0
  for d = 1, D do dW[d] = {} for k = 1, K do dW[d][k] = 0 end end
  for k = 1, K do db[k] = 0 end
  for i = 1, N do
    local z = {}
    for k = 1, K do
      z[k] = b[k]
      for d = 1, D do z[k] = z[k] + x[i][d] * W[d][k] end
    end
    local g, li = {}, 0
    if kind == "mse" then
      for k = 1, K do
        li = li + (z[k] - y[i][k]) ^ 2 / K
        g[k] = w[i] * 2 * (z[k] - y[i][k]) / (K * N)
      end
    else                                  -- softmax + sparse cross-entropy, y[i] a class id
      local m, s = math.max(table.unpack(z)), 0
      for k = 1, K do s = s + math.exp(z[k] - m) end
      for k = 1, K do
        local p = math.exp(z[k] - m) / s
        if k - 1 == y[i] then li = -math.log(p) end
        g[k] = w[i] * (p - (k - 1 == y[i] and 1 or 0)) / N
      end
    end
    loss = loss + w[i] * li / N
    for k = 1, K do
      db[k] = db[k] + g[k]
      for d = 1, D do dW[d][k] = dW[d][k] + x[i][d] * g[k] end
    end
  end
  local W2, b2 = {}, {}
  for d = 1, D do W2[d] = {} for k = 1, K do W2[d][k] = W[d][k] - lr * dW[d][k] end end
  for k = 1, K do b2[k] = b[k] - lr * db[k] end
  return loss, W2, b2
end

for _, threads in ipairs{1, 2} do
  L.threads(threads)
  for _, kind in ipairs{"mse", "scce"} do
    L.seed(5)
    local m = nn.Sequential{nn.Input{D}, nn.Dense{units=K, activation=kind == "mse" and "linear" or "softmax"}}
    m:compile{optimizer=optim.SGD{lr=lr}, loss=kind == "mse" and "mse" or "sparse_categorical_crossentropy"}
    local x = tensor.randn(N, D)
    local y = kind == "mse" and tensor.randn(N, K) or tensor{0, 1, 1, 0, 1, 0}
    m:predict(x)
    local layer = m:get_layer(1)
    local W, b = matrix(layer.weight), matrix(layer.bias)
    local sw = {0.5, 2, 0, 1, 3, 1.5}
    local opts = {epochs=1, batch_size=N, verbose=0, sample_weight=tensor(sw)}
    local w = sw
    if kind == "scce" then              -- class weights too, multiplied in
      opts.class_weight = {[0]=2, [1]=0.25}
      w = {}
      local yt = y:totable()
      for i = 1, N do w[i] = sw[i] * (yt[i] == 0 and 2 or 0.25) end
    end
    local loss, W2, b2 = hand_step(W, b, matrix(x), kind == "mse" and matrix(y) or y:totable(), w, kind)
    local h = m:fit(x, y, opts)
    local what = string.format(" (%s, %d threads)", kind, threads)
    T.close(h.history.loss[1], loss, 1e-5, "weighted loss as Keras reports it" .. what)
    T.close(layer.weight, tensor(W2), 1e-5, "weights after one weighted step" .. what)
    T.close(layer.bias, tensor(b2), 1e-5, "bias after one weighted step" .. what)
  end
end
L.threads(1)

-- class_weight alone on one-hot targets, and the unweighted loss is unchanged by weights of 1
do
  L.seed(7)
  local m = nn.Sequential{nn.Input{D}, nn.Dense{units=3, activation="softmax"}}
  m:compile{optimizer=optim.SGD{lr=1e-12}, loss="categorical_crossentropy"}
  local x = tensor.randn(4, D)
  local y = tensor{{1, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 0, 1}}
  local plain = m:fit(x, y, {batch_size=4, verbose=0}).history.loss[1]
  local ones = m:fit(x, y, {batch_size=4, verbose=0, class_weight={[0]=1, [1]=1, [2]=1}}).history.loss[1]
  T.close(ones, plain, 1e-6, "class weights of 1 change nothing")
  local p = m:predict(x):totable()
  local cw = {[0]=3, [1]=1, [2]=0.5}
  local want, yt = 0, {0, 2, 1, 2}
  for i = 1, 4 do want = want - cw[yt[i]] * math.log(p[i][yt[i] + 1]) / 4 end
  local got = m:fit(x, y, {batch_size=4, verbose=0, class_weight=cw}).history.loss[1]
  T.close(got, want, 1e-5, "class_weight on one-hot targets (argmax)")
  -- validation_split: the weights of the training rows only; val_loss unweighted
  local h = m:fit(x, y, {batch_size=2, verbose=0, shuffle=false, validation_split=0.5, sample_weight={1, 1, 100, 100}})
  local h1 = m:fit(x, y, {batch_size=2, verbose=0, shuffle=false, validation_split=0.5})
  T.close(h.history.loss[1], h1.history.loss[1], 1e-6, "validation rows' weights are not the training rows'")
  T.close(h.history.val_loss[1], h1.history.val_loss[1], 1e-6, "val_loss is unweighted (Keras)")
end

-- train_on_batch takes the same weights: the same step as fit on one full batch
do
  L.seed(9)
  local function mk()
    L.seed(9)
    local m = nn.Sequential{nn.Input{D}, nn.Dense{units=3, activation="softmax"}}
    m:compile{optimizer=optim.SGD{lr=0.5}, loss="sparse_categorical_crossentropy"}
    return m
  end
  local x, y = tensor.randn(4, D), tensor{0, 2, 1, 2}
  local a, b = mk(), mk()
  a:predict(x); b:predict(x)
  b:get_layer(1).weight = a:get_layer(1).weight
  b:get_layer(1).bias = a:get_layer(1).bias
  local o = {sample_weight={1, 0.5, 2, 0}, class_weight={[2]=3}}
  local la = a:train_on_batch(x, y, o)
  local hb = b:fit(x, y, {batch_size=4, verbose=0, sample_weight=o.sample_weight, class_weight=o.class_weight})
  T.close(la, hb.history.loss[1], 1e-6, "train_on_batch loss = fit's")
  T.close(a:get_layer(1).weight, b:get_layer(1).weight, 1e-6, "train_on_batch step = fit's")
  T.raises(function() a:train_on_batch(x, y, {sample_weigth={1, 1, 1, 1}}) end,
    "train_on_batch: unknown option 'sample_weigth' (did you mean 'sample_weight'?)")
  -- the weights' errors name the call that was given them (they said "fit:" here too)
  T.raises(function() a:train_on_batch(x, y, {sample_weight=7}) end,
    "train_on_batch: sample_weight must be a tensor or a list of 4 numbers, got a number")
  T.raises(function() a:train_on_batch(x, y, {class_weight={[1]=0/0}}) end,
    "train_on_batch: class_weight[1] is nan: weights must be finite and non-negative")
  T.raises(function() a:train_on_batch(x, y, {class_weight={[5]=1}}) end,
    "train_on_batch: class_weight has class 5, but the model's output has 3 classes (0..2)")
end

-- bad input: each names the value
do
  local m = nn.Sequential{nn.Input{D}, nn.Dense{units=3, activation="softmax"}}
  m:compile{optimizer="sgd", loss="sparse_categorical_crossentropy"}
  local x, y = tensor.randn(3, D), tensor{0, 1, 2}
  local function fit(o) o.verbose = 0; return m:fit(x, y, o) end
  T.raises(function() fit{class_weight={[3]=1}} end, "fit: class_weight has class 3, but the model's output has 3 classes (0..2)")
  T.raises(function() fit{class_weight={cat=1}} end, "fit: class_weight has class cat")
  T.raises(function() fit{class_weight={[1]=-2}} end, "fit: class_weight[1] is -2: weights must be finite and non-negative")
  T.raises(function() fit{class_weight={[1]=1/0}} end, "fit: class_weight[1] is inf")
  T.raises(function() fit{class_weight={[0]=0/0}} end, "fit: class_weight[0] is nan")
  T.raises(function() fit{class_weight=2} end, "fit: class_weight must be a table")
  T.raises(function() fit{sample_weight={1, -1, 1}} end, "fit: sample_weight[2] is -1")
  T.raises(function() fit{sample_weight={1, 0/0, 1}} end, "fit: sample_weight[2] is nan")
  T.raises(function() fit{sample_weight={1, 1}} end, "fit: sample_weight has shape 2 for 3 samples (expected 3 values, one per sample)")
  -- N values of the wrong shape: it said "has 6 values for 6 samples"
  T.raises(function() m:fit(tensor.randn(6, D), tensor{0, 1, 2, 0, 1, 2}, {verbose=0, sample_weight=tensor.ones(3, 2)}) end,
    "fit: sample_weight has shape 3x2 for 6 samples")
  T.raises(function() fit{sample_weight="x"} end, "fit: sample_weight must be a tensor or a list of 3 numbers")
end

T.done()
