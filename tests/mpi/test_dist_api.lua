-- tests/mpi/test_dist_api.lua: lunette.dist's functions on 3 ranks against values worked
-- out by hand: rank/size, allreduce (sum, mean, max, min; tensors and numbers), broadcast
-- (tensors from a root other than 0, integers, strings, booleans), barrier (a file a late
-- rank writes before it is there after), print0 (once); shapes that differ across ranks
-- are an error on every rank, after which the ranks still work together.
local mpi = dofile(os.getenv("LUNETTE_SOURCE") .. "/tests/mpi/mpi.lua")
local T = require "check"
mpi.skip_unless_mpi()

local child = [==[
local T = require "check"
local dist = lunette.dist
local r, n = dist.rank(), dist.size()
T.check(n == 3 and r >= 0 and r < 3, "rank and size")
print(string.format("RANK %d OF %d", r, n))

local t = tensor { r + 1, 10 * (r + 1), -r }
T.check(dist.allreduce(t) == t, "allreduce returns its tensor")
T.close(t, tensor { 6, 60, -3 }, 0, "sum: 1+2+3, 10+20+30, 0-1-2")
t = tensor { { r + 1, 2 }, { -r, 0.5 } }
dist.allreduce(t, "mean")
T.close(t, tensor { { 2, 2 }, { -1, 0.5 } }, 1e-6, "mean")
t = tensor { r, -r }
dist.allreduce(t, "max")
T.close(t, tensor { 2, 0 }, 0, "max")
t = tensor { r, -r }
dist.allreduce(t, "min")
T.close(t, tensor { 0, -2 }, 0, "min")
T.check(dist.allreduce(r + 0.5) == 4.5, "a number: 0.5+1.5+2.5")
T.check(dist.allreduce(r, "max") == 2, "max of numbers")

local b = tensor { r, r, r }
dist.broadcast(b, 1)
T.close(b, tensor { 1, 1, 1 }, 0, "broadcast from rank 1")
T.check(dist.broadcast(100 + r, 2) == 102, "integer from rank 2")
T.check(math.type(dist.broadcast(100 + r)) == "integer", "an integer stays one")
T.check(dist.broadcast("from " .. r) == "from 0", "string from rank 0")
T.check(dist.broadcast(string.rep("x", r * 1000), 2) == string.rep("x", 2000), "a long string")
T.check(dist.broadcast(r == 1, 1) == true, "boolean")

-- barrier: rank 2 writes a file after a pause; the others look for it after the barrier
local flag = "barrier.flag"
if r == 0 then os.remove(flag) end
dist.barrier()
if r == 2 then
  os.execute("sleep 0.3")
  io.open(flag, "w"):close()
end
dist.barrier()
T.check(io.open(flag) ~= nil, "the file rank 2 wrote before the barrier is there after it")

dist.print0("PRINT0-MARK")

-- different shapes: an error on every rank, not a hang
local bad = tensor.zeros(r == 1 and 4 or 3)
T.raises(function() dist.allreduce(bad) end, "different shapes", "allreduce shape mismatch")
T.raises(function() dist.broadcast(tensor.zeros(1, r + 1)) end, "different shapes", "broadcast shape mismatch")
T.raises(function() dist.allreduce(r == 0 and tensor.zeros(2, 3) or tensor.zeros(3, 2)) end, "different shapes", "same size, other shape")
T.raises(function() dist.broadcast(r == 0 and 1 or "one") end, "different types", "broadcast type mismatch")
T.raises(function() dist.allreduce(r == 2 and tensor { 1 } or 1) end, "different", "tensor on one rank, number on others")
T.raises(function() dist.broadcast(1, 3) end, "root must be a rank", "root out of range")
T.raises(function() dist.allreduce(tensor { 1 }, "avg") end, "invalid option", "unknown op")
-- and they still work together afterwards
T.check(dist.allreduce(1) == 3, "after the errors")
io.write(string.format("rank %d: ", r))
T.done()
]==]

local path = mpi.write("api_child", child)
local out, ok, secs = mpi.run(path, 3, 60)
T.check(ok, "3 ranks ran: " .. out)
for r = 0, 2 do
  T.check(out:find(string.format("RANK %d OF 3", r), 1, true), "rank " .. r .. " reported")
  T.check(out:find(string.format("rank %d: %%d+ passed, 0 failed", r)), "rank " .. r .. " passed its checks")
end
local _, marks = out:gsub("PRINT0%-MARK", "")
T.check(marks == 1, "print0 printed once, got " .. marks)
print(string.format("3 ranks: %.1f s", secs))

-- alone (no mpirun): a world of one, collectives are copies
T.check(lunette.dist.size() == 1 and lunette.dist.rank() == 0, "alone: rank 0 of 1")
local t = tensor { 1, 2 }
lunette.dist.allreduce(t, "mean")
T.close(t, tensor { 1, 2 }, 0, "alone: mean is the value")
T.check(lunette.dist.broadcast("x") == "x", "alone: broadcast")
lunette.dist.barrier()
T.done()
