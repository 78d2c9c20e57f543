-- %% [markdown]
-- # Lesson 6: data augmentation
--
-- A network trained on few images learns them by heart: training accuracy
-- climbs while validation accuracy stalls (overfitting). Data augmentation
-- shows the network a slightly different version of each image every epoch:
-- flipped, rotated, zoomed, shifted. The label stays the same (a shoe turned by
-- 10 degrees is still a shoe), so the network has to learn what makes a shoe a
-- shoe, not where its pixels were.
--
-- data.augment(x, opts) draws one random transform per image, with Keras's
-- meaning of the factors:
--
-- - flip = "horizontal": each image is mirrored left-right with probability 1/2
-- - rotation = f: a random angle in [-f, f] of a full turn (0.1 = 36 degrees)
-- - zoom = f: a random scale in [1 - f, 1 + f] (positive values zoom out)
-- - translation = f: a random shift of up to f of the height and width
--
-- A pair {lo, hi} instead of f gives the range directly; {a, a} makes the
-- transform fixed, which we use to check them on a tiny image.

-- %%
lunette = require "lunette"
tensor, nn, optim, data, plot = lunette.tensor, lunette.nn, lunette.optim, lunette.data, lunette.plot
QUICK = os.getenv("LUNETTE_QUICK") == "1"
lunette.seed(6)

-- %% [markdown]
-- ## Each transform on a 3x3 image
--
-- The pixels are numbered 1..9 so we can see where each one goes. A rotation
-- of exactly a quarter turn (0.25) counter-clockwise moves the top row to the
-- left column. A translation of 1/3 of the size moves everything one pixel down
-- and right; the pixels that come in from outside are filled with 0 here
-- (fill = "constant"; the default "reflect" mirrors the image instead). A zoom
-- of -0.5 zooms in: the output shows the middle half of the image, enlarged
-- twice, so neighbouring output pixels are half a pixel apart and their values
-- are interpolated (bilinear).

-- %%
tiny = tensor{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}:reshape(3, 3, 1)
function show(name, t) print(name); print(t:reshape(3, 3)) end
show("rotation 0.25 (90 degrees):", data.augment(tiny, {rotation = {0.25, 0.25}}))
show("translation 1/3 (one pixel):", data.augment(tiny, {translation = {1 / 3, 1 / 3}, fill = "constant"}))
show("zoom -0.5 (2x in):", data.augment(tiny, {zoom = {-0.5, -0.5}}))
--> rotation 0.25 (90 degrees):
--> tensor(3x3)
--> [[3, 6, 9],
-->  [2, 5, 8],
-->  [1, 4, 7]]
--> translation 1/3 (one pixel):
--> tensor(3x3)
--> [[0, 0, 0],
-->  [0, 1, 2],
-->  [0, 4, 5]]
--> zoom -0.5 (2x in):
--> tensor(3x3)
--> [[3.0000, 3.5000, 4.0000],
-->  [4.5000, 5.0000, 5.5000],
-->  [6.0000, 6.5000, 7.0000]]

-- %% [markdown]
-- ## On a real image
--
-- Eight random versions of one Fashion-MNIST image for each transform. Check
-- that every one of them would still get the same label from you.

-- %%
fashion = data.load("fashion_mnist")
one = data.scale(fashion.x_train[1], 1 / 255)                -- 28x28x1
eight = tensor.zeros(8, 28, 28, 1)
for i = 1, 8 do eight[i]:copy(one) end
for _, t in ipairs({
  {"flip = horizontal", {flip = "horizontal"}},
  {"rotation = 0.1", {rotation = 0.1}},
  {"zoom = 0.2", {zoom = 0.2}},
  {"translation = 0.15", {translation = 0.15}},
  {"all four", {flip = "horizontal", rotation = 0.1, zoom = 0.2, translation = 0.15}},
}) do
  print(plot.images(data.augment(eight, t[2]), {title = t[1]}))
end

-- %% [markdown]
-- ## Does it help?
--
-- We train the same small CNN twice on a small training set (5,000 images, or
-- 1,000 with LUNETTE_QUICK=1), validating on 2,000 test images:
--
-- - once on the same images every epoch;
-- - once on a fresh random version of every image each epoch:
--   x_epoch = data.augment(x_train, {...}), then one epoch of fit on it.
--
-- Keras users do the same with augmentation layers inside the model; doing it
-- by hand here shows exactly what the network sees.

-- %%
N_TRAIN = QUICK and 1000 or 5000
EPOCHS = QUICK and 2 or 15
x_train = data.scale(fashion.x_train:slice(1, 1, N_TRAIN), 1 / 255)
y_train = fashion.y_train:slice(1, 1, N_TRAIN)
x_val = data.scale(fashion.x_test:slice(1, 1, 2000), 1 / 255)
y_val = fashion.y_test:slice(1, 1, 2000)
AUG = {flip = "horizontal", rotation = 0.05, zoom = 0.1, translation = 0.1}

function small_cnn()
  local m = nn.Sequential{
    nn.Input{28, 28, 1},
    nn.Conv2D{16, 3, activation = "relu"},
    nn.MaxPool2D{2},
    nn.Conv2D{32, 3, activation = "relu"},
    nn.MaxPool2D{2},
    nn.Flatten(),
    nn.Dense{64, activation = "relu"},
    nn.Dense{10, activation = "softmax"},
  }
  m:compile{optimizer = optim.Adam{lr = 1e-3}, loss = "sparse_categorical_crossentropy",
            metrics = {"accuracy"}}
  return m
end

function train(augment)
  lunette.seed(60)                        -- the same initial weights for both runs
  local m = small_cnn()
  local curves = {accuracy = {}, val_accuracy = {}}
  for e = 1, EPOCHS do
    local x = augment and data.augment(x_train, AUG) or x_train
    local h = m:fit(x, y_train, {epochs = 1, batch_size = 32, verbose = 0,
                                 validation_data = {x_val, y_val}})
    curves.accuracy[e] = h.history.accuracy[1]
    curves.val_accuracy[e] = h.history.val_accuracy[1]
  end
  return curves
end
plain = train(false)
augmented = train(true)
for e = 1, EPOCHS do
  print(string.format("epoch %2d   plain: train %.3f val %.3f   augmented: train %.3f val %.3f", e,
    plain.accuracy[e], plain.val_accuracy[e], augmented.accuracy[e], augmented.val_accuracy[e]))
end
assert(plain.val_accuracy[EPOCHS] > 0.5 and augmented.val_accuracy[EPOCHS] > 0.5,
       "both runs should be far above chance (0.10)")

-- %%
print(plot.lines({["train (plain)"] = plain.accuracy, ["val (plain)"] = plain.val_accuracy,
                  ["train (augmented)"] = augmented.accuracy,
                  ["val (augmented)"] = augmented.val_accuracy},
                 {title = "accuracy with and without augmentation", xlabel = "epoch"}))

-- %% [markdown]
-- What to look for: without augmentation the training accuracy runs away from
-- the validation accuracy (the gap is overfitting). With augmentation the
-- training accuracy is lower, since every epoch brings images never seen before,
-- and the gap stays small; given enough epochs the validation accuracy ends
-- higher. With LUNETTE_QUICK=1 there are too few epochs to see this: run the
-- lesson without it.

-- %%
gap_plain = plain.accuracy[EPOCHS] - plain.val_accuracy[EPOCHS]
gap_aug = augmented.accuracy[EPOCHS] - augmented.val_accuracy[EPOCHS]
print(string.format("gap between train and validation accuracy: plain %.3f, augmented %.3f",
                    gap_plain, gap_aug))
if not QUICK then assert(gap_aug < gap_plain, "augmentation should shrink the gap") end
