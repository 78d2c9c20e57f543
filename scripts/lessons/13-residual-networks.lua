-- %% [markdown]
-- # Lesson 13: residual networks
--
-- A deep stack of convolutions trains worse than a shallow one, not because it
-- overfits but because the gradient has to pass through every layer. He et al.
-- (2016, "Deep Residual Learning") let each block learn a correction to its
-- input instead of a whole new mapping: y = relu(x + F(x)). The "x +" is a
-- skip connection: the block's input goes around its two convolutions and is
-- added back. A model with skip connections is no longer a chain of layers, so
-- nn.Sequential cannot describe it: this lesson uses the functional API,
-- where layers are called on symbolic tensors and nn.Model{inputs=, outputs=}
-- collects the graph.
--
-- With LUNETTE_QUICK=1 the lesson trains on 640 images for one epoch, to
-- check that everything runs.

-- %%
lunette = require "lunette"
tensor, nn, optim, data, plot =
  lunette.tensor, lunette.nn, lunette.optim, lunette.data, lunette.plot
QUICK = os.getenv("LUNETTE_QUICK") == "1"
lunette.seed(13)
EPOCHS = QUICK and 1 or 5
N_TRAIN = QUICK and 640 or nil
N_TEST = QUICK and 200 or nil

-- %% [markdown]
-- ## The functional API in four lines
--
-- nn.Input gives a symbolic tensor: a shape with no values. Calling a layer on
-- it returns another one; merge layers such as nn.Add take a list.

-- %%
x = nn.Input{8, 8, 4}
h = nn.Conv2D{filters = 4, kernel = 3, padding = "same", activation = "relu"}(x)
y = nn.Add()({x, h})
print(y)
--> <symbolic tensor (None, 8, 8, 4) from add>

-- %% [markdown]
-- ## A residual block
--
-- Two 3x3 convolutions with batch normalisation; the shortcut is the input
-- itself, or a 1x1 convolution with stride 2 when the block halves the map and
-- doubles the channels (the shapes must agree for the addition).

-- %%
function residual_block(x, filters, stride)
  local h = nn.Conv2D{filters = filters, kernel = 3, stride = stride, padding = "same"}(x)
  h = nn.ReLU()(nn.BatchNorm()(h))
  h = nn.BatchNorm()(nn.Conv2D{filters = filters, kernel = 3, padding = "same"}(h))
  local shortcut = x
  if stride ~= 1 then
    shortcut = nn.BatchNorm()(nn.Conv2D{filters = filters, kernel = 1, stride = stride}(x))
  end
  return nn.ReLU()(nn.Add()({h, shortcut}))
end

function resnet(input_shape)
  local inp = nn.Input(input_shape)
  local stem = nn.Conv2D{filters = 16, kernel = 3, stride = 2, padding = "same"}
  local h = nn.ReLU()(nn.BatchNorm()(stem(inp)))
  for stage, filters in ipairs{16, 32, 64} do
    h = residual_block(h, filters, stage == 1 and 1 or 2)
    h = residual_block(h, filters, 1)
  end
  local out = nn.Dense{10, activation = "softmax"}(nn.GlobalAvgPool2D()(h))
  return nn.Model{inputs = inp, outputs = out, name = "resnet14"}
end

-- %% [markdown]
-- ## The data
--
-- CIFAR-10 as in lesson 4 (data.load falls back to the Fashion-MNIST sample,
-- and says so, when CIFAR-10 is not on this machine).

-- %%
cifar = data.load("cifar10")
IS_CIFAR = cifar.x_train.shape[4] == 3
DATASET = IS_CIFAR and "CIFAR-10" or (cifar.name or "fallback data")
function first(t, n) return (n and n < t.shape[1]) and t:slice(1, 1, n) or t end
x_train = data.scale(first(cifar.x_train, N_TRAIN), 1 / 255)
y_train = first(cifar.y_train, N_TRAIN)
x_test = data.scale(first(cifar.x_test, N_TEST), 1 / 255)
y_test = first(cifar.y_test, N_TEST)
SHAPE = {x_train.shape[2], x_train.shape[3], x_train.shape[4]}
print(string.format("%s: training on %d images, validating on %d", DATASET,
                    x_train.shape[1], x_test.shape[1]))

-- %% [markdown]
-- ## The model
--
-- A stem convolution that halves the image (as ResNet's own stem does, to
-- spend the computation where the maps are small: 16x16 here), three stages
-- of two residual blocks (16, 32 and 64 filters; the second and third stages
-- start at stride 2: 16x16, 8x8, 4x4), global average pooling and the
-- softmax: 14 weight layers. The summary's "Connected to"
-- column shows the graph: each add reads the block's last batch
-- normalisation and its shortcut.

-- %%
model = resnet{32, 32, 3}
print(string.format("parameters: %d", model:count_params()))
--> parameters: 176938

-- %%
model:summary()

-- %%
print(plot.model(model))

-- %% [markdown]
-- Against the lesson 4 model (1,284,170 parameters, 92% of them in one dense
-- layer), the residual network has about 7 times fewer parameters, nearly all
-- in convolutions, and no dense layer but the last.

-- %%
if not IS_CIFAR then model = resnet(SHAPE) end
model:compile{optimizer = optim.Adam{lr = 1e-3},
              loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
t0 = lunette.clock()
history = model:fit(x_train, y_train, {epochs = EPOCHS, batch_size = 32,
                                       validation_data = {x_test, y_test}})
seconds = (lunette.clock() - t0) / EPOCHS
val = history.history.val_accuracy
assert(#val == EPOCHS, "one validation accuracy per epoch")
-- after a few steps the batch norms' moving averages have not settled yet, so quick mode
-- checks the training accuracy; a full run checks the validation accuracy
acc = QUICK and history.history.accuracy[#val] or val[#val]
assert(acc > (QUICK and 0.2 or 0.6), "accuracy should be well above chance (0.10)")

-- %% [markdown]
-- ## Residual network against the lesson 4 model
--
-- One run of each on the real settings (5 epochs of full CIFAR-10, batch 32,
-- Adam 1e-3) on a 2-core machine, under load from other work:
--
-- | model | parameters | s per epoch | val_accuracy after epochs 1 to 5 |
-- |---|---|---|---|
-- | lesson 4 | 1,284,170 | 65-83 | 0.564 0.606 0.649 0.666 0.675 |
-- | ResNet-14 | 176,938 | 167-331 | 0.494 0.576 0.656 0.659 0.674 |
--
-- The residual network matches the lesson 4 model with a seventh of its
-- parameters, nearly all of them in convolutions. It costs more per epoch: 13
-- convolutions where lesson 4 has 3, and batch normalisation keeps each batch
-- on one thread where lesson 4's layers split it over two. It
-- starts slower (batch normalisation's moving averages lag in the first epoch)
-- and is still improving after epoch 5 (training accuracy 0.74, against 0.72
-- for lesson 4, whose dropout holds it back). This run printed its own figures:

-- %%
print(string.format("%s: %.1f s per epoch, val_accuracy %.4f after %d epoch(s)",
                    DATASET, seconds, val[#val], EPOCHS))

-- %%
print(plot.history(history))
