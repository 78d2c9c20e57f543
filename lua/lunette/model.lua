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
nn._better, nn._monitor_mode = better, monitor_mode   -- for the callbacks of lunette/training.lua

function nn.EarlyStopping(opts)
  opts = L._options(opts, "nn.EarlyStopping", "monitor patience min_delta mode restore_best_weights verbose")
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
  opts = L._options(opts, "nn.ModelCheckpoint", "path|filepath monitor save_best_only mode verbose", 1)
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
  elseif self.verbose ~= 0 and L.dist.rank() == 0 then      -- under mpirun, rank 0 saved
    print(string.format("Epoch %d: saved model to %s", epoch, path))
  end
end

-- ---- models: Sequential and the functional Model share one C engine (a graph) ----

local methods = {}
-- model.trainable (Keras's base_model.trainable = false): reading it tells whether any
-- layer with parameters trains; setting it sets every such layer's trainable.
local function model_index(self, k)
  if k == "trainable" then
    for _, l in ipairs(rawget(self, "_list") or {}) do if l.trainable then return true end end
    return false
  end
  return methods[k]
end
local function model_newindex(self, k, v)
  if k == "trainable" then
    if type(v) ~= "boolean" then error("model.trainable must be true or false, got " .. type(v), 2) end
    for _, l in ipairs(self._list) do if l.trainable ~= nil then l.trainable = v end end
    return
  end
  rawset(self, k, v)
end
-- (methods: where help and the REPL's completion find the methods, see help.lua index_table)
local Sequential = { __name = "lunette.Sequential", __index = model_index, __newindex = model_newindex, methods = methods }
local Model = { __name = "lunette.Model", __index = model_index, __newindex = model_newindex, methods = methods }

local function is_model(x)
  local mt = getmetatable(x)
  return mt == Sequential or mt == Model
end

-- model.layers is a read-only view of the model's own list: the network the model runs
-- holds its layers itself, and an assignment is an error rather than a silent divergence.
local function layers_view(list, cls)
  return setmetatable({}, {
    __index = list, __len = function() return #list end,
    __pairs = function() return ipairs(list) end,
    __newindex = function(_, k)
      error(string.format("model.layers is read-only (assigning [%s]): %s", tostring(k),
        cls == "Sequential" and "build a new model, or use model:add(layer)" or "build a new model"), 2)
    end,
    __name = "lunette.LayerList",
    __tostring = function()
      local lines = {}
      for i, l in ipairs(list) do lines[i] = string.format("[%d] %s", i, tostring(l)) end
      return #lines > 0 and table.concat(lines, "\n") or "(no layers)"
    end,
  })
end

-- Keras-style unique names within the model: conv2d, conv2d_1, ... `names` is the model's
-- record ({used = {name = true}, next = {base = i}}), so naming n layers costs O(n).
local function new_names() return { used = {}, next = {} } end
local function assign_name(names, layer)
  local cfg = layer:config()
  if cfg.name then names.used[layer.name] = true; return end   -- the user named it
  local base = layer._base_name or layer.name
  layer._base_name = base
  local i = names.next[base] or 0
  local name = i == 0 and base or base .. "_" .. i
  while names.used[name] do i = i + 1; name = base .. "_" .. i end
  names.used[name], names.next[base] = true, i + 1
  layer.name = name
  -- the name is not the user's: keep it out of the saved config's "name" marker
  layer._auto_name = true
end

-- ---- symbolic tensors (Keras's functional API) ----

local Sym = { __name = "lunette.SymbolicTensor" }
Sym.__index = Sym
local sym_count = 0

local function is_sym(x) return getmetatable(x) == Sym end

local function new_sym(shape, layer, inputs)
  sym_count = sym_count + 1
  return setmetatable({ shape = shape, _layer = layer, _inputs = inputs, _id = sym_count }, Sym)
end

function Sym:__tostring()
  return string.format("<symbolic tensor %s from %s>", shape_str(self.shape),
    self._layer and self._layer.name or "Input")
end
local function no_values() error("a symbolic tensor (from nn.Input or a layer called on one) has no values: "
  .. "build a model with nn.Model{inputs=..., outputs=...} and call it on data", 2) end
for _, mm in ipairs { "__add", "__sub", "__mul", "__div", "__unm", "__pow", "__lt", "__le", "__concat" } do Sym[mm] = no_values end

local c_input = nn.Input
function nn.Input(opts)
  if type(opts) ~= "table" then                       -- C would say "bad argument #1 to 'c_input'"
    error("nn.Input: expected a shape such as nn.Input{28, 28, 1} (or {shape={...}}), got "
      .. (type(opts) == "string" and string.format("'%s' (a string)", opts) or type(opts) == "number" and tostring(opts) or type(opts)), 2)
  end
  local proto = c_input(opts)                         -- checks and normalises the shape
  local s = new_sym(proto:config().shape)
  if type(opts) == "table" and type(opts.name) == "string" then s.name = opts.name end
  return s
end
sethelp(nn.Input, "nn.Input", "nn.Input{H, W, C} or nn.Input{shape={...}} → symbolic tensor\n\n"
  .. "The per-sample input shape of a model (Keras Input). First item of nn.Sequential{...},\n"
  .. "or the start of a graph model: call layers on it, then nn.Model{inputs=, outputs=}.\n"
  .. "Example: inp = nn.Input{32, 32, 3}; out = nn.Dense{10}(nn.Flatten()(inp))")

local MERGE = { Add = true, Subtract = true, Multiply = true, Average = true, Maximum = true, Concatenate = true }

-- layer(x): on symbolic tensors, a new symbolic tensor (the graph grows); on data, the
-- layer's forward (as calling a Keras layer on a tensor).
local function layer_call(layer, x, ...)
  if select("#", ...) > 0 then error(layer.name .. ": a layer is called on one input or one list of inputs", 2) end
  local list = type(x) == "table" and not is_sym(x) and not is_tensor(x)
  if list then
    if not is_sym(x[1]) then return layer:forward(x) end
    for i, v in ipairs(x) do
      if not is_sym(v) then error(string.format("%s: input %d is a %s, not a symbolic tensor", layer.name, i, type(v)), 2) end
    end
  elseif not is_sym(x) then
    return layer:forward(x)
  end
  local ins = list and x or { x }
  if MERGE[layer.kind] and #ins < 2 then
    error(string.format("%s (%s): a merge layer takes a list of 2 or more inputs, got %d", layer.name, layer.kind, #ins), 2)
  elseif not MERGE[layer.kind] and #ins ~= 1 then
    error(string.format("%s (%s) takes one input, got a list of %d", layer.name, layer.kind, #ins), 2)
  end
  if MERGE[layer.kind] and layer.kind ~= "Concatenate" then
    for i = 2, #ins do
      local a, b = ins[1].shape, ins[i].shape
      if shape_str(a) ~= shape_str(b) then
        error(string.format("%s (%s): cannot merge %s %s with %s %s (the shapes must be equal)", layer.name,
          layer.kind, ins[1]._layer and ins[1]._layer.name or "input", shape_str(a),
          ins[i]._layer and ins[i]._layer.name or "input", shape_str(b)), 2)
      end
    end
  end
  local shapes = {}
  for i, v in ipairs(ins) do shapes[i] = v.shape end
  local ok, out = pcall(layer._out_shape, layer, shapes)
  if not ok then error(strip(tostring(out)), 2) end
  return new_sym(out, layer, ins)
end
debug.getregistry()["lunette.Layer"].__call = layer_call

-- The graph behind outputs, in topological order: the symbolic tensors (inputs first, in
-- the order given) and the spec nn._graph takes.
local function trace(inputs, outputs)
  local order, seen, onstack = {}, {}, {}
  local input_id = {}
  for i, s in ipairs(inputs) do input_id[s] = i end
  local function visit(s)
    if seen[s] then return end
    if s._layer == nil then
      if not input_id[s] then
        error("nn.Model: an output depends on an nn.Input that is not among the model's inputs "
          .. "(tensors from another graph?)", 4)
      end
      seen[s] = true
      return
    end
    onstack[s] = true
    for _, p in ipairs(s._inputs) do visit(p) end
    onstack[s] = nil
    seen[s] = true
    order[#order + 1] = s
  end
  for _, o in ipairs(outputs) do visit(o) end
  local id = {}
  for i, s in ipairs(inputs) do id[s] = i end
  local spec = { inputs = {}, nodes = {}, outputs = {} }
  for i, s in ipairs(inputs) do spec.inputs[i] = s.shape end
  for j, s in ipairs(order) do
    id[s] = #inputs + j
    local ins = {}
    for k, p in ipairs(s._inputs) do ins[k] = id[p] end
    spec.nodes[j] = { layer = s._layer, inputs = ins }
  end
  for o, s in ipairs(outputs) do spec.outputs[o] = id[s] end
  return spec, order
end

local function as_list(v, what)
  if is_sym(v) then return { v }, false end
  if type(v) ~= "table" or #v == 0 then
    error(string.format("nn.Model: %s must be a symbolic tensor or a list of them", what), 3)
  end
  for i, s in ipairs(v) do
    if not is_sym(s) then error(string.format("nn.Model: %s[%d] is a %s, not a symbolic tensor", what, i, type(s)), 3) end
  end
  return v, true
end

function nn.Model(opts)
  if type(opts) ~= "table" then error("nn.Model: expected {inputs=..., outputs=...}", 2) end
  L._options(opts, "nn.Model", "inputs outputs name")
  local ins, multi_in = as_list(opts.inputs, "inputs")
  local outs, multi_out = as_list(opts.outputs, "outputs")
  for i, s in ipairs(ins) do
    if s._layer then error(string.format("nn.Model: inputs[%d] is not an nn.Input (it comes from %s)", i, s._layer.name), 2) end
  end
  for i, s in ipairs(outs) do
    if not s._layer then error(string.format("nn.Model: outputs[%d] is an nn.Input, not a layer's output", i), 2) end
  end
  local spec, order = trace(ins, outs)
  local list, seen, names = {}, {}, new_names()
  for _, s in ipairs(order) do
    local l = s._layer
    if not seen[l] then seen[l] = true; list[#list + 1] = l; assign_name(names, l) end
  end
  local self = setmetatable({ name = opts.name or "functional", _list = list, _spec = spec,
    _multi_in = multi_in, _multi_out = multi_out, _nin = #ins, _nout = #outs }, Model)
  self.layers = layers_view(list, "Model")
  self._shapes = spec.inputs
  self._net = ccall(nn._graph, spec)
  return self
end
sethelp(nn.Model, "nn.Model", "nn.Model{inputs=, outputs=, name=} → model\n\nA graph model (Keras "
  .. "functional API): inputs are nn.Input tensors, outputs what layers\ncalled on them returned; either "
  .. "may be a list (several inputs or outputs; compile then takes\na loss per output, and loss_weights). "
  .. "A layer called twice shares its weights. Every model\nmethod works: compile, fit, evaluate, predict, "
  .. "summary, save, forward/backward.\nExample:\n  inp = nn.Input{32, 32, 3}\n"
  .. "  h = nn.Conv2D{filters=16, kernel=3, padding='same', activation='relu'}(inp)\n"
  .. "  y = nn.Conv2D{filters=16, kernel=3, padding='same'}(h)\n"
  .. "  out = nn.Dense{10, activation='softmax'}(nn.GlobalAvgPool2D()(nn.ReLU()(nn.Add()({h, y}))))\n"
  .. "  model = nn.Model{inputs=inp, outputs=out}")

-- ---- Sequential ----

function methods:add(layer)
  if getmetatable(self) ~= Sequential then error("add: only a Sequential model grows layer by layer", 2) end
  if is_sym(layer) and not layer._layer then
    if #self._list > 0 then error("Sequential:add: nn.Input must come first", 2) end
    self._shapes = { layer.shape }
    return self
  end
  if getmetatable(layer) == Sequential then   -- another model's layers (a saved conv base)
    if #self._list == 0 and not self._shapes and layer._shapes then self._shapes = { layer._shapes[1] } end
    local building = self._building
    self._building = true
    for _, l in ipairs(layer._list) do
      local ok, e = pcall(self.add, self, l)
      if not ok then self._building = building; error(strip(tostring(e)), 2) end
    end
    self._building = building
    if not building then self:_setup() end
    return self
  end
  if not is_layer(layer) then
    error("Sequential:add: expected a layer (nn.Conv2D{...}, nn.Dense{...}, ...), got a "
      .. (is_tensor(layer) and "tensor" or is_sym(layer) and "symbolic tensor" or type(layer)), 2)
  end
  if #self._list == 0 and not self._shapes then
    local cfg = layer:config()
    if cfg.input_shape then self._shapes = { cfg.input_shape } end
  end
  if self._in[layer] then error("Sequential:add: this layer is already in the model", 2) end
  self._list[#self._list + 1] = layer
  self._in[layer] = true
  assign_name(self._names, layer)
  self._net = nil
  if not self._building then self:_setup() end
  return self
end

-- With the input shape known, set the layers up now (nothing is allocated): they then
-- refuse a standalone forward of another shape instead of re-setting themselves up. A
-- model that does not fit together yet reports that where it is used (summary, fit).
function methods:_setup()
  if self._shapes and #self._list > 0 then
    local ok, net = pcall(nn._net, self._list, self._shapes[1])
    if ok then self._net = net; self:_set_loss() end
  end
end
sethelp(methods.add, "Sequential:add", "model:add(layer)\n\nAppends a layer. The first layer may "
  .. "carry input_shape, or add nn.Input{...} first. A Sequential model adds its layers\n(the same "
  .. "layer objects, weights and trainable flags: a saved conv base under a new head).\n"
  .. "Example: model:add(nn.Dense{10, activation='softmax'})")

function nn.Sequential(layers)
  local list = {}
  local self = setmetatable({ _list = list, _in = {}, _names = new_names(), name = "sequential",
    _nin = 1, _nout = 1 }, Sequential)
  self.layers = layers_view(list, "Sequential")
  if layers ~= nil then
    if type(layers) ~= "table" or is_layer(layers) or is_sym(layers) then
      error("nn.Sequential: expected a list of layers, e.g. nn.Sequential{nn.Flatten(), nn.Dense{10}}", 2)
    end
    L._options(layers, "nn.Sequential", "name", #layers)
    self._building = true                   -- one set-up at the end: linear in the layers
    for i, l in ipairs(layers) do
      if not is_layer(l) and not (is_sym(l) and not l._layer) and getmetatable(l) ~= Sequential then
        error(string.format("nn.Sequential: item %d is a %s, not a layer", i, is_sym(l) and "symbolic tensor" or type(l)), 2)
      end
      local ok, e = pcall(self.add, self, l)
      if not ok then error(strip(tostring(e)), 2) end
    end
    self._building = nil
    self:_setup()
    if layers.name then self.name = layers.name end
  end
  return self
end
sethelp(nn.Sequential, "nn.Sequential", "nn.Sequential{layer, ...} → model\n\nA Keras-style model: "
  .. "layers applied in order. Methods: add, compile, fit, evaluate,\npredict, predict_classes, "
  .. "train_on_batch, summary, count_params, parameters, save,\nforward, backward, zero_grad "
  .. "(nn.load reads it back). Parameters are allocated on the\nfirst forward or fit, so "
  .. "summary() of a huge model costs nothing. model.layers is read-only.\nmodel.trainable = false "
  .. "freezes every layer with parameters (true unfreezes; see\nhelp(nn.Dense) on trainable); a "
  .. "Sequential model given as an item adds its layers\n(a saved conv base under a new head: "
  .. "nn.Sequential{base, nn.Dense{10}}).\nExample:\n"
  .. "  model = nn.Sequential{\n    nn.Conv2D{filters=32, kernel=3, stride=2, activation='relu', "
  .. "input_shape={28,28,1}},\n    nn.Flatten(), nn.Dense{10, activation='softmax'}}\n"
  .. "  model:compile{optimizer='adam', loss='sparse_categorical_crossentropy', metrics={'accuracy'}}")

function methods:_set_loss()
  if self.loss and self._net then ccall(self._net.set_loss, self._net, self.loss, self.loss_weights) end
end

-- The C network (a Sequential builds it lazily: x gives the input shape if unknown).
function methods:_network(x, fn)
  if self._net then return self._net end
  if #self._list == 0 then error((fn or "Sequential") .. ": the model has no layers", 3) end
  local shape = self._shapes and self._shapes[1]
  if not shape and is_tensor(x) then
    shape = {}
    for i = 2, #x.shape do shape[#shape + 1] = x.shape[i] end
    if #shape == 0 then error((fn or "Sequential") .. ": input needs a batch dimension", 3) end
  end
  if not shape then
    error((fn or "Sequential") .. ": the input shape is unknown: add nn.Input{...} first or give "
      .. "input_shape to the first layer (or call fit/predict with data)", 3)
  end
  self._net = ccall(nn._net, self._list, shape)
  self._shapes = { shape }
  self:_set_loss()
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
  for _, l in ipairs(self._list) do
    local p, g = {}, {}
    if l.trainable ~= false then p, g = l:parameters() end   -- frozen: left out (Keras trainable_weights)
    for i = 1, #p do ps[#ps + 1] = p[i]; gs[#gs + 1] = g[i] end
  end
  return ps, gs
end
sethelp(methods.parameters, "Sequential:parameters", "model:parameters() → params, grads\n\n"
  .. "Lists of the layers' weight and bias tensors and their gradients (views into the\nmodel's "
  .. "buffers), allocated as soon as the input shape is known. With forward, backward\nand "
  .. "zero_grad they make a hand-written training loop. Frozen layers' (trainable=false)\nare left "
  .. "out, as Keras's trainable_weights.\nExample: p, g = model:parameters(); "
  .. "opt:step(p, g)")

-- The model's name as text: model.name is a plain field, and anything assigned to it
-- (another model, whose own __tostring would print this one) must not recurse.
local function name_of(self)
  local n = rawget(self, "name")
  return (type(n) == "string" or type(n) == "number") and tostring(n) or "?"
end

-- "conv2d[0][0]": a node named as Keras's summary names it (layer, call index, 0).
local function node_labels(info)
  local labels, calls = {}, {}
  for i, nd in ipairs(info.nodes) do
    local c = calls[nd.name] or 0
    calls[nd.name] = c + 1
    labels[i] = string.format("%s[%d][0]", nd.name, c)
  end
  return labels
end

function methods:summary_text(opts)
  L._options(opts, "summary", "width show_trainable")
  local show_trainable = type(opts) == "table" and opts.show_trainable
  local info = self:_network(nil, "summary"):info()
  local ascii = nn._ascii()
  local graph = getmetatable(self) == Model
  local rows = {}
  local labels = node_labels(info)
  for i, l in ipairs(graph and info.nodes or info.layers) do
    local r = { string.format("%s (%s)", l.name, l.kind), shape_str(l.output_shape), commas(l.params + l.state) }
    if graph then
      local c = {}
      for k, p in ipairs(l.inputs) do c[k] = labels[p] end
      r[4] = table.concat(c, ", ")
      if r[4] == "" then r[4] = "-" end
    end
    if show_trainable then r[#r + 1] = l.trainable == nil and "-" or l.trainable and "Y" or "N" end
    rows[i] = r
  end
  local out = {}
  local total, nt = info.trainable + info.nontrainable, info.nontrainable
  out[#out + 1] = string.format('Model: "%s"', name_of(self))
  local heads = { "Layer (type)", "Output Shape", "Param #", graph and "Connected to" or nil }
  local widths = graph and { 24, 20, 10, 16 } or { 33, 26, 15 }
  if show_trainable then heads[#heads + 1] = "Trainable"; widths[#widths + 1] = 11 end
  for _, l in ipairs(require("lunette.layout").table(heads, rows,
      { widths = widths, right = { false, false, true, false, false },
        ascii = ascii, width = type(opts) == "table" and opts.width or (L.columns()) })) do out[#out + 1] = l end
  out[#out + 1] = string.format(" Total params: %s (%s)", commas(total), bytes_str(total * 4))
  out[#out + 1] = string.format(" Trainable params: %s (%s)", commas(info.trainable), bytes_str(info.trainable * 4))
  out[#out + 1] = string.format(" Non-trainable params: %s (%s)", commas(nt), bytes_str(nt * 4))
  return table.concat(out, "\n")
end
sethelp(methods.summary_text, "Sequential:summary_text", "model:summary_text([{width=n, show_trainable=false}]) → string\n\n"
  .. "The text summary() prints. show_trainable adds Keras's Trainable column (Y, N for a\nfrozen "
  .. "layer, - for one without parameters).")

function methods:summary(opts)
  print(self:summary_text(opts))
end
sethelp(methods.summary, "Sequential:summary", "model:summary([{width=n, show_trainable=false}])\n\nPrints the layers with their output "
  .. "shapes and parameter counts, and the totals, in Keras's\nlayout (a graph model adds the 'Connected to' "
  .. "column), made compact to fit the terminal\n(or width). Computed from shapes alone: "
  .. "summarising VGG16 allocates no weights.\nFrozen layers' parameters (trainable=false) count as non-trainable; "
  .. "show_trainable=true\nadds a Trainable column (Y, N, - without parameters).\nExample: model:summary()")

local function model_tostring(self)
  local ok, s = pcall(methods.summary_text, self)
  if ok then return s end
  return string.format('Model "%s" (%d layers, input shape unknown)', name_of(self), #self._list)
end
Sequential.__tostring = model_tostring
Model.__tostring = model_tostring

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

local function loss_name(loss)
  if type(loss) == "table" and getmetatable(loss) == Loss then loss = loss.name end
  if type(loss) ~= "string" then error("compile: loss must be a name or an nn.loss object", 4) end
  return make_loss(loss).name
end

function methods:compile(opts)
  if type(opts) ~= "table" then error("compile: expected a table {optimizer=, loss=, metrics=}", 2) end
  L._options(opts, "compile", "optimizer loss metrics loss_weights")
  if opts.loss == nil then error("compile: missing 'loss' (e.g. loss='sparse_categorical_crossentropy')", 2) end
  local loss = opts.loss
  local nout = self._nout or 1
  if type(loss) == "table" and getmetatable(loss) ~= Loss then
    if #loss ~= nout then error(string.format("compile: %d losses for %d outputs", #loss, nout), 2) end
    local l = {}
    for i, v in ipairs(loss) do l[i] = loss_name(v) end
    loss = nout == 1 and l[1] or l
  else
    loss = loss_name(loss)
    if nout > 1 then local l = {} for i = 1, nout do l[i] = loss end loss = l end
  end
  local lw = opts.loss_weights
  if lw ~= nil then
    if type(lw) ~= "table" or #lw ~= nout then error(string.format("compile: loss_weights must be a list of %d numbers", nout), 2) end
    for i, w in ipairs(lw) do
      if type(w) ~= "number" or not (w >= 0) then error(string.format("compile: loss_weights[%d] must be a non-negative number", i), 2) end
    end
  end
  local metrics = {}
  for _, m in ipairs(opts.metrics or {}) do
    if m == "accuracy" or m == "acc" then metrics[#metrics + 1] = "accuracy"
    else error("compile: unknown metric '" .. tostring(m) .. "' (only 'accuracy' is supported)", 2) end
  end
  self.optimizer = make_optimizer(opts.optimizer or "rmsprop")
  self.loss = loss
  self.loss_weights = lw
  self.metrics = metrics
  self:_set_loss()
  -- returns nothing, as Keras does, so the REPL does not print the summary again
end
sethelp(methods.compile, "Sequential:compile", "model:compile{optimizer='rmsprop', loss, metrics={}, loss_weights}\n\n"
  .. "optimizer: 'adam', 'sgd', 'rmsprop' or an optim object; loss: a name or nn.loss object\n"
  .. "(a model with several outputs: one for all, or a list, one per output, weighted by\n"
  .. "loss_weights); metrics: {'accuracy'} (of the first output). With a softmax (sigmoid)\n"
  .. "output and cross-entropy, training uses the fused gradient.\nExample: model:compile{optimizer=optim.Adam{lr=1e-3}, "
  .. "loss='sparse_categorical_crossentropy', metrics={'accuracy'}}")

local function need_compiled(self, fn)
  if not self.loss then error(fn .. ": the model is not compiled: call model:compile{optimizer=..., loss=...} first", 3) end
end
-- training reads model.optimizer at each step: one replaced by hand is checked here, by name
-- (C said "bad argument #4 to '?' (lunette.Optimizer expected, got string)")
local function need_optimizer(self, fn)
  local o = rawget(self, "optimizer")
  local mt = type(o) == "userdata" and getmetatable(o)
  if type(mt) ~= "table" or rawget(mt, "__name") ~= "lunette.Optimizer" then
    error(string.format("%s: model.optimizer must be an optimizer (such as optim.Adam{lr=1e-3}), got %s", fn,
      type(o) == "string" and string.format("'%s' (a string)", o) or type(o)), 3)
  end
end

local function has_acc(self) return #self.metrics > 0 end

-- ---- train_on_batch / evaluate / predict ----

local function nan_message(err, epoch, batch)
  local where = epoch and string.format(" at epoch %d, batch %d", epoch, batch) or ""
  return string.format("training stopped: %s%s; try a lower learning rate (e.g. optim.Adam{lr=1e-4})",
    err, where)
end

-- The model's inputs (or targets) as given: a tensor, or for a model with several inputs
-- (outputs) a list of tensors, each converted; `level` is the user's call.
local function as_data(self, v, many, fn, what, level)
  if not many then return as_tensor(v, fn, what, level + 1) end
  if type(v) ~= "table" or is_tensor(v) then
    error(string.format("%s: %s: the model has several; expected a list of tensors", fn, what), level)
  end
  local out = {}
  for i = 1, #v do out[i] = as_tensor(v[i], fn, string.format("%s[%d]", what, i), level + 1) end
  return out
end
local function nrows(v) return (is_tensor(v) and v or v[1]).shape[1] end

-- Keras's sample_weight and class_weight as one weight per training sample (nil: none):
-- the loss of a batch is Σ w_i·loss_i / N. sample_weight: N numbers (a tensor or a list);
-- class_weight: {[class id] = weight} for 0-based class ids (a class left out weighs 1),
-- multiplied into sample_weight when both are given (tf.keras). Checked here, values and
-- keys named in the errors.
local function check_weight(fn, v, what)
  if type(v) ~= "number" or v ~= v or v < 0 or v == math.huge then
    error(string.format("%s: %s is %s: weights must be finite and non-negative", fn, what,
      v ~= v and "nan" or tostring(v)), 4)
  end
end

local function sample_weights(self, fn, y, n, sw, cw)
  local w
  if sw ~= nil then
    local t = sw
    if not is_tensor(t) then
      if type(t) ~= "table" then error(fn .. ": sample_weight must be a tensor or a list of " .. n .. " numbers, got a " .. type(t), 3) end
      local ok, r = pcall(tensor, t)
      if not ok then error(fn .. ": sample_weight must be a list of numbers", 3) end
      t = r
    end
    if t:numel() ~= n or (t:dim() > 1 and t.shape[1] ~= n) then
      error(string.format("%s: sample_weight has shape %s for %d samples (expected %d values, one per sample)", fn,
        table.concat(t.shape, "x"), n, n), 3)
    end
    w = t:reshape(n):clone()
    for i = 1, n do check_weight(fn, w:get(i), string.format("sample_weight[%d]", i)) end
  end
  if cw ~= nil then
    if type(cw) ~= "table" or is_tensor(cw) then error(fn .. ": class_weight must be a table {[class id]=weight, ...}", 3) end
    if self._multi_out then error(fn .. ": class_weight is for a model with one output (as Keras); use sample_weight", 3) end
    local info = self._net:info()
    local shape = info.nodes[info.outputs[1]].output_shape
    local K = shape[#shape]
    local ncls = K == 1 and 2 or K
    for k, v in pairs(cw) do
      if math.type(k) ~= "integer" or k < 0 or k >= ncls then
        error(string.format("%s: class_weight has class %s, but the model's output has %d classes (0..%d)",
          fn, tostring(k), ncls, ncls - 1), 3)
      end
      check_weight(fn, v, string.format("class_weight[%d]", k))
    end
    local labels
    if y:dim() == 1 or (y:dim() == 2 and y.shape[2] == 1) then labels = y:reshape(n)
    elseif y:dim() == 2 and y.shape[2] == K and #shape == 1 then labels = y:argmax(2)
    else error(fn .. ": class_weight needs one label per sample (y of N class ids or N×K one-hot rows)", 3) end
    w = w or tensor.ones(n)
    for i = 1, n do
      local c = math.floor(labels:get(i) + 0.5)
      local f = cw[c]
      if f ~= nil and f ~= 1 then w:set(i, w:get(i) * f) end
    end
  end
  return w
end

function methods:train_on_batch(x, y, opts)
  need_compiled(self, "train_on_batch")
  need_optimizer(self, "train_on_batch")
  opts = L._options(opts, "train_on_batch", "sample_weight class_weight")
  x = as_data(self, x, self._multi_in, "train_on_batch", "x", 2)
  y = as_data(self, y, self._multi_out, "train_on_batch", "y", 2)
  local net = self:_network(x, "train_on_batch")
  local sw = sample_weights(self, "train_on_batch", y, nrows(x), opts.sample_weight, opts.class_weight)
  local loss, c, t = ccall(net.train_on_batch, net, x, y, self.optimizer, sw)
  if loss == nil then error(nan_message(c), 2) end
  return loss, c / t
end
sethelp(methods.train_on_batch, "Sequential:train_on_batch", "model:train_on_batch(x, y [, {sample_weight, class_weight}]) → loss, accuracy\n\n"
  .. "One optimizer step on the batch (x, y), in one C call: forward, loss, backward, update.\n"
  .. "sample_weight and class_weight weigh the samples' losses as in fit (see its help).\n"
  .. "Example: loss = model:train_on_batch(xb, yb)")

local function check_xy(self, x, y, fn)
  x = as_data(self, x, self._multi_in, fn, "x", 3)
  y = as_data(self, y, self._multi_out, fn, "y", 3)
  if nrows(x) ~= nrows(y) then
    error(string.format("%s: x has %d samples but y has %d", fn, nrows(x), nrows(y)), 3)
  end
  return x, y
end

function methods:evaluate(x, y, opts)
  need_compiled(self, "evaluate")
  opts = L._options(opts, "evaluate", "batch_size verbose")
  x, y = check_xy(self, x, y, "evaluate")
  local net = self:_network(x, "evaluate")
  local loss, c, t
  if L.dist.size() > 1 then        -- under mpirun: each rank its share of the rows
    loss, c, t = ccall(require("lunette.dist").evaluate, net, x, y, opts.batch_size or 32)
  else
    loss, c, t = ccall(net.evaluate, net, x, y, opts.batch_size or 32)
  end
  local acc = c / t
  if (opts.verbose or 0) > 0 and L.dist.rank() == 0 then
    print(string.format("%d samples - accuracy: %.4f - loss: %.4f", nrows(x), acc, loss))
  end
  return loss, acc
end
sethelp(methods.evaluate, "Sequential:evaluate", "model:evaluate(x, y [, {batch_size=32, verbose=0}]) → loss, accuracy\n\n"
  .. "Mean loss and accuracy over (x, y) in inference mode.\nExample: loss, acc = model:evaluate(ds.x_test, ds.y_test)")

-- The input(s) with a batch dimension (one sample gets one added).
local function batched_input(self, x, fn)
  x = as_data(self, x, self._multi_in, fn, "x", 4)
  local net = self:_network(x, fn)
  local function batch1(t, shape)
    if #t.shape ~= #shape then return t end
    local s = { 1 }
    for i = 1, #shape do s[i + 1] = t.shape[i] end
    return t:reshape(s)
  end
  if self._multi_in then
    local b = {}
    for i, t in ipairs(x) do b[i] = batch1(t, self._shapes[i]) end
    return net, b
  end
  return net, batch1(x, self._shapes[1])
end

-- One tensor per output: a list for a model with several outputs.
local function outputs(self, ...)
  if self._multi_out then return { ... } end
  return (...)
end

function methods:predict(x, opts)
  opts = L._options(opts, "predict", "batch_size")
  local net, xb = batched_input(self, x, "predict")
  return outputs(self, ccall(net.predict, net, xb, opts.batch_size or 32))
end
sethelp(methods.predict, "Sequential:predict", "model:predict(x [, {batch_size=32}]) → tensor\n\n"
  .. "The model's outputs for x (N×input shape, or one sample), computed in batches in\ninference mode "
  .. "(a list of tensors for a model with several outputs; x a list for several inputs).\n"
  .. "Example: probs = model:predict(ds.x_test)")

function methods:predict_classes(x, opts)
  local p = self:predict(x, opts)
  if self._multi_out then p = p[1] end
  local K = p.shape[#p.shape]
  if K == 1 then return p:gt(0.5):reshape(-1) end
  return p:argmax(#p.shape)
end
sethelp(methods.predict_classes, "Sequential:predict_classes", "model:predict_classes(x [, opts]) → tensor\n\n"
  .. "0-based class ids (argmax of the outputs; p > 0.5 for one output).\nExample: "
  .. "metrics.confusion_matrix(ds.y_test, model:predict_classes(ds.x_test), 10)")

function methods:forward(x, opts)
  local training = false
  if opts ~= nil then
    L._options(opts, "forward", "training")
    training = opts.training and true or false
  end
  local net, xb = batched_input(self, x, "forward")
  return outputs(self, ccall(net.forward, net, xb, training))
end
sethelp(methods.forward, "Sequential:forward", "model:forward(x [, {training=false}]) → y\n\n"
  .. "One batch through the model. With training=true, dropout and batch normalisation\n"
  .. "train (the moving statistics update) and the activations are kept for\nmodel:backward(dy).\n"
  .. "Example: y = model:forward(xb, {training=true}); dx = model:backward(loss:backward(y, yb))")

function methods:backward(dy)
  if not self._net then error("backward: run model:forward(x, {training=true}) first", 2) end
  dy = as_data(self, dy, self._multi_out, "backward", "dy", 2)
  local net = self._net
  local r = table.pack(ccall(net.backward, net, dy))
  if self._multi_in then return { table.unpack(r, 1, r.n) } end
  return r[1]
end
sethelp(methods.backward, "Sequential:backward", "model:backward(dy) → dx\n\nBackpropagates dy (the "
  .. "gradient of the loss w.r.t. the output of the last\nforward(x, {training=true})) through the whole "
  .. "model: accumulates every parameter's\ngradient (model:parameters() lists them; model:zero_grad() "
  .. "clears them) and returns\nthe gradient w.r.t. x. Lists for several outputs / inputs.\n"
  .. "Example (one hand-written step):\n  local y = model:forward(xb, {training=true})\n"
  .. "  model:backward(loss:backward(y, yb)); opt:step(p, g); model:zero_grad()")

function methods:zero_grad()
  local net = self:_network(nil, "zero_grad")
  ccall(net.zero_grad, net)
end
sethelp(methods.zero_grad, "Sequential:zero_grad", "model:zero_grad()\n\nSets every accumulated "
  .. "parameter gradient of the model to zero.\nExample: model:zero_grad()")

function methods:get_layer(name)
  local list = self._list
  if math.type(name) == "integer" then
    if name < 1 or name > #list then
      error(string.format("get_layer: index %d is outside 1..%d (the model's layers, Input not counted)", name, #list), 2)
    end
    return list[name]
  end
  if type(name) ~= "string" then error("get_layer: expected a layer name or a 1-based index, got a " .. type(name), 2) end
  local names = {}
  for i, l in ipairs(list) do
    if l.name == name then return l end
    names[i] = l.name
  end
  local e = L._option_error({ [name] = true }, "get_layer", names)
  error((e and e:gsub("unknown option", "no layer named"):gsub("%(options: ", "(layers: ") or "get_layer: no layer named '" .. name .. "'"), 2)
end
sethelp(methods.get_layer, "Sequential:get_layer", "model:get_layer(name | index) → layer\n\n"
  .. "The layer called name (as summary() shows it) or at 1-based position index (Input not\n"
  .. "counted); an error names a wrong one. Its fields are live: layer.trainable = false\n"
  .. "freezes it (see help(nn.Dense) for trainable). Example: model:get_layer('conv2d').weight")

-- ---- fit ----

local function fmt_time(s)
  s = math.floor(s)                          -- %d needs an integer
  if s >= 3600 then return string.format("%d:%02d:%02d", s // 3600, (s % 3600) // 60, s % 60) end
  if s >= 60 then return string.format("%d:%02d", s // 60, s % 60) end
  return string.format("%ds", math.floor(s))
end

-- Whole units, the unit chosen after rounding: 999.7 µs is "1ms/step", not "1000us/step".
local function fmt_step(s)
  if s >= 0.9995 then return string.format("%ds/step", math.floor(s + 0.5)) end
  if s >= 0.9995e-3 then return string.format("%dms/step", math.floor(s * 1e3 + 0.5)) end
  return string.format("%dus/step", math.floor(s * 1e6 + 0.5))
end

local progress = require "lunette.progress"   -- the progress line, cut to the window

local clock = L.clock   -- monotonic wall-clock seconds (os.clock is CPU time)

-- Rows a..b of a tensor, or of each tensor of a list (several inputs or outputs).
local function rows(v, a, b)
  if is_tensor(v) then return v:slice(1, a, b) end
  local out = {}
  for i, t in ipairs(v) do out[i] = t:slice(1, a, b) end
  return out
end

local function split_validation(x, y, frac)
  local n = nrows(x)
  local nv = math.floor(n * frac)
  if nv < 1 then error(string.format("fit: validation_split %g of %d samples leaves no validation data", frac, n), 3) end
  if nv >= n then error(string.format("fit: validation_split %g of %d samples leaves no training data", frac, n), 3) end
  local nt = n - nv
  return rows(x, 1, nt), rows(y, 1, nt), rows(x, nt + 1, n), rows(y, nt + 1, n)
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

-- The options fit knows: an unknown key is an error naming it. Add new ones here.
local FIT_OPTIONS = {
  "epochs", "batch_size", "verbose", "shuffle",
  "validation_data", "validation_split",
  "callbacks", "dashboard",
  "class_weight", "sample_weight",
  "monitor",
}

function methods:fit(x, y, opts)
  need_compiled(self, "fit")
  need_optimizer(self, "fit")
  if opts ~= nil and type(opts) ~= "table" then error("fit: options must be a table {epochs=, batch_size=, ...}", 2) end
  opts = L._options(opts, "fit", FIT_OPTIONS)
  if x == nil or y == nil then error("fit: expected fit(x, y [, opts])", 2) end
  x, y = check_xy(self, x, y, "fit")
  local epochs = opts.epochs or 1
  local bs = opts.batch_size or 32
  if type(epochs) ~= "number" or epochs < 1 or epochs % 1 ~= 0 then error("fit: epochs must be a positive integer", 2) end
  if type(bs) ~= "number" or bs < 1 or bs % 1 ~= 0 then error("fit: batch_size must be a positive integer", 2) end
  require("lunette.health").check(opts.monitor)
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
  local net = self:_network(x, "fit")
  local sw = sample_weights(self, "fit", y, nrows(x), opts.sample_weight, opts.class_weight)
  if not opts.validation_data and (opts.validation_split or 0) > 0 then
    x, y, xv, yv = split_validation(x, y, opts.validation_split)
    if sw then sw = sw:slice(1, 1, nrows(x)) end   -- the training rows' weights
  end
  local n = nrows(x)
  ccall(net.check_targets, net, y)
  if xv then
    local okv, e = pcall(net.check_targets, net, yv)
    if not okv then error("fit: validation data: " .. tostring(e), 2) end
  end
  local steps = (n + bs - 1) // bs
  -- under mpirun (lunette.dist): data-parallel steps; rank 0 alone shows progress
  local par = L.dist.size() > 1 and require("lunette.dist").fit_begin(self, net, n, bs, xv and nrows(xv)) or nil
  if par and L.dist.rank() > 0 then verbose = 0 end
  local callbacks = opts.callbacks or {}
  if type(callbacks) == "function" or getmetatable(callbacks) then callbacks = { callbacks } end
  for i, cb in ipairs(callbacks) do        -- a plain {on_epoch_end=fn} table: no misspelt hook
    if type(cb) == "table" and not getmetatable(cb) then
      L._options(cb, string.format("fit: callbacks[%d]", i), "on_train_begin on_train_end on_epoch_begin on_epoch_end on_batch_end")
    end
  end
  local ascii = nn._ascii()
  local tty = nn._isatty() and verbose == 1
  local history = { history = { loss = {}, accuracy = has_acc(self) and {} or nil }, epoch = {}, params = { epochs = epochs, steps = steps } }
  if xv then history.history.val_loss = {}; if has_acc(self) then history.history.val_accuracy = {} end end
  history.history.lr = {}      -- the rate of each epoch's first step (schedules and callbacks change it)
  self.stop_training = false
  self._verbose = verbose
  local dash
  if opts.dashboard and nn._isatty() and not par then
    local ok, mod = pcall(require, "lunette.dashboard")
    if ok and type(mod) == "table" and mod.start then
      dash = mod.start { epochs = epochs, steps = steps, metrics = { "loss", "accuracy" }, validation = xv ~= nil }
    elseif verbose ~= 0 then
      print("fit: the dashboard is not available; showing the progress line instead")
    end
  end
  local show = verbose ~= 0 and not dash
  local health = opts.monitor and require("lunette.health").start(net, history, dash, show, tty, opts.monitor, self, x)
  for _, cb in ipairs(callbacks) do call_cb(cb, "on_train_begin", self) end
  local cur_epoch, cur_batch = 0, 0
  local function run()
    for epoch = 1, epochs do
      cur_epoch, cur_batch = epoch, 0
      if show then print(string.format("Epoch %d/%d", epoch, epochs)) end
      for _, cb in ipairs(callbacks) do call_cb(cb, "on_epoch_begin", epoch, self) end
      local epoch_lr = self.optimizer.lr
      local feed = par or net             -- under mpirun: this rank's share of each batch
      feed:shuffle(n, opts.shuffle ~= false)
      local t0 = clock()
      local last_draw = -1
      local lsum, csum, tsum, seen = 0, 0, 0, 0
      local logs = {}
      for b = 1, steps do
        cur_batch = b
        local start = (b - 1) * bs
        local cnt = math.min(bs, n - start)
        local loss, c, t = feed:train_rows(x, y, start, cnt, self.optimizer, sw)
        if loss == nil then error(nan_message(c, epoch, b) .. (health and health:nonfinite() or ""), 0) end
        if health then health:batch(epoch, b) end
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
        if par then self.stop_training = par:agree(self.stop_training) end
        if self.stop_training then break end
      end
      local elapsed = clock() - t0
      if xv then
        local vl, vc, vt
        if par then vl, vc, vt = require("lunette.dist").evaluate(net, xv, yv, bs)
        else vl, vc, vt = net:evaluate(xv, yv, bs) end
        logs.val_loss = vl
        if has_acc(self) then logs.val_accuracy = vc / vt end
      end
      for k, v in pairs(logs) do history.history[k][#history.history[k] + 1] = v end
      history.history.lr[#history.history.lr + 1] = epoch_lr
      history.epoch[#history.epoch + 1] = epoch
      if health then health:epoch(epoch) end
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
      if par then self.stop_training = par:agree(self.stop_training) end
      if self.stop_training then break end
    end
  end
  local ok, err = pcall(run)
  if health then health:finish() end
  if par then par:finish() end
  for _, cb in ipairs(callbacks) do pcall(call_cb, cb, "on_train_end", self) end
  if dash then pcall(dash.finish, dash, history) end
  if not ok then
    if L.interrupted(err) then
      if par then par:interrupted(cur_epoch, cur_batch) end
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
  .. "per epoch otherwise), 0 silent. callbacks: nn.EarlyStopping,\nnn.ModelCheckpoint, nn.LearningRateScheduler, "
  .. "nn.ReduceLROnPlateau, functions\nfn(epoch, logs, model) called after each epoch, or\n{on_epoch_begin=fn, "
  .. "on_batch_end=fn, on_epoch_end=fn}. "
  .. "dashboard=true shows the live screen on a terminal.\nsample_weight: one non-negative weight per "
  .. "sample (a tensor or list); class_weight:\n{[class id]=weight} (0-based ids, a class left out "
  .. "weighs 1; with sample_weight the two\nmultiply). The loss is then Σ w·loss / batch size, as "
  .. "Keras reports it; accuracy and\nval_loss stay unweighted. An unknown option is an error naming "
  .. "it.\n"
  .. "monitor=true measures layer health on every "
  .. "4th batch (monitor=n: every n-th): dead ReLU\nunits, activation mean/std, gradient norm, update/weight "
  .. "ratio; epoch means go to\nhistory.health, the last batch's to a dashboard panel; a warning names a "
  .. "layer that\ndies or where a non-finite loss starts. plot.health(history) draws it.\n"
  .. "Ctrl-C stops at the next batch and returns "
  .. "the history so far (model intact).\nhistory.history.loss, .accuracy, .val_loss, .val_accuracy "
  .. "are lists, one value per epoch;\n.lr the learning rate of each epoch's first step.\nExample: h = model:fit(ds.x_train, ds.y_train, {epochs=5, "
  .. "validation_split=0.1})")

-- ---- gradient check ----

-- nn.gradcheck(layer_or_model, x [, {samples=20, eps=1e-3, seed=1}]) → report, worst
-- The analytic gradients of L = Σ y·r (r random, fixed) against central differences, on a
-- sample of the entries of x and of every parameter.
function nn.gradcheck(f, x, opts)
  opts = opts or {}
  L._options(opts, "nn.gradcheck", "samples eps")
  local samples, eps = opts.samples or 20, opts.eps or 1e-3
  local model = is_model(f)
  if not model and not is_layer(f) then error("nn.gradcheck: expected a layer or a model", 2) end
  local xs = (type(x) == "table" and not is_tensor(x)) and x or { x }
  for i, t in ipairs(xs) do xs[i] = as_tensor(t, "nn.gradcheck", "x", 3) end
  local arg = #xs == 1 and not (model and f._multi_in) and not (not model and MERGE[f.kind]) and xs[1] or xs
  local function run()
    if model then return f:forward(arg, { training = true }) end
    return f:forward(arg)
  end
  local y0 = run()
  local ys = (type(y0) == "table" and not is_tensor(y0)) and y0 or { y0 }
  local rs = {}
  for i, y in ipairs(ys) do rs[i] = tensor.randn(table.unpack(y.shape)) end
  local function objective()
    local y = run()
    local list = (type(y) == "table" and not is_tensor(y)) and y or { y }
    local s = 0
    for i, t in ipairs(list) do s = s + (t * rs[i]):sum() end
    return s
  end
  local params, grads
  if model then f:zero_grad(); params, grads = f:parameters()
  else f:zero_grad(); params, grads = f:parameters() end
  run()
  local dx
  if model then dx = f:backward(f._multi_out and rs or rs[1])
  else dx = f:backward(arg, rs[1]) end
  local dxs = (type(dx) == "table" and not is_tensor(dx)) and dx or { dx }
  local checks = {}
  for i, t in ipairs(xs) do checks[#checks + 1] = { name = #xs > 1 and ("x[" .. i .. "]") or "x", t = t, g = dxs[i] } end
  local names = {}
  for _, l in ipairs(model and f._list or { f }) do
    local p = l:parameters()
    for j = 1, #p do names[#names + 1] = l.name .. (j == 1 and ".weight" or ".bias") end
  end
  for i, p in ipairs(params) do checks[#checks + 1] = { name = names[i] or ("param " .. i), t = p, g = grads[i]:clone() } end
  local report, worst = {}, 0
  for _, c in ipairs(checks) do
    local flat, g = c.t:reshape(-1), c.g:reshape(-1)
    local n = flat:numel()
    local err = 0
    for s = 1, math.min(samples, n) do
      local i = n <= samples and s or math.random(n)
      local v = flat:get(i)
      flat:set(i, v + eps); local lp = objective()
      flat:set(i, v - eps); local lm = objective()
      flat:set(i, v)
      local num, ana = (lp - lm) / (2 * eps), g:get(i)
      local e = math.abs(num - ana) / math.max(math.abs(num), math.abs(ana), 1e-2)
      if e > err then err = e end
    end
    report[#report + 1] = { name = c.name, max_rel_error = err }
    if err > worst then worst = err end
  end
  if model then f:zero_grad() else f:zero_grad() end
  return report, worst
end
sethelp(nn.gradcheck, "nn.gradcheck", "nn.gradcheck(layer_or_model, x [, {samples=20, eps=1e-3}]) → report, worst\n\n"
  .. "Checks a backward against finite differences: for L = Σ y·r (r random), compares\nthe analytic "
  .. "gradient of L w.r.t. x and every parameter with (L(v+eps) - L(v-eps)) / 2eps\non up to `samples` "
  .. "entries of each tensor. report lists {name, max_rel_error} per\ntensor; worst is the largest "
  .. "(float32: below ~1e-2 is a correct backward). Runs the\nmodel in training mode: leave Dropout "
  .. "out of what you check.\nExample: r, worst = nn.gradcheck(nn.Dense{3}, tensor.randn(4, 5))")

-- ---- save / load ----

local function layer_config_for_save(l)
  local cfg = l:config()
  cfg.name = l.name
  for k, v in pairs(cfg) do          -- Lua layers' functions: the file cannot hold them
    if type(k) == "string" and k:sub(1, 1) == "_" or type(v) == "function" then cfg[k] = nil end
  end
  return cfg
end

-- The architecture as JSON-able data: the layers' configs, and for a graph model its nodes
-- ({layer = index into layers, inputs = node ids}, the inputs being nodes 1..#inputs).
local function architecture(self, json)
  local layers, index = {}, {}
  for i, l in ipairs(self._list) do layers[i] = layer_config_for_save(l); index[l] = i end
  if getmetatable(self) == Sequential then
    return { class_name = "Sequential", name = name_of(self), input_shape = self._shapes[1], layers = layers }
  end
  local nodes = {}
  for j, nd in ipairs(self._spec.nodes) do nodes[j] = { layer = index[nd.layer], inputs = nd.inputs } end
  return { class_name = "Model", name = name_of(self), inputs = self._spec.inputs, layers = layers,
    nodes = nodes, outputs = self._spec.outputs, multi_inputs = self._multi_in, multi_outputs = self._multi_out }
end

function methods:save(path, opts)
  if type(path) ~= "string" then error("save: expected a file path", 2) end
  L._options(opts, "save", "")                -- none yet: an options table is not ignored
  if L.dist.rank() > 0 then return true end     -- under mpirun, rank 0 alone writes
  local st, json = L.safetensors, L.json
  if not st or not json then error("save: lunette.safetensors / lunette.json are not available", 2) end
  local net = self:_network(nil, "save")
  net:build()
  local tensors, order = {}, {}
  for i, l in ipairs(self._list) do
    local prefix = string.format("%d.%s.", i, l.name)
    for _, k in ipairs { "weight", "bias", "moving_mean", "moving_variance" } do
      local t = l[k]
      if t then tensors[prefix .. k] = t; order[#order + 1] = prefix .. k end
    end
  end
  local meta = { lunette_format = "1", architecture = json.encode(architecture(self, json)) }
  if self.loss then
    local oc = self.optimizer:config()
    meta.compile = json.encode { loss = self.loss, loss_weights = self.loss_weights,
      metrics = json.array(self.metrics), optimizer = oc }
    local s = self.optimizer:state((self:parameters()))   -- the layers' tensors, in order
    meta.optimizer_state = json.encode { iterations = s.iterations, has_m = s.m ~= nil, has_v = s.v ~= nil }
    if s.m then tensors["optimizer.m"] = s.m; order[#order + 1] = "optimizer.m" end
    if s.v then tensors["optimizer.v"] = s.v; order[#order + 1] = "optimizer.v" end
  end
  return st.save(path, tensors, meta, order)
end
sethelp(methods.save, "Sequential:save", "model:save(path) → true | nil, message\n\nWrites one safetensors "
  .. "file: the weights (\"<i>.<layer name>.weight\", ...), the architecture (a\ngraph model's nodes "
  .. "too) and compile settings as JSON metadata, and the optimizer\nstate so a loaded model resumes "
  .. "training. Atomic (temporary file + rename). File-system\nfailures return nil and a message.\n"
  .. "Example: model:save('cifar.safetensors'); m2 = nn.load('cifar.safetensors')")

local function load_error(path, msg) error(string.format("nn.load: %s: %s", path, msg), 4) end

local function shape_of(v)
  if type(v) ~= "table" then return nil end
  local s = {}
  for i, d in ipairs(v) do s[i] = d end
  return s
end

-- Rebuilds a graph model: calls the layers on symbolic tensors along the saved nodes.
local function load_graph(path, arch, layers)
  local syms = {}
  if type(arch.inputs) ~= "table" or #arch.inputs == 0 then load_error(path, "the architecture has no inputs") end
  for i, s in ipairs(arch.inputs) do
    local ok, t = pcall(nn.Input, { shape = shape_of(s) })
    if not ok then load_error(path, string.format("input %d: %s", i, tostring(t))) end
    syms[i] = t
  end
  local ninputs = #syms
  if type(arch.nodes) ~= "table" then load_error(path, "the architecture has no nodes") end
  for j, nd in ipairs(arch.nodes) do
    local l = type(nd) == "table" and layers[nd.layer]
    if not l or type(nd.inputs) ~= "table" or #nd.inputs == 0 then load_error(path, string.format("node %d is corrupt", j)) end
    local ins = {}
    for k, id in ipairs(nd.inputs) do
      ins[k] = math.type(id) == "integer" and id < ninputs + j and syms[id] or nil
      if not ins[k] then load_error(path, string.format("node %d reads node %s, not an earlier one", j, tostring(id))) end
    end
    local ok, s = pcall(layer_call, l, #ins == 1 and not MERGE[l.kind] and ins[1] or ins)
    if not ok then load_error(path, string.format("node %d (%s): %s", j, l.name, tostring(s))) end
    syms[ninputs + j] = s
  end
  local outs = {}
  for o, id in ipairs(type(arch.outputs) == "table" and arch.outputs or {}) do
    outs[o] = math.type(id) == "integer" and id > ninputs and syms[id] or nil
    if not outs[o] then load_error(path, string.format("output %d is not a node", o)) end
  end
  if #outs == 0 then load_error(path, "the architecture has no outputs") end
  local ins = { table.unpack(syms, 1, ninputs) }
  local ok, m = pcall(nn.Model, { inputs = arch.multi_inputs and ins or ins[1],
    outputs = arch.multi_outputs and outs or outs[1], name = type(arch.name) == "string" and arch.name or nil })
  if not ok then load_error(path, "architecture does not fit together: " .. tostring(m)) end
  return m
end

function nn.load(path, opts)
  if type(path) ~= "string" then error("nn.load: expected a file path", 2) end
  opts = opts or {}
  L._options(opts, "nn.load", "custom_objects")
  local custom = opts.custom_objects or {}
  if type(custom) ~= "table" then
    error("nn.load: custom_objects must be a table {name=layer or function(config) ... end}, got " .. type(custom), 2)
  end
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
  local layers = {}
  for i, cfg in ipairs(arch.layers) do
    local cls = type(cfg) == "table" and cfg.class or nil
    local ctor = type(cls) == "string" and cls ~= "Input" and nn[cls]
    if cls == "Lambda" or cls == "Layer" then       -- Lua code is not in the file
      local name = type(cfg.name) == "string" and cfg.name or "?"
      local obj = custom[name]
      if obj == nil then
        load_error(path, string.format("layer %d (%s '%s') is written in Lua: pass it again, "
          .. "nn.load(path, {custom_objects={%s=layer or function(config) ... end}})", i, cls, name, name))
      end
      ctor = is_layer(obj) and function() return obj end or obj
    end
    if type(ctor) ~= "function" then load_error(path, string.format("layer %d has unknown class '%s'", i, tostring(cls))) end
    local c = {}
    for k, v in pairs(cfg) do if k ~= "class" and k ~= "input_shape" then c[k] = v end end
    local ok2, layer = pcall(ctor, c)
    if not ok2 then load_error(path, string.format("layer %d (%s): %s", i, cls, tostring(layer))) end
    if not is_layer(layer) then load_error(path, string.format("layer %d (%s): custom_objects gave a %s, not a layer", i, cls, type(layer))) end
    if cls == "Lambda" or cls == "Layer" then layer.name = cfg.name end
    layers[i] = layer
  end
  if #layers == 0 then load_error(path, "the architecture has no layers") end
  local model
  if arch.class_name == "Model" then
    model = load_graph(path, arch, layers)
  else
    model = nn.Sequential()
    model.name = type(arch.name) == "string" and arch.name or "sequential"
    model._shapes = shape_of(arch.input_shape) and { shape_of(arch.input_shape) } or nil
    if not model._shapes then load_error(path, "the architecture has no input shape") end
    model._building = true                           -- one network at the end: linear time
    for _, l in ipairs(layers) do model:add(l) end
    model._building = nil
    local ok3, err = pcall(model._network, model, nil, "nn.load")
    if not ok3 then load_error(path, "architecture does not fit together: " .. tostring(err)) end
  end
  local okb, eb = pcall(model._net.build, model._net)
  if not okb then load_error(path, tostring(eb)) end
  for i, l in ipairs(model._list) do
    local prefix = string.format("%d.%s.", i, l.name)
    for _, k in ipairs { "weight", "bias", "moving_mean", "moving_variance" } do
      local want = l[k]
      if want then
        local t = tensors[prefix .. k]
        if not t then load_error(path, string.format("missing tensor '%s'", prefix .. k)) end
        local ok4, e = pcall(function() l[k] = t end)
        if not ok4 then load_error(path, string.format("tensor '%s' does not match the architecture: %s", prefix .. k, tostring(e))) end
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
    if type(cfg.lr) == "table" then   -- a schedule's config
      local sc = optim.schedules[cfg.lr.name or ""]
      if type(sc) ~= "function" then load_error(path, "unknown schedule '" .. tostring(cfg.lr.name) .. "'") end
      local sa = {}
      for k, v in pairs(cfg.lr) do if k ~= "name" then sa[k] = v end end
      local oks, sched = pcall(sc, sa)
      if not oks then load_error(path, "compile metadata: " .. tostring(sched)) end
      cfg.lr = sched
    end
    local metrics = {}
    for _, m in ipairs(comp.metrics or {}) do metrics[#metrics + 1] = m end
    local okm, em = pcall(model.compile, model, { optimizer = ctor(cfg), loss = comp.loss,
      loss_weights = comp.loss_weights, metrics = metrics })
    if not okm then load_error(path, "compile metadata: " .. tostring(em)) end
    if meta.optimizer_state then
      local oks, s = pcall(json.decode, meta.optimizer_state)
      if not oks or type(s) ~= "table" then load_error(path, "corrupt optimizer_state metadata") end
      local m, v = tensors["optimizer.m"], tensors["optimizer.v"]
      local params = model:parameters()     -- the trainable layers' tensors, as saved
      local P = 0
      for _, t in ipairs(params) do P = P + t:numel() end
      for _, t in ipairs { m or false, v or false } do
        if t and t:numel() ~= P then
          load_error(path, string.format("optimizer state has %d values for %d parameters", t:numel(), P))
        end
      end
      model.optimizer:set_state(params, { iterations = math.tointeger(s.iterations) or 0, m = m, v = v })
    end
  end
  return model
end
sethelp(nn.load, "nn.load", "nn.load(path [, {custom_objects}]) → model | nil, message\n\nReads a model written by model:save "
  .. "(Sequential or graph): architecture, weights, compile\nsettings and optimizer state (training resumes "
  .. "where it stopped). A missing file returns\nnil and a message; a corrupt file or one that does not match "
  .. "its architecture raises a\nclear error. Layers written in Lua (nn.Lambda, nn.Layer) are not in the file: "
  .. "custom_objects\nmaps their names to the layer, or to a function(config) returning one.\nExample: model = nn.load('cifar.safetensors'); model:evaluate(ds.x_test, ds.y_test)")

return nn
