-- tests/mpi/test_dist_equal.lua: data-parallel fit gives the weights one process gives.
-- The lesson model (no dropout), then the same with BatchNormalization after each
-- convolution (synchronised statistics), trained 20 steps with a global batch of 10 on
-- 193 random CIFAR-shaped samples (the last batch, 3 rows, splits 1/2: uneven shares),
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
local n = 193
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
local h = m:fit(x, y, { epochs = 1, batch_size = 10, verbose = 0 })
local eval_loss, eval_acc = m:evaluate(x, y)
local p = m:_flat_params()
local f = assert(io.open(string.format("%s_np%d_rank%d.bin", arg[1], dist.size(), dist.rank()), "wb"))
for i = 1, p:numel() do f:write(string.pack("<f", p:get(i))) end
-- the BatchNorm moving statistics travel in the state, not in the parameters
for _, l in ipairs(m.layers) do
  if l.moving_mean then for i = 1, l.moving_mean:numel() do f:write(string.pack("<f", l.moving_mean:get(i), l.moving_variance:get(i))) end end
end
f:close()
local g = assert(io.open(string.format("%s_np%d_rank%d.txt", arg[1], dist.size(), dist.rank()), "w"))
g:write(string.format("%.9g %.9g %.9g %.9g\n", h.history.loss[1], h.history.accuracy[1], eval_loss, eval_acc))
g:close()
]]

local function rel(a, b)
  local d, s = 0, 0
  for i = 1, #a do d = d + (a[i] - b[i]) ^ 2; s = s + a[i] ^ 2 end
  return math.sqrt(d / s)
end

local function read_line(path)
  local f = assert(io.open(path))
  local t = {}
  for v in f:read("l"):gmatch("%S+") do t[#t + 1] = tonumber(v) end
  f:close()
  return t
end

for _, kind in ipairs { "plain", "bn" } do
  local path = mpi.write("equal_" .. kind, child:gsub("arg%[1%]", string.format("%q", kind)))
  local out1, ok1 = mpi.run(path, 1, 120)
  T.check(ok1, kind .. ": one process ran: " .. out1)
  local out2, ok2, secs = mpi.run(path, 2, 120)
  T.check(ok2, kind .. ": two ranks ran: " .. out2)
  if ok1 and ok2 then
    local w1 = mpi.read_floats(mpi.tmp .. "/" .. kind .. "_np1_rank0.bin")
    local a = mpi.read_floats(mpi.tmp .. "/" .. kind .. "_np2_rank0.bin")
    local b = mpi.read_floats(mpi.tmp .. "/" .. kind .. "_np2_rank1.bin")
    T.check(#w1 > 1000000 and #a == #w1 and #b == #w1, kind .. ": parameter counts")
    local same = true
    for i = 1, #a do if a[i] ~= b[i] then same = false; break end end
    T.check(same, kind .. ": both ranks hold identical weights")
    local r = rel(a, w1)
    print(string.format("%s: 2 ranks vs 1 process after 20 steps: relative difference %.3g (%.1f s)", kind, r, secs))
    T.check(r < 1e-5, kind .. ": weights equal to one process's to 1e-5, got " .. r)
    local s1, s2 = read_line(mpi.tmp .. "/" .. kind .. "_np1_rank0.txt"), read_line(mpi.tmp .. "/" .. kind .. "_np2_rank1.txt")
    for i = 1, 4 do
      T.check(math.abs(s1[i] - s2[i]) <= 1e-5 * math.max(1, math.abs(s1[i])), string.format("%s: history/evaluate value %d: %g vs %g", kind, i, s1[i], s2[i]))
    end
    T.check(s1[1] > 0 and s1[1] < 10, kind .. ": a finite loss")
  end
end
T.done()
