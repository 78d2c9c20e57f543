-- lunette/prelude.lua: the Lua side of `require "lunette"`. Runs once, after the C
-- submodules are in place; each Lua-side area is a module of its own, required here.
local L = require "lunette"

-- help(obj): prints the help text of any documented function, object or module.
local function help(obj)
  if obj == nil then
    print("help(obj) shows the help of a Lunette function, layer or module; %help lists topics.")
    return
  end
  local text, name = L._gethelp(obj)
  if not text and type(obj) ~= "string" then
    local mt = getmetatable(obj)
    local tname = type(mt) == "table" and rawget(mt, "__name")
    if tname then text, name = L._gethelp(tname) end
  end
  if not text then
    print("no help for " .. tostring(obj) .. " (%help lists the topics)")
    return
  end
  print(text)
end
L.help = help
L._sethelp(help, "help", "help(obj)\n\nPrints the help of a Lunette function, layer, object or "
  .. "module: signature, arguments,\ndefaults and an example. help('nn.Conv2D') also works.\n"
  .. "Example: help(tensor.conv2d)")

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

require "lunette.model"      -- nn.Sequential, losses, callbacks, nn.load (extends L.nn)
require "lunette.datasets"   -- data.load, split, scale, normalize (extends L.data)

require "lunette.plot"       -- plot.lines, history, confusion, image(s), featuremaps, ...
require "lunette.metrics"    -- metrics.classification_report

-- Names the REPL and `lunette -e` make global.
L.globals = { "tensor", "help", "nn", "optim", "data", "plot", "metrics" }

return L
