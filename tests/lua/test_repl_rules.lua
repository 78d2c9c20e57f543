-- test_repl_rules.lua: display rules of the REPL (lua/lunette/repl.lua) checked from Lua:
-- completion hides _-prefixed names unless "_" was typed; a value longer than the screen
-- is cut to a screenful with the count of lines left, only in the REPL on a terminal.
local T = require "check"
local L = require "lunette"
local R = require "lunette.repl"

local function has(list, x) for _, v in ipairs(list) do if v == x then return true end end return false end
local nn_names = R.complete("nn.")
T.check(has(nn_names, "nn.Conv2D"), "nn. completes layers")
local private = 0
for _, v in ipairs(nn_names) do if v:find("^nn%._") then private = private + 1 end end
T.check(private == 0, "nn. hides _-prefixed names (" .. private .. " shown)")
local under = R.complete("nn._")
T.check(#under > 0, "nn._ lists the private names when asked")
for _, v in ipairs(under) do T.check(v:find("^nn%._") ~= nil, "nn._ lists only _ names: " .. v) end
local m = nn.Sequential { nn.Dense { 2, input_shape = { 3 } } }
rawset(_G, "cm_model", m)
local meths = R.complete("cm_model:")
T.check(has(meths, "cm_model:fit") and not has(meths, "cm_model:_network"), "methods without _network")
T.check(has(R.complete("cm_model:_"), "cm_model:_network"), "cm_model:_ shows _network")
rawset(_G, "cm_model", nil)
T.check(not has(R.complete(""), "_G") and has(R.complete("_"), "_G"), "globals: _G only after '_'")

-- a screenful: only when the REPL runs on a terminal (lunette._pager_ok)
local long = {}
for i = 1, 100 do long[i] = "line " .. i end
long = table.concat(long, "\n")
local saved = L._pager_ok
L._pager_ok = false
T.check(R.screenful(long, 3) == long, "not on a terminal: shown whole")
L._pager_ok = true
local cut = R.screenful(long, 3)
local _, rows = L.columns()
local n = select(2, cut:gsub("\n", "")) + 1
T.check(n <= rows - 4 and n >= 9, "cut to a screenful: " .. n .. " lines for " .. rows .. " rows")
T.check(cut:find("^line 1\n") and cut:find("more lines %(100 in all%): Out%[3%] holds the whole value"),
  "says how much more and where it is: " .. cut:sub(-120))
T.check(R.screenful("a\nb\nc", 3) == "a\nb\nc", "short values untouched")
L._pager_ok = saved
T.check(L._gethelp("lunette.traceback") ~= nil and L.traceback() == false, "lunette.traceback documented, off")

-- markdown cells fit the window: list items hang, long indented lines break at a space
local md = "# Title\n\nSome prose that is long enough to need more than one line here.\n\n"
  .. "- positions inside tensors are 1-based, like Lua tables: t:get(1, 1) is the\n"
  .. "  top-left element and t[1] is the first row\n"
  .. "  out[1][2] = 10*1 + 10*0 + 0*-1 + 10*1 + 10*0 + 0*-1 + 10*1 + 10*0 = 30\n"
local w = R.wrap(md, 40)
local widest, lines = 0, {}
for l in (w .. "\n"):gmatch("([^\n]*)\n") do widest = math.max(widest, utf8.len(l)); lines[#lines + 1] = l end
T.check(widest <= 40, "markdown at 40 columns: no wider line (" .. widest .. ")")
T.check(lines[1] == "Title" and lines[3]:find("^Some prose"), "title and prose")
local item, at = {}, nil
for i = 1, #lines do if lines[i]:find("^%- ") then at = i end end
for i = at or #lines + 1, #lines do item[#item + 1] = lines[i] end
T.check(at == 6 and #item >= 3, "the list item starts a line")
for i = 2, #item do T.check(item[i]:find("^  %S") ~= nil, "item line hangs by 2: " .. item[i]) end
T.check(table.concat(item, " "):gsub("%s+", " ") == ("- positions inside tensors are 1-based, like Lua tables: "
  .. "t:get(1, 1) is the top-left element and t[1] is the first row out[1][2] = 10*1 + 10*0 + 0*-1 + "
  .. "10*1 + 10*0 + 0*-1 + 10*1 + 10*0 = 30"), "its words, all kept")

-- times: three digits in the largest unit whose rounded value is at least 1 (a %timeit
-- median of 999.96 ns once printed as "1e+03 ns")
local saved_plain = L.plain
L.plain = true
for _, c in ipairs { { 999.96e-9, "1 us" }, { 999.4e-9, "999 ns" }, { 12e-9, "12 ns" },
                     { 1.5e-6, "1.5 us" }, { 0.99996e-3, "1 ms" }, { 0.25, "250 ms" },
                     { 0.99999, "1 s" }, { 42.1, "42.1 s" }, { 1234.4, "1234 s" }, { 0, "0 ns" } } do
  T.check(R.fmt_time(c[1]) == c[2], string.format("fmt_time(%g) = %q, want %q", c[1], R.fmt_time(c[1]), c[2]))
end
L.plain = saved_plain
T.done()
