-- test_boundary.lua: what Lua code can do at the C boundary must not corrupt or crash the
-- engine: the reproductions of the adversarial review (issue 15) that are fixed, each a
-- clear error or correct behaviour, run under the sanitizers in CI.
local T = require "check"
local L = require "lunette"
local nn, tensor = L.nn, L.tensor

-- 1. a failed re-setup leaves the layer as it was (a shared pooling layer)
do
  local p = nn.MaxPool2D { 2 }
  local a = nn.Sequential { nn.Input { 4, 4, 1 }, p }
  local ya = a:predict(tensor.ones(1, 4, 4, 1))
  T.raises(function() nn.Sequential { nn.Input { 64, 1, 8 }, p }:predict(tensor.randn(1, 64, 1, 8)) end,
    "", "a shape the pooling layer cannot take")
  T.close(a:predict(tensor.ones(1, 4, 4, 1)), ya, 0, "the first model still runs its layer as before")
  local c = nn.Conv2D { filters = 2, kernel = 3 }
  local m = nn.Sequential { nn.Input { 5, 5, 1 }, c }
  local y0 = m:predict(tensor.ones(1, 5, 5, 1))
  T.raises(function() c:forward(tensor.ones(1, 2, 2, 1)) end, "", "a standalone forward of another shape")
  T.close(m:predict(tensor.ones(1, 5, 5, 1)), y0, 0, "the convolution keeps its geometry")
end

-- 2. backward checks what the last forward saw
do
  local e = nn.Embedding { 10, 3 }
  e:forward(tensor { { 1, 2 } })
  T.raises(function() e:backward(tensor { { -1e9, 2 } }, tensor.ones(1, 2, 3)) end, "expected an integer id in 0..9",
    "Embedding backward on other ids runs their forward, which checks them")
  local d = nn.Dense { 5 }
  local x = tensor.randn(2, 4)
  d:forward(x)
  nn.Sequential { nn.Input { 3, 4 }, d }:predict(tensor.randn(2, 3, 4))
  T.raises(function() d:backward(x, tensor.ones(2, 5)) end, "expected input of shape (None, 3, 4)",
    "a backward after a model set the layer up again")
  local p = nn.MaxPool2D { 2 }
  local x1, x2 = tensor.randn(1, 4, 4, 1), tensor.randn(1, 4, 4, 1)
  p:forward(x1)
  local g2 = p:backward(x2, tensor.ones(1, 2, 2, 1))
  p:forward(x2)
  T.close(g2, p:backward(x2, tensor.ones(1, 2, 2, 1)), 0, "backward on another input of the same shape uses its argmax")
end

-- 3. values freed while C works on them
do
  local t = tensor { 1, 2, 3 }
  T.raises(function() t:apply(function(v) do local u <close> = t end return 1 end) end,
    "apply: the function freed the tensor it runs on", "apply whose function closes its tensor")
  local u = tensor { 1, 2 }
  T.raises(function() u:apply(function(v) getmetatable(u).__gc(u) return 1 end) end,
    "freed the tensor", "apply whose function finalises its tensor")
end

-- 3b. option tables are read raw: an __index cannot run in the middle of a call
do
  local x, k = tensor.randn(5, 5), tensor.ones(3, 3)
  local hostile = setmetatable({}, { __index = function(_, key)
    getmetatable(x).__gc(x); getmetatable(k).__gc(k); collectgarbage(); return nil end })
  local ok = pcall(tensor.conv2d, x, k, hostile)
  T.check(ok, "tensor.conv2d with an __index options table runs on its arguments, untouched")
  T.check(tensor.conv2d(tensor.ones(4, 4), tensor.ones(2, 2), setmetatable({}, { __index = { stride = 2 } })).shape[1] == 3,
    "an option inherited through __index is not read (stride stays 1)")
end

-- 5. size arithmetic: a clear error naming the element limit, never an overflow
do
  T.raises(function() nn.Sequential { nn.Input { 4 }, nn.Dense { 2 ^ 62 } }:predict(tensor.randn(1, 4)) end,
    "exceeds the tensor size limit", "Dense of 2^62 units")
  T.raises(function() nn.Dense { 2, input_shape = { 2 ^ 40, 2 ^ 40 } } end, "exceeds the tensor size limit",
    "input_shape over the limit")
  T.raises(function() nn.Embedding { 2 ^ 62, 4 }:forward(tensor { { 1 } }) end, "exceeds the tensor size limit",
    "Embedding of 2^62 rows")
  T.raises(function() nn.Conv2D { filters = 2 ^ 62, kernel = 3 }:forward(tensor.randn(1, 5, 5, 3)) end,
    "exceeds the tensor size limit", "Conv2D of 2^62 filters")
end

-- 5c. found by the Lua API fuzzer: a set-up with a huge input shape (Flatten multiplied it)
T.raises(function() nn.Flatten():_out_shape { { 2 ^ 62, 5 } } end, "exceeds the tensor size limit",
  "Flatten set up for 2^62×5")

-- 6. internal methods check their arguments
do
  local m = nn.Sequential { nn.Input { 4 }, nn.Dense { 2 } }
  m:compile { optimizer = "sgd", loss = "mse" }
  local n = m:_network()
  T.raises(function() n:shuffle(2 ^ 61) end, "", "a huge shuffle")
  n:shuffle(4, true)
  T.raises(function() n:train_rows(tensor.randn(4, 4), tensor.randn(4, 2), 1, math.maxinteger, m.optimizer) end,
    "outside the 4 shuffled rows", "a count near maxinteger")
end

-- 7. overlapping copies into parameters
do
  local m = nn.Sequential { nn.Input { 4 }, nn.Dense { 4 } }
  m:predict(tensor.randn(1, 4))
  local l = m.layers[1]
  local src = m:_flat_params():slice(1, 2, 17):reshape(4, 4):clone()
  l.weight = m:_flat_params():slice(1, 2, 17):reshape(4, 4)
  T.close(l.weight, src, 0, "an assignment from an overlapping view copies the values it had")
end

-- 8. a model of thousands of layers saves and loads (each step linear in the layers)
do
  local ls = { nn.Input { 2 } }
  for i = 1, 2000 do ls[#ls + 1] = nn.Dense { 2 } end
  local m = nn.Sequential(ls)
  local path = os.tmpname()
  T.check(m:save(path) == true, "save 2,000 layers")
  local m2 = nn.load(path)
  os.remove(path)
  T.check(#m2.layers == 2000 and m2.layers[2000].name == "dense_1999", "load 2,000 layers")
  local x = tensor.randn(3, 2)
  T.close(m2:predict(x), m:predict(x), 1e-6, "the same outputs")
end

-- 9. views of parameters stay live or are refused, never silently detached
do
  local d = nn.Dense { 2, input_shape = { 3 } }
  local w = d.weight
  local p, g = d:parameters()
  w:fill(0.5)
  T.close(d.weight, tensor.full({ 3, 2 }, 0.5), 0, "a view updates the layer")
  local m = nn.Sequential { d }
  m:compile { optimizer = "sgd", loss = "mse" }
  m:fit(tensor.randn(4, 3), tensor.randn(4, 2), { epochs = 1, verbose = 0 })
  T.raises(function() return w:sum() end, "moved into a model's buffer", "a view from before the model is refused")
  T.raises(function() return p[1] + 1 end, "moved into a model's buffer", "parameters() from before too")
  local w2 = d.weight
  w2:fill(0.25)
  T.close(m:_flat_params():slice(1, 1, 6), tensor.full({ 6 }, 0.25), 0, "a view taken again is live")
end

-- 6b/9b. plot internals check their input; metadata keeps every byte or is refused
T.raises(function() L.plot._new { panels = { { kind = "confusion", cm = tensor.ones(3, 2) } } } end,
  "the matrix must be square", "plot._new with a non-square matrix")
T.raises(function() L.safetensors.save(os.tmpname(), { a = tensor { 1 } }, { k = "x\0y" }) end,
  "contains a NUL byte", "metadata with a NUL byte")

-- 8b. replaying a file that never ends is refused, not read without limit
do
  local bin = os.getenv("LUNETTE_BIN")
  if bin then
    local _, how, code = os.execute("timeout 60 '" .. bin .. "' /dev/zero >/dev/null 2>&1")
    T.check(how == "exit" and code == 1, "lunette /dev/zero exits with an error (" .. tostring(code) .. ")")
  end
end

-- 5b. an optimizer's step counter cannot be set where it overflows
do
  local o, w = L.optim.Adam(), tensor { 1, 2 }
  o:step({ w }, { tensor { 0.1, 0.1 } })
  T.raises(function() o:set_state(w, { iterations = math.maxinteger, m = o:state(w).m, v = o:state(w).v }) end,
    "iterations must be at most 2^53", "iterations = maxinteger")
end

-- the rest of the review's reproductions: each a clear error or correct, never a crash
do
  local function finaliser(victims)         -- an options table whose __index frees arguments
    return setmetatable({}, { __index = function()
      for _, v in ipairs(victims) do pcall(getmetatable(v).__gc, v) end
      collectgarbage()
    end })
  end
  local x = tensor.rand(2, 6, 6, 1)
  pcall(L.data.augment, x, finaliser { x })
  local xs, ys = tensor.rand(8, 3), tensor.rand(8)
  pcall(function() for _ in L.data.batches(xs, ys, finaliser { xs, ys }) do end end)
  local o = L.optim.Adam()
  local w = tensor { 1, 2 }
  o:step({ w }, { tensor { 0.1, 0.1 } })
  local st = o:state(w)
  pcall(o.set_state, o, w, setmetatable({ iterations = 1 }, { __index = function()
    pcall(getmetatable(st.m).__gc, st.m); collectgarbage() end }))
  local t = tensor { 1 }
  pcall(L.safetensors.save, os.tmpname(), { a = t }, finaliser { t })
  local cm = tensor.ones(3, 3)
  pcall(L.plot.confusion, cm, finaliser { cm })
  for _, ctor in ipairs { function() return nn.Conv1D { filters = 2, kernel = 3 } end,
                          function() return nn.MaxPool1D { 2 } end,
                          function() return nn.AvgPool2D { 2 } end } do
    local l = ctor()
    local one = l.kind == "AvgPool2D" and { 4, 4, 1 } or { 8, 2 }
    local a = nn.Sequential { nn.Input(one), l }
    local xa = tensor.ones(1, table.unpack(one))
    local ya = a:predict(xa)
    pcall(function() nn.Sequential { nn.Input(l.kind == "AvgPool2D" and { 64, 1, 8 } or { 1, 64 }), l }:predict(
      tensor.ones(1, table.unpack(l.kind == "AvgPool2D" and { 64, 1, 8 } or { 1, 64 }))) end)
    T.close(a:predict(xa), ya, 0, l.kind .. " shared with a model of another shape keeps working")
  end
  T.check(true, "hostile option tables ran without a crash")
end

-- a hand-made model file with an Embedding of 2^62 rows: an error at load, not a crash later
do
  local path = os.tmpname()
  L.safetensors.save(path, { ["1.embedding.weight"] = tensor.zeros(1, 4) }, { lunette_format = "1",
    architecture = L.json.encode { class_name = "Sequential", input_shape = { 3 },
      layers = { { class = "Embedding", input_dim = 2 ^ 62, output_dim = 4, name = "embedding" } } } })
  T.raises(function() nn.load(path):predict(tensor { { 1, 2, 3 } }) end, "exceeds the tensor size limit",
    "a model file with an Embedding of 2^62 rows")
  os.remove(path)
end

-- found by the Lua API fuzzer: two models named after each other printed each other forever
do
  local a = nn.Sequential { nn.Input { 2 }, nn.Dense { 1 } }
  local b = nn.Sequential { nn.Input { 2 }, nn.Dense { 1 } }
  a.name, b.name = b, a
  T.check(tostring(a):find('Model: "?"', 1, true) ~= nil, "a model whose name is not text prints as '?'")
end

-- found by the Lua API fuzzer: permute with an index near math.mininteger overflowed
T.raises(function() tensor.zeros(2, 3):permute(math.mininteger, 1) end, "is outside 1..2", "permute out of range")

T.done()
