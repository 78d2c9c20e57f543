-- lunette/prelude.lua: the Lua side of `require "lunette"`. Runs once, after the C
-- submodules are in place; each Lua-side area is a module of its own, required here.
local L = require "lunette"

-- help(obj): prints the help of any documented function, object or module, reflowed to
-- the terminal's width (lunette/help.lua).
local H = require "lunette.help"
local help = H.help
L.help = help
L._sethelp(help, "help", "help(obj)\n\nPrints the help of a Lunette function, layer, object or "
  .. "module: signature, arguments, defaults and an example, reflowed to the terminal's width "
  .. "(lunette.columns(), at most 100 columns); text longer than the screen goes through a pager ($PAGER, else "
  .. "less -R) in the REPL on a terminal. A value gets the help of its class: help(model) is "
  .. "nn.Sequential's, help(x) of a tensor describes tensors (never their data). Names work "
  .. "too, in either spelling: help('nn.Conv2D'), help('Sequential:fit'), help('model.fit').\n"
  .. "Example: help(tensor.conv2d)")
L._sethelp(nil, "lunette.Tensor", "Tensor (a tensor value)\n\nA float32 n-d array, channels-last "
  .. "(N×H×W×C), with 1-based positions. Fields and methods: t.shape (a table), t:dim(), t:numel(), t[i] "
  .. "(a view along the first dimension), get/set, reshape, permute, transpose, slice, clone, "
  .. "copy, fill, totable; arithmetic with numbers and broadcasting tensors; sum, mean, max, "
  .. "min, std, argmax along a dimension. A tensor prints as its shape and values, elided "
  .. "past a size. See help(tensor) for the constructors.\n"
  .. "Example: x = tensor.randn(2, 3); x:sum(2)")
L._sethelp(L, "lunette", "lunette: a terminal notebook for CNNs.\n\n"
  .. "Modules (also globals in the REPL): tensor, nn, optim, data, plot, metrics; see "
  .. "help(nn) and so on. Functions: lunette.seed, lunette.threads, lunette.clock, "
  .. "lunette.columns, lunette.max_elements, lunette.interrupted, lunette.graphics, help, pprint.\n"
  .. "Example: help(plot)")

-- L._error(msg): raises msg at the first caller outside Lunette's own Lua files, so a
-- message carries the position of the user's code instead of a library line. The
-- library files use it as their `error` (the level argument is ignored).
local libdir = L.lua_dir .. "/lunette/"
function L._error(msg)
  if type(msg) ~= "string" then error(msg, 0) end
  local level = 2
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then error(msg, 0) end
    if info.what ~= "C" and info.source:sub(2, #libdir + 1) ~= libdir then
      local where = info.short_src .. ":" .. info.currentline .. ": "
      if msg:sub(1, #where) == where then error(msg, 0) end   -- re-raised: position given
      error(msg, level)
    end
    level = level + 1
  end
end

-- L._options(opts, fn, known [, npos]): raises at the user's call when opts (a table, or
-- nil) has a key outside known ("a|alias b c", or a list of such names; npos array
-- entries allowed), naming it and suggesting a close one, with the message the C
-- constructors give (lt_opt_check in l_util.c: one place for both).
function L._options(opts, fn, known, npos)
  if opts ~= nil and type(opts) ~= "table" then
    L._error(string.format("%s: options must be a table, got a %s", fn, type(opts)))
  end
  local e = L._option_error(opts, fn, known, npos)
  if e then L._error(e) end
  return opts or {}
end

require "lunette.model"      -- nn.Sequential, losses, callbacks, nn.load (extends L.nn)
require "lunette.datasets"   -- data.load, split, scale, normalize (extends L.data)

require "lunette.plot"       -- plot.lines, history, confusion, image(s), featuremaps, ...
require "lunette.metrics"    -- metrics.classification_report
require "lunette.training"   -- nn.LearningRateScheduler, nn.ReduceLROnPlateau, nn.lr_find, nn.l1/l2
require "lunette.dist"       -- help for lunette.dist; data-parallel fit under mpirun

-- Names the REPL and `lunette -e` make global.
L.globals = { "tensor", "help", "nn", "optim", "data", "plot", "metrics" }

return L
