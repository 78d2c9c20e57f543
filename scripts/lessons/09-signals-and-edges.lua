-- %% [markdown]
-- # Lesson 9: signals and edges
--
-- Convolution is older than neural networks: signal processing has used it for
-- a century to smooth noise and to find edges. The 1-D version slides a kernel
-- w of length k along a signal x:
--
--   y[i] = sum over k' of x[i + k'] * w[k']        (k' = 0 .. k-1)
--
-- and the 2-D version is the sum of lesson 1. This lesson filters a noisy signal,
-- finds edges in a signal and in images, and looks at the two ways of storing a
-- colour image: H x W x C (Keras, Lunette) and C x H x W (PyTorch).

-- %%
lunette = require "lunette"
tensor, plot, data = lunette.tensor, lunette.plot, lunette.data
function shape_of(t) return table.concat(t.shape, "x") end
function rms(t) return math.sqrt((t * t):mean()) end
lunette.seed(9)

-- %% [markdown]
-- ## Smoothing a noisy signal
--
-- The clean signal is a sine wave, sin(2*pi*t/50) for t = 0..199. We add
-- Gaussian noise of standard deviation 0.3. A moving average replaces each point
-- by the mean of its 9 neighbours: that is a convolution with the kernel
-- w = {1/9, 1/9, ..., 1/9}. Averaging 9 independent noise values divides the
-- noise's standard deviation by sqrt(9) = 3, while the slow sine wave barely
-- changes. padding = "same" keeps the 200 points.

-- %%
N = 200
t = tensor.arange(0, N)
clean = t:clone():apply(function(v) return math.sin(2 * math.pi * v / 50) end)
noisy = clean + tensor.randn(N) * 0.3
box = tensor.full({9}, 1 / 9)
smooth = tensor.conv1d(noisy, box, {padding = "same"})
print("signal " .. shape_of(noisy) .. ", kernel " .. shape_of(box) .. ", smoothed " .. shape_of(smooth))
-- Compare away from the ends, where "same" padding pulls the average towards 0.
inner = function(s) return s:slice(1, 10, N - 9) end
err_before = rms(inner(noisy) - inner(clean))
err_after = rms(inner(smooth) - inner(clean))
print(string.format("error before: %.2f   after: %.2f", err_before, err_after))
assert(err_after < err_before / 2, "smoothing should at least halve the error")
--> signal 200, kernel 9, smoothed 200
--> error before: 0.30   after: 0.14

-- %%
print(plot.lines({noisy = noisy, smoothed = smooth, clean = clean},
                 {title = "moving average of width 9"}))

-- %% [markdown]
-- ## Edges in a signal
--
-- The kernel {-1, 1} computes y[i] = x[i+1] - x[i], the change from one point to
-- the next. On a step signal it is 0 on the flat parts, +1 where the signal
-- rises and -1 where it falls: an edge detector. A signal of length 8 and a
-- kernel of length 2 give 8 - 2 + 1 = 7 outputs ("valid" padding).

-- %%
step = tensor{0, 0, 0, 1, 1, 1, 0, 0}
print(tensor.conv1d(step, {-1, 1}))
--> tensor(7)
--> [ 0,  0,  1,  0,  0, -1,  0]

-- %% [markdown]
-- On the noisy sine the same kernel mostly amplifies the noise (neighbouring
-- noise values do not cancel), which is why edge detectors smooth first: the
-- Sobel kernel below is a difference in one direction and an average in the
-- other.

-- %%
d_noisy = tensor.conv1d(noisy, {-1, 1})
d_smooth = tensor.conv1d(smooth, {-1, 1})
print(string.format("rms of the difference: noisy %.2f, smoothed %.2f",
                    rms(d_noisy), rms(inner(d_smooth))))
--> rms of the difference: noisy 0.41, smoothed 0.09

-- %% [markdown]
-- ## Edges in an image
--
-- A 10x10 image with a bright 4x4 square in the middle. The Sobel kernel
--
--   Gx = {{1, 0, -1}, {2, 0, -2}, {1, 0, -1}}
--
-- takes left minus right (responding to vertical edges) while averaging three
-- rows with weights 1, 2, 1. Its transpose Gy does the same for horizontal edges.
-- The edge strength is sqrt(Gx^2 + Gy^2).

-- %%
square = tensor.zeros(10, 10)
for i = 4, 7 do for j = 4, 7 do square:set(i, j, 1) end end
sobel_x = tensor{{1, 0, -1}, {2, 0, -2}, {1, 0, -1}}
sobel_y = sobel_x:transpose()
gx = tensor.conv2d(square, sobel_x)
gy = tensor.conv2d(square, sobel_y)
print(gx)
--> tensor(8x8)
--> [[ 0,  0,  0,  0,  0,  0,  0,  0],
-->  [ 0, -1, -1,  0,  0,  1,  1,  0],
-->  [ 0, -3, -3,  0,  0,  3,  3,  0],
-->  [ 0, -4, -4,  0,  0,  4,  4,  0],
-->  [ 0, -4, -4,  0,  0,  4,  4,  0],
-->  [ 0, -3, -3,  0,  0,  3,  3,  0],
-->  [ 0, -1, -1,  0,  0,  1,  1,  0],
-->  [ 0,  0,  0,  0,  0,  0,  0,  0]]

-- %% [markdown]
-- Gx is negative on the square's left side (dark on the left, bright on the
-- right: left minus right < 0), positive on its right side, and zero on its top
-- and bottom, where there is no left-right change. Together Gx and Gy outline
-- the whole square.

-- %%
strength = (gx * gx + gy * gy):sqrt()
print(plot.images({square, strength}, {titles = {"the square", "edge strength"}, normalize = true}))

-- %% [markdown]
-- The same filters on a real photograph: a Fashion-MNIST sneaker (class 7).

-- %%
fashion = data.load("fashion_mnist")
idx = nil
for i = 1, fashion.y_test.shape[1] do
  if fashion.y_test:get(i) == 7 then idx = i break end
end
sneaker = data.scale(fashion.x_test[idx]:reshape(28, 28), 1 / 255)
sx = tensor.conv2d(sneaker, sobel_x, {padding = "same"})
sy = tensor.conv2d(sneaker, sobel_y, {padding = "same"})
sneaker_edges = (sx * sx + sy * sy):sqrt()
print(fashion.classes[8] .. ": image " .. shape_of(sneaker) .. ", edges " .. shape_of(sneaker_edges))
--> Sneaker: image 28x28, edges 28x28

-- %%
print(plot.image(sneaker, {title = "sneaker"}))
print(plot.image(sneaker_edges, {title = "Sobel edge strength", normalize = true}))

-- %% [markdown]
-- ## H x W x C versus C x H x W
--
-- A colour image has three numbers per pixel (red, green, blue). Keras and
-- Lunette store it as H x W x C ("channels last"): the three values of a pixel
-- sit next to each other in memory. PyTorch and many image libraries use
-- C x H x W ("channels first"): a whole red plane, then green, then blue.
--
-- To see which is which, we fill a 2x3 image with the value
-- 100*row + 10*column + channel, so each number names its own position.

-- %%
hwc = tensor.zeros(2, 3, 3)
for h = 1, 2 do for w = 1, 3 do for c = 1, 3 do
  hwc:set(h, w, c, 100 * h + 10 * w + c)
end end end
chw = hwc:permute(3, 1, 2)         -- dimension 3 (C) first, then 1 (H), then 2 (W)
print("H x W x C: " .. shape_of(hwc) .. "   C x H x W: " .. shape_of(chw))
print("hwc:get(2, 3, 1) = " .. hwc:get(2, 3, 1) .. "   chw:get(1, 2, 3) = " .. chw:get(1, 2, 3))
print("memory order, channels last:  " .. table.concat(hwc:reshape(18):totable(), " ", 1, 9) .. " ...")
print("memory order, channels first: " .. table.concat(chw:reshape(18):totable(), " ", 1, 9) .. " ...")
print("the red plane chw[1]:")
print(chw[1])
--> H x W x C: 2x3x3   C x H x W: 3x2x3
--> hwc:get(2, 3, 1) = 231.0   chw:get(1, 2, 3) = 231.0
--> memory order, channels last:  111.0 112.0 113.0 121.0 122.0 123.0 131.0 132.0 133.0 ...
--> memory order, channels first: 111.0 121.0 131.0 211.0 221.0 231.0 112.0 122.0 132.0 ...
--> the red plane chw[1]:
--> tensor(2x3)
--> [[111, 121, 131],
-->  [211, 221, 231]]

-- %% [markdown]
-- permute(3, 1, 2) means "new dimension 1 is old dimension 3", and so on; it
-- copies the data into the new order. To bring a channels-first array back to
-- channels last, permute(2, 3, 1). Getting this wrong does not always raise an
-- error (a 3x32x32 array reshaped to 32x32x3 has the right size) but the picture
-- becomes a scramble of stripes, so check shapes whenever data crosses from one
-- library to another.

-- %%
back = chw:permute(2, 3, 1)
same = (back - hwc):abs():max() == 0
print("chw:permute(2, 3, 1) gives back " .. shape_of(back) .. ", identical: " .. tostring(same))
--> chw:permute(2, 3, 1) gives back 2x3x3, identical: true
