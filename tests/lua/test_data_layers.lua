-- test_data_layers.lua: nn.RandomFlip / RandomRotation / RandomZoom / RandomTranslation:
-- constructor forms and configs, identity at inference, the seeded transform of
-- data.augment in training, errors, and use inside a Sequential model (fit, predict,
-- save and load).
local T = require "check"
local tmp = os.getenv("LUNETTE_TEST_TMP") or "."

local x = tensor.rand(3, 6, 5, 2) * 255

-- constructor forms, configs (nn[class](config) rebuilds the layer)
local cases = {
  { nn.RandomFlip("horizontal"), "RandomFlip", { flip = "horizontal" } },
  { nn.RandomFlip(), "RandomFlip", { flip = "horizontal_and_vertical" } },
  { nn.RandomRotation(0.1), "RandomRotation", { rotation = 0.1 } },
  { nn.RandomRotation{ factor = { -0.05, 0.2 }, fill_mode = "wrap" }, "RandomRotation",
    { rotation = { -0.05, 0.2 }, fill = "wrap" } },
  { nn.RandomZoom(0.2), "RandomZoom", { zoom = 0.2 } },
  { nn.RandomZoom{ 0.5, 0.4, interpolation = "nearest" }, "RandomZoom",
    { zoom = 0.5, zoom_width = 0.4, interpolation = "nearest" } },
  { nn.RandomTranslation(0.1, 0.2), "RandomTranslation", { translation = 0.1, translation_width = 0.2 } },
  { nn.RandomTranslation{ height_factor = 0.1, fill_mode = "constant", fill_value = 9 },
    "RandomTranslation", { translation = 0.1, fill = "constant", fill_value = 9 } },
}
for i, c in ipairs(cases) do
  local l, cls, aug = c[1], c[2], c[3]
  local cfg = l:config()
  T.check(cfg.class == cls and l.kind == cls, "class of case " .. i)
  T.close(l:forward(x), x, 0, "identity at inference, case " .. i)
  -- rebuilt from its config with a seed, in training: the transform data.augment makes
  cfg.seed = 40 + i
  local seeded = nn[cfg.class](cfg)
  seeded:train()
  aug.seed = 40 + i
  T.close(seeded:forward(x), data.augment(x, aug), 1e-4, "training = data.augment with the seed, case " .. i)
  local again = nn[cfg.class](cfg)
  again:train()
  local y1 = again:forward(x)
  T.check((y1 - x):abs():sum() > 0, "training changes the images, case " .. i)
  seeded:evaluate()
  T.close(seeded:forward(x), x, 0, "identity again after evaluate(), case " .. i)
end

-- backward: identity at inference
local r = nn.RandomRotation(0.2)
local g = tensor.rand(3, 6, 5, 2)
r:forward(x)
T.close(r:backward(x, g), g, 0, "backward at inference passes the gradient")

-- errors
T.raises(function() nn.RandomRotation() end, "nn.RandomRotation: missing argument 'factor'")
T.raises(function() nn.RandomZoom{} end, "nn.RandomZoom: missing argument 'height_factor'")
T.raises(function() nn.RandomFlip("diagonal") end, "nn.RandomFlip: flip must be 'horizontal', 'vertical' or 'horizontal_and_vertical', not 'diagonal'")
T.raises(function() nn.RandomZoom(-2) end, "nn.RandomZoom: height_factor factor -2")
T.raises(function() nn.RandomZoom{ { -1.5, 0 } } end, "nn.RandomZoom: augment: zoom height lower bound -1.5 must be greater than -1")
T.raises(function() nn.RandomRotation{ 0.1, fill_mode = "mirror" } end, "nn.RandomRotation: fill_mode must be")
T.raises(function() nn.RandomFlip():forward(tensor.zeros(2, 5)) end, "random_flip: expects images H×W×C, got input shape 5")
for _, n in ipairs { "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation" } do
  T.check(require("lunette")._gethelp(nn[n]) ~= nil, "help for nn." .. n)
end

-- inside a model
if nn.Sequential then
  lunette = require "lunette"
  lunette.seed(1)
  local m = nn.Sequential {
    nn.Input { 6, 5, 2 }, nn.RandomFlip("horizontal"), nn.RandomRotation(0.05), nn.RandomZoom(0.1),
    nn.RandomTranslation(0.1), nn.Flatten(), nn.Dense { units = 3, activation = "softmax" } }
  m:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy" }
  local xs, ys = x / 255, tensor { 0, 1, 2 }
  local p1 = m:predict(xs)
  T.close(m:predict(xs), p1, 0, "predict is deterministic (augmentation off)")
  local h = m:fit(xs, ys, { epochs = 2, batch_size = 2, verbose = 0 })
  T.check(h and #h.history.loss == 2, "fit runs through the augmentation layers")
  local path = tmp .. "/aug-model.safetensors"
  local ok, err = pcall(function() m:save(path) end)
  if ok and nn.load then
    local m2 = nn.load(path)
    T.close(m2:predict(xs), m:predict(xs), 1e-6, "saved and loaded model predicts the same")
  else
    print("SKIP save/load: " .. tostring(err))
  end
else
  print("SKIP model test: nn.Sequential is not available")
end

T.done()
