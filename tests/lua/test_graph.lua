-- test_graph.lua: graph models (nn.Model, merge layers, shared layers, several inputs and
-- outputs), the whole-model backward, gradcheck, ownership of layers, save/load of graphs.
local T = require "check"
local L = require "lunette"
local nn, tensor, optim = L.nn, L.tensor, L.optim

L.seed(7)

-- ---- ownership: the reproduction of the issue, and friends ----
do
  local m = nn.Sequential { nn.Input { 4 }, nn.Dense { 3 }, nn.Dense { 2 } }
  local x = tensor.rand { 5, 4 }
  local y0 = m:predict(x)
  T.raises(function() m.layers[2] = nn.Dense { 7 } end, "model.layers is read-only", "layers list is read-only")
  collectgarbage(); collectgarbage()
  T.close(m:predict(x), y0, 0, "the model still runs its own layers")
  local l = m.layers[1]
  getmetatable(l).__gc(l)                       -- an explicit finaliser call on a layer in use
  collectgarbage()
  T.close(m:predict(x), y0, 0, "a finalised layer object leaves the model intact")
  T.raises(function() return l.weight end, "freed", "the finalised object itself reports it")
  T.check(#m.layers == 2, "#model.layers")
  local n = 0
  for _ in pairs(m.layers) do n = n + 1 end
  T.check(n == 2, "pairs over model.layers")
  -- a layer in two models: the weights follow the layer object
  local d = nn.Dense { 2 }
  local a = nn.Sequential { nn.Input { 3 }, d }
  local b = nn.Sequential { nn.Input { 3 }, d }
  local xi = tensor.randn(2, 3)
  T.close(a:predict(xi), b:predict(xi), 0, "a layer shared by two models gives both the same output")
  a = nil
  collectgarbage(); collectgarbage()
  T.check(b:predict(xi).shape[2] == 2, "a layer outlives a collected model")
end

-- ---- a graph that spells out a Sequential model equals it ----
local function seq_and_graph()
  L.seed(11)
  local s = nn.Sequential { nn.Input { 8, 8, 2 }, nn.Conv2D { filters = 4, kernel = 3, activation = "relu" },
    nn.MaxPool2D { 2 }, nn.Flatten(), nn.Dense { 5, activation = "softmax" } }
  local inp = nn.Input { 8, 8, 2 }
  local h = inp
  for _, l in ipairs { nn.Conv2D { filters = 4, kernel = 3, activation = "relu" }, nn.MaxPool2D { 2 }, nn.Flatten(),
    nn.Dense { 5, activation = "softmax" } } do h = l(h) end
  local g = nn.Model { inputs = inp, outputs = h }
  g:_flat_params():copy(s:_flat_params())
  return s, g
end
do
  local s, g = seq_and_graph()
  local x, y = tensor.randn(6, 8, 8, 2), tensor { 0, 1, 2, 3, 4, 0 }
  T.close(g:predict(x), s:predict(x), 1e-6, "graph = Sequential: outputs")
  for _, m in ipairs { s, g } do m:compile { optimizer = optim.SGD { lr = 0.1 }, loss = "sparse_categorical_crossentropy" } end
  local ls, lg = s:train_on_batch(x, y), g:train_on_batch(x, y)
  T.close(lg, ls, 1e-6, "graph = Sequential: loss")
  T.close(g:_flat_params(), s:_flat_params(), 1e-6, "graph = Sequential: parameters after a step")
end

-- ---- finite differences on graphs ----
local function gc(model, x, name)
  local _, worst = nn.gradcheck(model, x, { samples = 12 })
  T.check(worst < 2e-2, string.format("gradcheck %s: worst relative error %g", name, worst))
end
do
  -- fan-out and a skip connection through Add, Concatenate, Multiply, Maximum, Average, Subtract
  local inp = nn.Input { 5, 5, 2 }
  local h = nn.Conv2D { filters = 3, kernel = 3, padding = "same", activation = "tanh" }(inp)
  local a = nn.Conv2D { filters = 3, kernel = 3, padding = "same" }(h)
  local s = nn.Add()({ h, a })
  local c = nn.Concatenate { axis = -1 }({ s, h, inp })
  local f = nn.Flatten()(c)
  local d1, d2 = nn.Dense { 4, activation = "tanh" }(f), nn.Dense { 4, activation = "sigmoid" }(f)
  local mix = nn.Average()({ nn.Multiply()({ d1, d2 }), nn.Maximum()({ d1, d2 }), nn.Subtract()({ d1, d2 }) })
  local m = nn.Model { inputs = inp, outputs = nn.Dense { 3 }(mix) }
  gc(m, tensor.randn(3, 5, 5, 2), "skip + merges")
  -- a shared layer: called twice, its gradients add up
  local i2 = nn.Input { 6 }
  local shared = nn.Dense { 6, activation = "tanh" }
  local m2 = nn.Model { inputs = i2, outputs = nn.Dense { 2 }(shared(shared(i2))) }
  T.check(#m2.layers == 2, "a shared layer is listed once")
  T.check(m2:count_params() == 6 * 6 + 6 + 6 * 2 + 2, "a shared layer's parameters count once")
  gc(m2, tensor.randn(4, 6), "shared layer")
  -- several inputs and outputs
  local xa, xb = nn.Input { 4 }, nn.Input { 3 }
  local j = nn.Concatenate()({ nn.Dense { 5, activation = "relu" }(xa), xb })
  local o1, o2 = nn.Dense { 2 }(j), nn.Dense { 3, activation = "softmax" }(j)
  local m3 = nn.Model { inputs = { xa, xb }, outputs = { o1, o2 } }
  gc(m3, { tensor.randn(5, 4), tensor.randn(5, 3) }, "two inputs, two outputs")
  local p = m3:predict { tensor.randn(5, 4), tensor.randn(5, 3) }
  T.check(#p == 2 and p[1].shape[2] == 2 and p[2].shape[2] == 3, "predict returns one tensor per output")
  m3:compile { optimizer = "adam", loss = { "mse", "sparse_categorical_crossentropy" }, loss_weights = { 0.5, 1 } }
  local loss = m3:train_on_batch({ tensor.randn(5, 4), tensor.randn(5, 3) }, { tensor.randn(5, 2), tensor { 0, 1, 2, 0, 1 } })
  T.check(type(loss) == "number" and loss == loss, "two-output train_on_batch")
  local h3 = m3:fit({ tensor.randn(20, 4), tensor.randn(20, 3) }, { tensor.randn(20, 2), tensor.zeros(20) },
    { epochs = 2, batch_size = 8, verbose = 0, validation_split = 0.25 })
  T.check(#h3.history.loss == 2 and h3.history.val_loss[2] ~= nil, "two-input fit with validation_split")
  -- merge layers standalone (their own backward against the naive formula)
  local ta, tb = tensor.randn(2, 3), tensor.randn(2, 3)
  local dy = tensor.randn(2, 3)
  local g = nn.Multiply():backward({ ta, tb }, dy)
  T.close(g[1], dy * tb, 1e-6, "Multiply backward")
  T.close(nn.Concatenate():forward({ ta, tb }):slice(2, 4, 6), tb, 0, "Concatenate forward")
  gc(nn.Conv2D { filters = 2, kernel = 2 }, tensor.randn(2, 4, 4, 1), "a layer")
end

-- ---- a hand-written step equals train_on_batch ----
do
  local function build()
    L.seed(5)
    local inp = nn.Input { 8, 8, 1 }
    local h = nn.Conv2D { filters = 4, kernel = 3, padding = "same", activation = "relu" }(inp)
    local r = nn.Add()({ h, nn.Conv2D { filters = 4, kernel = 3, padding = "same" }(h) })
    local out = nn.Dense { 3, activation = "softmax" }(nn.Flatten()(r))
    local m = nn.Model { inputs = inp, outputs = out }
    m:compile { optimizer = optim.Adam { lr = 1e-2 }, loss = "sparse_categorical_crossentropy" }
    return m
  end
  local a, b = build(), build()
  local x, y = tensor.randn(8, 8, 8, 1), tensor { 0, 1, 2, 0, 1, 2, 0, 1 }
  local loss = nn.loss("sparse_categorical_crossentropy")
  local opt = optim.Adam { lr = 1e-2 }
  b:_flat_params():copy(a:_flat_params())   -- the same initial weights
  local p, g = b:parameters()
  for step = 1, 3 do
    a:train_on_batch(x, y)
    local yp = b:forward(x, { training = true })
    b:backward(loss:backward(yp, y))
    opt:step(p, g)
    b:zero_grad()
    T.close(b:_flat_params(), a:_flat_params(), 1e-6, "hand-written step " .. step .. " = train_on_batch")
  end
  T.raises(function() b:backward(tensor.ones(3, 3)) end, "gradient of output 1 has shape", "backward checks dy's shape")
  b:predict(x)
  T.raises(function() b:backward(tensor.ones(8, 3)) end, "run forward(x, {training=true}) first", "backward needs a training forward")
end

-- ---- data-parallel graph training equals 1-thread training ----
do
  local function run(threads)
    L.threads(threads)
    L.seed(21)
    local inp = nn.Input { 6, 6, 2 }
    local h = nn.Conv2D { filters = 8, kernel = 3, padding = "same", activation = "relu" }(inp)
    local r = nn.Add()({ h, nn.Conv2D { filters = 8, kernel = 3, padding = "same", activation = "relu" }(h) })
    local out = nn.Dense { 4, activation = "softmax" }(nn.GlobalAvgPool2D()(nn.Concatenate()({ r, h })))
    local m = nn.Model { inputs = inp, outputs = out }
    m:compile { optimizer = optim.Adam { lr = 1e-2 }, loss = "sparse_categorical_crossentropy" }
    local x, y = tensor.randn(16, 6, 6, 2), (tensor.rand(16) * 4):apply(math.floor)
    local ps = {}
    for s = 1, 5 do m:train_on_batch(x, y); ps[s] = m:_flat_params():clone() end
    return ps
  end
  local one, two = run(1), run(2)
  for s = 1, 5 do T.close(two[s], one[s], 1e-5, "2 threads = 1 thread, step " .. s) end
  L.threads(1)
end

-- ---- callbacks, early stopping and Ctrl-C on a graph model ----
do
  L.seed(3)
  local inp = nn.Input { 6 }
  local h = nn.Dense { 8, activation = "relu" }(inp)
  local m = nn.Model { inputs = inp, outputs = nn.Dense { 3, activation = "softmax" }(nn.Add()({ h, nn.Dense { 8 }(h) })) }
  m:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  local x, y = tensor.randn(64, 6), (tensor.rand(64) * 3):apply(math.floor)
  local seen = 0
  local h1 = m:fit(x, y, { epochs = 3, batch_size = 16, verbose = 0, validation_split = 0.25,
    callbacks = { function() seen = seen + 1 end, nn.EarlyStopping { monitor = "loss", patience = 5 } } })
  T.check(seen == 3 and #h1.history.val_accuracy == 3, "epoch callbacks and validation on a graph model")
  local w = m:_flat_params():clone()
  local h2 = m:fit(x, y, { epochs = 2, batch_size = 16, verbose = 0, callbacks = { {
    on_batch_end = function(b) if b == 2 then L._test_interrupt(true) end end } } })
  T.check(h2.interrupted == true, "Ctrl-C stops a graph model's fit with the history so far")
  T.check((m:_flat_params() - w):abs():max() > 0, "the steps before the interrupt were applied")
  T.check(m:predict(x).shape[1] == 64, "the model works after the interrupt")
end

-- ---- chunked inference on a graph (batch norm, skip) = one sample at a time ----
do
  L.threads(1)
  local inp = nn.Input { 16, 16, 3 }
  local h = nn.ReLU()(nn.BatchNorm()(nn.Conv2D { filters = 16, kernel = 3, padding = "same" }(inp)))
  local r = nn.BatchNorm()(nn.Conv2D { filters = 16, kernel = 3, padding = "same" }(h))
  local m = nn.Model { inputs = inp, outputs = nn.Dense { 5 }(nn.GlobalAvgPool2D()(nn.ReLU()(nn.Add()({ h, r })))) }
  m:compile { optimizer = "adam", loss = "mse" }
  m:fit(tensor.randn(40, 16, 16, 3), tensor.randn(40, 5), { epochs = 1, verbose = 0 })   -- moving statistics
  local x = tensor.randn(100, 16, 16, 3)          -- 4,096 floats a sample: chunks of 32
  local all = m:predict(x, { batch_size = 100 })
  local one = tensor.zeros(100, 5)
  for i = 1, 100 do one[i]:copy(m:predict(x[i])[1]) end
  T.close(all, one, 1e-5, "chunked graph inference = one sample at a time")
end

-- ---- save / load round trip ----
do
  local inp = nn.Input { 4, 4, 1 }
  local h = nn.Conv2D { filters = 2, kernel = 2, padding = "same" }(inp)
  local bn = nn.BatchNorm()(nn.Add()({ h, nn.Conv2D { filters = 2, kernel = 1 }(inp) }))
  local m = nn.Model { inputs = inp, outputs = nn.Dense { 3, activation = "softmax" }(nn.Flatten()(bn)), name = "tiny_res" }
  m:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  local x, y = tensor.randn(10, 4, 4, 1), tensor { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0 }
  m:fit(x, y, { epochs = 2, batch_size = 5, verbose = 0 })
  local path = os.tmpname()
  T.check(m:save(path) == true, "graph save")
  local m2 = nn.load(path)
  os.remove(path)
  T.check(m2.name == "tiny_res", "the name survives")
  T.close(m2:predict(x), m:predict(x), 1e-6, "graph load: same outputs")
  T.check(m2:summary_text():find("Connected to", 1, true) ~= nil, "graph summary has 'Connected to'")
  T.close(m2:train_on_batch(x, y), m:train_on_batch(x, y), 1e-5, "graph load: training resumes identically")
end


-- ---- layers written in Lua ----
do
  local sq = nn.Lambda { forward = function(x) return x * x end, backward = function(x, dy) return dy * x * 2 end }
  T.close(sq:forward(tensor { { 1, 2, 3 } }), tensor { { 1, 4, 9 } }, 0, "Lambda forward")
  gc(sq, tensor.randn(3, 4), "Lambda")
  local function linear(name)
    return nn.Layer { name = name, weight = { 4, 3 }, bias = { 3 }, output_shape = function(s) return { 3 } end,
      forward = function(self, x) return x:matmul(self.weight) + self.bias end,
      backward = function(self, x, dy)
        return dy:matmul(self.weight:transpose(1, 2)), x:transpose(1, 2):matmul(dy), dy:sum(1)
      end }
  end
  local lin = linear("lin")
  gc(lin, tensor.randn(5, 4), "a Lua layer with parameters")
  local inp = nn.Input { 4 }
  local m = nn.Model { inputs = inp, outputs = nn.Dense { 2, activation = "softmax" }(sq(lin(inp))) }
  gc(m, tensor.randn(5, 4), "a model with Lua layers")
  m:compile { optimizer = optim.SGD { lr = 0.1 }, loss = "sparse_categorical_crossentropy" }
  local w0 = lin.weight:clone()
  local x, y = tensor.randn(32, 4), (tensor.rand(32) * 2):apply(math.floor)
  m:fit(x, y, { epochs = 2, verbose = 0 })
  T.check((lin.weight - w0):abs():max() > 0, "the optimizer updates a Lua layer's weights")
  local path = os.tmpname()
  m:save(path)
  T.raises(function() nn.load(path) end, "is written in Lua: pass it again", "loading a Lua layer needs it back")
  local m2 = nn.load(path, { custom_objects = { lin = linear("lin"), lambda = sq } })
  os.remove(path)
  T.close(m2:predict(x), m:predict(x), 1e-6, "a model with Lua layers round-trips with custom_objects")
  T.raises(function() nn.load(path, { custom_objects = 5 }) end,
    "nn.load: custom_objects must be a table {name=layer or function(config) ... end}, got number")
  -- errors inside Lua layers are clear errors, and the model survives
  local bad = nn.Lambda { forward = function(x) return x end, backward = function() return tensor.ones(2, 2) end }
  local i2 = nn.Input { 3 }
  local mb = nn.Model { inputs = i2, outputs = nn.Dense { 2 }(bad(nn.Dense { 3 }(i2))) }
  mb:compile { optimizer = "sgd", loss = "mse" }
  local w = mb:_flat_params():clone()
  T.raises(function() mb:train_on_batch(tensor.randn(4, 3), tensor.randn(4, 2)) end, "backward returned shape 2x2, expected 4x3",
    "a Lua backward of the wrong shape")
  T.close(mb:_flat_params(), w, 0, "a failed backward leaves the weights")
  local boom = nn.Lambda { forward = function() error("boom") end }
  T.raises(function() boom:forward(tensor.ones(2, 2)) end, "boom", "an error in a Lua forward")
  local nob = nn.Lambda { forward = function(x) return x end }
  local mn = nn.Model { inputs = i2, outputs = nn.Dense { 2 }(nob(nn.Dense { 3 }(i2))) }
  mn:compile { optimizer = "sgd", loss = "mse" }
  T.raises(function() mn:train_on_batch(tensor.randn(4, 3), tensor.randn(4, 2)) end, "has no backward function", "no backward")
  -- hostile: calling back into the running model, re-setting a layer it is running
  local mr
  local conv = nn.Conv2D { filters = 2, kernel = 3 }
  local sneaky = nn.Lambda { output_shape = { 6, 6, 1 }, forward = function(x) mr:predict(x) return x end }
  local sneaky2 = nn.Lambda { output_shape = { 6, 6, 1 }, forward = function(x) conv:forward(tensor.randn(1, 9, 9, 1)) return x end }
  local i3 = nn.Input { 6, 6, 1 }
  mr = nn.Model { inputs = i3, outputs = conv(sneaky(i3)) }
  T.raises(function() mr:predict(tensor.randn(2, 6, 6, 1)) end, "already running", "a Lua layer calling its own model")
  local mr2 = nn.Model { inputs = i3, outputs = conv(sneaky2(i3)) }
  T.raises(function() mr2:predict(tensor.randn(2, 6, 6, 1)) end, "expected input of shape (None, 6, 6, 1)", "re-setting a running layer")
  T.raises(function() nn.Lambda { forward = function(x) return x end, bakcward = 1 } end, "unknown option 'bakcward'", "Lambda options")
  -- hostile: finalising the caller's input tensor, running a model from a coroutine
  local xin = tensor.randn(3, 4)
  local killer = nn.Lambda { output_shape = { 4 }, forward = function(x)
    getmetatable(xin).__gc(xin); collectgarbage(); return x end, backward = function(x, dy) return dy end }
  local i4 = nn.Input { 4 }
  local mk = nn.Model { inputs = i4, outputs = nn.Dense { 2 }(killer(nn.Dense { 4 }(i4))) }
  local y = mk:forward(xin, { training = true })
  T.check(y.shape[1] == 3, "an input finalised mid-call: the net kept its own view")
  collectgarbage()
  T.check(mk:backward(tensor.ones(3, 2)).shape[2] == 4, "backward after the input was finalised")
  local other = nn.Sequential { nn.Input { 4 }, nn.Dense { 4 } }
  local co_user = nn.Lambda { output_shape = { 4 }, forward = function(x)
    local co = coroutine.wrap(function() return other:predict(x) end)
    return co() end }
  local i5 = nn.Input { 4 }
  local mc = nn.Model { inputs = i5, outputs = co_user(co_user(i5)) }
  T.check(mc:predict(tensor.randn(2, 4)).shape[2] == 4, "Lua layers that run models inside coroutines")
end

-- ---- parameters before the input shape is known are an error, not an empty list ----
T.raises(function() nn.Dense { 3 }:parameters() end, "its parameters do not exist yet", "parameters() too early")
T.check(#nn.Dense { 3, input_shape = { 4 } }:parameters() == 2, "parameters() with input_shape")
T.check(#nn.Flatten():parameters() == 0, "a layer without parameters has an empty list")

-- ---- bad input ----
do
  local a, b = nn.Input { 4, 4, 3 }, nn.Input { 4, 4, 3 }
  local c1 = nn.Conv2D { filters = 8, kernel = 1, name = "wide" }(a)
  local c2 = nn.Conv2D { filters = 4, kernel = 1, name = "narrow" }(a)
  T.raises(function() nn.Add()({ c1, c2 }) end, "cannot merge wide (None, 4, 4, 8) with narrow (None, 4, 4, 4)",
    "a merge of incompatible shapes names both layers and shapes")
  T.raises(function() return a + 1 end, "symbolic tensor", "arithmetic on a symbolic tensor")
  T.raises(function() nn.Model { inputs = a, outputs = nn.Dense { 2 }(nn.Flatten()(b)) } end,
    "not among the model's inputs", "an output from another graph")
  T.raises(function() nn.Add()(c1) end, "takes a list of 2 or more inputs", "a merge with one input")
  T.raises(function() nn.Dense { 2 }({ c1, c2 }) end, "takes one input, got a list of 2", "a layer with two inputs")
  T.raises(function() nn.Model { inputs = c1, outputs = c2 } end, "not an nn.Input", "inputs must be Inputs")
  T.raises(function() nn.Model { inputs = a, outputs = a } end, "is an nn.Input", "an output must be a layer's")
  T.raises(function() nn.Model { inputs = a, outputs = c1, nmae = "x" } end, "unknown option 'nmae'", "unknown option")
  T.raises(function() nn.Input(5) end, "nn.Input: expected a shape such as nn.Input{28, 28, 1} (or {shape={...}}), got 5",
    "nn.Input without a table (it said \"bad argument #1 to 'c_input'\")")
  local shared, p5, p7 = nn.Dense { 3 }, nn.Input { 5 }, nn.Input { 7 }
  local two = nn.Concatenate()({ shared(p5), shared(p7) })
  T.raises(function() nn.Model { inputs = { p5, p7 }, outputs = two } end, "a shared layer takes one input shape",
    "a shared layer takes one input shape")
  local m = nn.Model { inputs = { a, b }, outputs = nn.Add()({ c1, nn.Conv2D { filters = 8, kernel = 1 }(b) }) }
  T.raises(function() m:predict(tensor.randn(2, 4, 4, 3)) end, "expected a list of tensors", "two inputs, one given")
  T.raises(function() m:predict { tensor.randn(2, 4, 4, 3), tensor.randn(3, 4, 4, 3) } end, "input 1 has 2 samples but input 2 has 3",
    "inputs with different batches")
  T.check(m:predict({ tensor.randn(2, 4, 4, 3), tensor.randn(2, 4, 4, 3) }).shape[1] == 2, "the model survives")
end

T.done()
