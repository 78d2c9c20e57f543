-- test_model_threads.lua: a training step on 2 threads (each half the batch, see
-- src/nn/parallel.c) equals the 1-thread step. The model has three convolutions whose
-- per-sample scratch shrinks after the second, the case where the two threads once shared
-- overlapping conv scratch (found by review with ThreadSanitizer: a few steps in a hundred
-- came out wrong). Repeated, since a race shows only now and then.
local T = require "check"

lunette.seed(7)
local model = nn.Sequential {
  nn.Conv2D { filters = 8, kernel = 3, padding = "same", activation = "relu", input_shape = { 12, 12, 3 } },
  nn.Conv2D { filters = 8, kernel = 5, padding = "same", activation = "relu" },
  nn.Conv2D { filters = 4, kernel = 3, stride = 3, activation = "relu" },
  nn.Flatten(), nn.Dense(3) }
model:compile { optimizer = optim.SGD { lr = 0.1 }, loss = "mse" }
local x, y = tensor.randn(32, 12, 12, 3), tensor.randn(32, 3)
model:predict(x)
local trained = { 1, 2, 3, 5 }
local w0 = {}
for _, i in ipairs(trained) do w0[i] = { model.layers[i].weight:clone(), model.layers[i].bias:clone() } end

local function step(threads)
  lunette.threads(threads)
  for _, i in ipairs(trained) do
    model.layers[i].weight:copy(w0[i][1])
    model.layers[i].bias:copy(w0[i][2])
  end
  model:train_on_batch(x, y)
  return model.layers[1].weight - w0[1][1]
end

local old = lunette.threads()
local ref = step(1)
local scale = ref:abs():max()
local bad, worst = 0, 0
for _ = 1, 400 do
  local e = (step(2) - ref):abs():max() / scale
  if e > 1e-3 then bad = bad + 1 end
  worst = math.max(worst, e)
end
lunette.threads(old)
print(string.format("2-thread steps differing from the 1-thread step: %d of 400 (worst relative %.2g)", bad, worst))
T.check(scale > 0, "the step changes the first layer")
T.check(bad == 0, "every 2-thread step equals the 1-thread step")

-- Tiny images under many filters, a batch of 2: each thread's share of the scratch (its
-- rows' cols) is smaller than the flipped kernel a stride-1 input gradient would put
-- there; that once ran both threads' flipped kernels over each other (a heap overflow).
local function tiny(threads)
  lunette.threads(threads)
  lunette.seed(3)
  local m = nn.Sequential { nn.Input { 2, 2, 16 }, nn.Conv2D { filters = 64, kernel = 3, padding = "same" },
    nn.Conv2D { filters = 16, kernel = 3, padding = "same" }, nn.Flatten(), nn.Dense(2) }
  m:compile { optimizer = optim.SGD { lr = 0.01 }, loss = "mse" }
  local tx, ty = tensor.randn(2, 2, 2, 16), tensor.randn(2, 2)
  m:train_on_batch(tx, ty)
  return m.layers[1].weight:clone(), m.layers[2].weight:clone()
end
local a1, a2 = tiny(1)
local b1, b2 = tiny(2)
lunette.threads(old)
T.check((a1 - b1):abs():max() < 1e-5 and (a2 - b2):abs():max() < 1e-5,
  "tiny images, many filters, batch 2: the 2-thread step equals the 1-thread step")
T.done()
