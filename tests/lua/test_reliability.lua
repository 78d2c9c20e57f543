-- test_reliability.lua: nothing is lost (issue 9). Ctrl-C (simulated deterministically with
-- lunette._test_interrupt(), which sets the flag the REPL's SIGINT handler sets) during fit,
-- evaluate, predict, train_on_batch, data loading, saving and loading leaves the model, the
-- optimizer state and the files on disk as they were; a save to a full or read-only disk
-- (a 64 KiB tmpfs, skipped with a notice when mount is not allowed) or to /dev/full reports
-- the error and keeps the previous file; ModelCheckpoint keeps the last good checkpoint;
-- a model saved mid-training and loaded resumes exactly (optimizer state included).
local T = require "check"
local L = require "lunette"
local nn, optim, tensor, data, st = L.nn, L.optim, L.tensor, L.data, L.safetensors
local tmp = os.getenv("LUNETTE_TEST_TMP") or "."
local interrupt = L._test_interrupt

local function read_bytes(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a"); f:close()
  return s
end
local function leftovers(dir, prefix)       -- temporary files an atomic save may leave behind
  local p = io.popen("ls -a '" .. dir .. "'")
  local n = 0
  for name in p:lines() do if name:find(prefix .. ".tmp-", 1, true) == 1 then n = n + 1 end end
  p:close()
  return n
end
local function capture(f)                   -- runs f with print captured; returns lines, results
  local out, old = {}, print
  print = function(...) local t = table.pack(...) for i = 1, t.n do t[i] = tostring(t[i]) end out[#out + 1] = table.concat(t, "\t") end
  local r = table.pack(pcall(f))
  print = old
  if not r[1] then error(r[2], 0) end
  return out, table.unpack(r, 2, r.n)
end
local function flag_clear(name) T.check(interrupt(false) == false, name .. ": the interrupt flag was consumed") end

local function new_model(seed)
  L.seed(seed)
  local m = nn.Sequential {
    nn.Conv2D { filters = 3, kernel = 3, padding = "same", activation = "relu", input_shape = { 6, 6, 1 } },
    nn.BatchNorm(), nn.MaxPool2D { 2 }, nn.Flatten(), nn.Dense { 8, activation = "relu" },
    nn.Dense { 3, activation = "softmax" } }
  m:compile { optimizer = optim.Adam { lr = 0.01 }, loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  return m
end
L.seed(21)
local x = tensor.randn(40, 6, 6, 1)
local y = (tensor.rand(40) * 3):apply(math.floor)
local xv, yv = tensor.randn(12, 6, 6, 1), (tensor.rand(12) * 3):apply(math.floor)

-- Everything a model is: weights, moving stats, optimizer step count and moments.
local function snapshot(m)
  local s = m.optimizer:state((m:parameters()))
  return { p = m:_flat_params():clone(), mm = m.layers[2].moving_mean:clone(), mv = m.layers[2].moving_variance:clone(),
    t = s.iterations, om = s.m and s.m:clone(), ov = s.v and s.v:clone(), pred = m:predict(x) }
end
local function same(a, b, tol, name)
  T.close(a.p, b.p, tol, name .. ": weights")
  T.close(a.mm, b.mm, tol, name .. ": moving mean")
  T.close(a.mv, b.mv, tol, name .. ": moving variance")
  T.check(a.t == b.t, name .. ": optimizer iterations " .. tostring(a.t) .. " vs " .. tostring(b.t))
  T.close(a.om, b.om, tol, name .. ": Adam m")
  T.close(a.ov, b.ov, tol, name .. ": Adam v")
  T.close(a.pred, b.pred, tol, name .. ": predictions")
end

-- ---- Ctrl-C during fit: history so far, model = the one saved just before, resumable ----
do
  local m = new_model(1)
  m:fit(x, y, { epochs = 1, batch_size = 8, verbose = 0 })
  local saved = tmp .. "/rel-before-interrupt.safetensors"
  local snap
  local out, h = capture(function()
    return m:fit(x, y, { epochs = 3, batch_size = 8, verbose = 0, validation_data = { xv, yv }, callbacks = {
      { on_batch_end = function(b, _, model)
        if b == 3 and not snap then          -- epoch 1, after batch 3: save, then "press Ctrl-C"
          T.check(model:save(saved) == true, "save just before the interrupt")
          snap = snapshot(model)
          interrupt()
        end
      end } } })
  end)
  T.check(h.interrupted == true, "fit returns the history with interrupted=true")
  T.check(#h.history.loss == 0 and #h.history.val_loss == 0 and #h.epoch == 0, "history so far: no complete epoch")
  T.check(out[#out] == "Interrupted at epoch 1, batch 4", "interrupt message: " .. tostring(out[#out]))
  flag_clear("fit")
  same(snapshot(m), snap, 0, "interrupted fit")
  local m2 = nn.load(saved)
  T.close(m2:predict(x), m:predict(x), 0, "predictions equal the model saved just before")
  T.check(m2.optimizer.iterations == m.optimizer.iterations, "saved optimizer state matches")
  -- training continues, in the same model and in the loaded copy, identically
  local h1 = m:fit(x, y, { epochs = 1, batch_size = 8, verbose = 0, shuffle = false })
  local h2 = m2:fit(x, y, { epochs = 1, batch_size = 8, verbose = 0, shuffle = false })
  T.check(not h1.interrupted and #h1.history.loss == 1, "training continues after the interrupt")
  T.close(h1.history.loss[1], h2.history.loss[1], 1e-6, "continued loss equals the saved model's")
  T.close(m:predict(x), m2:predict(x), 1e-5, "continued weights equal the saved model's")

  -- at an epoch boundary: the epoch is in the history, the next one never starts
  out, h = capture(function()
    return m:fit(x, y, { epochs = 3, batch_size = 8, verbose = 0, callbacks = {
      function(epoch) if epoch == 1 then interrupt() end end } })
  end)
  T.check(h.interrupted and #h.history.loss == 1 and h.epoch[1] == 1, "epoch-boundary interrupt keeps epoch 1")
  T.check(out[#out] == "Interrupted at epoch 2, batch 1", "epoch-boundary message: " .. tostring(out[#out]))
  flag_clear("fit at an epoch boundary")
  -- during the validation pass of the last batch
  local s0
  out, h = capture(function()
    return m:fit(x, y, { epochs = 2, batch_size = 8, verbose = 0, validation_data = { xv, yv }, callbacks = {
      { on_batch_end = function(b, _, model) if b == 5 then s0 = snapshot(model); interrupt() end end } } })
  end)
  T.check(h.interrupted and #h.history.loss == 0, "interrupt during validation: epoch not recorded")
  T.check(out[#out] == "Interrupted at epoch 1, batch 5", "validation interrupt message: " .. tostring(out[#out]))
  same(snapshot(m), s0, 0, "interrupt during validation")
  flag_clear("validation")
end

-- ---- Ctrl-C during evaluate, predict, train_on_batch ----
do
  local m = new_model(2)
  m:fit(x, y, { epochs = 1, batch_size = 8, verbose = 0 })
  local s0 = snapshot(m)
  local l0, a0 = m:evaluate(x, y)
  for _, c in ipairs {
    { "evaluate", function() return m:evaluate(x, y, { batch_size = 4 }) end },
    { "predict", function() return m:predict(x, { batch_size = 4 }) end },
    { "predict_classes", function() return m:predict_classes(x) end },
    { "train_on_batch", function() return m:train_on_batch(x, y) end } } do
    interrupt()
    local ok, err = pcall(c[2])
    T.check(not ok and L.interrupted(err), c[1] .. " raises 'interrupted': " .. tostring(err))
    flag_clear(c[1])
    same(snapshot(m), s0, 0, c[1] .. " interrupted")
  end
  local l1, a1 = m:evaluate(x, y)
  T.check(l1 == l0 and a1 == a0, "evaluate after the interrupts gives the same values")
end

-- ---- Ctrl-C during data loading ----
do
  local idx = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"
  if io.open(idx, "rb") then
    local full = data.idx(idx)
    interrupt()
    local ok, err = pcall(data.idx, idx)
    T.check(not ok and L.interrupted(err), "data.idx interrupted: " .. tostring(err))
    flag_clear("data.idx")
    local again = data.idx(idx)
    T.check(again:numel() == full:numel() and (again - full):abs():max() == 0, "data.idx after the interrupt reads it all")
  else
    print("notice: " .. idx .. " missing; IDX interrupt case skipped")
  end
  -- a CIFAR-10 batch written here: 4 records of label + 3072 pixels
  local cif = tmp .. "/rel-cifar.bin"
  local f = assert(io.open(cif, "wb"))
  for r = 0, 3 do f:write(string.char(r)); f:write(string.rep(string.char(r * 40), 3072)) end
  f:close()
  interrupt()
  local ok, err = pcall(data.cifar10_batch, cif)
  T.check(not ok and L.interrupted(err), "data.cifar10_batch interrupted: " .. tostring(err))
  flag_clear("data.cifar10_batch")
  local xs, ys = data.cifar10_batch(cif)
  T.check(xs.shape[1] == 4 and ys:get(4) == 3, "cifar batch reads after the interrupt")
end

-- ---- Ctrl-C during save and load: the previous file stays, no temporary files ----
do
  local m = new_model(3)
  m:fit(x, y, { epochs = 1, batch_size = 8, verbose = 0 })
  local dir = tmp .. "/rel-save"
  os.execute("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "'")
  local path = dir .. "/model.safetensors"
  T.check(m:save(path) == true, "first save")
  local good, s0 = read_bytes(path), snapshot(m)
  m:fit(x, y, { epochs = 1, batch_size = 8, verbose = 0 })
  local s1 = snapshot(m)
  interrupt()
  local ok, err = pcall(m.save, m, path)
  T.check(not ok and L.interrupted(err), "save interrupted: " .. tostring(err))
  flag_clear("save")
  T.check(read_bytes(path) == good, "interrupted save leaves the previous file byte for byte")
  T.check(leftovers(dir, "model.safetensors") == 0, "no temporary file left by the interrupted save")
  same(snapshot(m), s1, 0, "model after the interrupted save")
  same(snapshot(nn.load(path)), s0, 0, "previous file still loads")
  interrupt()
  ok, err = pcall(nn.load, path)
  T.check(not ok and L.interrupted(err), "load interrupted: " .. tostring(err))
  flag_clear("load")
  T.check(m:save(path) == true and read_bytes(path) ~= good, "save after the interrupt writes the new model")
  same(snapshot(nn.load(path)), s1, 0, "the new file")
  -- /dev/full: refused (never renamed over a device), reported, nothing else touched
  local v, msg = m:save("/dev/full")
  T.check(v == nil and msg == "cannot write '/dev/full': not a regular file", "save to /dev/full: " .. tostring(msg))
  local p = io.popen("stat -c %F /dev/full"); local kind = p:read("l"); p:close()
  T.check(kind == "character special file", "/dev/full is still a device")
end

-- ---- full and read-only disks (a 64 KiB tmpfs) ----
local mnt = tmp .. "/rel-tmpfs"
os.execute("umount '" .. mnt .. "' 2>/dev/null; mkdir -p '" .. mnt .. "'")
local mounted = os.execute("mount -t tmpfs -o size=64k tmpfs '" .. mnt .. "' 2>/dev/null") == true
if not mounted then
  print("notice: cannot mount a tmpfs here (not root?); full-disk, read-only and checkpoint cases skipped")
else
  local ok_all, err_all = pcall(function()
    L.seed(4)
    local small = new_model(4)
    small:fit(x, y, { epochs = 1, batch_size = 8, verbose = 0 })
    local path = mnt .. "/model.safetensors"
    T.check(small:save(path) == true, "a small model fits on the tmpfs")
    local good, s0 = read_bytes(path), snapshot(small)
    -- the same architecture with 20,000 more parameters does not fit in what is left
    local big = nn.Sequential { nn.Flatten { input_shape = { 6, 6, 1 } }, nn.Dense { 600 }, nn.Dense { 3, activation = "softmax" } }
    big:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy" }
    big:fit(x, y, { verbose = 0 })
    local v, msg = big:save(path)
    T.check(v == nil and msg == "cannot write '" .. path .. "': No space left on device", "full disk: " .. tostring(msg))
    T.check(read_bytes(path) == good, "full disk: the previous file is intact")
    T.check(leftovers(mnt, "model.safetensors") == 0, "full disk: no temporary file left")
    same(snapshot(nn.load(path)), s0, 0, "full disk: previous model loads")
    -- ModelCheckpoint: epoch 1 saved, then the disk fills up: the epoch-1 file stays
    local ck = mnt .. "/ckpt.safetensors"
    os.remove(path)
    local at1
    local filler = mnt .. "/filler"
    local out, h = capture(function()
      return small:fit(x, y, { epochs = 3, batch_size = 8, verbose = 0, callbacks = {
        nn.ModelCheckpoint { path = ck },
        function(epoch, _, model)
          if epoch == 1 then
            at1 = snapshot(model)
            local f = assert(io.open(filler, "wb"))   -- fill what is left of the disk
            local chunk = string.rep("x", 4096)
            while f:write(chunk) do end
            f:close()
          end
        end } })
    end)
    T.check(not h.interrupted and #h.history.loss == 3, "training goes on when a checkpoint fails")
    local fails = 0
    for _, line in ipairs(out) do
      if line == "ModelCheckpoint: could not save " .. ck .. ": cannot write '" .. ck .. "': No space left on device" then
        fails = fails + 1
      end
    end
    T.check(fails == 2, "the two failed checkpoints are reported: " .. table.concat(out, " | "))
    same(snapshot(nn.load(ck)), at1, 0, "ModelCheckpoint keeps the last good checkpoint (epoch 1)")
    T.check(leftovers(mnt, "ckpt.safetensors") == 0, "no temporary checkpoint files")
    os.remove(filler)
    -- read-only: same story
    T.check(small:save(path) == true, "space again: save works")
    good = read_bytes(path)
    if os.execute("mount -o remount,ro '" .. mnt .. "' 2>/dev/null") == true then
      v, msg = big:save(path)
      T.check(v == nil and msg == "cannot write '" .. path .. "': Read-only file system", "read-only disk: " .. tostring(msg))
      T.check(read_bytes(path) == good, "read-only disk: the previous file is intact")
      T.check(nn.load(path) ~= nil, "read-only disk: previous model loads")
    else
      print("notice: remount read-only failed; read-only case skipped")
    end
  end)
  os.execute("umount '" .. mnt .. "'")
  if not ok_all then error(err_all, 0) end
end

-- ---- save mid-training, load, resume == training straight through ----
do
  local opts = { batch_size = 8, verbose = 0, shuffle = false }
  local a = new_model(9)
  a:fit(x, y, { epochs = 2, batch_size = 8, verbose = 0, shuffle = false })
  local b = new_model(9)
  b:fit(x, y, opts)
  local path = tmp .. "/rel-resume.safetensors"
  T.check(b:save(path) == true, "save after epoch 1")
  local c = nn.load(path)
  c:fit(x, y, opts)
  same(snapshot(c), snapshot(a), 1e-5, "1 epoch + save + load + 1 epoch = 2 epochs")
  -- the comparison can fail: without the optimizer state the result differs
  local d = nn.load(path)
  d.optimizer:set_state((d:parameters()), { iterations = 0 })
  d:fit(x, y, opts)
  T.check((d:_flat_params() - a:_flat_params()):abs():max() > 1e-4, "a reset optimizer does not resume (test is sensitive)")
end

T.done()
