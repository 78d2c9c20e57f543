-- tests/bench/fused_update.lua: what fusing the big dense kernel's optimizer step into its
-- backward pass (src/nn/net.c, "fused updates") saves, side by side in one process: two
-- copies of the lesson CIFAR model at batch 32, Adam, 1 thread, stepped in turn. One is
-- compiled with a clipnorm too large ever to clip, which turns the fusion off (norm
-- clipping needs every gradient before any update; that run also pays for the norm, so
-- the figure bounds the saving from above). Prints the machine, both medians and the
-- ratio. Not a ctest.
--   BENCH_STEPS=200 build-perf/lunette -e "dofile'tests/bench/fused_update.lua'"
local L = require "lunette"
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local models = require "models"
local steps = tonumber(os.getenv("BENCH_STEPS")) or 200

local mach = L.machine()
print(string.format("machine: %s; kernels %s; OpenBLAS core %s", mach.cpu, mach.isa, mach.blas_core))
lunette.threads(1)
local function model(clipnorm)
  local m = models.lesson { 32, 32, 3 }
  m:compile { optimizer = L.optim.Adam(clipnorm and { clipnorm = clipnorm } or nil),
              loss = "sparse_categorical_crossentropy" }
  return m
end
local fused, unfused = model(nil), model(1e30)
local x = L.tensor.randn { 32, 32, 32, 3 }
local y = L.tensor.zeros { 32 }
for i = 1, 32 do y[i] = (i - 1) % 10 end
for _ = 1, 10 do fused:train_on_batch(x, y); unfused:train_on_batch(x, y) end
local tf, tu = {}, {}
for _ = 1, steps do
  local t0 = lunette.clock()
  fused:train_on_batch(x, y)
  local t1 = lunette.clock()
  unfused:train_on_batch(x, y)
  tf[#tf + 1], tu[#tu + 1] = t1 - t0, lunette.clock() - t1
end
local mf, mu = models.median(tf), models.median(tu)
print(string.format("CIFAR-10 step, 1 thread, %d steps each: fused %.2f ms, unfused %.2f ms, ratio %.3f",
  steps, mf * 1e3, mu * 1e3, mf / mu))
