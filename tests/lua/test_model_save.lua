-- test_model_save.lua: model:save / nn.load: identical predictions, resumed training
-- (optimizer state), the file readable as plain safetensors, environment failures as
-- nil + message, corrupt files and architecture mismatches as clear errors.
local T = require "check"
local L = require "lunette"
local nn, optim, tensor = L.nn, L.optim, L.tensor
local st, json = L.safetensors, L.json
local tmp = (os.getenv("LUNETTE_TEST_TMP") or ".")
local created = {}
local function tmpfile(name) local p = tmp .. "/nn_save_" .. name; created[#created + 1] = p; return p end
L.seed(5)

local model = nn.Sequential {
  nn.Conv2D { filters = 4, kernel = 3, stride = 2, padding = "same", activation = "relu", input_shape = { 9, 9, 2 } },
  nn.BatchNorm(), nn.MaxPool2D { 2 }, nn.Flatten(), nn.Dense { 8, activation = "tanh" },
  nn.Dense { 3, activation = "softmax" } }
model:compile { optimizer = optim.Adam { lr = 0.01 }, loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
local x = tensor.randn(20, 9, 9, 2)
local y = (tensor.rand(20) * 3):apply(math.floor)
model:fit(x, y, { epochs = 2, batch_size = 5, verbose = 0 })

local path = tmpfile("model.safetensors")
T.check(model:save(path) == true, "save returns true")
local m2 = nn.load(path)
T.close(m2:predict(x), model:predict(x), 0, "identical predictions after load")
T.check(m2:count_params() == model:count_params(), "same parameter count")
T.check(m2.layers[1].name == "conv2d" and m2.layers[2].kind == "BatchNormalization", "names and kinds")
T.close(m2.layers[2].moving_mean, model.layers[2].moving_mean, 0, "batchnorm moving stats saved")
T.check(m2.loss == "sparse_categorical_crossentropy" and m2.optimizer.name == "Adam", "compile restored")
T.check(m2.optimizer.iterations == model.optimizer.iterations, "optimizer iterations restored")
-- resuming: the next step gives the same result on both
local l1 = model:train_on_batch(x, y)
local l2 = m2:train_on_batch(x, y)
T.close(l1, l2, 1e-6, "same loss on the next step")
T.close(m2:predict(x), model:predict(x), 1e-6, "same weights after a resumed step (optimizer state)")

-- a plain safetensors reader sees the weights and metadata
local tensors, meta = st.load(path)
T.check(tensors["1.conv2d.weight"] ~= nil and tensors["5.dense.bias"] ~= nil, "tensor names <i>.<name>.weight")
T.check(meta.lunette_format == "1", "lunette_format")
local arch = json.decode(meta.architecture)
T.check(arch.layers[1].class == "Conv2D" and arch.layers[1].filters == 4 and arch.input_shape[1] == 9, "architecture JSON")

-- environment failures: nil, message
local ok, msg = model:save("/nonexistent-dir/x.safetensors")
T.check(ok == nil and type(msg) == "string" and msg:find("nonexistent", 1, true), "unwritable path: nil, msg")
local m3, msg3 = nn.load(tmpfile("no-such-model.safetensors"))
T.check(m3 == nil and type(msg3) == "string", "missing file: nil, msg")

-- corrupt files raise clear errors
local function write(name, bytes)
  local p = tmpfile(name)
  local f = assert(io.open(p, "wb")); f:write(bytes); f:close()
  return p
end
local bytes = assert(io.open(path, "rb")):read("a")
T.raises(function() nn.load(write("trunc.safetensors", bytes:sub(1, #bytes - 10))) end, "trunc.safetensors")
T.raises(function() nn.load(write("garbage.safetensors", "not a model at all")) end, "garbage.safetensors")
-- valid safetensors but not a model
st.save(tmpfile("plain.safetensors"), { w = tensor { 1, 2 } }, { note = "x" })
T.raises(function() nn.load(tmpfile("plain.safetensors")) end, "not a Lunette model (no lunette_format in its metadata)")
-- weights that disagree with the architecture
local bad = {}
for k, v in pairs(tensors) do bad[k] = v end
bad["5.dense.weight"] = tensor.zeros(3, 8)
st.save(tmpfile("mismatch.safetensors"), bad, meta)
T.raises(function() nn.load(tmpfile("mismatch.safetensors")) end, "tensor '5.dense.weight' does not match the architecture")
local missing = {}
for k, v in pairs(tensors) do if k ~= "6.dense_1.bias" then missing[k] = v end end
st.save(tmpfile("missing.safetensors"), missing, meta)
T.raises(function() nn.load(tmpfile("missing.safetensors")) end, "missing tensor '6.dense_1.bias'")
local m4 = {}
for k, v in pairs(meta) do m4[k] = v end
m4.architecture = "{not json"
st.save(tmpfile("badarch.safetensors"), tensors, m4)
T.raises(function() nn.load(tmpfile("badarch.safetensors")) end, "corrupt architecture metadata")
m4.architecture = json.encode { input_shape = { 9, 9, 2 }, layers = { { class = "Bogus" } } }
st.save(tmpfile("bogus.safetensors"), tensors, m4)
T.raises(function() nn.load(tmpfile("bogus.safetensors")) end, "layer 1 has unknown class 'Bogus'")
m4.architecture = json.encode { input_shape = { 9, 9, 2 }, layers = { { class = "Flatten" }, { class = "Conv2D", filters = 2, kernel_size = 3 } } }
st.save(tmpfile("nofit.safetensors"), tensors, m4)
T.raises(function() nn.load(tmpfile("nofit.safetensors")) end, "architecture does not fit together")

-- ModelCheckpoint keeps the best file
local ck = tmpfile("ckpt.safetensors")
os.remove(ck)
model:fit(x, y, { epochs = 2, verbose = 0, validation_data = { x, y },
  callbacks = { nn.ModelCheckpoint { path = ck, save_best_only = true } } })
T.check(nn.load(ck) ~= nil, "checkpoint written and loadable")
for _, p in ipairs(created) do os.remove(p) end
T.done()
