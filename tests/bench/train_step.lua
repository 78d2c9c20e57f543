-- tests/bench/train_step.lua: median milliseconds per train_on_batch for the lesson models
-- (SPEC lessons 4 and 5: Conv2D 32/64/128 3×3 stride 2 ReLU → Flatten → Dropout 0.2 →
-- Dense 1024 ReLU → Dropout 0.2 → Dense 10 softmax; Adam; sparse categorical
-- cross-entropy) at batch 32 on random data. Not a ctest.
-- Run: build/lunette -e "dofile'tests/bench/train_step.lua'"
--   env BENCH_STEPS (default 60), BENCH_THREADS (default 1).
local L = require "lunette"
local nn, optim, tensor = L.nn, L.optim, L.tensor
local steps = tonumber(os.getenv("BENCH_STEPS")) or 60
local threads = tonumber(os.getenv("BENCH_THREADS")) or 1
L.threads(threads)
L.seed(1)

local function lesson_model(h, w, c)
  local m = nn.Sequential {
    nn.Conv2D { filters = 32, kernel = 3, stride = 2, activation = "relu", input_shape = { h, w, c } },
    nn.Conv2D { filters = 64, kernel = 3, stride = 2, activation = "relu" },
    nn.Conv2D { filters = 128, kernel = 3, stride = 2, activation = "relu" },
    nn.Flatten(),
    nn.Dropout(0.2),
    nn.Dense { 1024, activation = "relu" },
    nn.Dropout(0.2),
    nn.Dense { 10, activation = "softmax" },
  }
  m:compile { optimizer = optim.Adam(), loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  return m
end

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or (t[n // 2] + t[n // 2 + 1]) / 2
end

local now = nn._now
for _, case in ipairs { { "CIFAR-10 32x32x3", 32, 32, 3 }, { "Fashion-MNIST 28x28x1", 28, 28, 1 } } do
  local name, h, w, c = case[1], case[2], case[3], case[4]
  local m = lesson_model(h, w, c)
  local x = tensor.rand(32, h, w, c)
  local y = (tensor.rand(32) * 10):apply(math.floor)
  for _ = 1, 5 do m:train_on_batch(x, y) end          -- warm-up: buffers, Adam state
  local times = {}
  for i = 1, steps do
    local t0 = now()
    m:train_on_batch(x, y)
    times[i] = (now() - t0) * 1e3
  end
  local xi = tensor.rand(256, h, w, c)
  m:predict(xi, { batch_size = 256 })
  local t0, reps = now(), 5
  for _ = 1, reps do m:predict(xi, { batch_size = 256 }) end
  local ips = 256 * reps / (now() - t0)
  print(string.format("%-22s params %9d  train step (batch 32, %d thread%s): median %.2f ms  min %.2f ms"
    .. "  | inference batch 256: %.0f img/s", name, m:count_params(), threads, threads == 1 and "" or "s",
    median(times), math.min(table.unpack(times)), ips))
end
