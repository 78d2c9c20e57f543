-- tests/mpi/test_dist_badinput.lua: what goes wrong under mpirun ends with a clear message
-- and never a hang: more ranks than samples in a batch (and in the last batch), ranks given
-- different models or different data (to fit and to evaluate), an error on one rank in the middle of an epoch, a
-- rank killed in the middle of an epoch (the others stop within seconds), the REPL under
-- mpirun. Every run has a time limit; each case checks the job failed, the message, and
-- that it ended well before the limit.
local mpi = dofile(os.getenv("LUNETTE_SOURCE") .. "/tests/mpi/mpi.lua")
local T = require "check"
mpi.skip_unless_mpi()

local LIMIT = 60
local head = [[
local dist = lunette.dist
local r = dist.rank()
lunette.seed(1)
local function model(units)
  local m = nn.Sequential { nn.Input { 8 }, nn.Dense { units or 16, activation = "relu" }, nn.Dense { 3, activation = "softmax" } }
  m:compile { optimizer = optim.SGD { lr = 0.1 }, loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  return m
end
local function data(n) return tensor.randn(n, 8), tensor.rand(n):apply(function(v) return math.floor(v * 3) end) end
]]

local function case(name, body, want, np, args)
  local path = mpi.write("bad_" .. name, head .. body)
  local out, ok, secs = mpi.run(path, np or 2, LIMIT, args)
  T.check(not ok, name .. ": the job failed")
  for _, w in ipairs(want) do
    T.check(out:find(w, 1, true), name .. ": output names '" .. w .. "':\n" .. out)
  end
  T.check(secs < LIMIT / 2, string.format("%s: ended in %.1f s", name, secs))
  print(string.format("%-22s ended in %.1f s", name, secs))
  return out
end

case("batch_smaller", [[
local x, y = data(40)
model():fit(x, y, { batch_size = 1, verbose = 0 })
]], { "batch_size 1 is smaller than the 2 processes" })

case("last_batch", [[
local x, y = data(21)
model():fit(x, y, { batch_size = 10, verbose = 0 })
]], { "leave a last batch of 1 for 2 processes" })

case("different_model", [[
local x, y = data(40)
model(r == 1 and 17 or 16):fit(x, y, { batch_size = 10, verbose = 0 })
]], { "different models or data", "rank 0: model", "rank 1: model", "(195 parameters)", "(207 parameters)" })

case("different_data", [[
local x, y = data(r == 1 and 41 or 40)
model():fit(x, y, { batch_size = 10, verbose = 0 })
]], { "different models or data", "40 training samples", "41 training samples" })

case("evaluate_data", [[
local x, y = data(r == 1 and 41 or 40)
model():evaluate(x, y)
]], { "evaluate: the processes were given different data", "from 40 to 41 across the ranks" })

-- an error on rank 1 only, at batch 3 of epoch 2: rank 0 waits in the next allreduce and
-- must be ended; the message names rank 1
case("error_one_rank", [[
local x, y = data(200)
local cb = { on_batch_end = function(b) if r == 1 and b == 3 and EPOCH == 2 then error("boom on purpose") end end,
             on_epoch_begin = function(e) EPOCH = e end }
model():fit(x, y, { batch_size = 10, epochs = 3, verbose = 0, callbacks = { cb, function(e) EPOCH = e + 1 end } })
]], { "boom on purpose", "rank 1 of 2" })

-- rank 1 kills itself (SIGKILL: no message of its own) in the middle of an epoch; rank 0
-- is then waiting for it in an allreduce
case("killed_rank", [[
local pid = io.open("/proc/self/stat"):read("l"):match("^(%d+)")
local x, y = data(2000)
local cb = { on_batch_end = function(b) if r == 1 and b == 20 then os.execute("kill -9 " .. pid) end end }
model():fit(x, y, { batch_size = 10, epochs = 50, verbose = 0, callbacks = { cb } })
print("RANK " .. r .. " FINISHED")
]], { "signal 9" })

-- the REPL is not distributed
do
  local cmd = string.format("timeout -k 5 %d mpirun -np 2 %s </dev/null 2>&1", LIMIT, mpi.quote(mpi.bin))
  local t0 = lunette.clock()
  local p = io.popen("cd " .. mpi.quote(mpi.tmp) .. " && " .. cmd)
  local out = p:read("a")
  local ok = p:close()
  T.check(not ok, "REPL under mpirun: the job failed")
  T.check(out:find("the REPL is not distributed", 1, true), "REPL under mpirun: message:\n" .. out)
  T.check(lunette.clock() - t0 < LIMIT / 2, "REPL under mpirun: ended quickly")
end
T.done()
