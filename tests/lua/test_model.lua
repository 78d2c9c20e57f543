-- test_model.lua: nn.Sequential: parameter counts and summaries from shapes alone (the
-- lesson models, VGG16, a 154-million-weight dense layer: nothing allocated), training
-- on a separable synthetic task, history, validation, callbacks, interrupt handling,
-- NaN reporting, and the error messages of bad calls.
local T = require "check"
local L = require "lunette"
local nn, optim, tensor = L.nn, L.optim, L.tensor
L.seed(11)

local function lesson(h, w, c)
  return nn.Sequential {
    nn.Conv2D { filters = 32, kernel = 3, stride = 2, activation = "relu", input_shape = { h, w, c } },
    nn.Conv2D { filters = 64, kernel = 3, stride = 2, activation = "relu" },
    nn.Conv2D { filters = 128, kernel = 3, stride = 2, activation = "relu" },
    nn.Flatten(), nn.Dropout(0.2), nn.Dense { 1024, activation = "relu" }, nn.Dropout(0.2),
    nn.Dense { 10, activation = "softmax" } }
end

local cifar = lesson(32, 32, 3)
T.check(cifar:count_params() == 1284170, "CIFAR lesson model 1,284,170")
T.check(lesson(28, 28, 1):count_params() == 628234, "Fashion-MNIST lesson model 628,234")
local s = cifar:summary_text()
T.check(s:find("conv2d (Conv2D)", 1, true) and s:find("conv2d_1 (Conv2D)", 1, true), "Keras names")
T.check(s:find("(None, 15, 15, 32)", 1, true) and s:find("(None, 1152)", 1, true), "output shapes")
T.check(s:find("Total params: 1,284,170 (4.90 MB)", 1, true), "total line: " .. s)
T.check(s:find("Trainable params: 1,284,170", 1, true) and s:find("Non-trainable params: 0", 1, true), "trainable lines")
T.check(s:find("Layer (type)", 1, true) and s:find("Param #", 1, true) and s:find("Output Shape", 1, true), "header")
T.check(not cifar.layers[6].built, "summary allocates nothing")

-- VGG16 (13 convolutions + 3 dense) and the lesson-2 dense layer, never allocated
local vgg = nn.Sequential { nn.Input { 224, 224, 3 } }
for _, b in ipairs { { 64, 2 }, { 128, 2 }, { 256, 3 }, { 512, 3 }, { 512, 3 } } do
  for _ = 1, b[2] do vgg:add(nn.Conv2D { filters = b[1], kernel = 3, padding = "same", activation = "relu" }) end
  vgg:add(nn.MaxPool2D { 2 })
end
vgg:add(nn.Flatten()); vgg:add(nn.Dense { 4096, activation = "relu" })
vgg:add(nn.Dense { 4096, activation = "relu" }); vgg:add(nn.Dense { 1000, activation = "softmax" })
T.check(vgg:count_params() == 138357544, "VGG16 138,357,544")
T.check(vgg:summary_text():find("Total params: 138,357,544", 1, true), "VGG16 summary")
for _, l in ipairs(vgg.layers) do T.check(not l.built, "VGG16 layer not allocated: " .. l.name) end
local big = nn.Sequential { nn.Dense { 28 * 28 * 64, use_bias = false, input_shape = { 32 * 32 * 3 } } }
T.check(big:count_params() == 154140672, "154,140,672-weight dense layer counted")
T.check(not big.layers[1].built, "and not allocated")

-- BatchNorm counts its moving statistics as non-trainable (as Keras)
local bnm = nn.Sequential { nn.Dense { 8, input_shape = { 4 } }, nn.BatchNorm(), nn.Dense { 1 } }
T.check(bnm:count_params() == 40 + 32 + 9, "batchnorm params")
T.check(bnm:summary_text():find("Non-trainable params: 16", 1, true), "non-trainable moving stats")

-- a separable task: class = which quadrant holds the bright square
local function make(n)
  local x, y = tensor.rand(n, 8, 8, 1) * 0.2, tensor.zeros(n)
  for i = 1, n do
    local k = (i - 1) % 4
    local r0, c0 = (k // 2) * 4, (k % 2) * 4
    for r = r0 + 2, r0 + 3 do for c = c0 + 2, c0 + 3 do x:set(i, r, c, 1, 1) end end
    y:set(i, k)
  end
  return x, y
end
local x, y = make(256)
local xv, yv = make(64)
local model = nn.Sequential {
  nn.Conv2D { filters = 8, kernel = 3, padding = "same", activation = "relu", input_shape = { 8, 8, 1 } },
  nn.MaxPool2D { 2 }, nn.Flatten(), nn.Dense { 16, activation = "relu" }, nn.Dense { 4, activation = "softmax" } }
T.raises(function() model:fit(x, y) end, "fit: the model is not compiled: call model:compile")
model:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
-- an optimizer replaced by hand is checked by name (C said "bad argument #4 to '?'")
do
  local o = model.optimizer
  model.optimizer = "adam"
  T.raises(function() model:train_on_batch(x, y) end, "train_on_batch: model.optimizer must be an optimizer (such as optim.Adam{lr=1e-3}), got 'adam' (a string)")
  model.optimizer = nil
  T.raises(function() model:fit(x, y, { verbose = 0 }) end, "fit: model.optimizer must be an optimizer (such as optim.Adam{lr=1e-3}), got nil")
  model.optimizer = o
end
local epochs_seen, batches = {}, 0
local h = model:fit(x, y, { epochs = 4, batch_size = 32, validation_data = { xv, yv }, verbose = 0,
  callbacks = { function(e, logs) epochs_seen[#epochs_seen + 1] = e; T.check(logs.loss ~= nil, "logs") end,
                { on_batch_end = function() batches = batches + 1 end } } })
T.check(#h.history.loss == 4 and #h.history.accuracy == 4 and #h.history.val_loss == 4 and #h.history.val_accuracy == 4, "history")
T.check(#epochs_seen == 4 and epochs_seen[4] == 4 and batches == 32, "epoch and batch callbacks")
T.check(h.history.loss[4] < h.history.loss[1], "loss decreases")
T.check(h.history.val_accuracy[4] > 0.9, "learns the task: val_accuracy " .. h.history.val_accuracy[4])
local loss, acc = model:evaluate(xv, yv)
T.close(loss, h.history.val_loss[4], 1e-5, "evaluate = last val_loss")
T.check(acc > 0.9, "evaluate accuracy")
local pc = model:predict_classes(xv)
T.check(pc.shape[1] == 64 and pc:get(1) == 0 and pc:get(2) == 1, "predict_classes: 0-based ids")
T.check(model:predict(xv[1]).shape[1] == 1, "predict accepts one sample")
T.check(model:predict(xv, { batch_size = 7 }).shape[1] == 64, "predict in batches")
local l1 = model:train_on_batch(x:slice(1, 1, 32), y:slice(1, 1, 32))
T.check(type(l1) == "number" and l1 < 1, "train_on_batch returns the loss")

-- validation_split: the last fraction (as Keras)
local hs = model:fit(x, y, { epochs = 1, validation_split = 0.25, verbose = 0 })
T.check(hs.params.steps == 6 and #hs.history.val_loss == 1, "validation_split uses the last 25%")

-- progress output when stdout is not a terminal: one line per epoch, Keras layout
local out = {}
local real_print = print
print = function(...) out[#out + 1] = table.concat({ ... }, "\t") end
local ok_fit, err_fit = pcall(model.fit, model, x, y, { epochs = 2, validation_data = { xv, yv } })
print = real_print
T.check(ok_fit, tostring(err_fit))
T.check(out[1] == "Epoch 1/2" and out[3] == "Epoch 2/2", "epoch headers")
-- 80 columns in a pipe: the metrics that do not fit continue on indented lines
local joined = out[2] and out[2]:gsub("\n  %- ", " - ")
T.check(joined and joined:match("^8/8 %S+ %d+s %d+[mu]?s/step %- accuracy: %d%.%d%d%d%d %- loss: %d%.%d%d%d%d %- val_accuracy: %d%.%d%d%d%d %- val_loss: %d%.%d%d%d%d$"),
  "progress line: " .. tostring(out[2]))
local widest = 0
for l in ((out[2] or "") .. "\n"):gmatch("([^\n]*)\n") do widest = math.max(widest, utf8.len(l)) end
T.check(out[2] and out[2]:find("\n", 1, true) and widest < 80, "the epoch's line fits 80 columns")

-- EarlyStopping: accuracy cannot improve past 1 → stops after patience
local es = nn.EarlyStopping { monitor = "val_accuracy", patience = 1, restore_best_weights = true }
local he = model:fit(x, y, { epochs = 20, validation_data = { xv, yv }, verbose = 0, callbacks = { es } })
T.check(#he.history.loss < 20, "early stopping stopped after " .. #he.history.loss)

-- interrupt at a batch boundary: history so far, model usable
out = {}
print = function(...) out[#out + 1] = table.concat({ ... }, "\t") end
local hi = model:fit(x, y, { epochs = 3, verbose = 0, callbacks = { { on_batch_end = function(b)
  if b == 2 then error("interrupted") end end } } })
print = real_print
T.check(hi.interrupted and #hi.history.loss == 0, "interrupted fit returns the history so far")
T.check(out[#out] == "Interrupted at epoch 1, batch 2", "interrupt message: " .. tostring(out[#out]))
T.check(model:evaluate(xv, yv) < 1, "model intact after interrupt")
T.check(L.interrupted("interrupted") and L.interrupted("stdin:1: interrupted") and not L.interrupted("x"), "lunette.interrupted")

-- a NaN loss stops fit naming epoch and batch
local nanm = nn.Sequential { nn.Dense { 4, activation = "softmax", input_shape = { 64 } } }
nanm:compile { optimizer = optim.SGD { lr = 0.1 }, loss = "sparse_categorical_crossentropy" }
nanm:predict(tensor.zeros(1, 64))
nanm.layers[1].bias = tensor { 0 / 0, 0, 0, 0 }
T.raises(function() nanm:fit(x:reshape(256, 64), y, { verbose = 0 }) end,
  "the loss is nan at epoch 1, batch 1; try a lower learning rate")
do -- the message carries the caller's position once (fit re-raises what its loop raised)
  local ok, err = pcall(function() nanm:fit(x:reshape(256, 64), y, { verbose = 0 }) end)
  local _, n = tostring(err):gsub("test_model%.lua:%d+: ", "")
  T.check(not ok and n == 1, "one position prefix: " .. tostring(err))
end

-- bad input
T.raises(function() model:fit(tensor.zeros(4, 8, 8, 3), tensor.zeros(4), { verbose = 0 }) end,
  "conv2d (Conv2D): expected input of shape (None, 8, 8, 1), got 4x8x8x3")
T.raises(function() model:predict(tensor.zeros(2, 9, 9, 1)) end, "expected input of shape (None, 8, 8, 1), got 2x9x9x1")
T.raises(function() model:fit(x, y + 4, { verbose = 0 }) end, "is out of range 0..3 (the model has 4 outputs)")
T.raises(function() model:train_on_batch(x:slice(1, 1, 2), tensor { 0.5, 1 }) end, "label 0.5 at position 1 is not an integer class id")
T.raises(function() model:fit(x, y:slice(1, 1, 10), { verbose = 0 }) end, "fit: x has 256 samples but y has 10")
T.raises(function() model:fit({}, {}) end, "empty table")
T.raises(function() model:fit(x, y, { validation_split = 0.001, verbose = 0 }) end, "leaves no validation data")
T.raises(function() model:compile { optimizer = "adamw", loss = "mse" } end, "unknown optimizer 'adamw'")
T.raises(function() model:compile { optimizer = "adam", loss = "hinge" } end, "unknown loss 'hinge'")
T.raises(function() model:add(tensor.zeros(2)) end, "Sequential:add: expected a layer")
T.raises(function() nn.Sequential { nn.Dense { 3 } }:summary() end, "the input shape is unknown")
T.raises(function() nn.Sequential { nn.Dense { 3, input_shape = { 4 } }, nn.Conv2D { filters = 2, kernel = 3 } }:summary() end,
  "conv2d (Conv2D): expects input N×H×W×C, got a sample of shape 3")

-- sequences (lesson 8): Embedding + Conv1D + GlobalMaxPool1D, binary cross-entropy
local seqx, seqy = tensor.zeros(64, 12), tensor.zeros(64, 1)
for i = 1, 64 do
  for j = 1, 12 do seqx:set(i, j, (i * 7 + j * 3) % 9) end
  if i % 2 == 0 then seqx:set(i, 1 + i % 10, 9); seqx:set(i, 2 + i % 10, 9); seqy:set(i, 1, 1) end
end
local sm = nn.Sequential { nn.Embedding { 10, 8, input_shape = { 12 } }, nn.Conv1D { filters = 8, kernel = 2, activation = "relu" },
  nn.GlobalMaxPool1D(), nn.Dense { 1, activation = "sigmoid" } }
T.check(sm:count_params() == 80 + 136 + 9, "embedding + conv1d params")
sm:compile { optimizer = optim.Adam { lr = 0.02 }, loss = "binary_crossentropy", metrics = { "accuracy" } }
local hseq = sm:fit(seqx, seqy, { epochs = 15, batch_size = 16, verbose = 0 })
T.check(hseq.history.accuracy[15] > 0.9, "sequence classifier learns: " .. hseq.history.accuracy[15])
local pcs = sm:predict_classes(seqx)
T.check(pcs:get(2) == 1 and pcs:get(1) == 0, "binary predict_classes")

-- losses as objects
local cce = nn.loss("categorical_crossentropy")
T.close(cce:forward(tensor { { 0.05, 0.95, 0 }, { 0.1, 0.8, 0.1 } }, tensor { { 0, 1, 0 }, { 0, 0, 1 } }), 1.1769392, 1e-5, "cce object")
T.close(nn.loss("mse"):backward(tensor { { 1, 2 } }, tensor { { 0, 2 } }), tensor { { 1, 0 } }, 1e-7, "mse gradient")
T.raises(function() nn.loss("sparse_categorical_crossentropy"):forward(tensor { { 0.5, 0.5 } }, tensor { 2 }) end,
  "label 2 at position 1 is out of range 0..1")
T.done()
