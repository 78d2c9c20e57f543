-- test_health.lua: fit{monitor=true}'s layer statistics against direct computation on
-- known activations (a Dense layer with a unit that never fires), the gradient norm
-- against model:backward, the update-to-weight ratio against the weights before and
-- after the step; monitoring changes no result; warnings for a dead layer and for a
-- non-finite loss; plot.health and the errors.
local T = require "check"

-- a Dense{4, relu} on positive inputs; unit 3 has negative weights and bias: never fires
local function model()
  local m = nn.Sequential { nn.Dense { 4, activation = 'relu', input_shape = { 3 }, name = 'd1' },
    nn.Dense { 2, activation = 'softmax', name = 'd2' } }
  m:predict(tensor.zeros(1, 3))
  m:get_layer('d1').weight = tensor { { 0.5, -0.2, -1, 0.3 }, { 0.1, 0.4, -2, -0.6 }, { -0.3, 0.2, -0.5, 0.8 } }
  m:get_layer('d1').bias = tensor { 0.1, 0, -0.5, 0.05 }
  m:get_layer('d2').weight = tensor { { 0.3, -0.3 }, { 0.2, 0.1 }, { -0.4, 0.5 }, { 0.6, -0.2 } }
  m:get_layer('d2').bias = tensor { 0.01, -0.02 }
  m:compile { optimizer = optim.SGD { lr = 0.1 }, loss = 'sparse_categorical_crossentropy' }
  return m
end

local x = tensor { { 1, 2, 0.5 }, { 0.2, 0.1, 3 }, { 2, 0.5, 1 }, { 0.7, 1.5, 0.2 } }
local y = tensor { 0, 1, 1, 0 }

-- direct computation: activations of d1 (inference = training here: no dropout)
local m = model()
local W, b = m:get_layer('d1').weight, m:get_layer('d1').bias
local acts, sum, n = {}, 0, 0
local fired = { false, false, false, false }
for i = 1, 4 do for j = 1, 4 do
  local v = b:get(j)
  for k = 1, 3 do v = v + x:get(i, k) * W:get(k, j) end
  v = math.max(v, 0)
  acts[#acts + 1] = v
  sum, n = sum + v, n + 1
  if v ~= 0 then fired[j] = true end
end end
local mean = sum / n
local var = 0
for _, v in ipairs(acts) do var = var + (v - mean) ^ 2 end
local std = math.sqrt(var / n)
local dead = 0
for j = 1, 4 do if not fired[j] then dead = dead + 1 end end
T.check(dead == 1, "the known activations have one dead unit")

-- gradients of the mean loss by model:backward (another path than the fused step)
local g = model()
local yb = g:forward(x, { training = true })
g:backward(nn.loss('sparse_categorical_crossentropy'):backward(yb, y))
local _, grads = g:parameters()
local function norm2(ts) local s = 0 for _, t in ipairs(ts) do s = s + (t * t):sum() end return math.sqrt(s) end
local gn1, gn2 = norm2 { grads[1], grads[2] }, norm2 { grads[3], grads[4] }

-- one monitored step
local net = m:_network(x)
local p0 = {}
for i, p in ipairs((m:parameters())) do p0[i] = p:clone() end
net:_monitor(true)
m:train_on_batch(x, y)
local h = net:_health()
net:_monitor(false)
T.check(h.steps == 1, "one step counted")
local d1, d2 = h.nodes[1], h.nodes[2]
T.check(d1.name == 'd1' and d2.name == 'd2', "nodes in order, by name")
T.close(d1.dead, dead / 4, 1e-12, "dead ReLU fraction")
T.close(d1.mean, mean, 1e-6, "activation mean")
T.close(d1.std, std, 1e-6, "activation std")
T.check(d2.dead == nil, "no dead fraction for a softmax output")
T.close(d1.grad_norm, gn1, 1e-5, "gradient norm of d1 (weights and bias)")
T.close(d2.grad_norm, gn2, 1e-5, "gradient norm of d2")
local p1 = m:parameters()
local function ratio(i, j) return norm2 { p1[i] - p0[i], p1[j] - p0[j] } / norm2 { p0[i], p0[j] } end
T.close(d1.update_ratio, ratio(1, 2), 1e-5, "update/weight ratio of d1")
T.close(d2.update_ratio, ratio(3, 4), 1e-5, "update/weight ratio of d2")
T.close(d1.update_ratio, 0.1 * gn1 / norm2 { p0[1], p0[2] }, 1e-5, "SGD: ratio = lr·|g|/|w|")
T.close(d1.last.dead, d1.dead, 0, "the last step's values")

-- a monitored and an unmonitored run give identical weights
local ds = data.load("fashion_mnist")
local xs, ys = ds.x_train:slice(1, 1, 300) / 255, ds.y_train:slice(1, 1, 300)
local function run(monitor)
  lunette.seed(5)
  local c = nn.Sequential { nn.Conv2D { filters = 4, kernel = 3, stride = 2, activation = 'relu', input_shape = { 28, 28, 1 } },
    nn.BatchNorm {}, nn.Flatten(), nn.Dropout(0.2), nn.Dense { 10, activation = 'softmax' } }
  c:compile { optimizer = 'adam', loss = 'sparse_categorical_crossentropy', metrics = { 'accuracy' } }
  local hist = c:fit(xs, ys, { epochs = 2, batch_size = 32, verbose = 0, monitor = monitor })
  return c, hist
end
local ca, ha = run(true)
local cb, hb = run(false)
local pa, pb = ca:parameters(), cb:parameters()
for i = 1, #pa do T.close(pa[i], pb[i], 0, "identical weights with and without monitor " .. i) end
T.close(ha.history.loss, hb.history.loss, 0, "identical losses")
T.check(#ha.health == 2 and hb.health == nil, "history.health per epoch, only when monitored")
T.check(ha.health[1][1].name == 'conv2d' and ha.health[1][1].dead ~= nil and ha.health[1][1].grad_norm > 0,
  "epoch health rows")

-- per-epoch histograms: the last epoch's weights are the trained model's; the outputs
-- counted on the first 64 training samples
local last = ha.histograms[2]
T.check(#ha.histograms == 2 and last[1].name == 'conv2d', "histograms per epoch, per layer")
local counts = plot._histogram(ca.layers[1].weight, 20)
T.close(last[1].weights.counts, counts, 0, "weight histogram = the final weights'")
local total = 0
for _, c in ipairs(last[1].activations.counts) do total = total + c end
T.check(total == 64 * 13 * 13 * 4, "activation histogram counts 64 samples of 13x13x4")
local outs = ca:_network(xs):_outputs(xs:slice(1, 1, 5))
T.check(#outs == 5, "net:_outputs: one tensor per layer node")
T.close(outs[5], ca:predict(xs:slice(1, 1, 5)), 1e-6, "net:_outputs: the last is the prediction")
local hp = plot.hist(ha, { layer = 'dense', kind = 'activations' }):render(80, 20, "ascii")
T.check(hp:find("Activations of dense per epoch", 1, true) and hp:find("epoch 2", 1, true), "plot.hist(history): small multiples")
T.raises(function() plot.hist(ha, { layer = 'nope' }) end, "no layer named 'nope'")
T.raises(function() plot.hist(ha, { kind = 'grads' }) end, "kind must be 'weights' or 'activations'")
T.raises(function() plot.hist(hb) end, "the history has no histograms: train with fit{..., monitor=true}")

-- a layer that dies: warned once, named, kept in history.warnings
local dm = model()
dm:get_layer('d1').bias = tensor { -100, -100, -100, -100 }
local out = {}
local oprint = print
print = function(...) out[#out + 1] = table.concat({ ... }, "\t") end
local ok, dh = pcall(dm.fit, dm, x, y, { epochs = 2, batch_size = 2, verbose = 0, monitor = 1 })
print = oprint
T.check(ok, "fit with a dead layer runs: " .. tostring(dh))
T.check(ok and #dh.warnings == 1 and dh.warnings[1]:find("layer d1 died at epoch 1, batch 1", 1, true),
  "one warning naming the dead layer, from the first of two dead batches in a row")
T.check(out[1] and out[1]:find("warning: layer d1 died", 1, true), "the warning is printed")

-- one dead batch alone is no warning (healthy training has them early on)
local H = require "lunette.health"
local seq = { 1, 0, 1 }
local hist2 = {}
local mon = H.start({ _monitor = function() end, _health = function()
  local v = table.remove(seq, 1)
  return { steps = 3 - #seq, nodes = { { name = 'd1', last = { dead = v } } } }
end }, hist2, nil, false, false, true)
print = function() end
for b = 1, 3 do mon:batch(1, b) end
print = oprint
T.check(#hist2.warnings == 0, "dead, alive, dead: no warning")

-- a non-finite loss names the layer where the non-finite values are
local nm = model()
local w = nm:get_layer('d2').weight
w:set(1, 1, 0 / 0)
nm:get_layer('d2').weight = w
T.raises(function() nm:fit(x, y, { epochs = 1, verbose = 0, monitor = true }) end,
  "the first non-finite values are in the weights of layer d2")

-- plot.health: four panels, one curve per layer
local txt = plot.health(ha):render(80, 24, "ascii")
T.check(txt:find("update/weight", 1, true) and txt:find("Dead ReLU", 1, true) and txt:find("gradient norm", 1, true),
  "plot.health panels")
T.check(txt:find("conv2d", 1, true) and txt:find("dense", 1, true), "plot.health names the layers")
for line in txt:gmatch("[^\n]+") do T.check(#line <= 80, "plot.health fits 80 columns") end
local lines = require("lunette.health").lines(ha.health[2], 80)
T.check(lines[1]:find("layer", 1, true) and lines[1]:find("upd/w", 1, true) and #lines == 4, "health table: header and 3 rows")

-- the dashboard's health panel at 80x24: a header, a row per layer, the warnings, and
-- still room for the curves
local dash = require "lunette.dashboard"
local d = dash.start { epochs = 2, steps = 10 }
for b = 1, 5 do d:batch(1, b, { loss = 1 / b, accuracy = 0.1 * b }) end
local rows = {}
for i, r in ipairs(ha.health[2]) do rows[i] = r end
d:health(rows)
d:warn("warning: layer conv2d died at epoch 1, batch 3: all its ReLU units output zero for whole batches since then")
local lines, pl = d:frame(80, 24)
local head = table.concat(lines, "\n")
T.check(head:find("Layer health", 1, true) and head:find("upd/w", 1, true), "dashboard: the health panel")
T.check(head:find(" conv2d ", 1, true) and head:find(" dense ", 1, true), "dashboard: a row per layer")
T.check(head:find("warning: layer conv2d died", 1, true), "dashboard: the warning")
for _, l in ipairs(lines) do T.check(utf8.len(l) <= 80, "dashboard line fits 80 columns: " .. l) end
T.check(pl ~= nil and #lines <= 14, "dashboard: curves still drawn at 80x24 (" .. #lines .. " header lines)")
local flagged = require("lunette.health").lines({ { name = "x", dead = 1, mean = 0, std = 0, grad_norm = 0, update_ratio = 0 },
  { name = "y", update_ratio = 0.05, mean = 1, std = 1, grad_norm = 1 } }, 80)
T.check(flagged[2]:find("DEAD", 1, true) and flagged[3]:find("upd/w high", 1, true), "health rows flag dead layers and high updates")
d:finish()

-- errors
T.raises(function() plot.health({ history = {} }) end, "plot.health: expected the history of fit{..., monitor=true}")
T.raises(function() plot.health(ha, { colour = 1 }) end, "unknown option 'colour'")
T.raises(function() model():fit(x, y, { monitor = 'yes', verbose = 0 }) end, "fit: monitor must be true, false or a batch interval")
-- an interval past the bound is named with the bound (it said "n >= 1" of 2^63-1)
T.raises(function() model():fit(x, y, { monitor = math.maxinteger, verbose = 0 }) end,
  "fit: monitor must be true, false or a batch interval n in 1..1000000 (measure every n-th batch), got 9223372036854775807")
T.done()
