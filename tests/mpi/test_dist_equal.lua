-- tests/mpi/test_dist_equal.lua: data-parallel fit gives the weights one process gives.
-- The lesson model (no dropout), then the same with BatchNormalization after each
-- convolution (synchronised statistics), trained 20 steps (2 epochs of 10, each shuffled:
-- the ranks must agree on every epoch's order) with a global batch of 10 on 97 random
-- CIFAR-shaped samples (the last batch, 7 rows, splits 3/4: uneven shares),
-- shuffled, with momentum SGD (lr 0.01: at 0.05 the BatchNorm model is chaotic on random
-- labels: float rounding alone grows past 1e-5 within 3 steps): once alone and once on 2 ranks. The 2 ranks must hold
-- identical weights, equal to the single process's to 1e-5 (relative, in norm), with the
-- same loss and accuracy history.
local mpi = dofile(os.getenv("LUNETTE_SOURCE") .. "/tests/mpi/mpi.lua")
local T = require "check"
mpi.skip_unless_mpi()

local child = [[
local T = require "check"
local models = require "models"
local dist = lunette.dist
lunette.seed(7)
local n = 97
local x = tensor.rand(n, 32, 32, 3)
local y = tensor.rand(n):apply(function(v) return math.floor(v * 10) end)
local m
if arg[1] == "bn" then
  m = nn.Sequential {
    nn.Input { 32, 32, 3 },
    nn.Conv2D { filters = 32, kernel = 3, stride = 2 }, nn.BatchNorm(), nn.ReLU(),
    nn.Conv2D { filters = 64, kernel = 3, stride = 2 }, nn.BatchNorm(), nn.ReLU(),
    nn.Conv2D { filters = 128, kernel = 3, stride = 2, activation = "relu" },
    nn.Flatten(), nn.Dense { 1024, activation = "relu" }, nn.Dense { 10, activation = "softmax" } }
else
  m = models.lesson({ 32, 32, 3 }, 0)
end
m:compile { optimizer = optim.SGD { lr = 0.01, momentum = 0.9 }, loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
local h = m:fit(x, y, { epochs = 2, batch_size = 10, verbose = 0 })
local eval_loss, eval_acc = m:evaluate(x, y)
-- the weights, and the BatchNorm moving statistics (state, not parameters)
local out = { params = m:_flat_params():clone() }
for i, l in ipairs(m.layers) do
  if l.moving_mean then out["mean" .. i], out["var" .. i] = l.moving_mean:clone(), l.moving_variance:clone() end
end
out.stats = tensor { h.history.loss[2], h.history.accuracy[2], eval_loss, eval_acc }
-- every rank writes its own file (model:save would write rank 0's only)
assert(lunette.safetensors.save(string.format("%s_np%d_rank%d.safetensors", arg[1], dist.size(), dist.rank()), out))
]]

-- ‖a − b‖ / ‖a‖ over every tensor of two files
local function rel(a, b)
  local d, n = 0, 0
  for k, t in pairs(a) do
    if k ~= "stats" then
      d = d + (t - b[k]):pow(2):sum()
      n = n + t:pow(2):sum()
    end
  end
  return math.sqrt(d / n)
end

local function load(kind, np, rank)
  return (lunette.safetensors.load(string.format("%s/%s_np%d_rank%d.safetensors", mpi.tmp, kind, np, rank)))
end

for _, kind in ipairs { "plain", "bn" } do
  local path = mpi.write("equal_" .. kind, child:gsub("arg%[1%]", string.format("%q", kind)))
  local out1, ok1 = mpi.run(path, 1, 120)
  T.check(ok1, kind .. ": one process ran: " .. out1)
  local out2, ok2, secs = mpi.run(path, 2, 120)
  T.check(ok2, kind .. ": two ranks ran: " .. out2)
  if ok1 and ok2 then
    local w1, a, b = load(kind, 1, 0), load(kind, 2, 0), load(kind, 2, 1)
    T.check(w1.params:numel() > 1000000 and a.params:numel() == w1.params:numel(), kind .. ": parameter counts")
    T.check(kind ~= "bn" or (w1.mean2 and w1.mean2:numel() == 32), kind .. ": BatchNorm statistics saved")
    T.check(rel(a, b) == 0, kind .. ": both ranks hold identical weights and statistics")
    local r = rel(w1, a)
    print(string.format("%s: 2 ranks vs 1 process after 20 steps: relative difference %.3g (2 ranks: %.1f s)", kind, r, secs))
    T.check(r < 1e-5, kind .. ": weights equal to one process's to 1e-5, got " .. r)
    -- the history and evaluate: loss, accuracy of epoch 2; loss, accuracy of evaluate
    for i = 1, 4 do
      local u, v = w1.stats:get(i), b.stats:get(i)
      T.check(math.abs(u - v) <= 1e-5 * math.max(1, math.abs(u)), string.format("%s: history/evaluate value %d: %g vs %g", kind, i, u, v))
    end
    T.check(w1.stats:get(1) > 0 and w1.stats:get(1) < 10, kind .. ": a finite loss")
  end
end
T.done()
