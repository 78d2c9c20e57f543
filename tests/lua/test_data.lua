-- test_data.lua: the data module from Lua: IDX and CIFAR-10 files written here in the
-- real formats (every IDX dtype, raw and gzip), corrupt variants and their messages,
-- data.load on the embedded sample and its fallback notice, batches, split, take,
-- one_hot, scale/normalize and data.augment. Needs no full data set.
local T = require "check"
local L = require "lunette"
local tmp = os.getenv("LUNETTE_TEST_TMP") or "."
local dir = tmp .. "/test_data"
os.execute("mkdir -p '" .. dir .. "'")

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
  return path
end

local function idx(code, dims, fmt, values)
  local parts = { string.pack(">BBBB", 0, 0, code, #dims) }
  for _, d in ipairs(dims) do parts[#parts + 1] = string.pack(">I4", d) end
  for _, v in ipairs(values) do parts[#parts + 1] = string.pack(fmt, v) end
  return table.concat(parts)
end

local have_gzip = os.execute("command -v gzip >/dev/null 2>&1")
local function gzip(path)                     -- path .. ".gz", keeping path
  assert(os.execute("gzip -nc '" .. path .. "' > '" .. path .. ".gz'"))
  return path .. ".gz"
end

-- ---- IDX: every dtype, raw and gzip ----
local cases = {
  { 0x08, ">B", { 0, 1, 127, 128, 254, 255 } },
  { 0x09, ">i1", { -128, -1, 0, 1, 100, 127 } },
  { 0x0B, ">i2", { -32768, -300, 0, 300, 1000, 32767 } },
  { 0x0C, ">i4", { -70000, -1, 0, 1, 123456, 16777216 } },
  { 0x0D, ">f", { -2.25, 1.5, 0, 3e-3, 65504, -1e-6 } },
  { 0x0E, ">d", { 3.25, -1e10, 0, 0.125, 1 / 3, 7 } },
}
for _, c in ipairs(cases) do
  local name = string.format("%s/dtype%02x.idx", dir, c[1])
  write(name, idx(c[1], { 2, 3 }, c[2], c[3]))
  local paths = { name }
  if have_gzip then paths[2] = gzip(name) end
  for _, p in ipairs(paths) do
    local t = data.idx(p)
    T.check(t:dim() == 2 and t.shape[1] == 2 and t.shape[2] == 3, "idx shape " .. p)
    local want = {}
    for i, v in ipairs(c[3]) do want[i] = string.unpack("f", string.pack("f", v)) end
    T.close(t, want, 0, "idx values " .. p)
  end
end
-- a 3-d file read as a whole
local vals = {}
for i = 1, 24 do vals[i] = (i * 11) % 256 end
local p3 = write(dir .. "/three.idx", idx(0x08, { 2, 3, 4 }, ">B", vals))
local t3 = data.idx(p3)
T.check(t3:dim() == 3 and t3.shape[3] == 4, "idx 3-d shape")
T.check(t3:get(2, 3, 4) == vals[24] and t3:get(1, 2, 1) == vals[5], "idx 3-d row-major")

-- ---- IDX errors name the file and the problem ----
-- a path that is not a readable file is an environment failure: nil, message (as io.open)
local none, why = data.idx(dir .. "/missing.idx")
T.check(none == nil and why == dir .. "/missing.idx: No such file or directory", "missing idx: nil, msg")
none, why = data.idx(dir)
T.check(none == nil and why == dir .. ": is a directory, not a file", "a directory: nil, msg")
local good = idx(0x08, { 2, 3 }, ">B", { 1, 2, 3, 4, 5, 6 })
T.raises(function() data.idx(write(dir .. "/cut.idx", good:sub(1, -2))) end,
  "cut.idx: truncated: the header's shape 2x3 of unsigned byte needs 6 bytes of data, the file holds 5")
T.raises(function() data.idx(write(dir .. "/long.idx", good .. "x")) end,
  "long.idx: size mismatch: the header's shape 2x3 of unsigned byte needs 6 bytes of data, the file holds 7")
T.raises(function() data.idx(write(dir .. "/magic.idx", "PK\3\4" .. good:sub(5))) end,
  "magic.idx: not an IDX file (magic bytes 50 4b 03 04;")
T.raises(function() data.idx(write(dir .. "/empty.idx", "")) end, "empty.idx: empty file (no IDX header)")
T.raises(function() data.idx(write(dir .. "/huge.idx", idx(0x0E, { 4294967295, 4294967295, 4294967295 }, ">B", {}))) end,
  "huge.idx: shape 4294967295x4294967295x4294967295 exceeds the tensor size limit")
if have_gzip then
  local gz = gzip(write(dir .. "/g.idx", good))
  local f = assert(io.open(gz, "rb")); local blob = f:read("a"); f:close()
  T.raises(function() data.idx(write(dir .. "/gcut.idx.gz", blob:sub(1, -5))) end,
    "gcut.idx.gz: truncated gzip stream")
  T.raises(function() data.idx(write(dir .. "/gbad.gz", blob:sub(1, 10) .. "\255" .. blob:sub(12))) end,
    "gbad.gz: corrupt gzip data (invalid block type)")
end

-- ---- CIFAR-10 batches ----
local function record(label, seed)
  local b = { string.char(label) }
  for c = 0, 2 do
    for p = 0, 1023 do b[#b + 1] = string.char((p * 3 + c * 50 + seed * 7) % 256) end
  end
  return table.concat(b)
end
local cif = write(dir .. "/batch.bin", record(3, 0) .. record(9, 1))
local x, y = data.cifar10_batch(cif)
T.check(x:dim() == 4 and x.shape[1] == 2 and x.shape[2] == 32 and x.shape[3] == 32 and x.shape[4] == 3,
  "cifar images N×32×32×3")
T.close(y, { 3, 9 }, 0, "cifar labels 0-based")
-- pixel (row r, column c, channel k) of record n comes from plane k at r*32 + c
local function want(n, r, c, k) return ((r * 32 + c) * 3 + k * 50 + n * 7) % 256 end
T.check(x:get(1, 1, 1, 1) == want(0, 0, 0, 0) and x:get(2, 5, 7, 3) == want(1, 4, 6, 2)
  and x:get(1, 32, 32, 2) == want(0, 31, 31, 1), "cifar pixels channels-last")
local x2, y2 = data.cifar10_batch({ cif, cif })
T.check(x2.shape[1] == 4 and y2.shape[1] == 4 and y2[3] == 3, "cifar several files concatenated")
T.raises(function() data.cifar10_batch(write(dir .. "/short.bin", record(1, 0):sub(1, -2))) end,
  "short.bin: size 3072 bytes is not a multiple of the 3073-byte CIFAR-10 record")
T.raises(function() data.cifar10_batch(write(dir .. "/label.bin", record(1, 0) .. record(10, 0))) end,
  "label.bin: record 2 has label 10 (CIFAR-10 labels are 0 to 9)")
local nx, nwhy = data.cifar10_batch({ cif, dir .. "/nope.bin" })
T.check(nx == nil and nwhy == dir .. "/nope.bin: No such file or directory", "missing cifar batch: nil, msg")

-- ---- data.load: the embedded sample, explicit paths, the fallback notice ----
local d = data.load("fashion_mnist", { sample = true })
T.check(d.sample == true and d.x_train.shape[1] == 5000 and d.x_test.shape[1] == 1000, "sample sizes")
T.check(table.concat(d.x_train.shape, "x") == "5000x28x28x1" and d.y_train:dim() == 1, "sample shapes")
T.check(#d.classes == 10 and d.classes[10] == "Ankle boot", "sample classes")
for c = 0, 9 do
  T.check(d.y_train:eq(c):sum() == 500 and d.y_test:eq(c):sum() == 100, "sample balanced, class " .. c)
end
T.check(d.x_train:min() == 0 and d.x_train:max() == 255, "sample pixels 0..255")

local roots = data._roots
data._roots = function() return {} end            -- as on a machine without the full sets
local printed = {}
local real_print = print
print = function(...) printed[#printed + 1] = table.concat({ ... }, "\t") end
local f1 = data.load("fashion_mnist")
local c1 = data.load("cifar10")
local q = data.load("mnist", { quiet = true })
print = real_print
data._roots = roots
T.check(f1.sample and c1.sample and q.sample and f1.x_train.shape[1] == 5000, "fallback to the sample")
T.check(#printed == 2, "a notice per fallback, none when quiet")
T.check((printed[1] or ""):gsub("%s+", " "):find("the full Fashion-MNIST was not found; using the embedded sample (5000 train + 1000 test images)", 1, true)
  and printed[1]:find("apt-get install dataset-fashion-mnist", 1, true), "fashion notice and command")
T.check((printed[2] or ""):gsub("%s+", " "):find("CIFAR-10 was not found; using the embedded Fashion-MNIST sample", 1, true)
  and printed[2]:find("get-cifar10", 1, true), "cifar notice names get-cifar10")
data._roots = function() return {} end
T.raises(function() data.load("cifar10", { fallback = false }) end, "data.load: CIFAR-10 not found")
data._roots = roots
T.raises(function() data.load("cifar10", { path = dir .. "/none" }) end, "data.load: no CIFAR-10 in " .. dir .. "/none")
T.raises(function() data.load("imagenet") end, "data.load: unknown data set 'imagenet'")

-- a small MNIST-format set in a directory of its own (raw files, dotted names too)
local mdir = dir .. "/mnist"
os.execute("mkdir -p '" .. mdir .. "'")
local px = {}
for i = 1, 3 * 4 * 4 do px[i] = i end
write(mdir .. "/train-images-idx3-ubyte", idx(0x08, { 3, 4, 4 }, ">B", px))
write(mdir .. "/train-labels-idx1-ubyte", idx(0x08, { 3 }, ">B", { 5, 0, 9 }))
write(mdir .. "/t10k-images.idx3-ubyte", idx(0x08, { 1, 4, 4 }, ">B", { table.unpack(px, 1, 16) }))
write(mdir .. "/t10k-labels.idx1-ubyte", idx(0x08, { 1 }, ">B", { 7 }))
local m = data.load("mnist", { path = dir })           -- finds <path>/mnist
T.check(table.concat(m.x_train.shape, "x") == "3x4x4x1" and m.x_test.shape[1] == 1, "mnist from path")
T.close(m.y_train, { 5, 0, 9 }, 0, "mnist labels")
T.check(m.x_train:get(2, 1, 1, 1) == 17 and m.classes[1] == "0" and not m.sample, "mnist pixels, classes")
write(mdir .. "/t10k-labels.idx1-ubyte", idx(0x08, { 2 }, ">B", { 7, 1 }))
T.raises(function() data.load("mnist", { path = mdir }) end, "t10k-images.idx3-ubyte has 1 images but " .. mdir .. "/t10k-labels.idx1-ubyte has 2 labels")

-- ---- batches: every sample exactly once per epoch ----
local n = 103
local xs = tensor.arange(n):reshape(n, 1)
local ys = tensor.arange(n) * 2
for _, shuffle in ipairs { false, true } do
  local seen, count, batches, sizes = {}, 0, 0, {}
  local first
  for xb, yb, i in data.batches(xs, ys, { batch_size = 10, shuffle = shuffle, seed = 3 }) do
    batches = batches + 1
    T.check(i == batches, "batch index")
    if i == 1 then first = xb end
    if i == 2 then T.check(rawequal(first, xb), "full batches reuse one buffer") end
    sizes[#sizes + 1] = xb.shape[1]
    for r = 1, xb.shape[1] do
      local v = xb:get(r, 1)
      T.check(yb[r] == 2 * v, "x and y rows stay paired")
      if not seen[v] then count = count + 1 end
      seen[v] = (seen[v] or 0) + 1
    end
  end
  local once = true
  for v = 0, n - 1 do once = once and seen[v] == 1 end
  T.check(count == n and once, "each sample exactly once (shuffle=" .. tostring(shuffle) .. ")")
  T.check(batches == 11 and sizes[11] == 3 and sizes[1] == 10, "10 full batches and one of 3")
end
local function order(seed)
  local o = {}
  for xb in data.batches(xs, nil, { batch_size = 50, seed = seed, copy = true }) do
    for r = 1, xb.shape[1] do o[#o + 1] = xb:get(r, 1) end
  end
  return table.concat(o, ",")
end
T.check(order(7) == order(7) and order(7) ~= order(8), "a seed fixes the order")
local plain = {}
for xb in data.batches(xs, nil, { batch_size = 40, shuffle = false }) do plain[#plain + 1] = math.floor(xb:get(1, 1)) end
T.check(table.concat(plain, ",") == "0,40,80", "no shuffle keeps the order")
T.raises(function() data.batches(xs, tensor.zeros(5)) end, "data.batches: x has 103 samples, y has 5")

-- ---- split, take, one_hot, scale, normalize ----
local x1, y1, xv, yv = data.split(xs, ys, 0.2)
T.check(x1.shape[1] == 82 and xv.shape[1] == 21 and y1.shape[1] == 82 and yv.shape[1] == 21, "split sizes")
T.check(xv:get(1, 1) == 82 and yv[21] == 204, "the validation part is the end (Keras: int(n * 0.8) first)")
local s1, _, s2 = data.split(xs, ys, 0.5, { shuffle = true, seed = 1 })
local total = s1:sum() + s2:sum()
T.check(s1.shape[1] == 51 and s2.shape[1] == 52 and total == xs:sum() and s1:get(1, 1) ~= 0, "shuffled split")
T.raises(function() data.split(xs, ys, 1.5) end, "data.split: fraction must be a number between 0 and 1")
T.close(data.take(ys, { 3, 1 }), { 4, 0 }, 0, "take rows")
T.raises(function() data.take(ys, { 0 }) end, "data.take: position 0 is outside 1..103")
T.close(data.one_hot({ 0, 2, 1 }, 3), { { 1, 0, 0 }, { 0, 0, 1 }, { 0, 1, 0 } }, 0, "one_hot")
T.check(data.one_hot(tensor { 4, 1 }).shape[2] == 5, "one_hot class count from the labels")
T.raises(function() data.one_hot({ 0, 3 }, 3) end, "data.one_hot: label 3 is outside 0..2")
T.raises(function() data.one_hot({ 0.5 }) end, "data.one_hot: label 0.5 at position 1 is not a class id")
T.close(data.scale(tensor { 0, 255 }, 1 / 255), { 0, 1 }, 1e-6, "scale")
local img = tensor { { { 1, 10 }, { 3, 30 } }, { { 5, 50 }, { 7, 70 } } }
local nz, mean, std = data.normalize(img)
T.close(mean, { 4, 40 }, 1e-5, "normalize mean per channel")
T.close(std, { math.sqrt(5), math.sqrt(500) }, 1e-4, "normalize std per channel")
T.close(nz:reshape(-1, 2):mean(1), { 0, 0 }, 1e-5, "normalized mean 0")
T.close(nz:reshape(-1, 2):std(1), { 1, 1 }, 1e-4, "normalized std 1")
T.close(data.normalize(tensor { 2, 4 }, { mean = 1, std = 2 }), { 0.5, 1.5 }, 1e-6, "given mean and std")

-- ---- augment ----
local im = tensor.rand(4, 6, 5, 3) * 255
T.close(data.augment(im), im, 0, "no options: identity")
T.close(data.augment(im, { rotation = 0, zoom = 0, translation = 0 }), im, 0, "zero factors: identity")
local once = data.augment(im, { flip = "horizontal", seed = 11 })
T.close(data.augment(once, { flip = "horizontal", seed = 11 }), im, 0, "flip twice: identity")
local opts = { flip = "horizontal", rotation = 0.1, zoom = 0.2, translation = 0.1, seed = 5 }
local a, b = data.augment(im, opts), data.augment(im, opts)
T.close(a, b, 0, "a seed gives identical output")
T.check(table.concat(a.shape, "x") == "4x6x5x3" and a:min() >= im:min() and a:max() <= im:max(),
  "shape and value range kept")
-- a quarter turn counter-clockwise, as numpy's rot90: [[1 2 3] [4 5 6] [7 8 9]] -> [[3 6 9] [2 5 8] [1 4 7]]
local sq = tensor { { { 1 }, { 2 }, { 3 } }, { { 4 }, { 5 }, { 6 } }, { { 7 }, { 8 }, { 9 } } }
T.close(data.augment(sq, { rotation = { 0.25, 0.25 } }), { 3, 6, 9, 2, 5, 8, 1, 4, 7 }, 1e-4, "rotation 90")
T.raises(function() data.augment(im, { flip = "diagonal" }) end, "data.augment: flip must be 'horizontal', 'vertical' or 'horizontal_and_vertical', not 'diagonal'")
T.raises(function() data.augment(im, { fill = "mirror" }) end, "data.augment: fill_mode must be 'reflect', 'wrap', 'nearest' or 'constant', not 'mirror'")
T.raises(function() data.augment(im, { zoom = { -2, 0 } }) end, "augment: zoom height lower bound -2 must be greater than -1")
T.raises(function() data.augment(tensor.zeros(3, 3)) end, "augment: expected images N×H×W×C or H×W×C, got shape 3x3")

-- ---- every function has help ----
for _, name in ipairs { "idx", "cifar10_batch", "load", "batches", "split", "take", "one_hot", "scale",
  "normalize", "augment" } do
  T.check(L._gethelp(data[name]) ~= nil, "help for data." .. name)
end

T.done()
