-- tests/bench/monitor.lua: the cost of fit{monitor=true} (layer health, src/nn/monitor.c)
-- on the lesson models (models.lesson) at batch 32 on random data of the real shapes.
-- Unmonitored steps, steps all measured (every=1) and steps measured as fit measures them
-- (every 4th, health.EVERY) alternate in blocks of 8 on the same model, so all see the
-- same machine; a monitored step also reads the statistics from Lua (net:_health(), as
-- fit does after every batch). Prints the median ms per step of each and the ratios to
-- unmonitored, then the same for whole epochs of model:fit (monitor=true against false)
-- on 1,024 random samples. Not a ctest. Run:
--   build/lunette -e "dofile'tests/bench/monitor.lua'"     (env BENCH_STEPS: blocks of 8 steps, default 30)
local L = require "lunette"
local nn, optim, tensor = L.nn, L.optim, L.tensor
local steps = tonumber(os.getenv("BENCH_STEPS")) or 30
local now = L.clock

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local models = require "models"
local median = models.median


local mc = L.machine()
print(string.format("monitor benchmark: %s, ISA %s, OpenBLAS core %s, %d threads, batch 32, %d blocks of 8 steps",
  mc.cpu, mc.isa, mc.blas_core, L.threads(), steps))
print(string.format("%-14s %-8s %8s %10s %8s", "model", "what", "off (ms)", "on (ms)", "on/off"))
for _, case in ipairs { { "CIFAR-10", 32, 32, 3 }, { "Fashion-MNIST", 28, 28, 1 } } do
  local name, h, w, c = case[1], case[2], case[3], case[4]
  L.seed(1)
  local m = models.lesson { h, w, c }
  m:compile { optimizer = optim.Adam(), loss = "sparse_categorical_crossentropy" }
  local x = tensor.rand(32, h, w, c)
  local y = (tensor.rand(32) * 10):apply(math.floor)
  local net = m:_network(x)
  for _ = 1, 10 do m:train_on_batch(x, y) end
  local every = require("lunette.health").EVERY
  local modes = { { "step", false }, { "every=1", 1 }, { "every=" .. every, every } }
  local t = { {}, {}, {} }
  while #t[1] < steps do
    for k, mode in ipairs(modes) do
      if mode[2] then net:_monitor(true, mode[2]) else net:_monitor(false) end
      local t0 = now()
      for _ = 1, 8 do
        m:train_on_batch(x, y)
        if mode[2] then net:_health() end
      end
      t[k][#t[k] + 1] = (now() - t0) * 1e3 / 8
    end
  end
  net:_monitor(false)
  local base = median(t[1])
  for k = 2, 3 do
    local v = median(t[k])
    print(string.format("%-14s %-8s %8.2f %10.2f %8.3f", name, modes[k][1], base, v, v / base))
  end
  local a, b
  -- whole epochs of fit (Lua loop, health reads, warnings check included)
  local xs = tensor.rand(1024, h, w, c)
  local ys = (tensor.rand(1024) * 10):apply(math.floor)
  local eoff, eon = {}, {}
  for _ = 1, 3 do
    for _, mon in ipairs { false, true } do
      local t0 = now()
      m:fit(xs, ys, { epochs = 1, verbose = 0, monitor = mon })
      local dt = (now() - t0) * 1e3 / 32
      if mon then eon[#eon + 1] = dt else eoff[#eoff + 1] = dt end
    end
  end
  a, b = median(eoff), median(eon)
  print(string.format("%-14s %-8s %8.2f %10.2f %8.3f", name, "fit", a, b, b / a))
end
