-- tests/bench/dist_worker.lua: one configuration of dist_scaling.lua (run by it, alone
-- or under mpirun): the lesson CIFAR model (models.lesson, dropout 0.2, Adam) trained by
-- fit for BENCH_WARM + BENCH_STEPS steps of a global batch BENCH_BATCH on random data of
-- CIFAR's shape; rank 0 prints one line per timed step: "STEP seconds allreduce_seconds"
-- (the wall time from one batch end to the next, and the time spent in MPI allreduce in
-- between, the gradient sum and the small loss/BatchNorm reductions, including the wait
-- for the slower rank); under mpirun then "PURE seconds": the allreduce of a buffer of the
-- gradients' size alone, after a barrier.
local L = require "lunette"
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local models = require "models"
local dist = L.dist
local steps = tonumber(os.getenv("BENCH_STEPS")) or 30
local warm = tonumber(os.getenv("BENCH_WARM")) or 5
local batch = tonumber(os.getenv("BENCH_BATCH")) or 32
L.seed(1)
local n = (steps + warm) * batch
local x = L.tensor.rand(n, 32, 32, 3)
local y = L.tensor.rand(n):apply(function(v) return math.floor(v * 10) end)
local m = models.lesson { 32, 32, 3 }
m:compile { optimizer = L.optim.Adam(), loss = "sparse_categorical_crossentropy" }
local last, last_ar = nil, nil
local cb = { on_batch_end = function(b)
  local t, ar = L.clock(), dist._allreduce_seconds()
  if b > warm and dist.rank() == 0 then print(string.format("STEP %.6f %.6f", t - last, ar - last_ar)) end
  last, last_ar = t, ar
end }
m:fit(x, y, { batch_size = batch, epochs = 1, verbose = 0, shuffle = false, callbacks = { cb } })
if dist.rank() == 0 then print(string.format("PARAMS %d", m:count_params())) end
-- the allreduce alone: the gradient buffer's size, after a barrier (no waiting for a
-- slower rank inside the timing), 15 times
if dist.size() > 1 then
  local g = L.tensor.zeros(m:count_params())
  for _ = 1, 15 do
    dist.barrier()
    local t0 = L.clock()
    dist.allreduce(g)
    if dist.rank() == 0 then print(string.format("PURE %.6f", L.clock() - t0)) end
  end
end
