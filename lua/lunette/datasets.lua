-- lunette/datasets.lua: the Lua half of the `data` module (the C half is l_data.c):
-- data.load with its search order and the embedded-sample fallback, data.split,
-- data.scale and data.normalize. Images come back channels-last (N×H×W×C, pixels
-- 0..255 as floats), labels as 1-d float tensors of 0-based class ids.
local L = require "lunette"
local error = L._error     -- errors point at the caller's code, not this file
local tensor, data = L.tensor, L.data

local function doc(fn, name, text) L._sethelp(fn, name, text) return fn end

-- ---- the data sets ----

local IDX_PARTS = {
  { key = "x_train", base = "train-images", kind = "idx3" },
  { key = "y_train", base = "train-labels", kind = "idx1" },
  { key = "x_test", base = "t10k-images", kind = "idx3" },
  { key = "y_test", base = "t10k-labels", kind = "idx1" },
}

local SETS = {
  fashion_mnist = {
    title = "Fashion-MNIST", format = "idx", dirs = { "fashion_mnist", "fashion-mnist" },
    classes = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                "Sneaker", "Bag", "Ankle boot" },
    get = "sudo apt-get install dataset-fashion-mnist   (Debian; or put the four *-ubyte.gz "
      .. "files of\n  https://github.com/zalandoresearch/fashion-mnist in $LUNETTE_DATA/fashion_mnist)",
  },
  mnist = {
    title = "MNIST", format = "idx", dirs = { "mnist" },
    classes = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" },
    get = "put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
      .. "and\n  t10k-labels-idx1-ubyte.gz (http://yann.lecun.com/exdb/mnist/) in $LUNETTE_DATA/mnist",
  },
  cifar10 = {
    title = "CIFAR-10", format = "cifar", dirs = { "cifar10", "cifar-10", "cifar-10-batches-bin" },
    classes = { "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                "truck" },
  },
}
SETS["fashion-mnist"] = SETS.fashion_mnist
SETS["cifar-10"] = SETS.cifar10

local SAMPLE_DIR = "fashion-mnist-sample"

local function isfile(p) return data._stat(p) == "file" end
local function isdir(p) return data._stat(p) == "directory" end

-- The IDX files of a set in dir, or nil. Names: the official ones, with or without .gz,
-- and the dotted variant some mirrors use (train-images.idx3-ubyte).
local function find_idx(dir)
  local files = {}
  for _, part in ipairs(IDX_PARTS) do
    local found
    for _, name in ipairs { part.base .. "-" .. part.kind .. "-ubyte", part.base .. "." .. part.kind .. "-ubyte" } do
      for _, ext in ipairs { ".gz", "" } do
        local p = dir .. "/" .. name .. ext
        if not found and isfile(p) then found = p end
      end
    end
    if not found then return nil end
    files[part.key] = found
  end
  return files
end

local function find_cifar(dir)
  for _, d in ipairs { dir, dir .. "/cifar-10-batches-bin" } do
    local files = { train = {} }
    for k = 1, 5 do files.train[k] = d .. "/data_batch_" .. k .. ".bin" end
    files.test = d .. "/test_batch.bin"
    local ok = isfile(files.test)
    for k = 1, 5 do ok = ok and isfile(files.train[k]) end
    if ok then return files, d end
  end
end

-- Base directories searched after opts.path: each gives itself (for $LUNETTE_DATA only)
-- and <base>/<name> for the set's directory names. Replaceable (tests do).
function data._roots()
  local r = {}
  local env = os.getenv("LUNETTE_DATA")
  if env and env ~= "" then r[#r + 1] = { dir = env, self = true } end
  r[#r + 1] = { dir = L.source_dir .. "/datasets" }
  r[#r + 1] = { dir = L.share_dir .. "/datasets" }
  r[#r + 1] = { dir = "/usr/share/datasets" }
  return r
end

local function candidates(set, opts)
  local list = {}
  local function add(base, self)
    if self then list[#list + 1] = base end
    for _, d in ipairs(set.dirs) do list[#list + 1] = base .. "/" .. d end
  end
  if opts.path then add(opts.path, true)
  else for _, r in ipairs(data._roots()) do add(r.dir, r.self) end end
  return list
end

local function load_idx(files, set)
  local out = { classes = set.classes }
  for _, part in ipairs(IDX_PARTS) do
    local t = data.idx(files[part.key])
    if not t then error("data.load: " .. select(2, data.idx(files[part.key])), 0) end
    if part.kind == "idx3" then
      if t:dim() ~= 3 then
        error(string.format("data.load: %s holds a %d-d array, expected N×H×W images",
          files[part.key], t:dim()), 0)
      end
      local s = t.shape
      t = t:reshape(s[1], s[2], s[3], 1)              -- a view: N×H×W×1, channels last
    elseif t:dim() ~= 1 then
      error(string.format("data.load: %s holds a %d-d array, expected 1-d labels",
        files[part.key], t:dim()), 0)
    end
    out[part.key] = t
  end
  for _, s in ipairs { "train", "test" } do
    local nx, ny = out["x_" .. s].shape[1], out["y_" .. s].shape[1]
    if nx ~= ny then
      error(string.format("data.load: %s has %d images but %s has %d labels",
        files["x_" .. s], nx, files["y_" .. s], ny), 0)
    end
  end
  return out
end

local function load_cifar(files, set)
  local out = { classes = set.classes }
  for _, part in ipairs { "train", "test" } do
    local x, y = data.cifar10_batch(files[part])
    if not x then error("data.load: " .. y, 0) end
    out["x_" .. part], out["y_" .. part] = x, y
  end
  return out
end

local function sample_dir()
  for _, base in ipairs { L.source_dir .. "/datasets", L.share_dir .. "/datasets" } do
    local d = base .. "/" .. SAMPLE_DIR
    if find_idx(d) then return d end
  end
end

local function get_command(set)
  if set.format ~= "cifar" then return set.get end
  local script = L.source_dir .. "/datasets/get-cifar10"
  if not isfile(script) then script = L.share_dir .. "/datasets/get-cifar10" end
  return script
end

data.load = doc(function(name, opts)
  if type(name) ~= "string" then error("data.load: expected a data set name ('fashion_mnist', 'mnist' or 'cifar10')", 2) end
  opts = L._options(opts, "data.load", "path sample fallback quiet")
  local set = SETS[name:lower()]
  if not set then
    error("data.load: unknown data set '" .. name .. "' (known: fashion_mnist, mnist, cifar10)", 2)
  end
  local function found(out, dir, sample)
    out.name, out.path, out.sample = set.title, dir, sample or false
    return out
  end
  if not opts.sample then
    local tried = candidates(set, opts)
    for _, dir in ipairs(tried) do
      if isdir(dir) then
        if set.format == "idx" then
          local files = find_idx(dir)
          if files then return found(load_idx(files, set), dir) end
        else
          local files, d = find_cifar(dir)
          if files then return found(load_cifar(files, set), d) end
        end
      end
    end
    local what = set.format == "idx" and "train-images-idx3-ubyte(.gz) and the three other IDX files"
      or "data_batch_1.bin ... data_batch_5.bin and test_batch.bin"
    if opts.path then
      error(string.format("data.load: no %s in %s (looked for %s)", set.title, opts.path, what), 2)
    end
    if opts.fallback == false then
      error(string.format("data.load: %s not found (looked for %s in:\n  %s)\nGet it with: %s",
        set.title, what, table.concat(tried, "\n  "), get_command(set)), 2)
    end
  end
  local dir = sample_dir()
  if not dir then
    error("data.load: " .. set.title .. " not found, and the embedded sample (datasets/"
      .. SAMPLE_DIR .. ") is missing too", 2)
  end
  local out = load_idx(find_idx(dir), SETS.fashion_mnist)
  if not opts.sample and not opts.quiet then
    local n, m = out.x_train.shape[1], out.x_test.shape[1]
    local text
    if set == SETS.fashion_mnist then
      text = string.format("data.load: the full Fashion-MNIST was not found; using the embedded "
        .. "sample (%d train + %d test images). Get the full set with:", n, m)
    else
      text = string.format("data.load: %s was not found; using the embedded Fashion-MNIST sample "
        .. "instead (28x28x1 grey images, %d train + %d test, classes: clothing). Get %s with:",
        set.title, n, m, set.title)
    end
    -- the notice fits the window; the command stays whole on its own line (to copy it)
    local lines = require("lunette.help").fill(text, (L.columns()) - 1, "", "  ")
    local cmd, note = get_command(set):match("^(.-)%s%s+(%(.*)$")
    lines[#lines + 1] = "  " .. (cmd or get_command(set))
    for _, l in ipairs(note and require("lunette.help").fill((note:gsub("%s+", " ")), (L.columns()) - 1,
        "  ", "  ") or {}) do lines[#lines + 1] = l end
    print(table.concat(lines, "\n"))
  end
  local r = found(out, dir, true)
  r.name = "Fashion-MNIST sample"
  return r
end, "data.load", [[data.load(name [, {path, sample=false, fallback=true, quiet=false}])

Loads a data set: 'fashion_mnist', 'mnist' or 'cifar10'. Returns a table
{x_train, y_train, x_test, y_test, classes, name, path, sample}:
  x_*: images N×H×W×C (channels last) with pixel values 0..255 as floats
       (Fashion-MNIST/MNIST: N×28×28×1; CIFAR-10: N×32×32×3); divide by 255 to scale.
  y_*: 1-d tensors of 0-based class ids;  classes: the class names (classes[y+1]).
Search order: opts.path (the directory itself or its <name>/ subdirectory), then
$LUNETTE_DATA and $LUNETTE_DATA/<name>, datasets/<name> in the source tree and in the
install's share directory, then /usr/share/datasets/<name> (Debian's packages, e.g.
dataset-fashion-mnist). CIFAR-10 is read from the official binary files
(data_batch_1..5.bin, test_batch.bin), also inside a cifar-10-batches-bin/ directory.
When the set is missing, the embedded Fashion-MNIST sample (5,000 train + 1,000 test
images) is returned instead, with a notice giving the command that gets the full set
(fallback=false raises instead; quiet=true silences the notice; sample=true asks for
the sample directly). An explicit path that does not hold the set is an error.
Example: d = data.load('fashion_mnist'); x = d.x_train / 255; print(d.classes[d.y_train[1] + 1])]])

-- ---- pipeline helpers ----

-- A float tensor of the 1-based positions 1..n in a random order.
local function permutation(n, seed)
  local idx = tensor.arange(1, n + 1)
  local order = data.batches(idx, nil, { batch_size = n, shuffle = true, seed = seed })()
  return order:clone()
end

data.split = doc(function(x, y, fraction, opts)
  if type(y) == "number" then x, y, fraction, opts = x, nil, y, fraction end
  opts = L._options(opts, "data.split", "shuffle seed")
  if type(fraction) ~= "number" or not (fraction > 0 and fraction < 1) then
    error("data.split: fraction must be a number between 0 and 1 (exclusive)", 2)
  end
  local n = x.shape[1]
  if y and y.shape[1] ~= n then
    error(string.format("data.split: x has %d samples, y has %d", n, y.shape[1]), 2)
  end
  local at = math.floor(n * (1 - fraction))          -- Keras validation_split
  if at < 1 or at >= n then
    error(string.format("data.split: fraction %g of %d samples leaves a part empty", fraction, n), 2)
  end
  if opts.shuffle then
    local p = permutation(n, opts.seed)
    local p1, p2 = p:slice(1, 1, at), p:slice(1, at + 1, n)
    return data.take(x, p1), y and data.take(y, p1), data.take(x, p2), y and data.take(y, p2)
  end
  return x:slice(1, 1, at), y and y:slice(1, 1, at), x:slice(1, at + 1, n), y and y:slice(1, at + 1, n)
end, "data.split", [[data.split(x, y, fraction [, {shuffle=false, seed}]) → x1, y1, x2, y2

Splits samples in two; the last `fraction` of them form the second part (for validation,
like Keras's validation_split). Without shuffle the parts are views (no copy); with
shuffle=true they are copies taken in a random order (seeded by `seed` when given).
y may be nil (then y1 and y2 are nil too).
Example: xt, yt, xv, yv = data.split(d.x_train, d.y_train, 0.1)]])

data.scale = doc(function(x, s)
  if type(s) ~= "number" then error("data.scale: the factor must be a number", 2) end
  return x * s
end, "data.scale", [[data.scale(x, s) → x * s (a new tensor)

Scales every value; data.scale(x, 1/255) maps pixels 0..255 to 0..1 (what the lessons do).
Example: x = data.scale(d.x_train, 1/255)]])

local function as_stat(v)
  if type(v) == "table" then return tensor(v) end
  return v
end

data.normalize = doc(function(x, opts)
  opts = L._options(opts, "data.normalize", "mean std")
  local nd = x:dim()
  local C = x.shape[nd]
  local mean, std = as_stat(opts.mean), as_stat(opts.std)
  if mean == nil or std == nil then
    local flat = x:reshape(-1, C)
    if mean == nil then mean = flat:mean(1) end
    if std == nil then std = flat:std(1) end
  end
  if type(std) == "number" then
    std = math.max(std, 1e-7)
  else
    std = std:clone():apply(function(v) return math.max(v, 1e-7) end)
  end
  return (x - mean) / std, mean, std
end, "data.normalize", [[data.normalize(x [, {mean, std}]) → (x - mean) / std, mean, std

Standardises x per channel (its last dimension). mean and std are numbers, tables or
tensors with one value per channel; when absent they are computed from x (population
std, floored at 1e-7) and returned, so the same values can normalise the test set.
Example: xn, m, s = data.normalize(d.x_train); xt = data.normalize(d.x_test, {mean=m, std=s})]])

return data
