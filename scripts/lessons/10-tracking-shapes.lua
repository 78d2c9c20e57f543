-- %% [markdown]
-- # Lesson 10: tracking shapes
--
-- Most errors when building a CNN are shape errors: a layer gets a different
-- size than it expects. Every layer's output shape follows from its input shape
-- by a simple rule, so you can track the shapes through a network on paper:
--
-- - Conv2D with F filters of k x k, stride s, on H x W x C:
--     "valid": H' = floor((H - k) / s) + 1      "same": H' = ceil(H / s)
--   (the same for W), and the output has F channels: H' x W' x F.
--   Parameters: (k*k*C + 1) * F (each filter has k*k*C weights and one bias).
-- - MaxPool2D with size p and stride p: H' = floor((H - p) / p) + 1, channels
--   unchanged, no parameters.
-- - Flatten: H x W x C -> H*W*C, no parameters.
-- - Dense with U units on a vector of n: output U, (n + 1) * U parameters.

-- %%
lunette = require "lunette"
tensor, nn = lunette.tensor, lunette.nn
function commas(n)
  local s = string.format("%d", n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

-- %% [markdown]
-- ## The rules as a Lua function
--
-- track(input, layers) applies the rules to a list of layer descriptions and
-- prints each layer's output shape and parameter count, as model:summary() does.

-- %%
function track(shape, layers)
  local total = 0
  local function show(name, s, p)
    print(string.format("%-22s %-16s %12s", name, table.concat(s, "x"), commas(p)))
    total = total + p
  end
  show("input", shape, 0)
  for _, l in ipairs(layers) do
    local H, W, C = shape[1], shape[2], shape[3]
    if l.kind == "conv" then
      local k, s = l.k, l.stride or 1
      local function out(n)
        if l.padding == "same" then return (n + s - 1) // s end
        return (n - k) // s + 1
      end
      shape = {out(H), out(W), l.filters}
      show("conv " .. k .. "x" .. k .. " x" .. l.filters, shape, (k * k * C + 1) * l.filters)
    elseif l.kind == "pool" then
      shape = {(H - l.size) // l.size + 1, (W - l.size) // l.size + 1, C}
      show("maxpool " .. l.size, shape, 0)
    elseif l.kind == "flatten" then
      local n = 1
      for _, d in ipairs(shape) do n = n * d end
      shape = {n}
      show("flatten", shape, 0)
    elseif l.kind == "dense" then
      show("dense " .. l.units, {l.units}, (shape[1] + 1) * l.units)
      shape = {l.units}
    end
  end
  print("total parameters: " .. commas(total))
  return total
end

-- %% [markdown]
-- ## A small CNN
--
-- Two convolution blocks on a 28x28x1 image, then a classifier. Follow one
-- line at a time: 28 - 3 + 1 = 26; pooling halves 26 to 13; 13 - 3 + 1 = 11;
-- pooling takes 11 to floor((11 - 2) / 2) + 1 = 5 (the last row and column are
-- dropped); 5*5*64 = 1600 numbers go into the dense layer.

-- %%
small = {
  {kind = "conv", k = 3, filters = 32},
  {kind = "pool", size = 2},
  {kind = "conv", k = 3, filters = 64},
  {kind = "pool", size = 2},
  {kind = "flatten"},
  {kind = "dense", units = 128},
  {kind = "dense", units = 10},
}
small_total = track({28, 28, 1}, small)
--> input                  28x28x1                     0
--> conv 3x3 x32           26x26x32                  320
--> maxpool 2              13x13x32                    0
--> conv 3x3 x64           11x11x64               18,496
--> maxpool 2              5x5x64                      0
--> flatten                1600                        0
--> dense 128              128                   204,928
--> dense 10               10                      1,290
--> total parameters: 225,034

-- %% [markdown]
-- The same network in Lunette. model:summary() shows the shapes with a leading
-- "None" for the batch dimension, as Keras does: the model accepts any number of
-- images at once.

-- %%
model = nn.Sequential{
  nn.Input{28, 28, 1},
  nn.Conv2D{32, 3, activation = "relu"},
  nn.MaxPool2D{2},
  nn.Conv2D{64, 3, activation = "relu"},
  nn.MaxPool2D{2},
  nn.Flatten(),
  nn.Dense{128, activation = "relu"},
  nn.Dense{10, activation = "softmax"},
}
model:summary()
assert(model:count_params() == small_total)
--> Model: "sequential"
--> __________________________________________________________________________
-->  Layer (type)                     Output Shape                    Param #
--> ==========================================================================
-->  conv2d (Conv2D)                  (None, 26, 26, 32)                  320
--> __________________________________________________________________________
-->  max_pooling2d (MaxPool2D)        (None, 13, 13, 32)                    0
--> __________________________________________________________________________
-->  conv2d_1 (Conv2D)                (None, 11, 11, 64)               18,496
--> __________________________________________________________________________
-->  max_pooling2d_1 (MaxPool2D)      (None, 5, 5, 64)                      0
--> __________________________________________________________________________
-->  flatten (Flatten)                (None, 1600)                          0
--> __________________________________________________________________________
-->  dense (Dense)                    (None, 128)                     204,928
--> __________________________________________________________________________
-->  dense_1 (Dense)                  (None, 10)                        1,290
--> ==========================================================================
-->  Total params: 225,034 (879.04 KB)
-->  Trainable params: 225,034 (879.04 KB)
-->  Non-trainable params: 0 (0.00 B)

-- %% [markdown]
-- Shapes can also be checked by running data through: a batch of 4 random
-- images comes out as 4 rows of 10 class probabilities.

-- %%
y = model:predict(tensor.rand(4, 28, 28, 1))
print("prediction for 4 images: " .. table.concat(y.shape, "x"))
--> prediction for 4 images: 4x10

-- %% [markdown]
-- When a shape does not fit, the error names the layer and the sizes:

-- %%
ok, err = pcall(function() return model:predict(tensor.rand(4, 32, 32, 3)) end)
print(ok, (tostring(err):gsub("^[^:]*:%d+: ", "")))    -- without the file:line prefix
--> false	conv2d (Conv2D): expected input of shape (None, 28, 28, 1), got 4x32x32x3

-- %% [markdown]
-- ## VGG16
--
-- VGG16 (Simonyan and Zisserman, 2014) won ImageNet 2014 with a very regular
-- design: 3x3 convolutions with "same" padding (the size stays), and a 2x2 max
-- pooling after each block halves it. Five blocks of 2, 2, 3, 3 and 3
-- convolutions (64, 128, 256, 512, 512 filters) take 224x224x3 down to 7x7x512;
-- then three dense layers of 4096, 4096 and 1000 (the ImageNet classes):
-- 13 convolutions + 3 dense layers = 16 layers with weights.

-- %%
vgg_layers = {}
for _, block in ipairs({{2, 64}, {2, 128}, {3, 256}, {3, 512}, {3, 512}}) do
  for _ = 1, block[1] do
    vgg_layers[#vgg_layers + 1] = {kind = "conv", k = 3, filters = block[2], padding = "same"}
  end
  vgg_layers[#vgg_layers + 1] = {kind = "pool", size = 2}
end
for _, l in ipairs({{kind = "flatten"}, {kind = "dense", units = 4096},
                    {kind = "dense", units = 4096}, {kind = "dense", units = 1000}}) do
  vgg_layers[#vgg_layers + 1] = l
end
vgg_total = track({224, 224, 3}, vgg_layers)
--> input                  224x224x3                   0
--> conv 3x3 x64           224x224x64              1,792
--> conv 3x3 x64           224x224x64             36,928
--> maxpool 2              112x112x64                  0
--> conv 3x3 x128          112x112x128            73,856
--> conv 3x3 x128          112x112x128           147,584
--> maxpool 2              56x56x128                   0
--> conv 3x3 x256          56x56x256             295,168
--> conv 3x3 x256          56x56x256             590,080
--> conv 3x3 x256          56x56x256             590,080
--> maxpool 2              28x28x256                   0
--> conv 3x3 x512          28x28x512           1,180,160
--> conv 3x3 x512          28x28x512           2,359,808
--> conv 3x3 x512          28x28x512           2,359,808
--> maxpool 2              14x14x512                   0
--> conv 3x3 x512          14x14x512           2,359,808
--> conv 3x3 x512          14x14x512           2,359,808
--> conv 3x3 x512          14x14x512           2,359,808
--> maxpool 2              7x7x512                     0
--> flatten                25088                       0
--> dense 4096             4096              102,764,544
--> dense 4096             4096               16,781,312
--> dense 1000             1000                4,097,000
--> total parameters: 138,357,544

-- %% [markdown]
-- The same model in Lunette, summarised from its shapes: its 138 million
-- weights (553 MB of float32) are never allocated, so this runs instantly.

-- %%
vgg = nn.Sequential{nn.Input{224, 224, 3}}
for _, l in ipairs(vgg_layers) do
  if l.kind == "conv" then vgg:add(nn.Conv2D{l.filters, 3, padding = "same", activation = "relu"})
  elseif l.kind == "pool" then vgg:add(nn.MaxPool2D{2})
  elseif l.kind == "flatten" then vgg:add(nn.Flatten())
  else vgg:add(nn.Dense{l.units, activation = l.units == 1000 and "softmax" or "relu"}) end
end
vgg:summary()
--> Model: "sequential"
--> __________________________________________________________________________
-->  Layer (type)                     Output Shape                    Param #
--> ==========================================================================
-->  conv2d (Conv2D)                  (None, 224, 224, 64)              1,792
--> __________________________________________________________________________
-->  conv2d_1 (Conv2D)                (None, 224, 224, 64)             36,928
--> __________________________________________________________________________
-->  max_pooling2d (MaxPool2D)        (None, 112, 112, 64)                  0
--> __________________________________________________________________________
-->  conv2d_2 (Conv2D)                (None, 112, 112, 128)            73,856
--> __________________________________________________________________________
-->  conv2d_3 (Conv2D)                (None, 112, 112, 128)           147,584
--> __________________________________________________________________________
-->  max_pooling2d_1 (MaxPool2D)      (None, 56, 56, 128)                   0
--> __________________________________________________________________________
-->  conv2d_4 (Conv2D)                (None, 56, 56, 256)             295,168
--> __________________________________________________________________________
-->  conv2d_5 (Conv2D)                (None, 56, 56, 256)             590,080
--> __________________________________________________________________________
-->  conv2d_6 (Conv2D)                (None, 56, 56, 256)             590,080
--> __________________________________________________________________________
-->  max_pooling2d_2 (MaxPool2D)      (None, 28, 28, 256)                   0
--> __________________________________________________________________________
-->  conv2d_7 (Conv2D)                (None, 28, 28, 512)           1,180,160
--> __________________________________________________________________________
-->  conv2d_8 (Conv2D)                (None, 28, 28, 512)           2,359,808
--> __________________________________________________________________________
-->  conv2d_9 (Conv2D)                (None, 28, 28, 512)           2,359,808
--> __________________________________________________________________________
-->  max_pooling2d_3 (MaxPool2D)      (None, 14, 14, 512)                   0
--> __________________________________________________________________________
-->  conv2d_10 (Conv2D)               (None, 14, 14, 512)           2,359,808
--> __________________________________________________________________________
-->  conv2d_11 (Conv2D)               (None, 14, 14, 512)           2,359,808
--> __________________________________________________________________________
-->  conv2d_12 (Conv2D)               (None, 14, 14, 512)           2,359,808
--> __________________________________________________________________________
-->  max_pooling2d_4 (MaxPool2D)      (None, 7, 7, 512)                     0
--> __________________________________________________________________________
-->  flatten (Flatten)                (None, 25088)                         0
--> __________________________________________________________________________
-->  dense (Dense)                    (None, 4096)                102,764,544
--> __________________________________________________________________________
-->  dense_1 (Dense)                  (None, 4096)                 16,781,312
--> __________________________________________________________________________
-->  dense_2 (Dense)                  (None, 1000)                  4,097,000
--> ==========================================================================
-->  Total params: 138,357,544 (527.79 MB)
-->  Trainable params: 138,357,544 (527.79 MB)
-->  Non-trainable params: 0 (0.00 B)

-- %%
print("VGG16: " .. commas(vgg:count_params()) .. " parameters")
--> VGG16: 138,357,544 parameters

-- %% [markdown]
-- Where are the parameters? The first dense layer alone, 25088 * 4096 weights +
-- 4096 biases = 102,764,544, holds 74% of them; all 13 convolutions together
-- hold 14,714,688 (11%). Where is the computation? The other way round: each
-- convolution weight is used at every position (224*224 times in the first
-- block), so the convolutions do almost all the arithmetic. Later networks
-- replace the big dense layers by global pooling (lesson 3) for this reason.

-- %%
conv_params = 0
for i, l in ipairs(vgg_layers) do
  if l.kind == "conv" then
    local C = (i == 1) and 3 or vgg_layers[i - 1].filters or vgg_layers[i - 2].filters
    conv_params = conv_params + (9 * C + 1) * l.filters
  end
end
print("convolutions: " .. commas(conv_params) .. string.format(" (%.0f%%)", 100 * conv_params / vgg_total))
print(string.format("first dense layer: %.0f%%", 100 * 102764544 / vgg_total))
--> convolutions: 14,714,688 (11%)
--> first dense layer: 74%
