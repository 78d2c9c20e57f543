-- tests/bench/dist_scaling.lua: data-parallel training over MPI against threads, side by
-- side on this machine. Three configurations of the lesson CIFAR model at a global batch
-- of 32 (dist_worker.lua): 1 rank × 1 thread, 1 rank × 2 threads, 2 ranks × 1 thread
-- (mpirun -np 2). They run in interleaved rounds (A B C A B C ...) so that the load of a
-- shared machine falls on all three alike; the figures are medians over every timed step
-- of every round. Prints time per step, allreduce time per step, speed-up and scaling
-- efficiency (speed-up / 2) against 1 × 1, then a projection of the allreduce to 8 and 64
-- machines (ring allreduce: each rank sends and receives 2·(N−1)/N of the gradient buffer
-- per step) from the measured allreduce bandwidth and for assumed 1 and 10 Gb/s links.
-- Not a ctest. Run:
--   build/lunette tests/bench/dist_scaling.lua     (env BENCH_ROUNDS=5, BENCH_STEPS=30)
-- as root: OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
local L = require "lunette"
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local median = require("models").median
local bin = os.getenv("LUNETTE_BIN") or (L.source_dir .. "/build/lunette")
local rounds = tonumber(os.getenv("BENCH_ROUNDS")) or 5
local worker = dir .. "dist_worker.lua"

if not L.dist.available() then print("this build has no MPI (apt-get install libopenmpi-dev, rebuild)") return end
if not os.execute("command -v mpirun >/dev/null 2>&1") then print("mpirun is absent (apt-get install openmpi-bin)") return end

local m = L.machine()
print(string.format("machine: %s, ISA %s, OpenBLAS core %s (%s)", m.cpu, m.isa, m.blas_core, m.blas_config))
print(string.format("lesson CIFAR model, global batch %s, %d rounds of %s steps, %s",
  os.getenv("BENCH_BATCH") or "32", rounds, os.getenv("BENCH_STEPS") or "30", os.date("!%Y-%m-%d %H:%M UTC")))

local configs = {
  { name = "1 rank x 1 thread", cmd = string.format("%q --threads 1 %q", bin, worker) },
  { name = "1 rank x 2 threads", cmd = string.format("%q --threads 2 %q", bin, worker) },
  { name = "2 ranks x 1 thread", cmd = string.format("mpirun -np 2 --oversubscribe %q --threads 1 %q", bin, worker) },
}
local function loadavg()
  local f = io.open("/proc/loadavg")
  local l = f and f:read("l") or "?"
  if f then f:close() end
  return l:match("^(%S+ %S+ %S+)") or l
end
print("load average before: " .. loadavg())
local params
for _, c in ipairs(configs) do c.step, c.ar, c.pure = {}, {}, {} end
for r = 1, rounds do
  for _, c in ipairs(configs) do
    local p = io.popen("OPENBLAS_NUM_THREADS=1 " .. c.cmd .. " 2>&1")
    local out = p:read("a")
    if not p:close() then error(c.name .. " failed:\n" .. out) end
    for s, a in out:gmatch("STEP (%S+) (%S+)") do
      c.step[#c.step + 1] = tonumber(s)
      c.ar[#c.ar + 1] = tonumber(a)
    end
    for s in out:gmatch("PURE (%S+)") do c.pure[#c.pure + 1] = tonumber(s) end
    params = tonumber(out:match("PARAMS (%d+)")) or params
  end
  io.stderr:write(string.format("round %d/%d done\n", r, rounds))
end

print("load average after: " .. loadavg() .. " (another job on the machine slows every configuration)")
local base = median(configs[1].step)
print(string.format("%-20s %10s %14s %9s %11s", "configuration", "ms/step", "allreduce ms", "speed-up", "efficiency"))
for i, c in ipairs(configs) do
  local s, a = median(c.step), median(c.ar)
  c.ms, c.ar_ms = s * 1e3, a * 1e3
  print(string.format("%-20s %10.1f %14.2f %8.2fx %11s", c.name, s * 1e3, a * 1e3, base / s,
    i == 1 and "-" or string.format("%.0f%%", base / s / 2 * 100)))
end
print("(allreduce ms/step: time inside MPI allreduce during a step, including the wait for the slower rank;")
print(" efficiency: speed-up over 1 x 1 divided by the 2 workers)")

-- projection: per step each rank sends and receives 2(N-1)/N of the buffer
local bytes = params * 4
local two = configs[3]
local moved2 = 2 * (2 - 1) / 2 * bytes
local pure = median(two.pure)
local bw = moved2 / pure                          -- bytes/s this machine's allreduce achieved
print(string.format("\ngradient buffer: %d parameters = %.2f MB; allreduce of it alone with 2 ranks: median %.2f ms"
  .. " over %d (%.2f GB/s moved per rank, shared memory)", params, bytes / 1e6, pure * 1e3, #two.pure, bw / 1e9))
print("PROJECTION (not measured): allreduce per step on N machines, ring algorithm (each rank moves 2(N-1)/N of")
print("the buffer), bandwidth term only (latency 2(N-1) messages left out); efficiency = compute / (compute + allreduce)")
print(string.format("with the compute of a 16-sample share per rank (global batch 16·N) from the 2-rank run: %.1f ms", (two.ms - two.ar_ms)))
local compute = (two.ms - two.ar_ms) / 1e3
for _, link in ipairs { { "measured bandwidth", bw }, { "1 Gb/s Ethernet", 125e6 }, { "10 Gb/s Ethernet", 1.25e9 } } do
  for _, N in ipairs { 8, 64 } do
    local t = 2 * (N - 1) / N * bytes / link[2]
    print(string.format("  N=%-3d %-20s allreduce %8.2f ms/step, efficiency at a per-rank batch of 16: %3.0f%%",
      N, link[1], t * 1e3, compute / (compute + t) * 100))
  end
end
