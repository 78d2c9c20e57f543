-- tests/bench/tostring.lua: how long tostring takes on CIFAR-10's training set (50,000 ×
-- 32 × 32 × 3 = 153.6 M floats): the REPL shows `d.x_train` with it. Uses the real set
-- when data.load finds it, else a tensor of the same shape.
--   build/lunette -e "dofile'tests/bench/tostring.lua'"
local ok, d = pcall(data.load, "cifar10", { fallback = false, quiet = true })
local x = ok and d.x_train or tensor.zeros(50000, 32, 32, 3)
local t0 = lunette.clock()
local s = tostring(x)
local dt = lunette.clock() - t0
print(string.format("%s: tostring of %s (%d elements): %.2f ms, %d lines",
  ok and "CIFAR-10 x_train" or "zeros of its shape", table.concat(x.shape, "x"), x:numel(), dt * 1e3,
  select(2, s:gsub("\n", "")) + 1))
