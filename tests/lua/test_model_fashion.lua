-- test_model_fashion.lua: a small CNN learns a real subset of Fashion-MNIST (Debian's
-- dataset-fashion-mnist, read with data.idx) well above chance (10%) in a few seconds.
local T = require "check"
local L = require "lunette"
local nn, optim, tensor, data = L.nn, L.optim, L.tensor, L.data
local dir = "/usr/share/datasets/fashion-mnist/"
local f = io.open(dir .. "train-images-idx3-ubyte.gz", "rb")
if not (data and data.idx) or not f then
  print("NOTICE: skipped: needs data.idx and " .. dir .. " (apt-get install dataset-fashion-mnist)")
  T.check(true)
  T.done()
end
f:close()
L.seed(1)
local ntrain, ntest = 3000, 1000
local xtr = data.idx(dir .. "train-images-idx3-ubyte.gz"):slice(1, 1, ntrain):reshape(ntrain, 28, 28, 1) / 255
local ytr = data.idx(dir .. "train-labels-idx1-ubyte.gz"):slice(1, 1, ntrain)
local xte = data.idx(dir .. "t10k-images-idx3-ubyte.gz"):slice(1, 1, ntest):reshape(ntest, 28, 28, 1) / 255
local yte = data.idx(dir .. "t10k-labels-idx1-ubyte.gz"):slice(1, 1, ntest)
local model = nn.Sequential {
  nn.Conv2D { filters = 16, kernel = 3, stride = 2, activation = "relu", input_shape = { 28, 28, 1 } },
  nn.Conv2D { filters = 32, kernel = 3, stride = 2, activation = "relu" },
  nn.Flatten(), nn.Dense { 64, activation = "relu" }, nn.Dense { 10, activation = "softmax" } }
model:compile { optimizer = optim.Adam(), loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
local t0 = os.clock()
local h = model:fit(xtr, ytr, { epochs = 3, batch_size = 32, validation_split = 0.1, verbose = 0 })
local loss, acc = model:evaluate(xte, yte)
print(string.format("Fashion-MNIST subset: train %d, test accuracy %.3f, loss %.3f, val_accuracy %.3f (%.1fs CPU)",
  ntrain, acc, loss, h.history.val_accuracy[3], os.clock() - t0))
T.check(acc > 0.7, "test accuracy well above chance: " .. acc)
T.check(h.history.accuracy[3] > h.history.accuracy[1], "accuracy improves over epochs")
local pc = model:predict_classes(xte:slice(1, 1, 100))
T.check(pc:min() >= 0 and pc:max() <= 9, "predicted ids in 0..9")
T.done()
