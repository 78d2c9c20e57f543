-- accuracy_lunette.lua: the Lunette side of tests/bench/compare-accuracy (accuracy_torch.py
-- is the PyTorch side). Trains the lesson model (SPEC section 8, lesson 4 on CIFAR-10 or
-- lesson 5 on Fashion-MNIST) with model:fit, as the lessons do: pixels scaled to 0..1, Adam
-- lr 1e-3, sparse categorical cross-entropy, batch 32, a shuffle per epoch, validation on the
-- test set after each epoch. Settings come from the environment (set by compare-accuracy):
--   ACC_DATA fashion|cifar   ACC_DIR the data set's directory (data.load's opts.path)
--   ACC_SEED  ACC_EPOCHS  ACC_THREADS  ACC_TRAIN, ACC_VAL (first rows only; 0: all)
--   ACC_DROPOUT the two dropout rates (0.2, the lesson's; 0: no Dropout layers)
-- Prints "data NTRAIN NVAL", then one line per epoch: "epoch E loss L accuracy A val_loss VL val_accuracy VA sec S".
local L = require "lunette"
local optim, data = L.optim, L.data
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local models = require "models"

local function env(k, default) return os.getenv(k) or default end
local set = env("ACC_DATA", "fashion")
local seed, epochs = tonumber(env("ACC_SEED", "1")), tonumber(env("ACC_EPOCHS", "5"))
local ntrain, nval = tonumber(env("ACC_TRAIN", "0")), tonumber(env("ACC_VAL", "0"))
local rate = tonumber(env("ACC_DROPOUT", "0.2"))
L.threads(tonumber(env("ACC_THREADS", "2")))

local d = data.load(set == "cifar" and "cifar10" or "fashion_mnist",
                    { path = os.getenv("ACC_DIR") })
local function first(t, n) return (n > 0 and n < t.shape[1]) and t:slice(1, 1, n) or t end
local xt, yt = data.scale(first(d.x_train, ntrain), 1 / 255), first(d.y_train, ntrain)
local xv, yv = data.scale(first(d.x_test, nval), 1 / 255), first(d.y_test, nval)
print(string.format("data %d %d", xt.shape[1], xv.shape[1]))

L.seed(seed)
local m = models.lesson(set == "cifar" and { 32, 32, 3 } or { 28, 28, 1 }, rate)
m:compile { optimizer = optim.Adam { lr = 1e-3 }, loss = "sparse_categorical_crossentropy",
            metrics = { "accuracy" } }

local t0 = L.clock()
m:fit(xt, yt, {
  epochs = epochs, batch_size = 32, validation_data = { xv, yv }, verbose = 0,
  callbacks = { { on_epoch_end = function(epoch, logs)
    local t = L.clock()
    print(string.format("epoch %d loss %.6f accuracy %.6f val_loss %.6f val_accuracy %.6f sec %.2f",
                        epoch, logs.loss, logs.accuracy, logs.val_loss, logs.val_accuracy, t - t0))
    io.stdout:flush()
    t0 = t
  end } },
})
