-- lunette_worker.lua: the Lunette side of tests/bench/compare-pytorch (torch_worker.py is
-- the PyTorch side, same protocol). The lesson models (SPEC section 8, lessons 4 and 5, and
-- lesson 13's residual network: case "resnet"),
-- Adam, sparse categorical cross-entropy, batch 32, synthetic data of the real shapes.
-- Reads commands on stdin, answers one line each: "train CASE THREADS STEPS" and
-- "infer CASE THREADS REPS" (ms per step / per batch of 256), "full THREADS EPOCHS"
-- (seconds:val_accuracy per epoch on the full Fashion-MNIST), "flops CASE" (MFLOP of a
-- training step of batch 32, Conv2D and Dense only), "machine" (processor; instruction
-- set; OpenBLAS core; FMA peak of one core in GFLOP/s), "quit".
local L = require "lunette"
local nn, optim, tensor = L.nn, L.optim, L.tensor
local now = lunette.clock

local SHAPES = { cifar = { 32, 32, 3 }, fashion = { 28, 28, 1 }, resnet = { 32, 32, 3 } }

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local models = require "models"

local function compiled(m)
  m:compile { optimizer = optim.Adam { lr = 1e-3 }, loss = "sparse_categorical_crossentropy",
              metrics = { "accuracy" } }
  return m
end
local function lesson_model(shape) return compiled(models.lesson(shape)) end

local function new_case(name)
  L.seed(1)
  local s = SHAPES[name]
  local c = { model = name == "resnet" and compiled(models.resnet14()) or lesson_model(s) }
  c.x = tensor.rand(32, s[1], s[2], s[3])
  c.y = (tensor.rand(32) * 10):apply(math.floor)
  c.xi = tensor.rand(256, s[1], s[2], s[3])
  for _ = 1, 5 do c.model:train_on_batch(c.x, c.y) end
  c.model:predict(c.xi, { batch_size = 256 })
  return c
end

local function full(threads, epochs)
  L.threads(threads)
  L.seed(5)
  local f = L.data.load("fashion_mnist")
  local xt, yt = L.data.scale(f.x_train, 1 / 255), f.y_train
  local xv, yv = L.data.scale(f.x_test, 1 / 255), f.y_test
  local m = lesson_model { 28, 28, 1 }
  local out = {}
  for _ = 1, epochs do
    local t0 = now()
    m:fit(xt, yt, { epochs = 1, batch_size = 32, verbose = 0 })
    local _, acc = m:evaluate(xv, yv, { batch_size = 256 })
    out[#out + 1] = string.format("%.2f:%.4f", now() - t0, acc)
  end
  return table.concat(out, " ")
end

local cases = {}
for line in io.lines() do
  local w = {}
  for word in line:gmatch("%S+") do w[#w + 1] = word end
  if w[1] == "quit" then break end
  if w[1] == "machine" then
    local m = L.machine()
    print(string.format("%s; kernels %s; OpenBLAS %s; FMA peak %.1f GFLOP/s per core", m.cpu,
      m.isa, m.blas_core, models.peak()))
  elseif w[1] == "flops" then
    cases[w[2]] = cases[w[2]] or new_case(w[2])
    local c = cases[w[2]]
    local _, step = models.flops(c.model:_network(c.x), 32)
    print(string.format("%.3f", step / 1e6))
  elseif w[1] == "full" then
    print(full(tonumber(w[2]), tonumber(w[3])))
  elseif w[1] == "train" or w[1] == "infer" then
    local name, n = w[2], tonumber(w[4])
    L.threads(tonumber(w[3]))
    cases[name] = cases[name] or new_case(name)
    local c, ts = cases[name], {}
    for i = 1, n do
      local t0 = now()
      if w[1] == "train" then c.model:train_on_batch(c.x, c.y)
      else c.model:predict(c.xi, { batch_size = 256 }) end
      ts[i] = string.format("%.4f", (now() - t0) * 1e3)
    end
    print(table.concat(ts, " "))
  end
  io.stdout:flush()
end
