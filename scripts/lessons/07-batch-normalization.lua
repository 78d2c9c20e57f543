-- %% [markdown]
-- # Lesson 7: batch normalisation
--
-- As a network trains, the numbers flowing out of each layer drift: their mean
-- and spread change with every update of the layers before. Each layer keeps
-- chasing a moving target, and a learning rate that suits one layer is too big
-- or too small for another. Batch normalisation (Ioffe and Szegedy, 2015)
-- re-centres and re-scales each channel over the current batch:
--
--   mean = (1/m) * sum over the batch of x
--   var  = (1/m) * sum over the batch of (x - mean)^2
--   x_hat = (x - mean) / sqrt(var + eps)
--   y = gamma * x_hat + beta
--
-- gamma and beta are learnt (starting at 1 and 0), so the network can undo the
-- normalisation where that helps. For a convolution the "batch" of a channel is
-- every position of every image in the batch. At test time there may be a single
-- image, so the layer uses running averages of the training means and variances
-- instead: moving = momentum * moving + (1 - momentum) * batch value, with
-- momentum 0.99 as in Keras.

-- %%
lunette = require "lunette"
tensor, nn, optim, data, plot = lunette.tensor, lunette.nn, lunette.optim, lunette.data, lunette.plot
QUICK = os.getenv("LUNETTE_QUICK") == "1"
function fmt(x) return string.format("%.4f", x) end

-- %% [markdown]
-- ## By hand
--
-- One feature, a batch of four values: 1, 2, 3, 4. The mean is 2.5, the
-- variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25, and with eps = 0.001
-- sqrt(1.251) = 1.1185, so x_hat = (x - 2.5) / 1.1185:
-- -1.3411, -0.4470, 0.4470, 1.3411: mean 0, standard deviation (almost) 1.

-- %%
x = tensor{{1}, {2}, {3}, {4}}
by_hand = {}
for i = 1, 4 do by_hand[i] = fmt((i - 2.5) / math.sqrt(1.25 + 1e-3)) end
print("by hand:   " .. table.concat(by_hand, " "))
bn = nn.BatchNorm{momentum = 0.99, epsilon = 1e-3}
bn:train()
y = bn:forward(x)
out = {}
for i = 1, 4 do out[i] = fmt(y:get(i, 1)) end
print("BatchNorm: " .. table.concat(out, " "))
--> by hand:   -1.3411 -0.4470 0.4470 1.3411
--> BatchNorm: -1.3411 -0.4470 0.4470 1.3411

-- %% [markdown]
-- In inference mode (layer:evaluate(), what predict and evaluate use) the
-- layer normalises with its running averages instead. After the single training
-- batch above they have only moved 1% of the way from their starting values
-- (mean 0, variance 1) towards 2.5 and 1.25, so the output is nearly the input.

-- %%
bn:evaluate()
z = bn:forward(x)
out = {}
for i = 1, 4 do out[i] = fmt(z:get(i, 1)) end
print("inference: " .. table.concat(out, " "))
--> inference: 0.9733 1.9716 2.9698 3.9681

-- %% [markdown]
-- ## Activation statistics in a CNN
--
-- Two versions of the same CNN: one plain, one with BatchNorm between each
-- convolution and its ReLU. We push a batch of 256 Fashion-MNIST images
-- through the layers one at a time (layer:forward, in training mode as during
-- fit) and print the mean and standard deviation of each layer's output.

-- %%
function cnn(with_bn)
  local layers = {nn.Input{28, 28, 1}}
  for i, f in ipairs({16, 32, 32}) do
    if with_bn then
      layers[#layers + 1] = nn.Conv2D{f, 3}
      layers[#layers + 1] = nn.BatchNorm{momentum = 0.9}
      layers[#layers + 1] = nn.ReLU()
    else
      layers[#layers + 1] = nn.Conv2D{f, 3, activation = "relu"}
    end
    if i < 3 then layers[#layers + 1] = nn.MaxPool2D{2} end      -- 28 -> 26 -> 13 -> 11 -> 5 -> 3
  end
  layers[#layers + 1] = nn.Flatten()
  layers[#layers + 1] = nn.Dense{10, activation = "softmax"}
  return nn.Sequential(layers)
end

fashion = data.load("fashion_mnist")
batch = data.scale(fashion.x_train:slice(1, 1, 256), 1 / 255)

function stats(model, title)
  print(title)
  model:predict(batch:slice(1, 1, 1))                 -- builds the weights
  local x = batch
  for _, l in ipairs(model.layers) do
    l:train()
    x = l:forward(x)
    print(string.format("  %-22s mean %7.3f   std %7.3f", l.name, x:mean(), x:std()))
    if l.name:match("^batch") then
      assert(math.abs(x:mean()) < 0.01 and x:std() > 0.8 and x:std() < 1.01,
             "BatchNorm output should have mean 0 and std close to 1")
    end
    l:evaluate()
  end
end
lunette.seed(7)
stats(cnn(false), "without batch normalisation")
lunette.seed(7)
stats(cnn(true), "with batch normalisation")

-- %% [markdown]
-- Without normalisation each layer's output has whatever scale the random
-- initial weights give it. With it, every BatchNorm output has mean 0 and a
-- standard deviation of almost 1 over the batch, whatever came before (a little
-- under 1 for channels whose variance is not much bigger than eps = 0.001:
-- sqrt(var / (var + eps)) < 1), and the ReLU after it keeps about half of the
-- values.
--
-- ## Training with and without
--
-- Plain SGD with a learning rate of 0.1 and no momentum, the setting where
-- batch normalisation helps most. (Full run: 10,000 images, 5 epochs;
-- LUNETTE_QUICK=1: 2,000 images, 2 epochs.)
--
-- One trap: validation uses the running averages, and with Keras's default
-- momentum of 0.99 they need several hundred batches to forget their starting
-- values (0.99^300 = 0.05). On a short run like this one the validation
-- accuracy of the BatchNorm model would then look bad although training went
-- well. We use momentum = 0.9 (0.9^30 = 0.04) so the averages keep up.

-- %%
N_TRAIN = QUICK and 2000 or 10000
EPOCHS = QUICK and 2 or 5
x_train = data.scale(fashion.x_train:slice(1, 1, N_TRAIN), 1 / 255)
y_train = fashion.y_train:slice(1, 1, N_TRAIN)
x_val = data.scale(fashion.x_test:slice(1, 1, 2000), 1 / 255)
y_val = fashion.y_test:slice(1, 1, 2000)
runs = {}
for _, with_bn in ipairs({false, true}) do
  lunette.seed(70)
  local m = cnn(with_bn)
  m:compile{optimizer = optim.SGD{lr = 0.1}, loss = "sparse_categorical_crossentropy",
            metrics = {"accuracy"}}
  runs[with_bn] = m:fit(x_train, y_train, {epochs = EPOCHS, batch_size = 32, verbose = 0,
                                           validation_data = {x_val, y_val}}).history
end
for e = 1, EPOCHS do
  print(string.format("epoch %d   val_accuracy without %.3f   with %.3f", e,
                      runs[false].val_accuracy[e], runs[true].val_accuracy[e]))
end
assert(runs[true].val_accuracy[EPOCHS] > (QUICK and 0.5 or 0.75), "the BatchNorm model should learn")

-- %%
print(plot.lines({["val_accuracy without BN"] = runs[false].val_accuracy,
                  ["val_accuracy with BN"] = runs[true].val_accuracy,
                  ["loss without BN"] = runs[false].loss, ["loss with BN"] = runs[true].loss},
                 {title = "batch normalisation", xlabel = "epoch"}))
