-- test_data_full.lua: the full data sets where this machine has them: Fashion-MNIST from
-- Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), and CIFAR-10 written
-- by ../shared/datasets/cifar10/make-cifar10-bin (generated once into LUNETTE_TEST_TMP).
-- Each part is skipped, with a notice, where its files are absent. Prints load times.
local T = require "check"
local L = require "lunette"
local tmp = os.getenv("LUNETTE_TEST_TMP") or "."
local source = os.getenv("LUNETTE_SOURCE") or L.source_dir

local function timed(fn)
  local t = os.clock()
  local r = fn()
  return r, os.clock() - t
end

local function counts(y, k)
  local c = {}
  for i = 0, k - 1 do c[i + 1] = y:eq(i):sum() end
  return c
end

if data._stat("/usr/share/datasets/fashion-mnist") == "directory" then
  local d, s = timed(function() return data.load("fashion_mnist", { path = "/usr/share/datasets/fashion-mnist" }) end)
  print(string.format("full Fashion-MNIST loaded in %.2f s (cpu)", s))
  T.check(not d.sample and table.concat(d.x_train.shape, "x") == "60000x28x28x1", "fashion train 60000x28x28x1")
  T.check(table.concat(d.x_test.shape, "x") == "10000x28x28x1" and d.y_test.shape[1] == 10000, "fashion test 10000")
  local ct, cs = counts(d.y_train, 10), counts(d.y_test, 10)
  for c = 1, 10 do T.check(ct[c] == 6000 and cs[c] == 1000, "fashion class counts " .. c) end
  T.check(d.x_train:max() == 255 and d.x_train:min() == 0, "fashion pixels 0..255")
  -- the default search finds it too (nothing else is installed ahead of it in CI)
  local dd = data.load("fashion_mnist", { fallback = false })
  T.check(dd.x_train.shape[1] == 60000, "data.load('fashion_mnist') finds the Debian package")
  -- the embedded sample is the first 500/100 of each class of these files
  local sm = data.load("fashion_mnist", { sample = true })
  T.close(sm.x_train[1], d.x_train[1], 0, "sample image 1 is the set's image 1")
  T.close(sm.x_test[3], d.x_test[3], 0, "sample test image 3 is the set's test image 3")
else
  print("SKIP full Fashion-MNIST: /usr/share/datasets/fashion-mnist is absent (apt-get install dataset-fashion-mnist)")
end

local make = source .. "/../shared/datasets/cifar10/make-cifar10-bin"
local have_pil = os.execute("/usr/bin/python3 -c 'import PIL' 2>/dev/null")
if data._stat(make) == "file" and have_pil then
  local out = tmp .. "/cifar10"
  if data._stat(out .. "/test_batch.bin") ~= "file" then
    local t = os.time()
    T.check(os.execute("'" .. make .. "' '" .. out .. "'"), "make-cifar10-bin ran")
    print(string.format("make-cifar10-bin took about %d s", os.time() - t))
  end
  local d, s = timed(function() return data.load("cifar10", { path = out }) end)
  print(string.format("full CIFAR-10 loaded in %.2f s (cpu)", s))
  T.check(not d.sample and table.concat(d.x_train.shape, "x") == "50000x32x32x3", "cifar train 50000x32x32x3")
  T.check(table.concat(d.x_test.shape, "x") == "10000x32x32x3" and d.y_test.shape[1] == 10000, "cifar test")
  local ct, cs = counts(d.y_train, 10), counts(d.y_test, 10)
  for c = 1, 10 do T.check(ct[c] == 5000 and cs[c] == 1000, "cifar class counts " .. c) end
  T.check(d.classes[1] == "airplane" and d.classes[10] == "truck", "cifar classes")
  T.check(d.x_train:max() <= 255 and d.x_train:min() >= 0, "cifar pixels 0..255")
  -- the official layout: the same files inside cifar-10-batches-bin/, found through LUNETTE_DATA-like roots
  local roots = data._roots
  data._roots = function() return { { dir = tmp, self = true } } end
  local d2 = data.load("cifar10", { fallback = false })
  data._roots = roots
  T.check(d2.x_test.shape[1] == 10000 and d2.path == out, "cifar10 found under <root>/cifar10")
  -- a batch of 32 with every augmentation on: its cost
  local xb = data.take(d.x_train, tensor.arange(1, 33))
  local opts = { flip = "horizontal", rotation = 0.1, zoom = 0.1, translation = 0.1, seed = 1 }
  local t = os.clock()
  for _ = 1, 50 do data.augment(xb, opts) end
  print(string.format("data.augment: %.3f ms per CIFAR batch of 32 (flip, rotation, zoom, translation)",
    (os.clock() - t) / 50 * 1000))
else
  print("SKIP CIFAR-10: " .. make .. " (or python3-pil) is absent")
end

T.done()
