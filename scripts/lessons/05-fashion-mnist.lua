-- %% [markdown]
-- # Lesson 5: Fashion-MNIST
--
-- Fashion-MNIST (Zalando, 2017) has 70,000 grey 28x28 photos of clothes in ten
-- classes: 60,000 for training and 10,000 for testing. It was made as a harder
-- drop-in replacement for the MNIST digits. We train the CIFAR-10 model of
-- lesson 4 on it, changed only in its input: 28x28x1 instead of 32x32x3.
--
-- Real settings: the whole training set, 5 epochs of batches of 32, evaluated
-- on the test set after each epoch (the course's validation_data). That takes
-- about half a minute on two cores. With LUNETTE_QUICK=1 the lesson trains on 3,000
-- images for one epoch and validates on 1,000, to check that everything runs.

-- %%
lunette = require "lunette"
tensor, nn, optim, data, plot, metrics =
  lunette.tensor, lunette.nn, lunette.optim, lunette.data, lunette.plot, lunette.metrics
QUICK = os.getenv("LUNETTE_QUICK") == "1"
function commas(n)
  local s = string.format("%d", n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end
lunette.seed(5)
EPOCHS = QUICK and 1 or 5
N_TRAIN = QUICK and 3000 or nil          -- nil: all of them
N_TEST = QUICK and 1000 or nil

-- %% [markdown]
-- ## The data
--
-- data.load returns the images as N x 28 x 28 x 1 tensors of pixel values
-- 0..255 and the labels as class ids 0..9. We scale the pixels to 0..1, which
-- keeps the first layer's sums in a range where training starts well. If the
-- full set is not installed, data.load says so and uses the 5,000-image sample
-- shipped with Lunette.

-- %%
fashion = data.load("fashion_mnist")
function first(t, n) return (n and n < t.shape[1]) and t:slice(1, 1, n) or t end
x_train = data.scale(first(fashion.x_train, N_TRAIN), 1 / 255)
y_train = first(fashion.y_train, N_TRAIN)
x_test = data.scale(first(fashion.x_test, N_TEST), 1 / 255)
y_test = first(fashion.y_test, N_TEST)
classes = fashion.classes
print(string.format("training on %d images, validating on %d", x_train.shape[1], x_test.shape[1]))

-- %%
print(plot.images(x_train:slice(1, 1, 12), {labels = y_train:slice(1, 1, 12), classes = classes}))

-- %% [markdown]
-- ## The model
--
-- Three convolutions of 3x3 with stride 2 (each halves the map and doubles the
-- filters), a dense layer of 1024 and the 10-way softmax, with dropout of 0.2
-- before each dense layer. Dropout sets a random 20% of its inputs to 0 during
-- training (and scales the rest by 1/0.8), so the network cannot rely on any
-- single feature; it does nothing at test time.
--
-- Shapes: 28x28x1 -> 13x13x32 -> 6x6x64 -> 2x2x128 -> 512 -> 1024 -> 10.
-- Parameters: (9*1+1)*32 = 320, (9*32+1)*64 = 18,496, (9*64+1)*128 = 73,856,
-- (512+1)*1024 = 525,312 and (1024+1)*10 = 10,250: 628,234 in all. On CIFAR-10
-- the flattened vector is 3*3*128 = 1152 long and the total 1,284,170.

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
model:summary()
--> Model: "sequential"
--> __________________________________________________________________________
-->  Layer (type)                     Output Shape                    Param #
--> ==========================================================================
-->  conv2d (Conv2D)                  (None, 13, 13, 32)                  320
--> __________________________________________________________________________
-->  conv2d_1 (Conv2D)                (None, 6, 6, 64)                 18,496
--> __________________________________________________________________________
-->  conv2d_2 (Conv2D)                (None, 2, 2, 128)                73,856
--> __________________________________________________________________________
-->  flatten (Flatten)                (None, 512)                           0
--> __________________________________________________________________________
-->  dropout (Dropout)                (None, 512)                           0
--> __________________________________________________________________________
-->  dense (Dense)                    (None, 1024)                    525,312
--> __________________________________________________________________________
-->  dropout_1 (Dropout)              (None, 1024)                          0
--> __________________________________________________________________________
-->  dense_1 (Dense)                  (None, 10)                       10,250
--> ==========================================================================
-->  Total params: 628,234 (2.40 MB)
-->  Trainable params: 628,234 (2.40 MB)
-->  Non-trainable params: 0 (0.00 B)

-- %%
print("parameters: " .. commas(model:count_params()))
--> parameters: 628,234

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
assert(val[#val] > (QUICK and 0.6 or 0.85), "validation accuracy should be far above chance (0.10)")

-- %%
print(plot.history(history))

-- %% [markdown]
-- ## Where does it go wrong?
--
-- The confusion matrix counts, for each true class (row), how often the model
-- predicted each class (column). The diagonal holds the correct answers. The
-- normalised version divides each row by its total, so the diagonal reads as
-- the accuracy on each class. Expect shirts, T-shirts, pullovers and coats to
-- be confused with each other: at 28x28 pixels they look alike.

-- %%
y_pred = model:predict_classes(x_test)
cm = metrics.confusion_matrix(y_test, y_pred, 10)
print(plot.confusion(cm, {classes = classes}))

-- %%
print(plot.confusion(cm, {classes = classes, normalize = true}))

-- %%
acc = metrics.accuracy(y_test, y_pred)
diag = 0
for k = 1, 10 do diag = diag + cm:get(k, k) end
assert(math.abs(diag / y_test.shape[1] - acc) < 1e-6, "the diagonal holds the correct answers")
print(string.format("test accuracy %.4f", acc))

-- %% [markdown]
-- ## One mistake, up close
--
-- A random misclassified test image, with its true and predicted labels.

-- %%
wrong = {}
for i = 1, y_test.shape[1] do
  if y_pred:get(i) ~= y_test:get(i) then wrong[#wrong + 1] = i end
end
math.randomseed(5)
i = wrong[math.random(#wrong)]
print(plot.image(x_test[i], {title = "true: " .. classes[math.tointeger(y_test:get(i)) + 1]
                                .. ", predicted: " .. classes[math.tointeger(y_pred:get(i)) + 1]}))
