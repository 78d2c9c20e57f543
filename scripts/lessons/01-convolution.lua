-- %% [markdown]
-- # Lesson 1: convolution
--
-- A convolutional layer slides a small grid of weights, the kernel (or filter) w,
-- over an image A. At each position it multiplies the pixels under the kernel by
-- the weights and adds the products up. With indices counted from 0, as in the
-- course's equations:
--
--   (A*w)[i,j] = sum over i',j' of A[i+i', j+j'] * w[i', j']
--
-- where i' runs over the kernel's rows 0..kh-1 and j' over its columns 0..kw-1.
-- (Strictly this is cross-correlation; a mathematician's convolution would flip
-- the kernel first. Every deep-learning library computes the version above and
-- calls it convolution, and so do we.)
--
-- Run this notebook with `lunette scripts/lessons/01-convolution.lua`; change any
-- cell and run it again with `lunette -i` to keep playing.

-- %% Set-up
lunette = require "lunette"
tensor, data, plot = lunette.tensor, lunette.data, lunette.plot
print("Lunette " .. lunette.version)

-- %% [markdown]
-- ## A small image with a vertical edge
--
-- A is a 5x5 grey image: bright (10) on the left, dark (0) on the right. The
-- kernel w is a 3x3 vertical-edge detector: +1 in its left column, -1 in its
-- right column. Where the kernel sits on a flat region the +1s and -1s cancel;
-- where it straddles the edge they do not.

-- %%
A = {
  {10, 10, 10, 0, 0},
  {10, 10, 10, 0, 0},
  {10, 10, 10, 0, 0},
  {10, 10, 10, 0, 0},
  {10, 10, 10, 0, 0},
}
w = {
  {1, 0, -1},
  {1, 0, -1},
  {1, 0, -1},
}
print(#A .. "x" .. #A[1] .. " image, " .. #w .. "x" .. #w[1] .. " kernel")
--> 5x5 image, 3x3 kernel

-- %% [markdown]
-- ## The sum, written out in Lua
--
-- Lua counts from 1, so the kernel offsets a and b run over 1..3 instead of
-- 0..2, and the pixel under w[a][b] is A[i + a - 1][j + b - 1]: the "- 1" turns
-- the 1-based offset back into the 0-based one of the equation.
--
-- With no padding ("valid"), the kernel fits at H - kh + 1 = 5 - 3 + 1 = 3
-- positions down and 3 across, so the output is 3x3.

-- %%
function conv2d_by_hand(A, w)
  local H, W, kh, kw = #A, #A[1], #w, #w[1]
  local out = {}
  for i = 1, H - kh + 1 do
    out[i] = {}
    for j = 1, W - kw + 1 do
      local s = 0
      for a = 1, kh do
        for b = 1, kw do
          s = s + A[i + a - 1][j + b - 1] * w[a][b]
        end
      end
      out[i][j] = s
    end
  end
  return out
end

by_hand = conv2d_by_hand(A, w)
for i = 1, #by_hand do print(table.concat(by_hand[i], " ")) end
--> 0 30 30
--> 0 30 30
--> 0 30 30

-- %% [markdown]
-- One output element in full. The top-left output (i = j = 1 in Lua, i = j = 0
-- in the equation) covers the three columns of 10s, so each row gives
-- 10*1 + 10*0 + 10*(-1) = 0. One step to the right the kernel covers 10, 10, 0
-- in each row: 10*1 + 10*0 + 0*(-1) = 10 per row, 30 in all: the edge.

-- %%
s, terms = 0, {}
for a = 1, 3 do
  for b = 1, 3 do
    local x, k = A[1 + a - 1][2 + b - 1], w[a][b]
    s = s + x * k
    terms[#terms + 1] = x .. "*" .. k
  end
end
print("out[1][2] = " .. table.concat(terms, " + ") .. " = " .. s)
--> out[1][2] = 10*1 + 10*0 + 0*-1 + 10*1 + 10*0 + 0*-1 + 10*1 + 10*0 + 0*-1 = 30

-- %% [markdown]
-- ## The same with tensor.conv2d
--
-- tensor.conv2d(input, kernel) computes exactly that sum in C. It accepts plain
-- nested tables or tensors, and returns a tensor. We compare it with the
-- hand-written loops element by element.

-- %%
out = tensor.conv2d(tensor(A), tensor(w))
print(out)
worst = 0
for i = 1, 3 do
  for j = 1, 3 do
    worst = math.max(worst, math.abs(out:get(i, j) - by_hand[i][j]))
  end
end
print(string.format("largest difference from the loops: %g", worst))
--> tensor(3x3)
--> [[ 0, 30, 30],
-->  [ 0, 30, 30],
-->  [ 0, 30, 30]]
--> largest difference from the loops: 0

-- %% [markdown]
-- ## 0-based versus 1-based
--
-- The course (and Python, C, Keras) counts from 0; Lua counts from 1. Lunette
-- follows each world where it belongs:
--
-- - positions inside tensors are 1-based, like Lua tables: t:get(1, 1) is the
--   top-left element and t[1] is the first row (or the first image of a batch);
-- - class labels are 0-based, as in the data files and in Keras: the ten
--   Fashion-MNIST classes are 0..9, and argmax returns a 0-based index so it can
--   be compared with a label directly.
--
-- So when an equation says A[i+i', j+j'] with everything from 0, the Lua code
-- says A[i+a-1][j+b-1] with everything from 1. The output size does not depend
-- on the convention: (H - kh + 1) x (W - kw + 1).

-- %%
t = tensor{{5, 9, 2}, {7, 1, 8}}
print("t:get(1, 1) = " .. t:get(1, 1) .. "   (top-left, 1-based position)")
print("t:get(2, 3) = " .. t:get(2, 3) .. "   (bottom-right)")
print("t[2] is the second row: " .. tostring(t[2]):gsub("\n", " "))
print("argmax of the first row: " .. t[1]:argmax() .. "   (0-based: the 9 is at Lua position 2)")
--> t:get(1, 1) = 5.0   (top-left, 1-based position)
--> t:get(2, 3) = 8.0   (bottom-right)
--> t[2] is the second row: tensor(3) [7, 1, 8]
--> argmax of the first row: 1   (0-based: the 9 is at Lua position 2)

-- %% [markdown]
-- ## Padding and stride
--
-- "valid" padding (the default) only places the kernel where it fits entirely,
-- so a 3x3 kernel eats one pixel at each border. "same" pads the image with
-- zeros so the output keeps the input's size. A stride of 2 moves the kernel two
-- pixels at a time, halving the output:
--
--   valid: out = floor((in - k) / stride) + 1
--   same:  out = ceil(in / stride)

-- %%
function shape_of(t) return table.concat(t.shape, "x") end
print("valid, stride 1: " .. shape_of(tensor.conv2d(tensor(A), tensor(w))))
print("same,  stride 1: " .. shape_of(tensor.conv2d(tensor(A), tensor(w), {padding = "same"})))
print("valid, stride 2: " .. shape_of(tensor.conv2d(tensor(A), tensor(w), {stride = 2})))
print("same,  stride 2: " .. shape_of(tensor.conv2d(tensor(A), tensor(w), {stride = 2, padding = "same"})))
print(tensor.conv2d(tensor(A), tensor(w), {padding = "same"}))
--> valid, stride 1: 3x3
--> same,  stride 1: 5x5
--> valid, stride 2: 2x2
--> same,  stride 2: 3x3
--> tensor(5x5)
--> [[-20,   0,  20,  20,   0],
-->  [-30,   0,  30,  30,   0],
-->  [-30,   0,  30,  30,   0],
-->  [-30,   0,  30,  30,   0],
-->  [-20,   0,  20,  20,   0]]

-- %% [markdown]
-- With "same" padding the zeros around the border look like edges too: the
-- left column now sees bright pixels on its right and zero padding on its left,
-- hence the -30s; in the top and bottom rows one row of the kernel lies on the
-- padding, so 30 drops to 20. That is why the first layers of a CNN often respond
-- along the image border.
--
-- ## An edge filter on a real image
--
-- Now a real picture: the first training image of Fashion-MNIST (28x28 grey
-- pixels). data.load finds the full dataset (Debian's dataset-fashion-mnist
-- package puts it under /usr/share/datasets) or falls back to the small sample
-- shipped with Lunette, and says so. Pixels come as 0..255; data.scale(x, 1/255)
-- maps them to 0..1.
--
-- We use the Sobel kernels, a smoothed version of the edge detector above: Gx
-- responds to vertical edges (changes from left to right) and Gy to horizontal
-- ones. The edge strength is sqrt(Gx^2 + Gy^2).

-- %%
fashion = data.load("fashion_mnist")
img = data.scale(fashion.x_train[1], 1 / 255)  -- 28x28x1, the first image (1-based!), 0..1
label = fashion.y_train:get(1)                -- its class id (0-based)
print("image " .. shape_of(img) .. ", class " .. math.tointeger(label) .. " = "
      .. fashion.classes[math.tointeger(label) + 1])
print(plot.image(img, {title = "the image"}))

-- %%
sobel_x = tensor{{1, 0, -1}, {2, 0, -2}, {1, 0, -1}}
sobel_y = sobel_x:transpose()
grey = img:reshape(28, 28)
gx = tensor.conv2d(grey, sobel_x, {padding = "same"})
gy = tensor.conv2d(grey, sobel_y, {padding = "same"})
edges = (gx * gx + gy * gy):sqrt()
print("edge map " .. shape_of(edges))
--> edge map 28x28

-- %%
-- normalize = true stretches each map's min..max to black..white
print(plot.image(gx, {title = "Gx: vertical edges (signed)", normalize = true}))
print(plot.image(edges, {title = "edge strength sqrt(Gx^2 + Gy^2)", normalize = true}))

-- %% [markdown]
-- The outline of the garment lights up and the flat regions go dark: a 3x3 sum
-- of products is enough to find edges. A CNN does not get its kernels from a
-- textbook: it learns them from data, and the first layer of a trained network
-- typically ends up with edge detectors much like these.
--
-- Try it: replace sobel_x by {{0, 1, 0}, {1, -4, 1}, {0, 1, 0}} (a Laplacian),
-- or by a 5x5 kernel of 1/25 (a blur), and plot again.
