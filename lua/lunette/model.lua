-- lunette/model.lua: the Keras-style model on top of the C network (src/nn/net.c):
-- nn.Sequential, compile, fit (progress line, callbacks, dashboard, Ctrl-C), evaluate,
-- predict, summary (from shapes alone: nothing is allocated until the first
-- forward/fit), save/load (safetensors with the architecture as JSON), losses as objects,
-- EarlyStopping, ModelCheckpoint, and lunette.interrupted(err).
-- Epochs and batches are 1-based in messages and callbacks; class ids are 0-based.
local L = require "lunette"
local error = L._error     -- errors point at the caller's code, not this file
local nn, optim, tensor = L.nn, L.optim, L.tensor

local function sethelp(f, name, text) L._sethelp(f, name, text) end

local function is_tensor(x)
  local mt = getmetatable(x)
  return type(mt) == "table" and rawget(mt, "__name") == "lunette.Tensor"
end

local function is_layer(x)
  local mt = getmetatable(x)
  return type(mt) == "table" and rawget(mt, "__name") == "lunette.Layer"
end

local function is_optim(x)
  local mt = getmetatable(x)
  return type(mt) == "table" and rawget(mt, "__name") == "lunette.Optimizer"
end

local function as_tensor(x, fn, what, level)   -- level: of the user's call (3: our caller's caller)
  if is_tensor(x) then return x end
  level = level or 3
  if type(x) == "table" or type(x) == "number" then
    local ok, t = pcall(tensor, x)
    if ok then return t end                        -- else name the call: "fit: x: tensor: ..."
    error(string.format("%s: %s: %s", fn, what, tostring(t):gsub("^[^\n]-:%d+: ", "")), level)
  end
  error(string.format("%s: %s must be a tensor, got a %s", fn, what, type(x)), level)
end

-- lunette.interrupted(err): true when err is the Ctrl-C error.
function L.interrupted(err)
  if err == "interrupted" then return true end
  if type(err) == "string" then return err:match("^[^\n]*: interrupted$") ~= nil end
  return tostring(err) == "interrupted"
end
sethelp(L.interrupted, "lunette.interrupted", "lunette.interrupted(err) → boolean\n\n"
  .. "True when an error value is the one Ctrl-C raises ('interrupted').\n"
  .. "Example: local ok, err = pcall(f); if not ok and lunette.interrupted(err) then ... end")

-- Calls a C method, re-raising its error at the user's call (level 3: the caller of the
-- model method), without this file's position in front.
local function strip(e)
  if type(e) == "string" then return (e:gsub("^[^\n]-lunette/model%.lua:%d+: ", "")) end
  return e
end
local function ccall(f, ...)
  local r = table.pack(pcall(f, ...))
  if not r[1] then error(strip(r[2]), 3) end
  return table.unpack(r, 2, r.n)
end

-- ---- formatting helpers ----

local function commas(n)
  local s = tostring(math.floor(n))
  local neg = s:sub(1, 1) == "-"
  if neg then s = s:sub(2) end
  s = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  if s:sub(1, 1) == "," then s = s:sub(2) end
  return (neg and "-" or "") .. s
end

local function bytes_str(n)
  local units = { "B", "KB", "MB", "GB", "TB" }
  local i = 1
  while n >= 1024 and i < #units do n = n / 1024; i = i + 1 end
  return string.format("%.2f %s", n, units[i])
end

local function shape_str(s)
  local parts = { "None" }
  for i = 1, #s do parts[#parts + 1] = tostring(s[i]) end
  return "(" .. table.concat(parts, ", ") .. ")"
end

-- ---- losses ----

local LOSSES = {
  mse = "mse", mean_squared_error = "mse",
  binary_crossentropy = "binary_crossentropy",
  categorical_crossentropy = "categorical_crossentropy",
  sparse_categorical_crossentropy = "sparse_categorical_crossentropy",
}

local Loss = {}
Loss.__index = Loss
Loss.__name = "lunette.Loss"
function Loss:forward(pred, target)
  return ccall(nn._loss_forward, self.name, as_tensor(pred, self.name, "pred"), as_tensor(target, self.name, "target"))
end
function Loss:backward(pred, target)
  return ccall(nn._loss_backward, self.name, as_tensor(pred, self.name, "pred"), as_tensor(target, self.name, "target"))
end
Loss.__call = Loss.forward
function Loss:__tostring() return "Loss(" .. self.name .. ")" end
sethelp(Loss.forward, "Loss:forward", "loss:forward(pred, target) → number\n\nThe mean loss "
  .. "(Keras clipping of probabilities to [1e-7, 1-1e-7]).\nExample: nn.loss('mse'):forward(tensor{1, 2}, tensor{1, 0})")
sethelp(Loss.backward, "Loss:backward", "loss:backward(pred, target) → gradient\n\n"
  .. "d loss / d pred, the shape of pred.\nExample: g = nn.loss('binary_crossentropy'):backward(p, y)")

local function make_loss(name)
  local canon = LOSSES[name]
  if not canon then
    error("unknown loss '" .. tostring(name) .. "' (expected mse, binary_crossentropy, "
      .. "categorical_crossentropy or sparse_categorical_crossentropy)", 3)
  end
  return setmetatable({ name = canon }, Loss)
end

function nn.loss(name) return make_loss(name) end
sethelp(nn.loss, "nn.loss", "nn.loss(name) → loss object\n\nname: 'mse', 'binary_crossentropy', "
  .. "'categorical_crossentropy' (one-hot targets) or\n'sparse_categorical_crossentropy' (0-based class ids). "
  .. "The object has :forward(pred, target) → number\nand :backward(pred, target) → gradient.\n"
  .. "Example: nn.loss('categorical_crossentropy'):forward(tensor{{0.05, 0.95, 0}}, tensor{{0, 1, 0}})")
nn.MeanSquaredError = function() return make_loss("mse") end
nn.BinaryCrossentropy = function() return make_loss("binary_crossentropy") end
nn.CategoricalCrossentropy = function() return make_loss("categorical_crossentropy") end
nn.SparseCategoricalCrossentropy = function() return make_loss("sparse_categorical_crossentropy") end
for _, n in ipairs { "MeanSquaredError", "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy" } do
  sethelp(nn[n], "nn." .. n, "nn." .. n .. "() → loss object\n\nSame as nn.loss('" .. make_loss(
    n == "MeanSquaredError" and "mse" or n:gsub("(%l)(%u)", "%1_%2"):lower()).name .. "').")
end

-- ---- callbacks ----

local EarlyStopping = {}
EarlyStopping.__index = EarlyStopping
EarlyStopping.__name = "lunette.EarlyStopping"

local function better(mode, a, b, delta)
  if b == nil then return true end
  if mode == "max" then return a > b + delta end
  return a < b - delta
end

local function monitor_mode(monitor, mode)
  if mode and mode ~= "auto" then return mode end
  return (monitor:find("acc") and "max") or "min"
end

function nn.EarlyStopping(opts)
  opts = opts or {}
  local monitor = opts.monitor or "val_loss"
  return setmetatable({ monitor = monitor, patience = opts.patience or 0,
    min_delta = math.abs(opts.min_delta or 0), mode = monitor_mode(monitor, opts.mode),
    restore_best_weights = opts.restore_best_weights or false, verbose = opts.verbose }, EarlyStopping)
end
sethelp(nn.EarlyStopping, "nn.EarlyStopping", "nn.EarlyStopping{monitor='val_loss', patience=0, "
  .. "min_delta=0, mode='auto', restore_best_weights=false}\n\nA fit callback that stops training when "
  .. "`monitor` has not improved for `patience` epochs\n(mode 'min' for losses, 'max' for accuracies); "
  .. "with restore_best_weights the model gets back\nthe weights of its best epoch.\n"
  .. "Example: model:fit(x, y, {epochs=50, validation_split=0.1, callbacks={nn.EarlyStopping{patience=3}}})")

function EarlyStopping:on_train_begin()
  self.best, self.wait, self.best_epoch, self.best_weights, self.stopped_epoch = nil, 0, nil, nil, nil
end

function EarlyStopping:on_epoch_end(epoch, logs, model)
  local v = logs[self.monitor]
  if v == nil then
    if not self.warned then
      print(string.format("EarlyStopping: '%s' is not available (logs have %s)", self.monitor,
        table.concat((function() local k = {} for n in pairs(logs) do k[#k + 1] = n end table.sort(k) return k end)(), ", ")))
      self.warned = true
    end
    return
  end
  if better(self.mode, v, self.best, self.min_delta) then
    self.best, self.wait, self.best_epoch = v, 0, epoch
    if self.restore_best_weights then self.best_weights = model:_flat_params():clone() end
    return
  end
  self.wait = self.wait + 1
  if self.wait > self.patience then
    model.stop_training = true
    self.stopped_epoch = epoch
    if model._verbose ~= 0 then print(string.format("Epoch %d: early stopping", epoch)) end
    if self.restore_best_weights and self.best_weights then
      if model._verbose ~= 0 then
        print(string.format("Restoring model weights from the end of the best epoch: %d.", self.best_epoch))
      end
      model:_flat_params():copy(self.best_weights)
    end
  end
end

local ModelCheckpoint = {}
ModelCheckpoint.__index = ModelCheckpoint
ModelCheckpoint.__name = "lunette.ModelCheckpoint"

function nn.ModelCheckpoint(opts)
  if type(opts) == "string" then opts = { path = opts } end
  opts = opts or {}
  local path = opts.path or opts.filepath or opts[1]
  if type(path) ~= "string" then error("nn.ModelCheckpoint: missing 'path'", 2) end
  local monitor = opts.monitor or "val_loss"
  return setmetatable({ path = path, monitor = monitor, save_best_only = opts.save_best_only or false,
    mode = monitor_mode(monitor, opts.mode), verbose = opts.verbose or 0 }, ModelCheckpoint)
end
sethelp(nn.ModelCheckpoint, "nn.ModelCheckpoint", "nn.ModelCheckpoint{path, monitor='val_loss', "
  .. "save_best_only=false, mode='auto'}\n\nA fit callback that saves the model (model:save) after each "
  .. "epoch, or only when `monitor`\nimproved with save_best_only. Saving is atomic: a failed save keeps the "
  .. "last good file\n(the failure is printed and training goes on). '{epoch}' in path is replaced.\n"
  .. "Example: callbacks={nn.ModelCheckpoint{path='best.safetensors', save_best_only=true}}")

function ModelCheckpoint:on_train_begin() self.best = nil end

function ModelCheckpoint:on_epoch_end(epoch, logs, model)
  if self.save_best_only then
    local v = logs[self.monitor]
    if v == nil or not better(self.mode, v, self.best, 0) then return end
    self.best = v
  end
  local path = self.path:gsub("{epoch}", tostring(epoch))
  local ok, err = model:save(path)
  if not ok then
    print(string.format("ModelCheckpoint: could not save %s: %s", path, tostring(err)))
  elseif self.verbose ~= 0 then
    print(string.format("Epoch %d: saved model to %s", epoch, path))
  end
end

-- ---- Sequential ----

local Sequential = {}
Sequential.__name = "lunette.Sequential"
local methods = {}
Sequential.__index = methods

-- Keras-style unique names within the model: conv2d, conv2d_1, ...
local function assign_name(self, layer)
  local cfg = layer:config()
  if cfg.name then return end                      -- the user named it
  local base = layer._base_name or layer.name
  layer._base_name = base
  local used = {}
  for _, l in ipairs(self.layers) do if l ~= layer then used[l.name] = true end end
  local name, i = base, 0
  while used[name] do i = i + 1; name = base .. "_" .. i end
  layer.name = name
  -- the name is not the user's: keep it out of the saved config's "name" marker
  layer._auto_name = true
end

function methods:add(layer)
  if not is_layer(layer) then
    error("Sequential:add: expected a layer (nn.Conv2D{...}, nn.Dense{...}, ...), got a "
      .. (is_tensor(layer) and "tensor" or type(layer)), 2)
  end
  if layer.kind == "Input" then
    if #self.layers > 0 then error("Sequential:add: nn.Input must come first", 2) end
    self._input_shape = layer:config().shape
    return self
  end
  if #self.layers == 0 and not self._input_shape then
    local cfg = layer:config()
    if cfg.input_shape then self._input_shape = cfg.input_shape end
  end
  for _, l in ipairs(self.layers) do
    if rawequal(l, layer) then error("Sequential:add: this layer is already in the model", 2) end
  end
  self.layers[#self.layers + 1] = layer
  assign_name(self, layer)
  self._net = nil
  -- with the input shape known, set the layers up now (nothing is allocated): they then
  -- refuse a standalone forward of another shape instead of re-setting themselves up. A
  -- model that does not fit together yet reports that where it is used (summary, fit).
  if self._input_shape then
    local ok, net = pcall(nn._net, self.layers, self._input_shape)
    if ok then self._net = net end
  end
  return self
end
sethelp(methods.add, "Sequential:add", "model:add(layer)\n\nAppends a layer. The first layer may "
  .. "carry input_shape, or add nn.Input{...} first.\nExample: model:add(nn.Dense{10, activation='softmax'})")

function nn.Sequential(layers)
  local self = setmetatable({ layers = {}, name = "sequential" }, Sequential)
  if layers ~= nil then
    if type(layers) ~= "table" or is_layer(layers) then
      error("nn.Sequential: expected a list of layers, e.g. nn.Sequential{nn.Flatten(), nn.Dense{10}}", 2)
    end
    for i, l in ipairs(layers) do
      if not is_layer(l) then
        error(string.format("nn.Sequential: item %d is a %s, not a layer", i, type(l)), 2)
      end
      self:add(l)
    end
    if layers.name then self.name = layers.name end
  end
  return self
end
sethelp(nn.Sequential, "nn.Sequential", "nn.Sequential{layer, ...} → model\n\nA Keras-style model: "
  .. "layers applied in order. Methods: add, compile, fit, evaluate,\npredict, predict_classes, "
  .. "train_on_batch, summary, count_params, parameters, save\n(nn.load reads it back). Parameters are "
  .. "allocated on the first forward or fit, so\nsummary() of a huge model costs nothing.\nExample:\n"
  .. "  model = nn.Sequential{\n    nn.Conv2D{filters=32, kernel=3, stride=2, activation='relu', "
  .. "input_shape={28,28,1}},\n    nn.Flatten(), nn.Dense{10, activation='softmax'}}\n"
  .. "  model:compile{optimizer='adam', loss='sparse_categorical_crossentropy', metrics={'accuracy'}}")

-- The C network for the model's input shape (built lazily; x gives the shape if unknown).
function methods:_network(x, fn)
  if #self.layers == 0 then error((fn or "Sequential") .. ": the model has no layers", 3) end
  if self._net then return self._net end
  local shape = self._input_shape
  if not shape and x then
    shape = {}
    for i = 2, #x.shape do shape[#shape + 1] = x.shape[i] end
    if #shape == 0 then error((fn or "Sequential") .. ": input needs a batch dimension", 3) end
  end
  if not shape then
    error((fn or "Sequential") .. ": the input shape is unknown: add nn.Input{...} first or give "
      .. "input_shape to the first layer (or call fit/predict with data)", 3)
  end
  self._net = ccall(nn._net, self.layers, shape)
  self._input_shape = shape
  return self._net
end

function methods:_flat_params()
  local p = self:_network(nil, "parameters"):flat()
  return p
end

function methods:count_params()
  local info = self:_network(nil, "count_params"):info()
  return info.trainable + info.nontrainable
end
sethelp(methods.count_params, "Sequential:count_params", "model:count_params() → n\n\nAll parameters "
  .. "(trainable and not), computed from shapes without allocating them.\nExample: model:count_params()  --> 1284170")

function methods:parameters()
  self:_network(nil, "parameters"):build()
  local ps, gs = {}, {}
  for _, l in ipairs(self.layers) do
    local p, g = l:parameters()
    for i = 1, #p do ps[#ps + 1] = p[i]; gs[#gs + 1] = g[i] end
  end
  return ps, gs
end
sethelp(methods.parameters, "Sequential:parameters", "model:parameters() → params, grads\n\n"
  .. "Lists of the layers' weight and bias tensors and their gradients (views).")

function methods:summary_text(opts)
  local info = self:_network(nil, "summary"):info()
  local ascii = nn._ascii()
  local rows = {}
  for i, l in ipairs(info.layers) do
    rows[i] = { string.format("%s (%s)", l.name, l.kind), shape_str(l.output_shape), commas(l.params + l.state) }
  end
  local out = {}
  local total, nt = info.trainable + info.nontrainable, info.nontrainable
  out[#out + 1] = string.format('Model: "%s"', self.name)
  for _, l in ipairs(require("lunette.layout").table({ "Layer (type)", "Output Shape", "Param #" }, rows,
      { widths = { 33, 26, 15 }, right = { false, false, true }, ascii = ascii,
        width = type(opts) == "table" and opts.width or (L.columns()) })) do out[#out + 1] = l end
  out[#out + 1] = string.format(" Total params: %s (%s)", commas(total), bytes_str(total * 4))
  out[#out + 1] = string.format(" Trainable params: %s (%s)", commas(info.trainable), bytes_str(info.trainable * 4))
  out[#out + 1] = string.format(" Non-trainable params: %s (%s)", commas(nt), bytes_str(nt * 4))
  return table.concat(out, "\n")
end
sethelp(methods.summary_text, "Sequential:summary_text", "model:summary_text([{width=n}]) → string\n\nThe text summary() prints.")

function methods:summary(opts)
  print(self:summary_text(opts))
end
sethelp(methods.summary, "Sequential:summary", "model:summary([{width=n}])\n\nPrints the layers with their output "
  .. "shapes and parameter counts, and the totals, in Keras's\nlayout, made compact to fit the terminal "
  .. "(or width). Computed from shapes alone: "
  .. "summarising VGG16 allocates no weights.\nExample: model:summary()")

function Sequential:__tostring()
  local ok, s = pcall(methods.summary_text, self)
  if ok then return s end
  return string.format('Model "%s" (%d layers, input shape unknown)', self.name, #self.layers)
end

-- ---- compile ----

local function make_optimizer(o)
  if is_optim(o) then return o end
  if type(o) == "string" then
    local k = o:lower()
    if k == "adam" then return optim.Adam() end
    if k == "sgd" then return optim.SGD() end
    if k == "rmsprop" then return optim.RMSprop() end
    error("compile: unknown optimizer '" .. o .. "' (expected 'adam', 'sgd', 'rmsprop' or an optim object)", 3)
  end
  error("compile: optimizer must be a name or an optim object, got a " .. type(o), 3)
end

function methods:compile(opts)
  if type(opts) ~= "table" then error("compile: expected a table {optimizer=, loss=, metrics=}", 2) end
  if opts.loss == nil then error("compile: missing 'loss' (e.g. loss='sparse_categorical_crossentropy')", 2) end
  local loss = opts.loss
  if type(loss) == "table" and getmetatable(loss) == Loss then loss = loss.name end
  if type(loss) ~= "string" then error("compile: loss must be a name or an nn.loss object", 2) end
  loss = make_loss(loss).name
  local metrics = {}
  for _, m in ipairs(opts.metrics or {}) do
    if m == "accuracy" or m == "acc" then metrics[#metrics + 1] = "accuracy"
    else error("compile: unknown metric '" .. tostring(m) .. "' (only 'accuracy' is supported)", 2) end
  end
  self.optimizer = make_optimizer(opts.optimizer or "rmsprop")
  self.loss = loss
  self.metrics = metrics
  -- returns nothing, as Keras does, so the REPL does not print the summary again
end
sethelp(methods.compile, "Sequential:compile", "model:compile{optimizer='rmsprop', loss, metrics={}}\n\n"
  .. "optimizer: 'adam', 'sgd', 'rmsprop' or an optim object; loss: a name or nn.loss object;\n"
  .. "metrics: {'accuracy'}. With a softmax (sigmoid) output and cross-entropy, training uses the\n"
  .. "fused gradient.\nExample: model:compile{optimizer=optim.Adam{lr=1e-3}, "
  .. "loss='sparse_categorical_crossentropy', metrics={'accuracy'}}")

local function need_compiled(self, fn)
  if not self.loss then error(fn .. ": the model is not compiled: call model:compile{optimizer=..., loss=...} first", 3) end
end

local function has_acc(self) return #self.metrics > 0 end

-- ---- train_on_batch / evaluate / predict ----

local function nan_message(err, epoch, batch)
  local where = epoch and string.format(" at epoch %d, batch %d", epoch, batch) or ""
  return string.format("training stopped: %s%s; try a lower learning rate (e.g. optim.Adam{lr=1e-4})",
    err, where)
end

function methods:train_on_batch(x, y)
  need_compiled(self, "train_on_batch")
  x = as_tensor(x, "train_on_batch", "x"); y = as_tensor(y, "train_on_batch", "y")
  local net = self:_network(x, "train_on_batch")
  local loss, c, t = ccall(net.train_on_batch, net, x, y, self.loss, self.optimizer)
  if loss == nil then error(nan_message(c), 2) end
  return loss, c / t
end
sethelp(methods.train_on_batch, "Sequential:train_on_batch", "model:train_on_batch(x, y) → loss, accuracy\n\n"
  .. "One optimizer step on the batch (x, y), in one C call: forward, loss, backward, update.\n"
  .. "Example: loss = model:train_on_batch(xb, yb)")

local function check_xy(self, x, y, fn)
  x = as_tensor(x, fn, "x", 4); y = as_tensor(y, fn, "y", 4)
  if x.shape[1] ~= y.shape[1] then
    error(string.format("%s: x has %d samples but y has %d", fn, x.shape[1], y.shape[1]), 3)
  end
  return x, y
end

function methods:evaluate(x, y, opts)
  need_compiled(self, "evaluate")
  opts = opts or {}
  x, y = check_xy(self, x, y, "evaluate")
  local net = self:_network(x, "evaluate")
  local loss, c, t = ccall(net.evaluate, net, x, y, opts.batch_size or 32, self.loss)
  local acc = c / t
  if (opts.verbose or 0) > 0 then
    print(string.format("%d samples - accuracy: %.4f - loss: %.4f", x.shape[1], acc, loss))
  end
  return loss, acc
end
sethelp(methods.evaluate, "Sequential:evaluate", "model:evaluate(x, y [, {batch_size=32, verbose=0}]) → loss, accuracy\n\n"
  .. "Mean loss and accuracy over (x, y) in inference mode.\nExample: loss, acc = model:evaluate(ds.x_test, ds.y_test)")

local function batched_input(self, x, fn)
  x = as_tensor(x, fn, "x", 4)
  local net = self:_network(x, fn)
  local shape = self._input_shape
  if #x.shape == #shape then                 -- one sample: add the batch dimension
    local s = { 1 }
    for i = 1, #shape do s[i + 1] = x.shape[i] end
    x = x:reshape(s)
  end
  return net, x
end

function methods:predict(x, opts)
  opts = opts or {}
  local net, xb = batched_input(self, x, "predict")
  return ccall(net.predict, net, xb, opts.batch_size or 32)
end
sethelp(methods.predict, "Sequential:predict", "model:predict(x [, {batch_size=32}]) → tensor\n\n"
  .. "The model's outputs for x (N×input shape, or one sample), computed in batches in\ninference mode.\n"
  .. "Example: probs = model:predict(ds.x_test)")

function methods:predict_classes(x, opts)
  local p = self:predict(x, opts)
  local K = p.shape[#p.shape]
  if K == 1 then return p:gt(0.5):reshape(-1) end
  return p:argmax(#p.shape)
end
sethelp(methods.predict_classes, "Sequential:predict_classes", "model:predict_classes(x [, opts]) → tensor\n\n"
  .. "0-based class ids (argmax of the outputs; p > 0.5 for one output).\nExample: "
  .. "metrics.confusion_matrix(ds.y_test, model:predict_classes(ds.x_test), 10)")

function methods:forward(x)
  local net, xb = batched_input(self, x, "forward")
  return ccall(net.forward, net, xb, false)
end
sethelp(methods.forward, "Sequential:forward", "model:forward(x) → tensor\n\nOne batch through the model in inference mode.")

function methods:get_layer(name)
  for i, l in ipairs(self.layers) do if l.name == name or i == name then return l end end
  return nil
end
sethelp(methods.get_layer, "Sequential:get_layer", "model:get_layer(name | index) → layer or nil\n\n"
  .. "The layer called name (as summary() shows it) or at 1-based position index (Input not\n"
  .. "counted). Example: model:get_layer('conv2d').weight")

-- ---- fit ----

local function fmt_time(s)
  s = math.floor(s)                          -- %d needs an integer
  if s >= 3600 then return string.format("%d:%02d:%02d", s // 3600, (s % 3600) // 60, s % 60) end
  if s >= 60 then return string.format("%d:%02d", s // 60, s % 60) end
  return string.format("%ds", math.floor(s))
end

local function fmt_step(s)
  if s >= 1 then return string.format("%ds/step", math.floor(s + 0.5)) end
  if s >= 1e-3 then return string.format("%dms/step", math.floor(s * 1e3 + 0.5)) end
  return string.format("%dus/step", math.floor(s * 1e6 + 0.5))
end

local progress = require "lunette.progress"   -- the progress line, cut to the window

local clock = L.clock   -- monotonic wall-clock seconds (os.clock is CPU time)

local function split_validation(x, y, frac)
  local n = x.shape[1]
  local nv = math.floor(n * frac)
  if nv < 1 then error(string.format("fit: validation_split %g of %d samples leaves no validation data", frac, n), 3) end
  if nv >= n then error(string.format("fit: validation_split %g of %d samples leaves no training data", frac, n), 3) end
  local nt = n - nv
  return x:slice(1, 1, nt), y:slice(1, 1, nt), x:slice(1, nt + 1, n), y:slice(1, nt + 1, n)
end

local function call_cb(cb, what, ...)
  if type(cb) == "function" then
    if what == "on_epoch_end" then return cb(...) end
    return
  end
  local f = cb[what]
  if type(f) == "function" then
    if getmetatable(cb) then return f(cb, ...) end      -- callback objects: method call
    return f(...)                                       -- {on_batch_end=fn}: plain function
  end
end

function methods:fit(x, y, opts)
  need_compiled(self, "fit")
  opts = opts or {}
  if type(opts) ~= "table" then error("fit: options must be a table {epochs=, batch_size=, ...}", 2) end
  if x == nil or y == nil then error("fit: expected fit(x, y [, opts])", 2) end
  x, y = check_xy(self, x, y, "fit")
  local epochs = opts.epochs or 1
  local bs = opts.batch_size or 32
  if type(epochs) ~= "number" or epochs < 1 or epochs % 1 ~= 0 then error("fit: epochs must be a positive integer", 2) end
  if type(bs) ~= "number" or bs < 1 or bs % 1 ~= 0 then error("fit: batch_size must be a positive integer", 2) end
  local verbose = opts.verbose == nil and 1 or opts.verbose
  if verbose == true then verbose = 1 elseif verbose == false then verbose = 0 end
  local xv, yv
  if opts.validation_data then
    local vd = opts.validation_data
    if type(vd) ~= "table" or vd[1] == nil or vd[2] == nil then error("fit: validation_data must be {x_val, y_val}", 2) end
    xv, yv = check_xy(self, vd[1], vd[2], "fit (validation_data)")
  elseif opts.validation_split ~= nil then
    local f = opts.validation_split
    if type(f) ~= "number" or not (f >= 0 and f < 1) then
      error("fit: validation_split must be a number in [0, 1), got " .. tostring(f), 2)
    end
  end
  if not opts.validation_data and (opts.validation_split or 0) > 0 then
    x, y, xv, yv = split_validation(x, y, opts.validation_split)
  end
  local net = self:_network(x, "fit")
  local n = x.shape[1]
  ccall(net.check_targets, net, y, self.loss)
  if xv then
    local okv, e = pcall(net.check_targets, net, yv, self.loss)
    if not okv then error("fit: validation data: " .. tostring(e), 2) end
  end
  local steps = (n + bs - 1) // bs
  local callbacks = opts.callbacks or {}
  if type(callbacks) == "function" or getmetatable(callbacks) then callbacks = { callbacks } end
  local ascii = nn._ascii()
  local tty = nn._isatty() and verbose == 1
  local history = { history = { loss = {}, accuracy = has_acc(self) and {} or nil }, epoch = {}, params = { epochs = epochs, steps = steps } }
  if xv then history.history.val_loss = {}; if has_acc(self) then history.history.val_accuracy = {} end end
  self.stop_training = false
  self._verbose = verbose
  local dash
  if opts.dashboard and nn._isatty() then
    local ok, mod = pcall(require, "lunette.dashboard")
    if ok and type(mod) == "table" and mod.start then
      dash = mod.start { epochs = epochs, steps = steps, metrics = { "loss", "accuracy" }, validation = xv ~= nil }
    elseif verbose ~= 0 then
      print("fit: the dashboard is not available; showing the progress line instead")
    end
  end
  local show = verbose ~= 0 and not dash
  for _, cb in ipairs(callbacks) do call_cb(cb, "on_train_begin", self) end
  local cur_epoch, cur_batch = 0, 0
  local function run()
    for epoch = 1, epochs do
      cur_epoch, cur_batch = epoch, 0
      if show then print(string.format("Epoch %d/%d", epoch, epochs)) end
      net:shuffle(n, opts.shuffle ~= false)
      local t0 = clock()
      local last_draw = -1
      local lsum, csum, tsum, seen = 0, 0, 0, 0
      local logs = {}
      for b = 1, steps do
        cur_batch = b
        local start = (b - 1) * bs
        local cnt = math.min(bs, n - start)
        local loss, c, t = net:train_rows(x, y, start, cnt, self.loss, self.optimizer)
        if loss == nil then error(nan_message(c, epoch, b), 0) end
        lsum = lsum + loss * cnt; seen = seen + cnt
        csum = csum + c; tsum = tsum + t
        logs = { loss = lsum / seen }
        if has_acc(self) then logs.accuracy = csum / tsum end
        for _, cb in ipairs(callbacks) do call_cb(cb, "on_batch_end", b, logs, self) end
        if dash then
          if dash:batch(epoch, b, { loss = logs.loss, accuracy = logs.accuracy }) == false then
            self.stop_training = true
            break
          end
        elseif tty and (b == steps or clock() - last_draw >= 0.1) then   -- ~10 updates/s
          last_draw = clock()
          local el = clock() - t0
          local eta = el / b * (steps - b)
          local line = progress.line({ b = b, steps = steps, ascii = ascii, time = fmt_time(eta),
            step = fmt_step(el / b), logs = logs }, (L.columns()))
          io.stdout:write("\r", line, "\27[K")
          io.stdout:flush()
        end
        if self.stop_training then break end
      end
      local elapsed = clock() - t0
      if xv then
        local vl, vc, vt = net:evaluate(xv, yv, bs, self.loss)
        logs.val_loss = vl
        if has_acc(self) then logs.val_accuracy = vc / vt end
      end
      for k, v in pairs(logs) do history.history[k][#history.history[k] + 1] = v end
      history.epoch[#history.epoch + 1] = epoch
      if dash then dash:epoch(epoch, logs)
      elseif show then
        local line = progress.line({ b = cur_batch, steps = steps, ascii = ascii, time = fmt_time(elapsed),
          step = fmt_step(elapsed / math.max(cur_batch, 1)), logs = logs }, (L.columns()), true)
        if tty then io.stdout:write("\r", line, "\27[K\n") else print(line) end
        io.stdout:flush()
      end
      for _, cb in ipairs(callbacks) do
        if call_cb(cb, "on_epoch_end", epoch, logs, self) == false then self.stop_training = true end
      end
      if self.stop_training then break end
    end
  end
  local ok, err = pcall(run)
  for _, cb in ipairs(callbacks) do pcall(call_cb, cb, "on_train_end", self) end
  if dash then pcall(dash.finish, dash, history) end
  if not ok then
    if L.interrupted(err) then
      if tty then io.stdout:write("\n") end
      print(string.format("Interrupted at epoch %d, batch %d", cur_epoch, cur_batch))
      history.interrupted = true
      return history
    end
    if tty then io.stdout:write("\n") end
    if type(err) == "string" then error(strip(err), 2) end   -- at the caller's fit
    error(err, 0)
  end
  return history
end
sethelp(methods.fit, "Sequential:fit", "model:fit(x, y [, opts]) → history\n\nTrains for opts.epochs "
  .. "(1) over batches of opts.batch_size (32), shuffled each epoch\n(shuffle=true). "
  .. "validation_data={x_val, y_val} or validation_split=f (the last fraction of x,\nas Keras) "
  .. "adds val_loss/val_accuracy. verbose: 1 progress line (updated in place on a\nterminal, one line "
  .. "per epoch otherwise), 0 silent. callbacks: nn.EarlyStopping,\nnn.ModelCheckpoint, functions "
  .. "fn(epoch, logs, model) called after each epoch, or\n{on_batch_end=fn, on_epoch_end=fn}. "
  .. "dashboard=true shows the live screen on a terminal.\nCtrl-C stops at the next batch and returns "
  .. "the history so far (model intact).\nhistory.history.loss, .accuracy, .val_loss, .val_accuracy "
  .. "are lists, one value per epoch.\nExample: h = model:fit(ds.x_train, ds.y_train, {epochs=5, "
  .. "validation_split=0.1})")

-- ---- save / load ----

local function layer_config_for_save(l)
  local cfg = l:config()
  cfg.name = l.name
  cfg._base_name, cfg._auto_name = nil, nil
  return cfg
end

function methods:save(path)
  if type(path) ~= "string" then error("save: expected a file path", 2) end
  local st, json = L.safetensors, L.json
  if not st or not json then error("save: lunette.safetensors / lunette.json are not available", 2) end
  local net = self:_network(nil, "save")
  net:build()
  local tensors, order = {}, {}
  local layers = {}
  for i, l in ipairs(self.layers) do
    layers[i] = layer_config_for_save(l)
    local prefix = string.format("%d.%s.", i, l.name)
    for _, k in ipairs { "weight", "bias", "moving_mean", "moving_variance" } do
      local t = l[k]
      if t then tensors[prefix .. k] = t; order[#order + 1] = prefix .. k end
    end
  end
  local arch = { class_name = "Sequential", name = self.name, input_shape = self._input_shape, layers = layers }
  local meta = { lunette_format = "1", architecture = json.encode(arch) }
  if self.loss then
    local oc = self.optimizer:config()
    meta.compile = json.encode { loss = self.loss, metrics = json.array(self.metrics), optimizer = oc }
    local s = self.optimizer:state()
    meta.optimizer_state = json.encode { iterations = s.iterations, has_m = s.m ~= nil, has_v = s.v ~= nil }
    if s.m then tensors["optimizer.m"] = s.m; order[#order + 1] = "optimizer.m" end
    if s.v then tensors["optimizer.v"] = s.v; order[#order + 1] = "optimizer.v" end
  end
  return st.save(path, tensors, meta, order)
end
sethelp(methods.save, "Sequential:save", "model:save(path) → true | nil, message\n\nWrites one safetensors "
  .. "file: the weights (\"<i>.<layer name>.weight\", ...), the architecture and\ncompile settings as "
  .. "JSON metadata, and the optimizer state so a loaded model resumes\ntraining. Atomic (temporary file "
  .. "+ rename). File-system failures return nil and a message.\nExample: model:save('cifar.safetensors'); "
  .. "m2 = nn.load('cifar.safetensors')")

local function load_error(path, msg) error(string.format("nn.load: %s: %s", path, msg), 3) end

function nn.load(path)
  if type(path) ~= "string" then error("nn.load: expected a file path", 2) end
  local st, json = L.safetensors, L.json
  local tensors, meta = ccall(st.load, path)
  if not tensors then return nil, meta end
  meta = meta or {}
  if meta.lunette_format == nil then load_error(path, "not a Lunette model (no lunette_format in its metadata)") end
  if meta.lunette_format ~= "1" then load_error(path, "unsupported lunette_format '" .. tostring(meta.lunette_format) .. "'") end
  local ok, arch = pcall(json.decode, meta.architecture or "")
  if not ok or type(arch) ~= "table" or type(arch.layers) ~= "table" then
    load_error(path, "corrupt architecture metadata" .. (ok and "" or (": " .. tostring(arch))))
  end
  local model = nn.Sequential()
  model.name = type(arch.name) == "string" and arch.name or "sequential"
  if type(arch.input_shape) == "table" then
    local s = {}
    for i, v in ipairs(arch.input_shape) do s[i] = v end
    model._input_shape = s
  end
  for i, cfg in ipairs(arch.layers) do
    local cls = type(cfg) == "table" and cfg.class or nil
    local ctor = type(cls) == "string" and nn[cls]
    if type(ctor) ~= "function" then load_error(path, string.format("layer %d has unknown class '%s'", i, tostring(cls))) end
    local c = {}
    for k, v in pairs(cfg) do if k ~= "class" and k ~= "input_shape" then c[k] = v end end
    local ok2, layer = pcall(ctor, c)
    if not ok2 then load_error(path, string.format("layer %d (%s): %s", i, cls, tostring(layer))) end
    model:add(layer)
  end
  if #model.layers == 0 then load_error(path, "the architecture has no layers") end
  if not model._input_shape then load_error(path, "the architecture has no input shape") end
  local ok3, err = pcall(model._network, model, nil, "nn.load")
  if not ok3 then load_error(path, "architecture does not fit together: " .. tostring(err)) end
  model._net:build()
  local used = {}
  for i, l in ipairs(model.layers) do
    local prefix = string.format("%d.%s.", i, l.name)
    for _, k in ipairs { "weight", "bias", "moving_mean", "moving_variance" } do
      local want = l[k]
      if want then
        local t = tensors[prefix .. k]
        if not t then load_error(path, string.format("missing tensor '%s'", prefix .. k)) end
        local ok4, e = pcall(function() l[k] = t end)
        if not ok4 then load_error(path, string.format("tensor '%s' does not match the architecture: %s", prefix .. k, tostring(e))) end
        used[prefix .. k] = true
      end
    end
  end
  if meta.compile then
    local okc, comp = pcall(json.decode, meta.compile)
    if not okc or type(comp) ~= "table" or type(comp.optimizer) ~= "table" then load_error(path, "corrupt compile metadata") end
    local oc = comp.optimizer
    local ctor = optim[oc.name or ""]
    if type(ctor) ~= "function" then load_error(path, "unknown optimizer '" .. tostring(oc.name) .. "'") end
    local cfg = {}
    for k, v in pairs(oc) do if k ~= "name" then cfg[k] = v end end
    local metrics = {}
    for _, m in ipairs(comp.metrics or {}) do metrics[#metrics + 1] = m end
    model:compile { optimizer = ctor(cfg), loss = comp.loss, metrics = metrics }
    if meta.optimizer_state then
      local oks, s = pcall(json.decode, meta.optimizer_state)
      if not oks or type(s) ~= "table" then load_error(path, "corrupt optimizer_state metadata") end
      local m, v = tensors["optimizer.m"], tensors["optimizer.v"]
      local P = model._net:info().trainable
      for _, t in ipairs { m or false, v or false } do
        if t and t:numel() ~= P then
          load_error(path, string.format("optimizer state has %d values for %d parameters", t:numel(), P))
        end
      end
      model.optimizer:set_state { iterations = math.tointeger(s.iterations) or 0, m = m, v = v }
    end
  end
  return model
end
sethelp(nn.load, "nn.load", "nn.load(path) → model | nil, message\n\nReads a model written by model:save: "
  .. "architecture, weights, compile settings and optimizer\nstate (training resumes where it stopped). "
  .. "A missing file returns nil and a message; a\ncorrupt file or one that does not match its architecture "
  .. "raises a clear error.\nExample: model = nn.load('cifar.safetensors'); model:evaluate(ds.x_test, ds.y_test)")

return nn
