-- tests/bench/optim_options.lua: what the optimizer options cost. The lesson 4 model's
-- 1,284,170 parameters (8 tensors) are stepped with opt:step(params, grads) under each
-- configuration in turn, interleaved round by round so that the machine's load falls on
-- all of them alike; prints the median ms per step and the ratio to plain Adam measured in
-- the same run. Not a ctest. Run:
--   build/lunette -e "dofile'tests/bench/optim_options.lua'"     (env BENCH_ROUNDS, default 15)
local L = require "lunette"
local optim, tensor = L.optim, L.tensor
local rounds = tonumber(os.getenv("BENCH_ROUNDS")) or 15
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local models = require "models"
local median = models.median

local m = models.lesson { 32, 32, 3 }
local p, g = m:parameters()
local n = 0
for i, t in ipairs(g) do
  t:copy(tensor.randn(table.unpack(t.shape)) * 0.01)
  n = n + t:numel()
end

local configs = {
  { "Adam", function() return optim.Adam() end },
  { "Adam weight_decay", function() return optim.Adam { weight_decay = 1e-4 } end },
  { "Adam clipnorm", function() return optim.Adam { clipnorm = 1 } end },
  { "Adam global_clipnorm", function() return optim.Adam { global_clipnorm = 1 } end },
  { "Adam clipvalue", function() return optim.Adam { clipvalue = 1e-3 } end },
  { "Adam cosine schedule", function() return optim.Adam { lr = optim.schedules.CosineDecay {
    initial_learning_rate = 1e-3, decay_steps = 1000 } } end },
  { "AdamW", function() return optim.AdamW() end },
  { "SGD momentum", function() return optim.SGD { momentum = 0.9 } end },
  { "Adam layer by layer", function() return optim.Adam() end, true },
}

local mach = L.machine()
print(string.format("optimizer options benchmark: %d parameters in %d tensors, %d rounds of 10 steps", n, #p, rounds))
print(string.format("cpu: %s; isa: %s; openblas core: %s; threads: 1", tostring(mach.cpu), tostring(mach.isa),
  tostring(mach.blas_core)))
L.threads(1)
local opts, times = {}, {}
for i, c in ipairs(configs) do opts[i], times[i] = c[2](), {} end
for r = 0, rounds do                                   -- round 0 warms up (state allocated)
  for i, c in ipairs(configs) do
    local o = opts[i]
    local t0 = L.clock()
    for _ = 1, 10 do
      if c[3] then
        for k = 1, #p, 2 do o:step({ p[k], p[k + 1] }, { g[k], g[k + 1] }) end
      else
        o:step(p, g)
      end
    end
    if r > 0 then times[i][r] = (L.clock() - t0) * 100 end   -- ms per step
  end
end
local base = median(times[1])
for i, c in ipairs(configs) do
  local med = median(times[i])
  print(string.format("%-22s %7.3f ms/step  %5.2fx Adam", c[1], med, med / base))
end
