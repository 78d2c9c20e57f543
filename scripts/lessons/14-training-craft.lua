-- %% [markdown]
-- # Lesson 14: training craft
--
-- Four things practitioners do once a model trains at all: reuse a trained
-- network for a new task (transfer learning, with frozen layers), keep the
-- weights small (weight decay and L2 regularisation), change the learning rate
-- during training (a schedule), and pick the learning rate to begin with
-- (Smith's range test, lr_find). Each with a plot.
--
-- With LUNETTE_QUICK=1 the lesson trains on a few hundred to a few thousand
-- images for one or two epochs, to check that everything runs.

-- %%
lunette = require "lunette"
tensor, nn, optim, data, plot =
  lunette.tensor, lunette.nn, lunette.optim, lunette.data, lunette.plot
QUICK = os.getenv("LUNETTE_QUICK") == "1"
lunette.seed(14)
fashion = data.load("fashion_mnist")

-- The images whose class is in lo..hi (at most n of them), scaled to [0, 1], with
-- the labels renumbered from 0: two 5-class tasks out of one 10-class data set.
function task(x, y, lo, hi, n)
  local pos, labels = {}, {}
  for i, c in ipairs(y:totable()) do
    if c >= lo and c <= hi and (not n or #pos < n) then
      pos[#pos + 1] = i
      labels[#labels + 1] = c - lo
    end
  end
  return data.scale(data.take(x, pos), 1 / 255), tensor(labels)
end

xa, ya = task(fashion.x_train, fashion.y_train, 0, 4, QUICK and 1000 or nil)
xb, yb = task(fashion.x_train, fashion.y_train, 5, 9, QUICK and 200 or 500)
xb_test, yb_test = task(fashion.x_test, fashion.y_test, 5, 9, QUICK and 300 or nil)
print(string.format("task A (%s ... %s): %d images; task B (%s ... %s): %d images, %d to test",
  fashion.classes[1], fashion.classes[5], xa.shape[1], fashion.classes[6], fashion.classes[10],
  xb.shape[1], xb_test.shape[1]))

-- %% [markdown]
-- ## Transfer learning
--
-- Task A is the clothes (T-shirt, trouser, pullover, dress, coat), task B the
-- shoes and bags (sandal, shirt, sneaker, bag, ankle boot), with only a few
-- hundred labelled images. A convolutional base trained on A has learned edges,
-- textures and shapes that B needs too. We train base + head on A, then freeze
-- the base (trainable = false: its weights no longer change and count as
-- non-trainable) and train a new head on B.

-- %%
function conv_base()
  return nn.Sequential{
    nn.Input{28, 28, 1},
    nn.Conv2D{filters = 16, kernel = 3, activation = "relu"}, nn.MaxPool2D{2},
    nn.Conv2D{filters = 32, kernel = 3, activation = "relu"}, nn.MaxPool2D{2},
    nn.Flatten()}
end
base = conv_base()
model_a = nn.Sequential{base, nn.Dense{units = 5, activation = "softmax"}}
model_a:compile{optimizer = optim.Adam{lr = 1e-3}, loss = "sparse_categorical_crossentropy",
                metrics = {"accuracy"}}
h_a = model_a:fit(xa, ya, {epochs = QUICK and 1 or 3, batch_size = 32, verbose = 0})
print(string.format("task A: accuracy %.3f after %d epoch(s)", h_a.history.accuracy[#h_a.history.accuracy],
  #h_a.history.accuracy))

-- %%
base.trainable = false
print(base.trainable, base.layers[1].trainable)
--> false	false

-- %%
model_b = nn.Sequential{base, nn.Dense{units = 5, activation = "softmax"}}
model_b:compile{optimizer = optim.Adam{lr = 1e-3}, loss = "sparse_categorical_crossentropy",
                metrics = {"accuracy"}}
model_b:summary()
--> Model: "sequential"
--> __________________________________________________________________________
-->  Layer (type)                     Output Shape                    Param #
--> ==========================================================================
-->  conv2d (Conv2D)                  (None, 26, 26, 16)                  160
--> __________________________________________________________________________
-->  max_pooling2d (MaxPool2D)        (None, 13, 13, 16)                    0
--> __________________________________________________________________________
-->  conv2d_1 (Conv2D)                (None, 11, 11, 32)                4,640
--> __________________________________________________________________________
-->  max_pooling2d_1 (MaxPool2D)      (None, 5, 5, 32)                      0
--> __________________________________________________________________________
-->  flatten (Flatten)                (None, 800)                           0
--> __________________________________________________________________________
-->  dense (Dense)                    (None, 5)                         4,005
--> ==========================================================================
-->  Total params: 8,805 (34.39 KB)
-->  Trainable params: 4,005 (15.64 KB)
-->  Non-trainable params: 4,800 (18.75 KB)

-- %% [markdown]
-- The same head on a new base trained from scratch, on the same few B images,
-- for comparison. The frozen base's weights must come out of training
-- unchanged, bit for bit.

-- %%
kernel_before = model_b.layers[1].weight:clone()
EPOCHS_B = QUICK and 2 or 10
h_b = model_b:fit(xb, yb, {epochs = EPOCHS_B, batch_size = 32, verbose = 0,
                           validation_data = {xb_test, yb_test}})
assert((model_b.layers[1].weight - kernel_before):abs():max() == 0, "the frozen base did not move")
scratch = nn.Sequential{conv_base(), nn.Dense{units = 5, activation = "softmax"}}
scratch:compile{optimizer = optim.Adam{lr = 1e-3}, loss = "sparse_categorical_crossentropy",
                metrics = {"accuracy"}}
h_s = scratch:fit(xb, yb, {epochs = EPOCHS_B, batch_size = 32, verbose = 0,
                           validation_data = {xb_test, yb_test}})
transfer_acc = h_b.history.val_accuracy[EPOCHS_B]
print(string.format("task B, val_accuracy after %d epochs: frozen base from A %.3f, from scratch %.3f",
  EPOCHS_B, transfer_acc, h_s.history.val_accuracy[EPOCHS_B]))
assert(transfer_acc > (QUICK and 0.4 or 0.8), "the transferred base should help (chance is 0.2)")

-- %%
print(plot.lines({transfer = h_b.history.val_accuracy, scratch = h_s.history.val_accuracy},
                 {title = "Task B: validation accuracy", xlabel = "epoch"}))

-- %% [markdown]
-- One full run (3 epochs on the 30,000 images of task A; then 10 epochs on 500
-- images of task B, validated on its 5,000 test images): the frozen base
-- reaches 0.919 where the same network from scratch reaches 0.906, and it gets
-- there sooner (the curves above are from this run's settings): the head only
-- has to learn which of the base's features tell shoes from bags. With more
-- labelled B images the difference shrinks; with fewer it grows.

-- %% [markdown]
-- ## Weight decay and the size of the weights
--
-- Large weights make a network's output swing with small changes of its input:
-- it fits noise. Two remedies. L2 regularisation adds l2·Σw² to the loss
-- (kernel_regularizer = nn.l2(x): its gradient 2·l2·w joins every step, and the
-- progress line's loss includes the penalty, as in Keras). Decoupled weight
-- decay (AdamW, Loshchilov & Hutter) shrinks the weights directly,
-- w -= lr·wd·w, outside Adam's normalisation, which would otherwise scale the
-- L2 gradient down with the rest. Either way biases are left alone. Here the
-- same model trains three times; after each epoch a callback measures the norm
-- of all the kernels.

-- %%
xw, yw = task(fashion.x_train, fashion.y_train, 0, 4, QUICK and 640 or 10000)
EPOCHS_W = QUICK and 2 or 6
function kernel_norm(model)
  local s = 0
  for _, l in ipairs(model.layers) do
    local w = l.weight
    if w and w:dim() >= 2 then s = s + (w * w):sum() end
  end
  return math.sqrt(s)
end
function norms_while_training(reg, opt)
  lunette.seed(140)
  local m = nn.Sequential{nn.Input{28, 28, 1},
    nn.Conv2D{filters = 16, kernel = 3, activation = "relu", kernel_regularizer = reg}, nn.MaxPool2D{2},
    nn.Flatten(), nn.Dense{units = 64, activation = "relu", kernel_regularizer = reg},
    nn.Dense{units = 5, activation = "softmax"}}
  m:compile{optimizer = opt, loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
  local norms = {kernel_norm(m)}
  local h = m:fit(xw, yw, {epochs = EPOCHS_W, batch_size = 32, verbose = 0, callbacks = {
    function(epoch, logs, model) norms[#norms + 1] = kernel_norm(model) end}})
  return norms, h.history.accuracy[EPOCHS_W]
end
n_none, acc_none = norms_while_training(nil, optim.Adam{lr = 1e-3})
n_l2, acc_l2 = norms_while_training(nn.l2(1e-3), optim.Adam{lr = 1e-3})
n_wd, acc_wd = norms_while_training(nil, optim.AdamW{lr = 1e-3, weight_decay = 0.5})
print(string.format("kernel norm after %d epochs: Adam %.2f (accuracy %.3f), Adam + l2 %.2f (%.3f), AdamW %.2f (%.3f)",
  EPOCHS_W, n_none[#n_none], acc_none, n_l2[#n_l2], acc_l2, n_wd[#n_wd], acc_wd))
assert(n_wd[#n_wd] < n_none[#n_none] and n_l2[#n_l2] < n_none[#n_none], "decay keeps the weights smaller")

-- %%
print(plot.lines({Adam = n_none, ["Adam + l2(1e-3)"] = n_l2, ["AdamW wd=0.5"] = n_wd},
                 {title = "Norm of the kernels", xlabel = "epoch", start = 0}))

-- %% [markdown]
-- In one full run (6 epochs on 10,000 images) the kernels' norm grew from about
-- 12 to 23.3 under plain Adam, stayed at 8.9 with nn.l2(1e-3) and reached 16.3
-- with AdamW's decay of 0.5, for training accuracies of 0.935, 0.911 and
-- 0.913: the smaller weights fit the training set less closely, which is the
-- point when the test set differs from it.

-- %% [markdown]
-- ## A learning-rate schedule
--
-- A rate that suits the start of training is too large at the end, where the
-- steps should settle into a minimum. optim.schedules gives the rate as a
-- function of the step: here Smith's one-cycle policy (warm up from
-- max_lr/25 to max_lr over 30% of the steps, then anneal to almost 0), given
-- to the optimizer as its lr. The history records each epoch's rate, and
-- plot.history draws it next to the loss.

-- %%
oc = optim.schedules.OneCycle{max_lr = 0.01, total_steps = 101}
print(oc(0), oc(29.3), oc(100))
print(optim.Adam{lr = oc})
--> 0.0004	0.01	4e-08
--> Adam(lr=OneCycle(max_lr=0.01, total_steps=101, pct_start=0.3, div_factor=25, final_div_factor=10000), iterations=0)

-- %%
EPOCHS_S = QUICK and 2 or 6
steps = EPOCHS_S * math.ceil(xw.shape[1] / 32)
one_cycle = optim.schedules.OneCycle{max_lr = 3e-3, total_steps = steps}
print(one_cycle)
curve = {}
for s = 0, steps - 1, math.max(1, steps // 200) do curve[#curve + 1] = one_cycle(s) end
print(plot.lines({lr = curve}, {title = "OneCycle: rate against step", xlabel = "step",
                                step = math.max(1, steps // 200)}))

-- %%
lunette.seed(141)
model_s = nn.Sequential{conv_base(), nn.Dense{units = 5, activation = "softmax"}}
model_s:compile{optimizer = optim.Adam{lr = one_cycle}, loss = "sparse_categorical_crossentropy",
                metrics = {"accuracy"}}
h_sched = model_s:fit(xw, yw, {epochs = EPOCHS_S, batch_size = 32, verbose = 0})
assert(h_sched.history.lr[1] == one_cycle(0), "the history records the rate of each epoch's first step")
print(plot.history(h_sched))

-- %% [markdown]
-- ## Finding a learning rate: lr_find
--
-- Smith's range test trains for one short sweep while the rate grows
-- exponentially from 1e-7 to 10, and records the (smoothed) loss. The loss
-- stays flat while the rate is too small to matter, falls where training
-- works, and explodes when the rate is too large; the sweep stops there and
-- puts the model back as it was. A good rate lies where the loss falls
-- fastest, about a tenth of the rate at the lowest loss (the suggestion).

-- %%
lunette.seed(142)
fresh = nn.Sequential{conv_base(), nn.Dense{units = 5, activation = "softmax"}}
fresh:compile{optimizer = optim.Adam(), loss = "sparse_categorical_crossentropy"}
found = nn.lr_find(fresh, xw, yw, {steps = QUICK and 40 or 100, batch_size = 32})
print(found)
assert(found.suggestion > 1e-6 and found.suggestion < 1, "a plausible rate")
