-- %% [markdown]
-- # Lesson 2: colour images and many filters
--
-- A grey image has one number per pixel; a colour image has three (red, green,
-- blue), stored H x W x C with C = 3 channels. A kernel for a C-channel input is
-- itself kh x kw x C: it looks at all channels of its window at once, and the
-- sum runs over the channels too:
--
--   out[i,j] = b + sum over i',j',c of A[i+i', j+j', c] * w[i', j', c]
--
-- One kernel gives one output image (a "feature map"). A layer with F filters
-- stacks F kernels into a kh x kw x C x F block and produces F feature maps,
-- an output of H' x W' x F.

-- %%
lunette = require "lunette"
tensor, nn, data, plot = lunette.tensor, lunette.nn, lunette.data, lunette.plot
function shape_of(t) return table.concat(t.shape, "x") end
function commas(n)
  local s = tostring(math.tointeger(n) or n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end
lunette.seed(2)

-- %% [markdown]
-- ## Three channels by hand
--
-- A 4x4x3 image whose value at (row h, column w, channel c) is h + w + 10*c,
-- so the red channel holds 12..18, green 22..28 and blue 32..38. The 2x2x3
-- kernel takes +1 of red and -1 of blue in every position of its window, and
-- ignores green: each output is 4 * (red - blue) = 4 * (-20) = -80.

-- %%
A = tensor.zeros(4, 4, 3)
for h = 1, 4 do for w = 1, 4 do for c = 1, 3 do A:set(h, w, c, h + w + 10 * c) end end end
K = tensor.zeros(2, 2, 3)
for a = 1, 2 do for b = 1, 2 do K:set(a, b, 1, 1); K:set(a, b, 3, -1) end end

function conv_channels_by_hand(A, K)
  local H, W, C = A.shape[1], A.shape[2], A.shape[3]
  local kh, kw = K.shape[1], K.shape[2]
  local out = tensor.zeros(H - kh + 1, W - kw + 1)
  for i = 1, H - kh + 1 do
    for j = 1, W - kw + 1 do
      local s = 0
      for a = 1, kh do for b = 1, kw do for c = 1, C do
        s = s + A:get(i + a - 1, j + b - 1, c) * K:get(a, b, c)
      end end end
      out:set(i, j, s)
    end
  end
  return out
end

print(conv_channels_by_hand(A, K))
print("tensor.conv2d agrees: " .. tostring((tensor.conv2d(A, K) - conv_channels_by_hand(A, K)):abs():max() == 0))
--> tensor(3x3)
--> [[-80, -80, -80],
-->  [-80, -80, -80],
-->  [-80, -80, -80]]
--> tensor.conv2d agrees: true

-- %% [markdown]
-- A 4x4 input and a 2x2 kernel give (4 - 2 + 1) x (4 - 2 + 1) = 3x3 outputs,
-- and the channel dimension is gone: it was summed over. To get several output
-- channels, use several kernels.
--
-- ## A real colour image
--
-- CIFAR-10 holds 60,000 colour photographs of 32x32 pixels in ten classes
-- (lesson 4). Debian does not package it, so it may be missing: data.load then
-- says so and returns the grey Fashion-MNIST sample instead. In that case we
-- make a colour picture ourselves from a grey one: pad it from 28x28 to 32x32
-- and use three different tints for the red, green and blue channels. Either
-- way the photo is 32x32x3.

-- %%
cifar = data.load("cifar10")
if cifar.x_train.shape[4] == 3 then
  photo = data.scale(cifar.x_train[1], 1 / 255)
  photo_title = "CIFAR-10: " .. cifar.classes[math.tointeger(cifar.y_train:get(1)) + 1]
else
  local grey = data.scale(cifar.x_train[1], 1 / 255)       -- 28x28x1
  photo = tensor.zeros(32, 32, 3)
  for h = 1, 28 do
    for w = 1, 28 do
      local v = grey:get(h, w, 1)
      photo:set(h + 2, w + 2, 1, v)                          -- red: the image
      photo:set(h + 2, w + 2, 2, v * 0.6)                    -- green: darker
      photo:set(h + 2, w + 2, 3, 1 - v)                      -- blue: the negative
    end
  end
  photo_title = "a tinted Fashion-MNIST image (CIFAR-10 not installed)"
end

-- %%
print("one photo: " .. shape_of(photo) .. " (H x W x C)")
--> one photo: 32x32x3 (H x W x C)

-- %%
print(plot.image(photo, {title = photo_title}))
print(plot.images({photo:slice(3, 1, 1), photo:slice(3, 2, 2), photo:slice(3, 3, 3)},
                  {titles = {"red", "green", "blue"}}))

-- %% [markdown]
-- ## 64 filters of 5x5x3
--
-- The first layer of a typical CIFAR-10 network applies 64 filters of 5x5x3.
-- Each filter produces one 28x28 map (32 - 5 + 1 = 28), so the output is
-- 28x28x64. Here the 64 kernels are random, as a network's are before training.

-- %%
filters = tensor.randn(5, 5, 3, 64) * 0.1
maps = tensor.conv2d(photo, filters)
print("input " .. shape_of(photo) .. " * kernels " .. shape_of(filters) .. " -> output " .. shape_of(maps))
print("weights: 5 * 5 * 3 * 64 = " .. commas(filters:numel()))
--> input 32x32x3 * kernels 5x5x3x64 -> output 28x28x64
--> weights: 5 * 5 * 3 * 64 = 4,800

-- %% [markdown]
-- ## What a dense layer would cost
--
-- A dense (fully connected) layer could also map the 32*32*3 = 3,072 input
-- numbers to 28*28*64 = 50,176 output numbers, but it has one weight for every
-- (input, output) pair: 3,072 * 50,176 = 154,140,672 weights, 32,112 times the
-- convolution's 4,800. The convolution gets away with so few because
--
-- - each output only looks at a 5x5 window (local connectivity), and
-- - the same 5x5x3 kernel is used at every position (weight sharing): a
--   vertical edge is a vertical edge anywhere in the picture.
--
-- Lunette's model:summary() works from the shapes alone, so it can describe the
-- dense model without allocating its 154 million weights (616 MB). We switch the
-- biases off (use_bias = false) to count the weights only.

-- %%
conv_model = nn.Sequential{
  nn.Input{32, 32, 3},
  nn.Conv2D{64, 5, use_bias = false},
}
conv_model:summary()
--> Model: "sequential"
--> __________________________________________________________________________
-->  Layer (type)                     Output Shape                    Param #
--> ==========================================================================
-->  conv2d (Conv2D)                  (None, 28, 28, 64)                4,800
--> ==========================================================================
-->  Total params: 4,800 (18.75 KB)
-->  Trainable params: 4,800 (18.75 KB)
-->  Non-trainable params: 0 (0.00 B)

-- %%
dense_model = nn.Sequential{
  nn.Input{32, 32, 3},
  nn.Flatten(),
  nn.Dense{28 * 28 * 64, use_bias = false},
}
dense_model:summary()
--> Model: "sequential"
--> __________________________________________________________________________
-->  Layer (type)                     Output Shape                    Param #
--> ==========================================================================
-->  flatten (Flatten)                (None, 3072)                          0
--> __________________________________________________________________________
-->  dense (Dense)                    (None, 50176)               154,140,672
--> ==========================================================================
-->  Total params: 154,140,672 (588.00 MB)
-->  Trainable params: 154,140,672 (588.00 MB)
-->  Non-trainable params: 0 (0.00 B)

-- %%
print("convolution: " .. commas(conv_model:count_params()) .. " weights")
print("dense:       " .. commas(dense_model:count_params()) .. " weights")
print("ratio:       " .. commas(dense_model:count_params() // conv_model:count_params()))
--> convolution: 4,800 weights
--> dense:       154,140,672 weights
--> ratio:       32,112

-- %% [markdown]
-- With biases (the default) each filter adds one number and each dense output
-- one number: 4,800 + 64 = 4,864 against 154,140,672 + 50,176 = 154,190,848.

-- %%
with_bias = nn.Sequential{nn.Input{32, 32, 3}, nn.Conv2D{64, 5}}
dense_bias = nn.Sequential{nn.Input{32, 32, 3}, nn.Flatten(), nn.Dense{50176}}
print(commas(with_bias:count_params()) .. " and " .. commas(dense_bias:count_params()))
--> 4,864 and 154,190,848

-- %% [markdown]
-- ## Looking at the 64 feature maps
--
-- Each of the 64 maps shows where its (random) filter matched the photo.
-- Training will turn these random kernels into detectors of edges, colours and
-- textures.

-- %%
print(plot.images(maps:permute(3, 1, 2):reshape(64, 28, 28, 1):slice(1, 1, 16),
                  {title = "16 of the 64 feature maps"}))
