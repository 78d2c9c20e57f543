-- test_options.lua: an unknown key in any options table is an error naming it, with a
-- suggestion when one is close (issue 16). Table-driven over every public function that
-- takes options: each case calls it with valid options (which must work: every option it
-- reads is one it knows), then with an unknown key added, then with a misspelt one.
local T = require "check"
local L = require "lunette"
local nn, tensor, data, plot, metrics, json = L.nn, L.tensor, L.data, L.plot, L.metrics, L.json

local function merged(base, extra)
  local t = {}
  for k, v in pairs(base or {}) do t[k] = v end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

local x4 = tensor.rand(4, 6, 6, 1)
local y4 = tensor{0, 1, 0, 1}
local function model()
  local m = nn.Sequential{ nn.Input{6, 6, 1}, nn.Flatten(), nn.Dense{units=2, activation="softmax"} }
  m:compile{ optimizer="sgd", loss="sparse_categorical_crossentropy", metrics={"accuracy"} }
  return m
end
local m = model()
local h = m:fit(x4, y4, {epochs=1, verbose=0})
local conv = nn.Conv2D{filters=2, kernel_size=3, input_shape={6, 6, 1}}
local tmp = os.tmpname()

-- { name in the message, function(opts), valid options, misspelt key, the suggestion }
local cases = {
  {"nn.Conv2D", nn.Conv2D, {filters=2, kernel_size=3, strides=1, padding="same", activation="relu", use_bias=true, name="c", trainable=false}, "paddding", "padding"},
  {"nn.Conv1D", nn.Conv1D, {filters=2, kernel=3, stride=1, padding="valid"}, "filter", "filters"},
  {"nn.Dense", nn.Dense, {units=3, activation="relu", use_bias=false, input_shape={4}}, "activaton", "activation"},
  {"nn.MaxPool2D", nn.MaxPool2D, {pool_size=2, strides=2, padding="same"}, "pool_sise", "pool_size"},
  {"nn.AvgPool2D", nn.AvgPool2D, {size=2, stride=1}, "strids", "strides"},
  {"nn.MaxPool1D", nn.MaxPool1D, {size=2}, "sizes", "size"},
  {"nn.GlobalMaxPool2D", nn.GlobalMaxPool2D, {name="g"}, "nme", "name"},
  {"nn.GlobalAvgPool2D", nn.GlobalAvgPool2D, {}, "nmae", "name"},
  {"nn.GlobalMaxPool1D", nn.GlobalMaxPool1D, {}, "input_shap", "input_shape"},
  {"nn.Flatten", nn.Flatten, {name="f"}, "name_", "name"},
  {"nn.Dropout", nn.Dropout, {rate=0.5}, "rat", "rate"},
  {"nn.BatchNorm", nn.BatchNorm, {momentum=0.9, epsilon=1e-3}, "momentun", "momentum"},
  {"nn.Embedding", nn.Embedding, {input_dim=10, output_dim=4}, "output_dims", "output_dim"},
  {"nn.ReLU", nn.ReLU, {}, "nam", "name"},
  {"nn.LeakyReLU", nn.LeakyReLU, {negative_slope=0.1}, "negative_slop", "negative_slope"},
  {"nn.Sigmoid", nn.Sigmoid, {}, "Name", "name"},
  {"nn.Tanh", nn.Tanh, {}, "nme", "name"},
  {"nn.Softmax", nn.Softmax, {}, "nme", "name"},
  {"nn.Add", nn.Add, {}, "nme", "name"},
  {"nn.Subtract", nn.Subtract, {}, "nme", "name"},
  {"nn.Multiply", nn.Multiply, {}, "nme", "name"},
  {"nn.Average", nn.Average, {}, "nme", "name"},
  {"nn.Maximum", nn.Maximum, {}, "nme", "name"},
  {"nn.Concatenate", nn.Concatenate, {axis=-1}, "axes", "axis"},
  {"nn.Input", nn.Input, {shape={4}}, "shap", "shape"},
  {"nn.Lambda", nn.Lambda, {forward=function(x) return x end}, "forwad", "forward"},
  {"nn.Layer", nn.Layer, {forward=function(self, x) return x end, weight={2}}, "wieght", "weight"},
  {"nn.RandomFlip", nn.RandomFlip, {mode="horizontal", seed=1}, "mdoe", "mode"},
  {"nn.RandomRotation", nn.RandomRotation, {factor=0.1, fill_mode="wrap"}, "fill_mod", "fill_mode"},
  {"nn.RandomZoom", nn.RandomZoom, {height_factor=0.1, interpolation="nearest"}, "width_facter", "width_factor"},
  {"nn.RandomTranslation", nn.RandomTranslation, {height_factor=0.1, width_factor=0.1}, "heigth_factor", "height_factor"},
  {"nn.EarlyStopping", nn.EarlyStopping, {monitor="loss", patience=2}, "patiense", "patience"},
  {"nn.ModelCheckpoint", nn.ModelCheckpoint, {path=tmp, monitor="loss"}, "save_best", "save_best_only"},
  {"nn.Sequential", function(o) local t = {nn.Input{3}, nn.Dense(2)}; for k, v in pairs(o) do t[k] = v end; return nn.Sequential(t) end, {name="s"}, "nme", "name"},
  {"nn.Model", nn.Model, (function() local i = nn.Input{3}; return {inputs=i, outputs=nn.Dense(2)(i)} end)(), "output", "outputs"},
  {"nn.gradcheck", function(o) return nn.gradcheck(nn.Dense{units=2, input_shape={3}}, tensor.rand(2, 3), o) end, {samples=2}, "sample", "samples"},
  {"nn.load", function(o) m:save(tmp); return nn.load(tmp, o) end, {custom_objects={}}, "custom_object", "custom_objects"},
  {"compile", function(o) return model():compile(o) end, {optimizer="adam", loss="mse", metrics={}}, "metric", "metrics"},
  {"fit", function(o) return model():fit(x4, y4, o) end, {epochs=1, batch_size=2, verbose=0, shuffle=false}, "epoch", "epochs"},
  {"fit: callbacks[1]", function(o) return model():fit(x4, y4, {verbose=0, callbacks={o}}) end, {on_epoch_end=function() end}, "on_epoch_ned", "on_epoch_end"},
  {"train_on_batch", function(o) return model():train_on_batch(x4, y4, o) end, {sample_weight={1, 1, 1, 1}, class_weight={[0]=2}}, "class_weigth", "class_weight"},
  {"evaluate", function(o) return m:evaluate(x4, y4, o) end, {batch_size=2, verbose=0}, "batchsize", "batch_size"},
  {"predict", function(o) return m:predict(x4, o) end, {batch_size=2}, "batch_sise", "batch_size"},
  {"predict", function(o) return m:predict_classes(x4, o) end, {batch_size=2}, "batch_sise", "batch_size"},
  {"forward", function(o) return m:forward(x4, o) end, {training=false}, "trainig", "training"},
  {"summary", function(o) return m:summary_text(o) end, {width=60}, "widht", "width"},
  {"data.batches", function(o) return data.batches(x4, y4, o) end, {batch_size=2, shuffle=false, copy=true, seed=1}, "suffle", "shuffle"},
  {"data.augment", function(o) return data.augment(x4, o) end, {flip="horizontal", rotation=0.1, seed=3}, "rotaton", "rotation"},
  {"data.load", function(o) return data.load("fashion_mnist", o) end, {sample=true, quiet=true}, "quite", "quiet"},
  {"data.split", function(o) return data.split(x4, y4, 0.5, o) end, {shuffle=true, seed=1}, "sead", "seed"},
  {"data.normalize", function(o) return data.normalize(x4, o) end, {mean=0.5, std=0.25}, "mena", "mean"},
  {"tensor.conv2d", function(o) return tensor.conv2d(tensor.rand(4, 4), tensor.rand(2, 2), o) end, {stride=1, padding="same"}, "paddin", "padding"},
  {"tensor.conv1d", function(o) return tensor.conv1d(tensor.rand(6), tensor.rand(3), o) end, {stride=2}, "stide", "stride"},
  {"tensor.maxpool2d", function(o) return tensor.maxpool2d(tensor.rand(4, 4), o) end, {size=2, stride=2}, "szie", "size"},
  {"tensor.avgpool2d", function(o) return tensor.avgpool2d(tensor.rand(4, 4), o) end, {size=2}, "sise", "size"},
  {"json.encode", function(o) return json.encode({1}, o) end, {pretty=true}, "prety", "pretty"},
  {"metrics.classification_report", function(o) return metrics.classification_report(y4, y4, o) end, {k=2}, "classses", "classes"},
  {"plot.lines", function(o) return plot.lines({a={1, 2, 3}}, o) end, {title="t", xlabel="x", width=40, height=10}, "xlable", "xlabel"},
  {"plot.history", function(o) return plot.history(h, o) end, {title="t"}, "titel", "title"},
  {"plot.confusion", function(o) return plot.confusion(tensor{{1, 0}, {0, 1}}, o) end, {normalize=true, classes={"a", "b"}}, "normalise", "normalize"},
  {"plot.image", function(o) return plot.image(tensor.rand(4, 4), o) end, {normalize=true}, "hieght", "height"},
  {"plot.images", function(o) return plot.images(tensor.rand(2, 4, 4), o) end, {labels={0, 1}, cols=2}, "label", "labels"},
  {"plot.featuremaps", function(o) return plot.featuremaps(tensor.rand(1, 4, 4, 2), o) end, {max=2}, "mx", "max"},
  {"plot.filters", function(o) return plot.filters(conv, o) end, {max=2, channel=1}, "chanel", "channel"},
  {"plot.bar", function(o) return plot.bar({1, 2}, {"a", "b"}, o) end, {title="t"}, "tile", "title"},
  {"plot.hist", function(o) return plot.hist(tensor.rand(10), o) end, {bins=4}, "bin", "bins"},
  {"plot.model", function(o) return plot.model(m, o) end, {width=60}, "with", "width"},
  {"nn.ReduceLROnPlateau", nn.ReduceLROnPlateau, {monitor="loss", factor=0.5, patience=1, min_lr=1e-5, min_delta=0, cooldown=1, mode="min", verbose=0}, "patiense", "patience"},
  {"nn.LearningRateScheduler", function(o) return nn.LearningRateScheduler(function(_, lr) return lr end, o) end, {verbose=0}, "verbos", "verbose"},
  {"nn.lr_find", function(o) return nn.lr_find(model(), x4, y4, o) end, {steps=3, batch_size=2, start_lr=1e-3, end_lr=1e-1, diverge=5, smooth=0.5}, "batchsize", "batch_size"},
  {"nn.l1_l2", nn.l1_l2, {l1=0.1, l2=0.1}, "ll2", "l2"},
  {"optim.SGD", L.optim.SGD, {lr=0.1, momentum=0.9, nesterov=true, weight_decay=1e-4, clipnorm=1}, "momentun", "momentum"},
  {"optim.Adam", L.optim.Adam, {learning_rate=1e-3, beta_1=0.9, beta2=0.99, eps=1e-7, clipvalue=1}, "epsilom", "epsilon"},
  {"optim.AdamW", L.optim.AdamW, {lr=1e-3, weight_decay=0.01, global_clipnorm=1}, "weight_decy", "weight_decay"},
  {"optim.RMSprop", L.optim.RMSprop, {lr=1e-3, rho=0.9, epsilon=1e-7}, "rh0", "rho"},
  {"optim.schedules.ExponentialDecay", L.optim.schedules.ExponentialDecay, {initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=true}, "decay_step", "decay_steps"},
  {"optim.schedules.PiecewiseConstant", L.optim.schedules.PiecewiseConstant, {boundaries={5}, values={1, 0.1}}, "boundries", "boundaries"},
  {"optim.schedules.CosineDecay", L.optim.schedules.CosineDecay, {initial_learning_rate=0, decay_steps=10, alpha=0.1, warmup_target=0.1, warmup_steps=5}, "warmup_step", "warmup_steps"},
  {"optim.schedules.OneCycle", L.optim.schedules.OneCycle, {max_lr=0.1, total_steps=100, pct_start=0.25, div_factor=10, final_div_factor=100}, "max_rl", "max_lr"},
}

for _, c in ipairs(cases) do
  local name, f, good, typo, want = c[1], c[2], c[3], c[4], c[5]
  local ok, err = pcall(f, merged(good))
  T.check(ok, name .. " with valid options: " .. tostring(err))
  T.raises(function() f(merged(good, {bogus_key=1})) end, name .. ": unknown option 'bogus_key'", name .. " unknown key")
  local bad = merged(good, {[typo]=good[want] or 1})
  bad[want] = nil
  T.raises(function() f(bad) end,
    string.format("%s: unknown option '%s' (did you mean '%s'?)", name, typo, want), name .. " suggestion")
end

T.raises(function() m:save(tmp, {overwrite=true}) end, "save: unknown option 'overwrite' (it takes no options)")

-- a user's own fields on a layer stay out of its config: save/load still works, and the
-- config's keys (the architecture) are read-only rather than silently out of step
do
  local mu = nn.Sequential{nn.Input{3}, nn.Dense(2)}
  mu:compile{loss="mse", optimizer="sgd"}
  mu.layers[1].note = "first"
  T.check(mu.layers[1].note == "first" and mu.layers[1]:config().note == nil, "a user field is kept, not in config")
  T.check(mu:save(tmp), "save with a user field")
  T.check(nn.load(tmp).layers[1]:config().units == 2, "loads back")
  T.raises(function() mu.layers[1].units = 4 end, "dense.units is part of the layer's config (read-only)")
  -- number keys are user fields too (the lookup turned 1 into "1" and read back nil)
  mu.layers[1][1], mu.layers[1][2.5] = "one", "half"
  T.check(mu.layers[1][1] == "one" and mu.layers[1][2.5] == "half", "a number-keyed user field reads back")
  -- a regularizer set on a made layer would be a user field, never applied: refused
  T.raises(function() mu.layers[1].kernel_regularizer = nn.l2(1e-4) end,
    "dense.kernel_regularizer is set when the layer is made (nn.Dense{..., kernel_regularizer=nn.l2(1e-4)}): build a new layer")
end

-- the issue's examples, word for word
T.raises(function() nn.Conv2D{filters=8, kernel=3, paddding="same", activaton="relu"} end, "unknown option")
T.raises(function() nn.Conv2D{filters=8, kernal_size=3} end,
  "nn.Conv2D: unknown option 'kernal_size' (did you mean 'kernel_size'?)", "a misspelt required option is named")
T.raises(function() nn.Dense{units=2, foo=1} end,
  "nn.Dense: unknown option 'foo' (options: units, activation, use_bias, kernel_regularizer, name, input_shape, trainable, class)")
T.raises(function() nn.Conv2D{8, 3, 1} end, "nn.Conv2D: unexpected positional argument 3 (it takes 2)")
T.raises(function() model():fit(x4, y4, {1}) end, "fit: options must be named (name=value), got a value at index 1")
T.raises(function() nn.Dense{units=2, [true]=1} end, "nn.Dense: option names must be strings, got a boolean key")
T.raises(function() nn.Dense{units=2, use_bias=1} end, "nn.Dense: 'use_bias' must be true or false, got number")
-- Keras's aliases stay accepted
T.check(nn.Conv2D{filters=1, kernel=3, stride=2}:config().strides[1] == 2, "kernel and stride aliases")
T.check(nn.Embedding{vocab=5, dim=2}:config().input_dim == 5, "vocab/dim aliases")
-- positional forms still work
T.check(nn.Dropout(0.2):config().rate > 0.19, "nn.Dropout(0.2)")
T.check(nn.Dense(3):config().units == 3, "nn.Dense(3)")
-- the option errors point at the user's line
local _, e = pcall(function() model():fit(x4, y4, {epoch=1}) end)
T.check(tostring(e):find("test_options.lua:%d+: fit: unknown option 'epoch'") ~= nil, "fit's error at the caller: " .. tostring(e))
-- a config round trip rebuilds a layer; a wrong class is refused
local c = nn.Conv2D{filters=2, kernel_size=3}:config()
T.check(nn.Conv2D(c):config().filters == 2, "nn[cfg.class](cfg)")
T.raises(function() nn.Dense(c) end, "nn.Dense: unknown option")
-- numbers in layer configs print as written, not as float32 artifacts
T.check(nn.LeakyReLU(0.1):config().negative_slope == 0.1, "LeakyReLU slope 0.1")
T.check(nn.RandomRotation(0.1):config().factor[2] == 0.1, "RandomRotation factor 0.1")
T.check(nn.RandomZoom{0.2, fill_value=0.3}:config().fill_value == 0.3, "fill_value 0.3")
local bn = nn.BatchNorm{momentum=0.9, epsilon=1e-5}:config()
T.check(bn.momentum == 0.9 and bn.epsilon == 1e-5, "BatchNorm momentum and epsilon")
local ms = nn.Sequential{nn.Input{4}, nn.Dropout(0.1), nn.LeakyReLU(0.2), nn.Dense(2)}
ms:compile{loss="mse", optimizer="sgd"}
ms:save(tmp)
local ml = nn.load(tmp)
T.check(ml.layers[1]:config().rate == 0.1 and ml.layers[2]:config().negative_slope == 0.2, "configs as written after save/load")
T.check(require("lunette.pretty").format(ml.layers[2]:config()):find("negative_slope = 0.2}", 1, true) ~= nil, "printed as 0.2")
os.remove(tmp)
T.done()
