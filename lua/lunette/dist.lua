-- lunette/dist.lua: data-parallel fit and evaluate over the processes of lunette.dist
-- (mpirun -np N lunette script.lua). model.lua's fit and evaluate call in here when
-- dist.size() > 1; nothing here runs for a single process.
--
-- Semantics (Keras's distributed training): batch_size is the global batch. Every rank
-- sees the same shuffled order (rank 0's random stream, broadcast at each shuffle) and
-- takes a contiguous share of each batch: rows [cnt·r/N, cnt·(r+1)/N). The C step scales
-- each rank's loss gradient by its share, sums batch-normalisation statistics and the
-- gradients over the ranks (nn/net.h, lt_net.dist_rows), and returns the global batch's
-- loss and accuracy counts: every rank applies the update one process would have applied
-- to the whole batch. Weights, batch-normalisation statistics and the optimizer state
-- start as rank 0's. Validation and evaluate split the rows and sum the results.
local L = require "lunette"
local D = L.dist
local M = {}

L._sethelp(D, "dist", "dist: training on several processes (MPI)\n\n"
  .. "Run a script on N processes with `mpirun -np N lunette script.lua` (a hostfile or "
  .. "Slurm's srun for several machines); each process is a rank. model:fit then trains "
  .. "data-parallel with no change to the script: batch_size is the global batch, each rank "
  .. "computes its share of every batch and the gradients are summed across ranks, so the "
  .. "weights do not depend on the number of processes. Rank 0 alone prints progress and "
  .. "writes files (model:save). Functions: dist.rank, dist.size, dist.barrier, "
  .. "dist.allreduce, dist.broadcast, dist.print0, dist.abort, dist.available. fit, evaluate "
  .. "and the collectives (barrier, allreduce, broadcast) must be called by every rank in the same order. "
  .. "The REPL is not distributed.\nExample: local dist = lunette.dist; dist.print0(dist.size() .. ' processes')")

function M.active() return D.size() > 1 end

local function nrows(v) return (type(v) == "table" and v[1] or v).shape[1] end

-- Rows a..b (1-based, inclusive) of a tensor or of each tensor of a list.
local function rows(v, a, b)
  if type(v) ~= "table" then return v:slice(1, a, b) end
  local out = {}
  for i, t in ipairs(v) do out[i] = t:slice(1, a, b) end
  return out
end

-- This rank's share [lo, hi) of cnt rows (0-based, contiguous).
local function share(cnt)
  local r, n = D.rank(), D.size()
  return cnt * r // n, cnt * (r + 1) // n
end

-- Stops when the ranks were given different models or data: every rank compares its
-- description with rank 0's; the first rank that differs is named on every rank.
local function check_same(fn, desc)
  local d0 = D.broadcast(desc, 0)
  local bad = D.allreduce(desc ~= d0 and D.rank() or D.size(), "min")
  if bad < D.size() then
    local db = D.broadcast(desc, math.tointeger(bad))
    error(string.format("%s: the processes were given different models or data:\n  rank 0: %s\n  rank %d: %s",
      fn, d0, math.tointeger(bad), db), 0)
  end
end

-- Rank 0's optimizer state (step count, moments) of the model's trainable parameters on
-- every rank: opt:state(params) flattens it as saved models store it.
local function sync_optimizer(model, opt)
  local params = model:parameters()
  local s = opt:state(params)
  local head = D.broadcast(string.format("%d %d %d", s.iterations, s.m and 1 or 0, s.v and 1 or 0), 0)
  local it, hm, hv = head:match("^(%d+) (%d) (%d)$")
  local m = hm == "1" and s.m or nil
  local v = hv == "1" and s.v or nil
  if (hm == "1") ~= (s.m ~= nil) or (hv == "1") ~= (s.v ~= nil) then
    error(string.format("fit: rank %d has a different optimizer than rank 0 (%s)", D.rank(), tostring(opt.name)), 0)
  end
  if m then D.broadcast(m, 0) end
  if v then D.broadcast(v, 0) end
  opt:set_state(params, { iterations = math.tointeger(it), m = m, v = v })
end

local Fit = {}
Fit.__index = Fit

-- Called by fit once its arguments are checked: compares the ranks, checks that every
-- rank has rows in every batch, starts all ranks from rank 0's random stream (and, at the
-- first step, from rank 0's weights and state).
function M.fit_begin(model, net, n, bs, nv)
  local opt = model.optimizer
  local info = net:info()
  local desc = string.format("model %s (%d parameters), %d training samples, %d validation samples, batch_size %d, optimizer %s",
    D._checksum(net), info.trainable, n, nv or 0, bs, tostring(opt and opt.name or "?"))
  check_same("fit", desc)
  local size = D.size()
  if bs < size then
    error(string.format("fit: batch_size %d is smaller than the %d processes: every process needs at least one sample of each batch",
      bs, size), 0)
  end
  local last = n % bs
  if n < size or (last > 0 and last < size) then
    error(string.format("fit: %d samples in batches of %d leave a last batch of %d for %d processes: every process "
      .. "needs at least one sample of each batch (change batch_size or the number of samples)",
      n, bs, last == 0 and n or last, size), 0)
  end
  D._sync_rng(false)
  return setmetatable({ model = model, net = net, opt = opt }, Fit)
end

-- The shuffle of one epoch: rank 0's stream on every rank (the same order everywhere);
-- then each rank other than 0 draws from a stream of its own (dropout).
function Fit:shuffle(n, on)
  D._sync_rng(false)
  self.net:shuffle(n, on)
  D._sync_rng(true)
end

-- One step on this rank's share of rows start .. start+cnt of the shuffled order. Returns
-- the global batch's mean loss and accuracy counts (or nil, message as net:train_rows).
function Fit:train_rows(x, y, start, cnt, opt, weights)
  if not self.synced then
    -- built here, after the first shuffle, where one process's first step builds it (the
    -- same draws from rank 0's stream), then rank 0's weights and state everywhere
    self.net:build()
    D._sync_net(self.net)
    sync_optimizer(self.model, opt)
    self.synced = true
  end
  local lo, hi = share(cnt)
  D._attach(self.net, cnt)
  return self.net:train_rows(x, y, start + lo, hi - lo, opt, weights)
end

-- true on every rank when any rank wants to stop (a callback set model.stop_training).
function Fit:agree(flag)
  return D.allreduce(flag and 1 or 0, "max") > 0
end

function Fit:finish()
  D._attach(self.net, 0)
end

-- Ctrl-C under mpirun: the ranks cannot stop at the same batch, so all stop.
function Fit:interrupted(epoch, batch)
  D.abort(string.format("interrupted at epoch %d, batch %d", epoch, batch))
end

-- Loss and accuracy counts over (x, y) in inference mode, each rank on its share of the
-- rows, summed over the ranks (the same result on every rank).
function M.evaluate(net, x, y, bs)
  local n = nrows(x)
  local lo_n, hi_n = -D.allreduce(-n, "max"), D.allreduce(n, "max")
  if lo_n ~= hi_n then
    error(string.format("evaluate: the processes were given different data: %d samples on rank %d, "
      .. "from %d to %d across the ranks", n, D.rank(), math.tointeger(lo_n), math.tointeger(hi_n)), 0)
  end
  local lo, hi = share(n)
  local l, c, t = 0, 0, 0
  if hi > lo then
    l, c, t = net:evaluate(rows(x, lo + 1, hi), rows(y, lo + 1, hi), bs)
    l = l * (hi - lo)
  end
  l, c, t = D.allreduce(l), D.allreduce(c), D.allreduce(t)   -- numbers: summed in double
  return l / n, math.tointeger(c) or c, math.tointeger(t) or t
end

return M
