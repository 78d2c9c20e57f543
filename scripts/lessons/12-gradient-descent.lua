-- %% [markdown]
-- # Lesson 12: gradient descent, SGD and Adam
--
-- Training is minimisation: find the weights w that make the loss f(w) small.
-- The gradient g = df/dw points uphill, so gradient descent takes small steps
-- downhill:
--
--   w <- w - lr * g
--
-- with the learning rate lr setting the step size. This lesson runs the three
-- optimizers of the course on a small problem we can follow number by number,
-- then on a CNN.

-- %%
lunette = require "lunette"
tensor, nn, optim, data, plot = lunette.tensor, lunette.nn, lunette.optim, lunette.data, lunette.plot
QUICK = os.getenv("LUNETTE_QUICK") == "1"
lunette.seed(12)

-- %% [markdown]
-- ## A long narrow valley
--
--   f(w1, w2) = (w1^2 + 10 * w2^2) / 2,   gradient g = (w1, 10 * w2)
--
-- The minimum is at (0, 0). The valley is 10 times steeper across (w2) than
-- along (w1), like the loss surfaces of real networks, where some weights matter
-- far more than others. We start at (10, 1), where f = 55.

-- %%
function f(w) return (w[1] ^ 2 + 10 * w[2] ^ 2) / 2 end
function grad(w) return {w[1], 10 * w[2]} end
function report(name, w, trace)
  print(string.format("%-22s w = (%8.4f, %8.4f)   f = %.4f", name, w[1], w[2], f(w)))
end
print(string.format("start: f = %.4f", f({10, 1})))
--> start: f = 55.0000

-- %% [markdown]
-- ## Gradient descent
--
-- Each step multiplies w1 by (1 - lr) and w2 by (1 - 10*lr). With lr = 0.15,
-- w2 is multiplied by -0.5: it overshoots the valley floor and bounces back and
-- forth, but converges; w1 shrinks by only 0.85 per step. With lr = 0.21 the
-- factor becomes -1.1: every bounce is bigger than the last and the iterates
-- fly off. The largest stable learning rate is set by the steepest direction
-- (here 2/10 = 0.2), and the flat direction then crawls: the classic problem
-- that momentum and Adam address.

-- %%
function gd(lr, steps, trace)
  local w = {10, 1}
  for t = 1, steps do
    local g = grad(w)
    w = {w[1] - lr * g[1], w[2] - lr * g[2]}
    if trace then trace[t] = f(w) end
  end
  return w
end
gd_trace = {}
report("GD, lr = 0.15", gd(0.15, 30, gd_trace))
report("GD, lr = 0.21", gd(0.21, 30))
--> GD, lr = 0.15          w = (  0.0763,   0.0000)   f = 0.0029
--> GD, lr = 0.21          w = (  0.0085,  17.4494)   f = 1522.4082

-- %% [markdown]
-- ## Momentum
--
-- Momentum keeps a velocity v, a running sum of past gradients:
--
--   v <- momentum * v - lr * g
--   w <- w + v
--
-- Along the valley the gradients agree, so the velocity builds up and w1 moves
-- faster; across it they alternate in sign and cancel.

-- %%
function momentum(lr, mu, steps, trace)
  local w, v = {10, 1}, {0, 0}
  for t = 1, steps do
    local g = grad(w)
    for i = 1, 2 do
      v[i] = mu * v[i] - lr * g[i]
      w[i] = w[i] + v[i]
    end
    if trace then trace[t] = f(w) end
  end
  return w
end
mom_trace = {}
report("momentum 0.5", momentum(0.15, 0.5, 30, mom_trace))
--> momentum 0.5           w = ( -0.0002,  -0.0000)   f = 0.0000

-- %% [markdown]
-- ## Adam
--
-- Adam (Kingma and Ba, 2014) keeps two running averages per weight: m of the
-- gradient (like momentum) and v of its square (how big the gradients usually
-- are), and divides one by the square root of the other:
--
--   m <- beta1 * m + (1 - beta1) * g
--   v <- beta2 * v + (1 - beta2) * g^2
--   w <- w - lr_t * m / (sqrt(v) + eps),   lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
--
-- (lr_t corrects for m and v starting at 0; this is the form Keras uses, with
-- beta1 = 0.9, beta2 = 0.999, eps = 1e-7.) Every weight then moves by about lr
-- per step whatever the scale of its gradient: the flat direction is no longer
-- slow. The price: near the minimum the steps stay about lr long, so Adam
-- circles around it until m averages out.

-- %%
function adam(lr, steps, trace)
  local w, m, v = {10, 1}, {0, 0}, {0, 0}
  local b1, b2, eps = 0.9, 0.999, 1e-7
  for t = 1, steps do
    local g = grad(w)
    local lr_t = lr * math.sqrt(1 - b2 ^ t) / (1 - b1 ^ t)
    for i = 1, 2 do
      m[i] = b1 * m[i] + (1 - b1) * g[i]
      v[i] = b2 * v[i] + (1 - b2) * g[i] ^ 2
      w[i] = w[i] - lr_t * m[i] / (math.sqrt(v[i]) + eps)
    end
    if trace then trace[t] = f(w) end
  end
  return w
end
adam_trace = {}
report("Adam, lr = 0.5", adam(0.5, 30, adam_trace))
report("Adam, 100 steps", adam(0.5, 100))
--> Adam, lr = 0.5         w = ( -1.0269,   0.1359)   f = 0.6196
--> Adam, 100 steps        w = ( -0.0421,  -0.0043)   f = 0.0010

-- %% [markdown]
-- ## The same steps from Lunette's optimizers
--
-- optim.SGD and optim.Adam do these updates on tensors: opt:step(params, grads)
-- takes lists of weight tensors and their gradients and updates the weights in
-- place. Driving them with our valley's gradient reproduces the Lua loops above.

-- %%
function run(opt, steps)
  local w = tensor{10, 1}
  for _ = 1, steps do
    local g = tensor{w:get(1), 10 * w:get(2)}
    opt:step({w}, {g})
  end
  return {w:get(1), w:get(2)}
end
report("optim.SGD, lr = 0.15", run(optim.SGD{lr = 0.15}, 30))
report("optim.SGD, momentum", run(optim.SGD{lr = 0.15, momentum = 0.5}, 30))
report("optim.Adam, lr = 0.5", run(optim.Adam{lr = 0.5}, 30))
--> optim.SGD, lr = 0.15   w = (  0.0763,   0.0000)   f = 0.0029
--> optim.SGD, momentum    w = ( -0.0002,  -0.0000)   f = 0.0000
--> optim.Adam, lr = 0.5   w = ( -1.0269,   0.1359)   f = 0.6196

-- %%
print(plot.lines({GD = gd_trace, momentum = mom_trace, Adam = adam_trace},
                 {title = "f(w) on the valley (first 30 steps)", xlabel = "step"}))

-- %% [markdown]
-- ## Stochastic gradient descent on a CNN
--
-- On a real network the loss is an average over the training set, and one
-- exact gradient would need all 60,000 images. Stochastic gradient descent
-- (SGD) estimates it from a mini-batch of 32 images per step: noisier steps,
-- but 1,875 of them per pass over the data instead of one. Every optimizer in
-- Keras, and in Lunette, works on mini-batches this way; "GD", "SGD" and "Adam"
-- differ in how they turn the batch gradient into a step.
--
-- We train the same small CNN from the same initial weights three times, with
-- plain SGD (lr 0.01), SGD with momentum 0.9 and Adam (lr 0.001), recording
-- the loss of every batch with train_on_batch, and plot the three curves.
-- (Full run: 8,000 images, 2 epochs; LUNETTE_QUICK=1: 2,000 images, 1 epoch.)

-- %%
fashion = data.load("fashion_mnist")
N_TRAIN = QUICK and 2000 or 8000
EPOCHS = QUICK and 1 or 2
x_train = data.scale(fashion.x_train:slice(1, 1, N_TRAIN), 1 / 255)
y_train = fashion.y_train:slice(1, 1, N_TRAIN)
x_val = data.scale(fashion.x_test:slice(1, 1, 2000), 1 / 255)
y_val = fashion.y_test:slice(1, 1, 2000)

function small_cnn()
  return nn.Sequential{
    nn.Input{28, 28, 1},
    nn.Conv2D{16, 3, activation = "relu"},
    nn.MaxPool2D{2},
    nn.Conv2D{32, 3, activation = "relu"},
    nn.MaxPool2D{2},
    nn.Flatten(),
    nn.Dense{10, activation = "softmax"},
  }
end

curves, final = {}, {}
for _, o in ipairs({
  {"SGD", function() return optim.SGD{lr = 0.01} end},
  {"SGD + momentum", function() return optim.SGD{lr = 0.01, momentum = 0.9} end},
  {"Adam", function() return optim.Adam{lr = 1e-3} end},
}) do
  lunette.seed(120)                                     -- same weights, same batches
  local m = small_cnn()
  m:compile{optimizer = o[2](), loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
  local losses, smooth = {}, nil
  for _ = 1, EPOCHS do
    for xb, yb in data.batches(x_train, y_train, {batch_size = 32}) do
      local loss = m:train_on_batch(xb, yb)
      smooth = smooth and 0.9 * smooth + 0.1 * loss or loss  -- a running average, for a readable plot
      losses[#losses + 1] = smooth
    end
  end
  curves[o[1]] = losses
  local _, acc = m:evaluate(x_val, y_val)
  final[o[1]] = acc
  print(string.format("%-15s final training loss %.3f   val_accuracy %.3f", o[1], losses[#losses], acc))
end
assert(final.Adam > (QUICK and 0.5 or 0.7), "Adam should learn quickly")
assert(curves.Adam[#curves.Adam] < curves.SGD[#curves.SGD], "Adam should beat plain SGD here")

-- %%
print(plot.lines(curves, {title = "training loss per batch (running average)", xlabel = "batch"}))

-- %% [markdown]
-- Plain SGD with a small learning rate creeps; momentum accumulates consistent
-- directions and goes much faster; Adam adapts the step of every weight and is
-- fastest at the start, which is why it is the usual first choice (and the
-- course's). Tuned well (learning rate schedules, momentum), SGD often catches
-- up on long runs.

-- %% [markdown]
-- ## The training step, written out
--
-- train_on_batch does four things in one call. On a whole model you can write
-- them yourself, which is what a hand-written training loop (or a new idea
-- about training) needs:
--
-- 1. forward the batch in training mode (the activations are kept),
-- 2. the loss and its gradient with respect to the predictions,
-- 3. backward through the whole model (every parameter's gradient accumulates),
-- 4. one optimizer step on the parameters, then clear the gradients.
--
-- From the same initial weights, the hand-written steps give the same weights
-- as train_on_batch.

-- %%
lunette.seed(121)
a = small_cnn()
a:compile{optimizer = optim.Adam{lr = 1e-3}, loss = "sparse_categorical_crossentropy"}
b = small_cnn()
b:_flat_params():copy(a:_flat_params())                -- the same initial weights
loss_fn = nn.loss("sparse_categorical_crossentropy")
opt = optim.Adam{lr = 1e-3}
params, grads = b:parameters()
step = 0
for xb, yb in data.batches(x_train, y_train, {batch_size = 32}) do
  a:train_on_batch(xb, yb)
  local pred = b:forward(xb, {training = true})         -- 1
  local dpred = loss_fn:backward(pred, yb)              -- 2
  b:backward(dpred)                                     -- 3
  opt:step(params, grads)                               -- 4
  b:zero_grad()
  step = step + 1
  if step == 20 then break end
end
diff = (a:_flat_params() - b:_flat_params()):abs():max()
print(string.format("after %d steps the weights differ by at most %s", step,
                    diff < 1e-5 and "1e-5" or tostring(diff)))
--> after 20 steps the weights differ by at most 1e-5
