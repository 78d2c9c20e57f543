-- test_soak.lua: hundreds of small fits, evaluations, predictions, saves and loads in one
-- process (plus the error paths: interrupted fits, failed saves and loads, bad inputs), showing
-- that resident memory (VmRSS in /proc/self/status), the Lua heap and the number of open file
-- descriptors (/proc/<pid>/fd) stay flat after a warm-up. Under ASan (libasan mapped) the RSS
-- bound is not checked (the allocator's quarantine grows by design; LeakSanitizer checks
-- leaks at exit instead) and fewer rounds run.
local T = require "check"
local L = require "lunette"
local nn, optim, tensor, data = L.nn, L.optim, L.tensor, L.data
local tmp = os.getenv("LUNETTE_TEST_TMP") or "."

local function slurp(path) local f = io.open(path, "rb"); if not f then return "" end local s = f:read("a"); f:close(); return s end
local asan = slurp("/proc/self/maps"):find("libasan", 1, true) ~= nil
local pid = slurp("/proc/self/stat"):match("^(%d+)")
local function rss_kb() return tonumber(slurp("/proc/self/status"):match("VmRSS:%s*(%d+)")) end
local function fds()
  collectgarbage("collect")                  -- files left to the GC are closed first
  local p = io.popen("ls -l /proc/" .. pid .. "/fd")
  local n, list = 0, {}
  for line in p:lines() do
    local target = line:match("%d+ %-> (.*)$")
    if target then n = n + 1; list[#list + 1] = target end
  end
  p:close()
  return n, table.concat(list, ", ")
end
local function lua_kb() collectgarbage("collect"); collectgarbage("collect"); return collectgarbage("count") end

local ROUNDS = tonumber(os.getenv("LUNETTE_SOAK_ROUNDS")) or (asan and 100 or 300)
local WARM = ROUNDS // 5
print(string.format("soak: %d rounds (%s build)", ROUNDS, asan and "ASan" or "plain"))

L.seed(31)
local x = tensor.randn(24, 6, 6, 1)
local y = (tensor.rand(24) * 3):apply(math.floor)
local path = tmp .. "/soak.safetensors"
local cifar = tmp .. "/soak-cifar.bin"
do
  local f = assert(io.open(cifar, "wb"))
  for r = 0, 1 do f:write(string.char(r)); f:write(string.rep("\7", 3072)) end
  f:close()
end
local idx = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"
if not io.open(idx, "rb") then idx = nil; print("notice: no Fashion-MNIST labels file; IDX reads skipped") end

local function make(i)
  local layers = {
    nn.Conv2D { filters = 2 + i % 3, kernel = 3, padding = "same", activation = "relu", input_shape = { 6, 6, 1 } },
    nn.MaxPool2D { 2 }, nn.Flatten(), nn.Dense { 3, activation = "softmax" } }
  if i % 2 == 0 then table.insert(layers, 2, nn.BatchNorm()) end
  if i % 3 == 0 then table.insert(layers, #layers, nn.Dropout(0.2)) end
  local m = nn.Sequential(layers)
  local opts = { optim.Adam { lr = 0.01 }, optim.SGD { lr = 0.05, momentum = 0.9 }, optim.RMSprop {} }
  m:compile { optimizer = opts[i % 3 + 1], loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  return m
end

local function round(i)
  local m = make(i)
  local h = m:fit(x, y, { epochs = 2, batch_size = 8, verbose = 0, validation_split = 0.25 })
  assert(#h.history.loss == 2)
  m:evaluate(x, y)
  m:predict(x)
  assert(m:save(path))
  local m2 = nn.load(path)
  m2:fit(x, y, { epochs = 1, batch_size = 12, verbose = 0 })
  m2:predict_classes(x)
  -- the error and interrupt paths
  local quiet = print
  print = function() end                                  -- "Interrupted at epoch 1, batch 3"
  local ok, hi = pcall(m2.fit, m2, x, y, { epochs = 2, batch_size = 8, verbose = 0, callbacks = {
    { on_batch_end = function(b) if b == 2 then L._test_interrupt() end end } } })
  print = quiet
  assert(ok and hi.interrupted, tostring(hi))
  L._test_interrupt(); assert(not pcall(m2.save, m2, path))
  L._test_interrupt(); assert(not pcall(nn.load, path))
  L._test_interrupt(); assert(not pcall(m2.predict, m2, x))
  L._test_interrupt(false)
  assert(m2:save(tmp) == nil)                             -- a directory: nil, message
  assert(nn.load(tmp .. "/soak-missing.safetensors") == nil)
  assert(not pcall(m2.fit, m2, x, y + 5, { verbose = 0 })) -- labels out of range
  assert(not pcall(m2.predict, m2, tensor.randn(2, 6, 6, 2)))
  assert(data.idx(tmp) == nil)                            -- a directory: nil, message
  local xs = data.cifar10_batch(cifar)
  assert(xs.shape[1] == 2)
  if idx and i % 10 == 0 then assert(data.idx(idx):numel() == 10000) end
end

local t0 = os.clock()
local rss0, fd0, lua0, fdlist0
for i = 1, ROUNDS do
  round(i)
  if i == WARM then rss0, lua0 = rss_kb(), lua_kb(); fd0, fdlist0 = fds() end
end
local rss1, lua1 = rss_kb(), lua_kb()
local fd1, fdlist1 = fds()
print(string.format("soak: %d rounds in %.1f s CPU; VmRSS %d -> %d KiB; Lua heap %.0f -> %.0f KiB; fds %d -> %d",
  ROUNDS, os.clock() - t0, rss0, rss1, lua0, lua1, fd0, fd1))
-- A leak in the loop would add one descriptor per round (hundreds); one more than at
-- warm-up is allowed for a descriptor a library opens once, lazily (it is listed).
T.check(fd1 <= fd0 + 1, string.format("no file descriptor leak (%d -> %d: %s -> %s)", fd0, fd1,
  fdlist0, fdlist1))
T.check(lua1 - lua0 < 256, string.format("Lua heap flat (%.0f -> %.0f KiB)", lua0, lua1))
if asan then
  print("notice: ASan build: the RSS bound is not checked (quarantine); LeakSanitizer checks at exit")
else
  -- after warm-up, 80% of the rounds may add at most 2 MiB (a leak of one model per round
  -- would add several MiB: each round allocates ~100 KiB of tensors and buffers)
  T.check(rss1 - rss0 < 2048, string.format("resident memory flat after warm-up (%d -> %d KiB)", rss0, rss1))
end
os.remove(path); os.remove(cifar)
T.done()
