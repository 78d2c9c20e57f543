-- tests/bench/hand_loop.lua: a hand-written training step on a whole model (forward in
-- training mode, the loss gradient, model:backward, opt:step, zero_grad) against
-- train_on_batch, on the lesson 4 model and the lesson 13 residual network, batch 32,
-- Adam, random data of CIFAR-10's shape. Alternating blocks of steps of each kind, so
-- that load from elsewhere hits both alike; prints medians and their ratio (issue: at most
-- 1.2). Not a ctest. Run:
--   BENCH_STEPS=60 build/lunette -e "dofile'tests/bench/hand_loop.lua'"
--   env BENCH_STEPS (default 40), BENCH_THREADS (default "1,2").
local L = require "lunette"
local nn, optim, tensor = L.nn, L.optim, L.tensor
local steps = tonumber(os.getenv("BENCH_STEPS")) or 40
local threads = {}
for t in (os.getenv("BENCH_THREADS") or "1,2"):gmatch("%d+") do threads[#threads + 1] = tonumber(t) end
local now = L.clock


package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local models = require "models"
local median = models.median
local function lesson4() return models.lesson { 32, 32, 3 } end

local m = L.machine()
print(string.format("hand-written step vs train_on_batch: batch 32, Adam, %d steps each\n%s; %s; OpenBLAS %s",
  steps, m.cpu, m.isa, m.blas_core))
print(string.format("%-22s %3s %12s %12s %7s", "model", "thr", "train_on_b.", "hand loop", "ratio"))
for _, case in ipairs { { "lesson 4 (Sequential)", lesson4 }, { "lesson 13 (ResNet-14)", models.resnet14 } } do
  for _, t in ipairs(threads) do
    L.threads(t)
    L.seed(1)
    local a = case[2]()
    a:compile { optimizer = optim.Adam(), loss = "sparse_categorical_crossentropy" }
    local x = tensor.rand(32, 32, 32, 3)
    local y = (tensor.rand(32) * 10):apply(math.floor)
    local loss, opt = nn.loss("sparse_categorical_crossentropy"), optim.Adam()
    local p, g = a:parameters()
    local function hand()
      local pred = a:forward(x, { training = true })
      a:backward(loss:backward(pred, y))
      opt:step(p, g)
      a:zero_grad()
    end
    for _ = 1, 5 do a:train_on_batch(x, y); hand() end       -- warm-up: buffers, state
    local tb, th = {}, {}
    for r = 1, steps // 5 do                                 -- alternating blocks of 5
      for _ = 1, 5 do local t0 = now(); a:train_on_batch(x, y); tb[#tb + 1] = (now() - t0) * 1e3 end
      for _ = 1, 5 do local t0 = now(); hand(); th[#th + 1] = (now() - t0) * 1e3 end
    end
    local mb, mh = median(tb), median(th)
    print(string.format("%-22s %3d %10.2fms %10.2fms %7.2f", case[1], t, mb, mh, mh / mb))
  end
end
