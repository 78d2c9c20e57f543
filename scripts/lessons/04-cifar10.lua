-- %% [markdown]
-- # Lesson 4: CIFAR-10
--
-- CIFAR-10 (Krizhevsky, 2009) has 60,000 colour photos of 32x32 pixels in ten
-- classes (airplane, automobile, bird, cat, deer, dog, frog, horse, ship,
-- truck): 50,000 for training and 10,000 for testing. This lesson trains the
-- course's Keras model exactly as the course ran it:
--
-- - Conv2D 32, 64 and 128 filters of 3x3, stride 2, ReLU
-- - Flatten, Dropout 0.2, Dense 1024 ReLU, Dropout 0.2, Dense 10 softmax
-- - Adam, sparse categorical cross-entropy, accuracy
-- - 5 epochs of batches of 32, validation_data = the test set
--
-- For reference, the course's Keras run reached val_accuracy 0.5572, 0.6243,
-- 0.6483, 0.6889 and 0.6909 after epochs 1 to 5. Your numbers will differ a
-- little (other random initial weights and batch order) but should follow the
-- same path. The real settings take about 10 seconds per epoch on two cores.
-- With LUNETTE_QUICK=1 the lesson trains on 2,000 images for one epoch and
-- validates on 500, to check that everything runs.

-- %%
lunette = require "lunette"
tensor, nn, optim, data, plot, metrics =
  lunette.tensor, lunette.nn, lunette.optim, lunette.data, lunette.plot, lunette.metrics
QUICK = os.getenv("LUNETTE_QUICK") == "1"
function commas(n)
  local s = string.format("%d", n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end
lunette.seed(4)
EPOCHS = QUICK and 1 or 5
N_TRAIN = QUICK and 2000 or nil          -- nil: all of them
N_TEST = QUICK and 500 or nil

-- %% [markdown]
-- ## The data
--
-- data.load("cifar10") reads the official binary files (data_batch_1.bin ..
-- data_batch_5.bin and test_batch.bin, the "CIFAR-10 binary version"). It
-- looks in $LUNETTE_DATA, in datasets/cifar10 of the source tree and in
-- /usr/share/datasets/cifar10; you can also pass {path = DIR}.
--
-- CIFAR-10 is not packaged by Debian, so it may well be missing. Then
-- data.load says so, with the command that gets it, and returns the
-- Fashion-MNIST sample shipped with Lunette instead. This notebook then still
-- runs from start to end (the same architecture, built for the 28x28x1 images
-- it got), so you can follow every step; the figures are then Fashion-MNIST's,
-- not CIFAR-10's, and every plot says which data set it shows.
--
-- Images come as 32x32x3 tensors of 0..255; we scale them to 0..1.

-- %%
cifar = data.load("cifar10")
IS_CIFAR = cifar.x_train.shape[4] == 3
if not IS_CIFAR then
  print("NOTE: CIFAR-10 was not found, so this run uses " .. (cifar.name or "the fallback data")
        .. " instead. Get CIFAR-10 as described above and run the lesson again.")
end
DATASET = IS_CIFAR and "CIFAR-10" or (cifar.name or "fallback data")
function first(t, n) return (n and n < t.shape[1]) and t:slice(1, 1, n) or t end
x_train = data.scale(first(cifar.x_train, N_TRAIN), 1 / 255)
y_train = first(cifar.y_train, N_TRAIN)
x_test = data.scale(first(cifar.x_test, N_TEST), 1 / 255)
y_test = first(cifar.y_test, N_TEST)
classes = cifar.classes
print(string.format("%s: training on %d images, validating on %d", DATASET,
                    x_train.shape[1], x_test.shape[1]))

-- %%
print(plot.images(x_train:slice(1, 1, 12), {labels = y_train:slice(1, 1, 12), classes = classes}))

-- %% [markdown]
-- ## The model
--
-- Three convolutions of 3x3 with stride 2 (each roughly halves the map and
-- doubles the filters), a dense layer of 1024 and the 10-way softmax, with
-- dropout of 0.2 before each dense layer. Dropout sets a random 20% of its
-- inputs to 0 during training (and scales the rest by 1/0.8), so the network
-- cannot rely on any single feature; it does nothing at test time.
--
-- Shapes ("valid" padding: out = floor((in - 3) / 2) + 1):
-- 32x32x3 -> 15x15x32 -> 7x7x64 -> 3x3x128 -> 1152 -> 1024 -> 10.
-- Parameters: (9*3+1)*32 = 896, (9*32+1)*64 = 18,496, (9*64+1)*128 = 73,856,
-- (1152+1)*1024 = 1,180,672 and (1024+1)*10 = 10,250: 1,284,170 in all.
-- The big dense layer holds 92% of them.

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
cifar_model = lesson_model{32, 32, 3}
cifar_model:summary()
--> Model: "sequential"
--> __________________________________________________________________________
-->  Layer (type)                     Output Shape                    Param #
--> ==========================================================================
-->  conv2d (Conv2D)                  (None, 15, 15, 32)                  896
--> __________________________________________________________________________
-->  conv2d_1 (Conv2D)                (None, 7, 7, 64)                 18,496
--> __________________________________________________________________________
-->  conv2d_2 (Conv2D)                (None, 3, 3, 128)                73,856
--> __________________________________________________________________________
-->  flatten (Flatten)                (None, 1152)                          0
--> __________________________________________________________________________
-->  dropout (Dropout)                (None, 1152)                          0
--> __________________________________________________________________________
-->  dense (Dense)                    (None, 1024)                  1,180,672
--> __________________________________________________________________________
-->  dropout_1 (Dropout)              (None, 1024)                          0
--> __________________________________________________________________________
-->  dense_1 (Dense)                  (None, 10)                       10,250
--> ==========================================================================
-->  Total params: 1,284,170 (4.90 MB)
-->  Trainable params: 1,284,170 (4.90 MB)
-->  Non-trainable params: 0 (0.00 B)

-- %%
print("parameters: " .. commas(cifar_model:count_params()))
--> parameters: 1,284,170

-- %% [markdown]
-- The model we train has the input shape of the data we got: the one above for
-- CIFAR-10, or the same layers on 28x28x1 (628,234 parameters, lesson 5) when
-- data.load fell back to Fashion-MNIST.

-- %%
model = IS_CIFAR and cifar_model
        or lesson_model{x_train.shape[2], x_train.shape[3], x_train.shape[4]}
print(DATASET .. " model: " .. commas(model:count_params()) .. " parameters")

-- %% [markdown]
-- ## Training
--
-- Adam with its default learning rate 0.001; sparse categorical cross-entropy
-- because the labels are class ids, not one-hot rows; accuracy reported after
-- each epoch on the training batches and on the test set.

-- %%
model:compile{optimizer = optim.Adam{lr = 1e-3},
              loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
history = model:fit(x_train, y_train, {epochs = EPOCHS, batch_size = 32,
                                       validation_data = {x_test, y_test}})

-- %%
val = history.history.val_accuracy
for e = 1, #val do print(string.format("epoch %d: val_accuracy %.4f", e, val[e])) end
assert(#val == EPOCHS, "one validation accuracy per epoch")
-- chance is 0.10; the course reached 0.69 on CIFAR-10 after 5 epochs
local floor = QUICK and 0.2 or 0.55
assert(val[#val] > floor, "validation accuracy should be well above chance (0.10)")

-- %%
print(plot.history(history))

-- %% [markdown]
-- ## Where does it go wrong?
--
-- The confusion matrix counts, for each true class (row), how often the model
-- predicted each class (column). The diagonal holds the correct answers. The
-- normalised version divides each row by its total, so the diagonal reads as
-- the accuracy on each class. On CIFAR-10 expect cats and dogs to be confused
-- with each other, and automobiles with trucks; ships and airplanes share
-- their blue backgrounds.

-- %%
y_pred = model:predict_classes(x_test)
cm = metrics.confusion_matrix(y_test, y_pred, 10)
print(plot.confusion(cm, {classes = classes, title = DATASET .. ": counts"}))

-- %%
print(plot.confusion(cm, {classes = classes, normalize = true, title = DATASET .. ": normalised"}))

-- %%
acc = metrics.accuracy(y_test, y_pred)
diag = 0
for k = 1, 10 do diag = diag + cm:get(k, k) end
assert(math.abs(diag / y_test.shape[1] - acc) < 1e-6, "the diagonal holds the correct answers")
print(string.format("%s test accuracy %.4f", DATASET, acc))

-- %% [markdown]
-- ## One mistake, up close
--
-- A random misclassified test image, with its true and predicted labels.

-- %%
wrong = {}
for i = 1, y_test.shape[1] do
  if y_pred:get(i) ~= y_test:get(i) then wrong[#wrong + 1] = i end
end
math.randomseed(4)
i = wrong[math.random(#wrong)]
print(plot.image(x_test[i], {title = "true: " .. classes[math.tointeger(y_test:get(i)) + 1]
                                .. ", predicted: " .. classes[math.tointeger(y_pred:get(i)) + 1]}))
