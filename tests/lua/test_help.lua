-- test_help.lua: help(obj) and its display rules (lua/lunette/help.lua): every help text
-- reflowed to 60, 80 and 200 columns has no line wider than the width and keeps every
-- word whole; modules, values (a model, a tensor, a layer) and both spellings of methods
-- find their text; help of a big tensor never prints its data.
local T = require "check"
local L = require "lunette"
local H = require "lunette.help"

local function words(s)
  local w = {}
  for x in s:gmatch("%S+") do w[#w + 1] = x end
  return w
end

-- ---- reflow ----
local longest_word = 0
for _, t in ipairs(L._helptopics()) do
  for _, x in ipairs(words(L._gethelp(t))) do longest_word = math.max(longest_word, H.width(x)) end
end
for _, width in ipairs { 60, 80, 200 } do
  local over, lost = {}, {}
  for _, t in ipairs(L._helptopics()) do
    local text = L._gethelp(t)
    local r = H.reflow(text, width)
    for line in (r .. "\n"):gmatch("([^\n]*)\n") do
      if H.width(line) > width then over[#over + 1] = t .. ": " .. line end
    end
    if width >= longest_word then                   -- no word is broken or lost
      local a, b = words(text), words(r)
      if table.concat(a, " ") ~= table.concat(b, " ") then lost[#lost + 1] = t end
    end
  end
  T.check(#over == 0, width .. " columns: no help line is wider (" .. (over[1] or "") .. ")")
  T.check(#lost == 0, width .. " columns: every word kept whole (" .. (lost[1] or "") .. ")")
end
-- prose is refilled (the 90-column source lines are joined), code keeps its lines
local fit80 = H.reflow(L._gethelp("Sequential:fit"), 80)
T.check(fit80:find("shuffled each\nepoch", 1, true) or fit80:find("shuffled each epoch", 1, true),
  "fit's help: 'epoch' is not broken")
T.check(not fit80:find("e\npoch", 1, true), "fit's help: no word split across lines")
local seq = H.reflow(L._gethelp("nn.Sequential"), 200)
T.check(seq:find("\n  model = nn.Sequential{\n", 1, true) ~= nil, "code lines kept as written")
T.check(H.reflow("sig()\n\nfirst line\nsecond line", 80) == "sig()\n\nfirst line second line",
  "hard-wrapped prose lines are joined")
T.check(H.reflow("sig()\n\nopts: a\nExample: f(x)", 80) == "sig()\n\nopts: a\nExample: f(x)",
  "labels and examples start their own lines")
T.check(H.reflow("sig()\n\nExample: " .. string.rep("abcd ", 20), 40):find("^sig%(%)\n\nExample:\n  abcd"),
  "a long example moves under 'Example:'")
T.check(#H.fill(string.rep("x", 50), 20, "", "")[1] == 20, "a word wider than the line is split")

-- ---- finding help ----
local function shown(obj)
  local out = {}
  local saved = print
  print = function(...) out[#out + 1] = table.concat({ ... }, "\t") end
  local ok, err = pcall(L.help, obj)
  print = saved
  T.check(ok, "help does not raise: " .. tostring(err))
  return table.concat(out, "\n")
end
for _, m in ipairs { "plot", "metrics", "data", "nn", "tensor", "optim" } do
  local s = shown(L[m])
  T.check(s:find("^" .. m .. ":") ~= nil, "help(" .. m .. ") shows the module's text")
end
T.check(shown(L):find("^lunette:") ~= nil, "help(lunette)")
local model = L.nn.Sequential { L.nn.Dense { 3, input_shape = { 4 } } }
local hm = shown(model)
T.check(hm:find("^nn.Sequential{") and hm:find("Methods", 1, true) and hm:find("fit", 1, true),
  "help(model) is nn.Sequential's help with its methods")
T.check(not hm:find("Total params", 1, true), "help(model) does not print the summary")
T.check(shown(model.fit):find("^model:fit%(") ~= nil, "help(model.fit)")
T.check(shown("Sequential:fit") == shown(model.fit), "help('Sequential:fit')")
T.check(shown("Sequential.fit") == shown(model.fit), "help('Sequential.fit')")
rawset(_G, "mymodel", model)
T.check(shown("mymodel:fit") == shown(model.fit), "help('mymodel:fit') resolves the global")
T.check(shown("mymodel.fit") == shown(model.fit), "help('mymodel.fit')")
rawset(_G, "mymodel", nil)
T.check(shown(model.layers[1]):find("^nn.Dense{") ~= nil, "help(layer) is its class's help")
local big = L.tensor.zeros(3000, 3000)
local ht = shown(big)
T.check(ht:find("^Tensor") and ht:find("Methods", 1, true), "help(x) of a tensor describes tensors")
T.check(#ht < 2000 and not ht:find("0.0000", 1, true), "help(x) never prints the data")
T.check(shown(L.optim.Adam()):find("^optim:") ~= nil, "help(optimizer object)")
local hn = shown(math)
T.check(hn:find("^no help for this table value") and not hn:find("0x", 1, true),
  "no help: says so without an address")
T.check(shown("no.such.thing"):find("no help for 'no.such.thing'", 1, true) ~= nil, "unknown name")
T.check(L._gethelp("lunette.columns") ~= nil, "lunette.columns is documented")
local cols = L.columns()
T.check(math.type(cols) == "integer" and cols >= 20, "lunette.columns() gives a width")

T.done()
