-- tests/bench/train_step.lua: the training-step benchmark of the lesson models (SPEC section
-- 8, lessons 4 and 5: Conv2D 32/64/128 3×3 stride 2 ReLU → Flatten → Dropout 0.2 → Dense
-- 1024 ReLU → Dropout 0.2 → Dense 10 softmax; Adam; sparse categorical cross-entropy) with
-- train_on_batch at batch 32 on random data of the real shapes. Per model and thread count:
-- median and min ms per step, the split into forward / loss / backward / optimizer (the
-- net's C-level timing, net:_timing; a big dense kernel's update is fused into backward and
-- counted there), GFLOP/s against the step's FLOP count (from the layer
-- shapes), inference images/s at batch 256, heap allocations per steady-state step (only
-- in a build configured with -DLUNETTE_COUNT_ALLOCS=ON; "n/a" otherwise) and, at the end,
-- peak resident memory (VmHWM). First it prints the machine: processor, the instruction
-- set Lunette's kernels use (LUNETTE_ISA=avx512|avx2|generic lowers it), OpenBLAS's core,
-- and each instruction set's FMA peak on one core (a register-only loop); "%peak" is the
-- step's GFLOP/s over the peak of the path in use (the highest of its readings so far: it is
-- measured again before each row), times the thread count. Not a ctest.
-- Run (see tests/bench/README.md):
--   BENCH_STEPS=200 build-perf/lunette -e "dofile'tests/bench/train_step.lua'"
--   env BENCH_STEPS (default 100), BENCH_THREADS (default "1,2").
local L = require "lunette"
local nn, optim, tensor = L.nn, L.optim, L.tensor
local steps = tonumber(os.getenv("BENCH_STEPS")) or 100
local threads = {}
for t in (os.getenv("BENCH_THREADS") or "1,2"):gmatch("%d+") do threads[#threads + 1] = tonumber(t) end
local now = lunette.clock

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local models = require "models"
local median = models.median

local function lesson_model(h, w, c)
  local m = models.lesson { h, w, c }
  m:compile { optimizer = optim.Adam(), loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  return m
end


local function vmhwm()
  local f = io.open("/proc/self/status")
  if not f then return "n/a" end
  local s = f:read("a")
  f:close()
  local kb = s:match("VmHWM:%s*(%d+)")
  return kb and string.format("%.1f MB", tonumber(kb) / 1024) or "n/a"
end

local counting = nn._alloc_count() >= 0
local mach = L.machine()
print(string.format("machine: %s; kernels %s (best here %s); OpenBLAS core %s", mach.cpu, mach.isa,
  mach.isa_best, mach.blas_core))
local peaks, peak, peak_isa = {}, nil, nil
for _, isa in ipairs { { "avx512", "AVX-512" }, { "avx2", "AVX2+FMA" }, { "generic", "generic" } } do
  local g = L._fma_peak(isa[1])
  peaks[#peaks + 1] = string.format("%s %s", isa[2], g and string.format("%.1f GFLOP/s", g) or "n/a")
  if isa[2] == mach.isa then peak, peak_isa = g, isa[1] end
end
-- The peak is a ceiling: on a shared machine one reading can come out low (112 instead of
-- ~165 GFLOP/s was seen), which would inflate "%peak". It is measured again before each
-- row and the highest reading so far is used.
local function update_peak()
  local g = L._fma_peak(peak_isa)
  if g and g > peak then peak = g end
end
print("FMA peak of one core: " .. table.concat(peaks, ", "))
print(string.format("Lunette training-step benchmark: batch 32, %d timed steps, %s", steps,
  counting and "allocations counted" or "allocations not counted (configure with -DLUNETTE_COUNT_ALLOCS=ON)"))
print(string.format("%-14s %3s %8s %8s | %6s %6s %6s %6s | %7s %5s | %9s | %s", "model", "thr",
  "median", "min", "fwd", "loss", "bwd", "optim", "GFLOP/s", "%peak", "infer/s",
  "allocs/step C (Lua call)"))
for _, case in ipairs { { "CIFAR-10", 32, 32, 3 }, { "Fashion-MNIST", 28, 28, 1 } } do
  local name, h, w, c = case[1], case[2], case[3], case[4]
  L.seed(1)
  local m = lesson_model(h, w, c)
  local x = tensor.rand(32, h, w, c)
  local y = (tensor.rand(32) * 10):apply(math.floor)
  local xi = tensor.rand(256, h, w, c)
  local net = m:_network(x)
  local fwd_flops, step_flops = models.flops(net, 32)
  for _, t in ipairs(threads) do
    L.threads(t)
    for _ = 1, 10 do m:train_on_batch(x, y) end          -- warm-up: buffers, Adam state
    local times = {}
    net:_timing(true)
    local a0 = nn._alloc_count()
    for i = 1, steps do
      local t0 = now()
      m:train_on_batch(x, y)
      times[i] = (now() - t0) * 1e3
    end
    local lua_allocs = (nn._alloc_count() - a0) / steps
    local tm = net:_timing(false)
    local ms = function(v) return v / tm.steps * 1e3 end
    m:predict(xi, { batch_size = 256 })
    local it = {}
    for r = 1, math.max(3, steps // 10) do
      local t0 = now()
      m:predict(xi, { batch_size = 256 })
      it[r] = now() - t0
    end
    local med = median(times)
    local gflops = step_flops / med / 1e6
    update_peak()
    print(string.format("%-14s %3d %6.2fms %6.2fms | %6.2f %6.2f %6.2f %6.2f | %7.1f %4.0f%% | %9.0f | %s",
      name, t, med, math.min(table.unpack(times)), ms(tm.forward), ms(tm.loss), ms(tm.backward),
      ms(tm.optimizer), gflops, 100 * gflops / (peak * t), 256 / median(it),
      counting and string.format("%g (%g)", tm.allocs / tm.steps, lua_allocs) or "n/a"))
  end
  print(string.format("%-14s params %d, step %.1f MFLOP (forward %.1f), inference %.1f MFLOP/image",
    "", m:count_params(), step_flops / 1e6, fwd_flops / 1e6, fwd_flops / 32 / 1e6))
end
print(string.format("%%peak against the highest FMA peak measured in the run: %.1f GFLOP/s", peak))
print("peak resident memory (VmHWM): " .. vmhwm())
