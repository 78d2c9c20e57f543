-- test_schedules.lua: the learning rate during fit: schedules evaluated per step (the
-- history's lr against the closed form), nn.LearningRateScheduler, nn.ReduceLROnPlateau
-- (Keras's rules worked by hand), plot.history's lr panel, and nn.lr_find (an exponential
-- sweep that stops on divergence and puts everything back).
local T = require "check"
local L = require "lunette"
local nn, optim, tensor, plot = L.nn, L.optim, L.tensor, L.plot

L.seed(1)
local x, y = tensor.randn(16, 5), tensor.randn(16, 2)
local function model(opt)
  local m = nn.Sequential { nn.Input { 5 }, nn.Dense { 8, activation = "relu" }, nn.BatchNorm {}, nn.Dense { 2 } }
  m:compile { optimizer = opt, loss = "mse" }
  return m
end

-- a schedule is evaluated at each step: 4 steps an epoch, the history shows the rate of
-- each epoch's first step (steps 0, 4, 8)
local cos = optim.schedules.CosineDecay { initial_learning_rate = 0.1, decay_steps = 10 }
local m = model(optim.SGD { lr = cos })
local h = m:fit(x, y, { epochs = 3, batch_size = 4, verbose = 0 })
for e = 1, 3 do
  T.close(h.history.lr[e], 0.1 * 0.5 * (1 + math.cos(math.pi * math.min(4 * (e - 1), 10) / 10)), 1e-15,
    "history lr, epoch " .. e)
end
T.close(m.optimizer.lr, cos(12), 1e-15, "opt.lr: the schedule at the next step")
local p = tostring(plot.history(h, { width = 90, height = 12 }))
T.check(p:find("Learning rate", 1, true) ~= nil, "plot.history shows a changing lr")
local h1 = model(optim.SGD { lr = 0.1 }):fit(x, y, { epochs = 2, verbose = 0 })
T.check(h1.history.lr[1] == 0.1 and h1.history.lr[2] == 0.1, "a constant lr is recorded as written")
T.check(not tostring(plot.history(h1, { width = 90 })):find("Learning rate", 1, true), "a constant lr is not drawn")
T.check(tostring(plot.history(h1, { width = 90, lr = true })):find("Learning rate", 1, true) ~= nil, "lr=true draws it")

-- nn.LearningRateScheduler: fn(epoch, lr) before each epoch
local seen = {}
m = model(optim.Adam { lr = 0.1 })
h = m:fit(x, y, { epochs = 3, verbose = 0, callbacks = { nn.LearningRateScheduler(function(epoch, lr)
  seen[#seen + 1] = { epoch, lr }
  return epoch == 1 and lr or lr / 2
end) } })
T.check(seen[1][1] == 1 and seen[1][2] == 0.1 and seen[3][1] == 3 and seen[3][2] == 0.05, "fn(epoch, current lr)")
T.check(h.history.lr[1] == 0.1 and h.history.lr[2] == 0.05 and h.history.lr[3] == 0.025, "history lr from the callback")
for _, bad in ipairs { { "fast", "'fast' (a string)" }, { -1, "-1" }, { 0 / 0, "nan" } } do
  T.raises(function()
    model(optim.SGD()):fit(x, y, { verbose = 0, callbacks = { nn.LearningRateScheduler(function() return bad[1] end) } })
  end, bad[2] == "nan" and "nn.LearningRateScheduler: the schedule returned " or
    ("nn.LearningRateScheduler: the schedule returned " .. bad[2] .. " for epoch 1; expected a positive number"))
end
T.raises(function()
  model(optim.SGD { lr = cos }):fit(x, y, { verbose = 0, callbacks = { nn.LearningRateScheduler(function(_, lr) return lr end) } })
end, "the optimizer's lr is a schedule (CosineDecay); use one or the other")
T.raises(function() nn.LearningRateScheduler(0.1) end, "expected a function fn(epoch, lr) → lr, got 0.1")

-- nn.ReduceLROnPlateau, driven by hand: Keras's rules
local fake = { optimizer = optim.SGD { lr = 1 }, _verbose = 0 }
local r = nn.ReduceLROnPlateau { monitor = "loss", factor = 0.5, patience = 2, min_lr = 0.3 }
r:on_train_begin()
local lrs = {}
for e, v in ipairs { 1.0, 0.5, 0.5, 0.49995, 0.6, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4 } do
  r:on_epoch_end(e, { loss = v }, fake)
  lrs[e] = fake.optimizer.lr
end
-- improvements (by more than min_delta 1e-4) at epochs 1, 2, 7; the wait reaches 2 at
-- epoch 4 (→ 0.5) and 6 (0.25 is below min_lr: → 0.3), and at 9, where lr = min_lr stays
T.check(lrs[3] == 1 and lrs[4] == 0.5 and lrs[5] == 0.5 and lrs[6] == 0.3 and lrs[11] == 0.3,
  "plateau reductions: " .. table.concat(lrs, " "))
local rc = nn.ReduceLROnPlateau { monitor = "val_accuracy", patience = 1, cooldown = 2 }
fake.optimizer.lr = 1
rc:on_train_begin()
lrs = {}
for e, v in ipairs { 0.5, 0.4, 0.4, 0.4, 0.4, 0.4 } do
  rc:on_epoch_end(e, { val_accuracy = v }, fake)
  lrs[e] = fake.optimizer.lr
end
-- mode max; epoch 2 no improvement → 0.1 (patience 1); the cool-down counts down at
-- epochs 3 and 4 (Keras decrements first, so epoch 4 already waits again) → 0.01; again at 6
T.check(math.abs(lrs[3] - 0.1) < 1e-12 and math.abs(lrs[4] - 0.01) < 1e-12 and math.abs(lrs[5] - 0.01) < 1e-12
  and math.abs(lrs[6] - 0.001) < 1e-12,
  "cool-down and mode max: " .. table.concat(lrs, " "))
T.raises(function() nn.ReduceLROnPlateau { factor = 1.5 } end, "nn.ReduceLROnPlateau: factor must be in (0, 1), got 1.5")
T.raises(function() nn.ReduceLROnPlateau { patience = -1 } end, "patience must be a whole number >= 0, got -1")
T.raises(function() nn.ReduceLROnPlateau { min_lr = 0 / 0 } end, "min_lr must be a finite number >= 0")
T.raises(function() nn.ReduceLROnPlateau { factr = 0.5 } end, "unknown option 'factr' (did you mean 'factor'?)")
-- inside fit
m = model(optim.SGD { lr = 0.01 })
h = m:fit(x, y, { epochs = 3, verbose = 0, callbacks = { nn.ReduceLROnPlateau { monitor = "loss", min_delta = 100, patience = 1 } } })
-- no epoch improves by 100: after epoch 2 the rate drops; the history has each epoch's rate
T.close(h.history.lr, { 0.01, 0.01, 0.001 }, 1e-15, "ReduceLROnPlateau in fit")

-- nn.lr_find: exponential sweep, stops when the loss diverges, everything put back
m = model(optim.Adam { lr = 1e-3 })
m:fit(x, y, { epochs = 1, batch_size = 4, verbose = 0 })
local w0 = m:_flat_params():clone()
local mm0 = m.layers[2].moving_mean:clone()
local st0 = m.optimizer:state((m:parameters()))
local res = nn.lr_find(m, x, y, { start_lr = 1e-4, end_lr = 1e4, steps = 50, batch_size = 4 })
T.check(#res.lr >= 2 and #res.lr <= 50, "lr_find steps")
T.close(res.lr[2] / res.lr[1], (1e8) ^ (1 / 49), 1e-12, "exponential sweep")
T.check(res.stopped ~= nil, "a sweep to 1e4 diverges and stops: " .. tostring(res.stopped))
T.close(m:_flat_params(), w0, 0, "weights restored")
T.close(m.layers[2].moving_mean, mm0, 0, "moving statistics restored")
local st1 = m.optimizer:state((m:parameters()))
T.check(st1.iterations == st0.iterations, "optimizer step count restored")
T.close(st1.m, st0.m, 0, "optimizer moments restored")
T.check(m.optimizer.lr == 1e-3, "optimizer rate restored")
T.check(res.suggestion and res.suggestion > 0, "a suggestion")
local txt = tostring(res)
T.check(txt:find("log10(learning rate)", 1, true) and txt:find("suggested lr", 1, true), "printed with its plot")
T.raises(function() nn.lr_find(m, x, y, { start_lr = 1, end_lr = 0.1 }) end, "end_lr (0.1) must be above start_lr (1)")
T.raises(function() nn.lr_find(m, x, y, { step = 10 }) end, "nn.lr_find: unknown option 'step' (did you mean 'steps'?)")
T.raises(function() nn.lr_find(nn.Sequential { nn.Input { 5 }, nn.Dense { 2 } }, x, y) end, "the model is not compiled")
do   -- an optimizer replaced by hand is named (it said "attempt to index a number value")
  local o = m.optimizer
  m.optimizer = 5
  T.raises(function() nn.lr_find(m, x, y, { steps = 3 }) end, "nn.lr_find: model.optimizer must be an optimizer (such as optim.Adam{lr=1e-3}), got 5")
  m.optimizer = o
end
-- a result whose loss a user replaced is refused, not looped over (fuzz seed 2000057: a
-- __len of 2^62 made table.move run for ever in C, out of Ctrl-C's reach)
res.loss = setmetatable({}, { __len = function() return 1 << 62 end })
T.raises(function() return tostring(res) end, "lr_find: result.loss must be the list of numbers lr_find made, got a table")
T.raises(function() return res:plot() end, "lr_find:plot: result.loss must be the list")
T.done()
