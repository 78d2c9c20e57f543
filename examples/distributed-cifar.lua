-- examples/distributed-cifar.lua: the CIFAR-10 lesson model (lesson 4) trained on
-- several processes. Run it with
--     mpirun -np 2 lunette examples/distributed-cifar.lua [-- EPOCHS [N_TRAIN]]
-- (as root add --allow-run-as-root; across machines: mpirun --hostfile hosts -np 8 ...,
-- or srun under Slurm). The script is the same one would write for one process: fit is
-- data-parallel when lunette.dist.size() > 1. batch_size is the global batch: each rank
-- computes its share of every batch of 32; the gradients are summed across ranks so the
-- weights are those one process would get. Rank 0 alone prints progress and saves.
-- CIFAR-10 is read from $LUNETTE_DATA (see lesson 4); without it, data.load falls back
-- to the Fashion-MNIST sample.
local lunette = require "lunette"
local nn, optim, data, dist = lunette.nn, lunette.optim, lunette.data, lunette.dist

local EPOCHS = tonumber(arg and arg[1]) or 2
local N_TRAIN = tonumber(arg and arg[2])          -- nil: all 50,000
lunette.seed(4)

local cifar = data.load("cifar10")
local function first(t, n) return (n and n < t.shape[1]) and t:slice(1, 1, n) or t end
local x_train = data.scale(first(cifar.x_train, N_TRAIN), 1 / 255)
local y_train = first(cifar.y_train, N_TRAIN)
local x_test = data.scale(cifar.x_test, 1 / 255)
local y_test = cifar.y_test
local shape = { x_train.shape[2], x_train.shape[3], x_train.shape[4] }

local model = nn.Sequential {
  nn.Input(shape),
  nn.Conv2D { 32, 3, stride = 2, activation = "relu" },
  nn.Conv2D { 64, 3, stride = 2, activation = "relu" },
  nn.Conv2D { 128, 3, stride = 2, activation = "relu" },
  nn.Flatten(),
  nn.Dropout(0.2),
  nn.Dense { 1024, activation = "relu" },
  nn.Dropout(0.2),
  nn.Dense { 10, activation = "softmax" },
}
model:compile { optimizer = optim.Adam(), loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }

dist.print0(string.format("%s: %d training images, %d test images, %d process%s (%d thread%s each)",
  cifar.name or "CIFAR-10", x_train.shape[1], x_test.shape[1], dist.size(), dist.size() == 1 and "" or "es",
  lunette.threads(), lunette.threads() == 1 and "" or "s"))
local t0 = lunette.clock()
model:fit(x_train, y_train, { epochs = EPOCHS, batch_size = 32, validation_data = { x_test, y_test } })
local loss, acc = model:evaluate(x_test, y_test)      -- each rank evaluates its share
dist.print0(string.format("test accuracy %.4f, loss %.4f, %.1f s", acc, loss, lunette.clock() - t0))
model:save("distributed-cifar.safetensors")          -- rank 0 writes the one file
dist.print0("saved distributed-cifar.safetensors")
