-- %% [markdown]
-- # Lesson 15: what the network looks at
--
-- A trained CNN answers "Sneaker, 93%", but not why. Two classic pictures of
-- the why are computed from gradients:
--
-- * a saliency map (Simonyan et al. 2014): how much the class score changes
--   when one input pixel changes, |d score / d pixel|: the pixels the answer
--   is most sensitive to;
-- * Grad-CAM (Selvaraju et al. 2017): the gradient of the class score with
--   respect to a convolution's feature maps, averaged over each map, says how
--   much each map matters for that class; the maps weighted by it, summed and
--   cut at zero (ReLU) show where in the image that evidence lies.
--
-- Both take the class score BEFORE the softmax (the logit): after it, the
-- scores of all classes compete and the picture mixes them. The second half of
-- the lesson watches a network's health while it trains: dead ReLU units,
-- activation statistics, gradient norms and the size of each update relative
-- to the weights, which tell a learning rate that is too high long before the
-- accuracy curve does.
--
-- We use lesson 5's model on Fashion-MNIST. With LUNETTE_QUICK=1 the lesson
-- trains on 2,000 images for one epoch, to check that everything runs.

-- %%
lunette = require "lunette"
tensor, nn, optim, data, plot, metrics =
  lunette.tensor, lunette.nn, lunette.optim, lunette.data, lunette.plot, lunette.metrics
QUICK = os.getenv("LUNETTE_QUICK") == "1"
lunette.seed(15)
EPOCHS = QUICK and 1 or 3
N_TRAIN = QUICK and 2000 or nil          -- nil: all of them
N_TEST = QUICK and 500 or nil

fashion = data.load("fashion_mnist")
function first(t, n) return (n and n < t.shape[1]) and t:slice(1, 1, n) or t end
x_train = data.scale(first(fashion.x_train, N_TRAIN), 1 / 255)
y_train = first(fashion.y_train, N_TRAIN)
x_test = data.scale(first(fashion.x_test, N_TEST), 1 / 255)
y_test = first(fashion.y_test, N_TEST)
classes = fashion.classes

-- %% [markdown]
-- ## Lesson 5's model, trained with its health monitored
--
-- fit{monitor=true} has the engine measure every layer on every 4th batch
-- (a few per cent of the training time) and keeps each epoch's means in
-- history.health; with dashboard=true they also appear as a live panel.

-- %%
function lesson_model(input_shape)
  return nn.Sequential{
    nn.Input(input_shape),
    nn.Conv2D{32, 3, stride = 2, activation = "relu"},
    nn.Conv2D{64, 3, stride = 2, activation = "relu"},
    nn.Conv2D{128, 3, stride = 2, activation = "relu"},
    nn.Flatten(),
    nn.Dropout(0.2),
    nn.Dense{1024, activation = "relu"},
    nn.Dropout(0.2),
    nn.Dense{10, activation = "softmax"},
  }
end
model = lesson_model{28, 28, 1}
model:compile{optimizer = optim.Adam{lr = 1e-3},
              loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
history = model:fit(x_train, y_train, {epochs = EPOCHS, batch_size = 32, monitor = true,
                                       validation_data = {x_test, y_test}})

-- %% [markdown]
-- history.health[e] lists each layer with the fraction of its ReLU units that
-- never fired on a batch (dead), the mean and spread of its outputs, the norm
-- of its gradient and the update-to-weight ratio ||step|| / ||weights||.
-- Karpathy's rule of thumb: about 1e-3 is healthy; 1e-2 and above means the
-- learning rate is too high, 1e-5 and below too low.

-- %%
function health_table(h)
  for _, r in ipairs(h) do
    if r.grad_norm then
      print(string.format("%-9s dead %3.0f%%  activation %.3f +- %.3f  update/weight %.1e",
        r.name, 100 * (r.dead or 0), r.mean, r.std, r.update_ratio))
    end
  end
end
health_table(history.health[#history.health])
for _, r in ipairs(history.health[#history.health]) do
  if r.update_ratio then assert(r.update_ratio < 2e-2, r.name .. ": a healthy run updates gently") end
  if r.dead then assert(r.dead < 0.5, r.name .. ": most units alive") end
end

-- %%
print(plot.health(history))

-- %% [markdown]
-- ## Right and wrong, and why
--
-- The first test image the model gets right and the first it gets wrong, each
-- with its Grad-CAM. The last convolution sees the image as 2x2 maps: too
-- coarse to say where; conv2d_1's 6x6 maps keep more of the layout, at the
-- price of less abstract features. Red is where the evidence for the
-- predicted class lies.

-- %%
probs = model:predict(x_test)
y_pred = probs:argmax(2)
right, wrong = nil, nil
for i = 1, y_test.shape[1] do
  local ok = y_pred:get(i) == y_test:get(i)
  if ok and not right then right = i end
  if not ok and not wrong then wrong = i end
end
print(plot.gradcam(model, x_test[right], {layer = "conv2d_1", label = y_test:get(right), classes = classes}))

-- %%
print(plot.gradcam(model, x_test[wrong], {layer = "conv2d_1", label = y_test:get(wrong), classes = classes}))

-- %% [markdown]
-- The same mistake asked the other way: where is the evidence for the TRUE
-- class? metrics.gradcam returns the numbers, so we can compare the two maps.

-- %%
true_class = math.tointeger(y_test:get(wrong))
cam_pred = metrics.gradcam(model, x_test[wrong], {layer = "conv2d_1"})
cam_true = metrics.gradcam(model, x_test[wrong], {layer = "conv2d_1", class = true_class})
print(string.format("%s %s %s", table.concat(cam_pred.shape, "x"), cam_pred:min() >= 0, cam_true:min() >= 0))
--> 28x28 true true

-- %%
print(plot.gradcam(model, x_test[wrong], {layer = "conv2d_1", class = true_class,
                                          label = true_class, classes = classes}))

-- %% [markdown]
-- The saliency map of the same two images: sharper than Grad-CAM (one value
-- per pixel) but noisier, and not specific to a layer.

-- %%
print(plot.saliency(model, x_test[right], {label = y_test:get(right), classes = classes}))

-- %%
print(plot.saliency(model, x_test[wrong], {label = y_test:get(wrong), classes = classes}))

-- %% [markdown]
-- ## The worst cell of the confusion matrix
--
-- The largest count off the diagonal is the model's favourite mistake.
-- metrics.misclassified gives the positions of its images; in the REPL,
-- plot.confusion(cm, {classes=, x=, y_true=, y_pred=, model=}):view() shows the
-- same interactively: the arrow keys pick a cell, Enter pages through its
-- images with their probabilities, g shows each one's Grad-CAM, Esc returns.

-- %%
cm = metrics.confusion_matrix(y_test, probs, 10)
worst, wt, wp = -1, 0, 0
for t = 1, 10 do
  for p = 1, 10 do
    if t ~= p and cm:get(t, p) > worst then worst, wt, wp = cm:get(t, p), t - 1, p - 1 end
  end
end
idx = metrics.misclassified(y_test, probs, {true_class = wt, pred_class = wp})
print(string.format("%d %s taken for %s", #idx, classes[wt + 1], classes[wp + 1]))
assert(#idx == worst and #idx > 0, "misclassified lists the cell's images")
drill = plot.confusion(cm, {classes = classes, x = x_test, y_true = y_test, y_pred = probs, model = model})

-- %%
shown = {}
for k = 1, math.min(#idx, 8) do shown[k] = x_test[idx[k]] end
print(plot.images(shown, {titles = (function()
  local t = {}
  for k = 1, #shown do t[k] = string.format("%d: %.0f%%", idx[k], 100 * probs:get(idx[k], wp + 1)) end
  return t
end)(), title = classes[wt + 1] .. " predicted as " .. classes[wp + 1]}))

-- %%
print(plot.gradcam(model, x_test[idx[1]], {layer = "conv2d_1", label = wt, classes = classes}))

-- %% [markdown]
-- ## A learning rate that is too high
--
-- The same model with Adam at lr = 0.05, fifty times the default, on 2,000
-- images. The health monitor warns as soon as a layer dies (all its ReLU units
-- output zero for whole batches: no gradient flows through them any more),
-- and the table shows updates of several per cent of the weights at each step.
-- The accuracy settles at chance.

-- %%
lunette.seed(15)
hot = lesson_model{28, 28, 1}
hot:compile{optimizer = optim.Adam{lr = 0.05},
            loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
hot_history = hot:fit(first(x_train, 2000), first(y_train, 2000),
                      {epochs = 1, batch_size = 32, monitor = true, verbose = 0})
health_table(hot_history.health[1])
print(string.format("accuracy %.2f", hot_history.history.accuracy[1]))

-- %%
assert(#hot_history.warnings > 0, "the monitor warns about a dead layer")
high = 0
for _, r in ipairs(hot_history.health[1]) do
  if r.update_ratio and r.update_ratio > 2e-2 then high = high + 1 end
end
assert(high > 0, "updates far above 1e-3 of the weights")
print("flagged: a dead layer, and updates above 2e-2 of the weights")
--> flagged: a dead layer, and updates above 2e-2 of the weights
