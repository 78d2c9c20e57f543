-- %% [markdown]
-- # Lesson 3: the architecture of a CNN
--
-- A convolutional network for images is a pipeline:
--
--   input -> convolution -> pooling -> ... -> flatten -> dense -> output
--
-- - the input is a batch of images, N x H x W x C;
-- - convolution layers find local patterns (lessons 1 and 2) and a ReLU keeps
--   the positive responses: relu(x) = max(x, 0);
-- - pooling layers shrink the feature maps, keeping the strongest responses;
-- - flatten lays the last feature maps out as one long vector per image;
-- - dense layers combine everything into one score per class;
-- - softmax turns the scores into probabilities (lesson 11).

-- %%
lunette = require "lunette"
tensor, nn, data, plot = lunette.tensor, lunette.nn, lunette.data, lunette.plot
QUICK = os.getenv("LUNETTE_QUICK") == "1"
function shape_of(t) return table.concat(t.shape, "x") end
lunette.seed(3)

-- %% [markdown]
-- ## Max pooling, worked by hand
--
-- Max pooling with a 2x2 window and stride 2 cuts the map into 2x2 blocks and
-- keeps the largest value of each:
--
--   out[i,j] = max over i',j' in {0,1} of A[2i+i', 2j+j']
--
-- The 4x4 map below has four blocks. Top-left: max(1, 3, 4, 6) = 6; top-right:
-- max(2, 1, 5, 0) = 5; bottom-left: max(7, 2, 1, 0) = 7; bottom-right:
-- max(9, 8, 3, 4) = 9. The map halves in each direction: 4x4 -> 2x2, a quarter
-- of the numbers, and a feature that moves by one pixel inside its block gives
-- the same output (a little translation invariance).

-- %%
A = {
  {1, 3, 2, 1},
  {4, 6, 5, 0},
  {7, 2, 9, 8},
  {1, 0, 3, 4},
}
function maxpool_by_hand(A, size)
  local out = {}
  for i = 1, #A // size do
    out[i] = {}
    for j = 1, #A[1] // size do
      local m = -math.huge
      for a = 1, size do
        for b = 1, size do
          m = math.max(m, A[(i - 1) * size + a][(j - 1) * size + b])
        end
      end
      out[i][j] = m
    end
  end
  return out
end
pooled = maxpool_by_hand(A, 2)
for i = 1, 2 do print(table.concat(pooled[i], " ")) end
print(tensor.maxpool2d(tensor(A), {size = 2}))
--> 6 5
--> 7 9
--> tensor(2x2)
--> [[6, 5],
-->  [7, 9]]

-- %% [markdown]
-- In Lua, block i (1-based) starts at row (i - 1) * 2 + 1, the 1-based form of
-- the equation's 2i. Average pooling keeps the mean of each block instead:
-- (1 + 3 + 4 + 6) / 4 = 3.5 and so on.

-- %%
print(tensor.avgpool2d(tensor(A), {size = 2}))
--> tensor(2x2)
--> [[3.5000, 2.0000],
-->  [2.5000, 6.0000]]

-- %% [markdown]
-- ## A small CNN, layer by layer
--
-- For 28x28 grey images (Fashion-MNIST) and 10 classes:
--
-- - Input{28, 28, 1}
-- - Conv2D{8, 3, activation = "relu"}: 8 filters of 3x3x1, output 26x26x8,
--   (3*3*1 + 1) * 8 = 80 parameters (weights plus one bias per filter)
-- - MaxPool2D{2}: 13x13x8, no parameters
-- - Flatten: 13*13*8 = 1352 numbers per image
-- - Dense{10, activation = "softmax"}: 1352*10 weights + 10 biases = 13,530
--
-- model:summary() prints the same table, computed from the shapes alone.

-- %%
model = nn.Sequential{
  nn.Input{28, 28, 1},
  nn.Conv2D{8, 3, activation = "relu"},
  nn.MaxPool2D{2},
  nn.Flatten(),
  nn.Dense{10, activation = "softmax"},
}
model:summary()
--> Model: "sequential"
--> __________________________________________________________________________
-->  Layer (type)                     Output Shape                    Param #
--> ==========================================================================
-->  conv2d (Conv2D)                  (None, 26, 26, 8)                    80
--> __________________________________________________________________________
-->  max_pooling2d (MaxPool2D)        (None, 13, 13, 8)                     0
--> __________________________________________________________________________
-->  flatten (Flatten)                (None, 1352)                          0
--> __________________________________________________________________________
-->  dense (Dense)                    (None, 10)                       13,530
--> ==========================================================================
-->  Total params: 13,610 (53.16 KB)
-->  Trainable params: 13,610 (53.16 KB)
-->  Non-trainable params: 0 (0.00 B)

-- %%
print("parameters: " .. model:count_params())
--> parameters: 13610

-- %% [markdown]
-- ## Global pooling instead of flatten
--
-- Flatten keeps the position of every feature, and the dense layer after it
-- needs a weight for each position (13,520 of them here). GlobalMaxPool2D keeps
-- only the strongest response of each feature map anywhere in the image: 8 maps
-- give 8 numbers, whatever the image size, and the dense layer needs only
-- 8*10 + 10 = 90 parameters. Keras networks often end this way.

-- %%
gmodel = nn.Sequential{
  nn.Input{28, 28, 1},
  nn.Conv2D{8, 3, activation = "relu"},
  nn.MaxPool2D{2},
  nn.GlobalMaxPool2D(),
  nn.Dense{10, activation = "softmax"},
}
print("with GlobalMaxPool2D: " .. gmodel:count_params() .. " parameters")
x = tensor.rand(2, 28, 28, 1)
print("output of the pooling for 2 images: " .. shape_of(nn.GlobalMaxPool2D():forward(tensor.rand(2, 13, 13, 8))))
--> with GlobalMaxPool2D: 170 parameters
--> output of the pooling for 2 images: 2x8

-- %% [markdown]
-- ## Training it for a moment
--
-- A few thousand Fashion-MNIST images and one pass (epoch) are enough for this
-- small model to learn filters worth looking at. Pixel values are scaled from
-- 0..255 to 0..1 first. (LUNETTE_QUICK=1 uses fewer images.)

-- %%
fashion = data.load("fashion_mnist")
n = QUICK and 2000 or 10000
x_small = data.scale(fashion.x_train:slice(1, 1, n), 1 / 255)
y_small = fashion.y_train:slice(1, 1, n)
model:compile{optimizer = lunette.optim.Adam{lr = 1e-3},
              loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
history = model:fit(x_small, y_small, {epochs = 1, batch_size = 32, verbose = 0})
acc = history.history.accuracy[1]
print(string.format("training accuracy after one epoch: %.2f", acc))
assert(acc > 0.4, "the small CNN should beat chance (0.10) by far")

-- %% [markdown]
-- ## What the layers see
--
-- plot.featuremaps(model, x, layer) runs one image through the model and draws
-- the output of one layer: the 8 feature maps of the convolution (26x26), then
-- the same maps after max pooling (13x13): coarser, but the strong responses
-- survive.

-- %%
image = data.scale(fashion.x_test:slice(1, 1, 1), 1 / 255)
print(plot.image(image[1], {title = fashion.classes[math.tointeger(fashion.y_test:get(1)) + 1]}))

-- %%
print(plot.featuremaps(model, image, 1))

-- %%
print(plot.featuremaps(model, image, 2))
