-- lunette/repl.lua: the Lua half of the REPL and of notebook replay. The C half
-- (src/repl/repl.c) reads lines with Readline, handles Ctrl-C and calls R.cell(src)
-- for each complete input, R.complete(text) for Tab and R.notebook(path, opts) for
-- `lunette FILE.lua`. Output of a cell is captured (print, io.write, io.stdout:write)
-- so %save can record it and --check can compare it; values show as Out[n] (pretty.lua).
local L = require "lunette"
local P = require "lunette.pretty"
local C = L._repl or {}            -- C helpers set by the lunette executable

local R = {}
R.n = 1                            -- the next cell number
R.session = {}                     -- {n=, src=, out=, ok=, magic=} per input
local baseline = {}                -- global names present before the user typed anything

local color = L.color and true or false
local function paint(code, s) if color then return "\27[" .. code .. "m" .. s .. "\27[0m" end return s end
local function red(s) return paint("31", s) end
local function green(s) return paint("32", s) end
local function bold(s) return paint("1", s) end

local clock = L.clock
local function columns() return (L.columns()) end
local H = require "lunette.help"

-- ---- output capture ----
local real_print, real_write, stdout = print, io.write, io.stdout
local file_methods = debug.getmetatable(io.stdout).__index
local file_write = file_methods.write
local cap, echo = nil, true      -- cap: table of captured pieces; echo: also to the terminal
local last_char = "\n"

local function emit(s)
  if s == "" then return end
  if cap then cap[#cap + 1] = s end
  if echo then file_write(stdout, s) end
  last_char = s:sub(-1)
end

local function tostr(v, i, fname)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then
    return math.type(v) == "integer" and string.format("%d", v) or string.format("%.14g", v)
  end
  error(string.format("bad argument #%d to '%s' (string expected, got %s)", i, fname, t), 3)
end

local function cap_print(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  emit(table.concat(parts, "\t") .. "\n")
end

local function cap_write(...)
  if io.output() ~= stdout then return real_write(...) end
  for i = 1, select("#", ...) do emit(tostr((select(i, ...)), i, "write")) end
  return stdout
end

local function cap_file_write(f, ...)
  if not rawequal(f, stdout) then return file_write(f, ...) end
  for i = 1, select("#", ...) do emit(tostr((select(i, ...)), i, "write")) end
  return f
end

-- Runs fn(...) with output captured (and shown when show); returns the captured text
-- and fn's results. print, io.write and io.stdout:write are replaced once, in R.init.
local function capturing(show, fn, ...)
  local saved_cap, saved_echo = cap, echo
  cap, echo = {}, show
  local res = table.pack(pcall(fn, ...))
  local text = table.concat(cap)
  cap, echo = saved_cap, saved_echo
  if not res[1] then error(res[2], 0) end
  return text, table.unpack(res, 2, res.n)
end

-- ---- running code ----
local INTERRUPT = setmetatable({}, { __tostring = function() return "interrupted" end })

local function is_interrupt(e)
  if e == INTERRUPT or e == "interrupted" then return true end
  if type(e) == "string" and e:match("^[^\n]*: interrupted$") then return true end
  if type(L.interrupted) == "function" then
    local ok, r = pcall(L.interrupted, e)
    return ok and r == true
  end
  return false
end
R.is_interrupt = is_interrupt

-- Error handler: message plus the traceback cut where the REPL's own frames start. The
-- frames inside Lunette's own Lua files and C functions are left out (the user's lines
-- remain) unless lunette.traceback(true); %debug shows the last error's full traceback.
local libdir = (L.lua_dir or "") .. "/lunette/"
local full_traceback = false
local last_traceback                              -- every frame of the last error

function L.traceback(on)
  local was = full_traceback
  if on ~= nil then full_traceback = on and true or false end
  return was
end
L._sethelp(L.traceback, "lunette.traceback", "lunette.traceback([on]) → was\n\nWith true, "
  .. "errors in the REPL and notebooks show every frame of their traceback, including "
  .. "Lunette's own Lua files and C functions; by default those are hidden and only the lines "
  .. "of your code are listed (%debug shows the full traceback of the last error). Returns "
  .. "the previous setting.\nExample: lunette.traceback(true)")

local function internal(line)
  return line:find(libdir, 1, true) or line:find("lunette/[%w_]+%.lua:") or line:find("^%s*%[C%]:")
    or line:find("^%s*%(%.%.%.tail calls%.%.%.%)")
end

local function handler(e)
  if is_interrupt(e) then return INTERRUPT end
  local msg
  if type(e) == "string" then msg = e
  else
    local mt = debug.getmetatable(e)
    if type(mt) == "table" and rawget(mt, "__tostring") then
      local ok, s = pcall(tostring, e)
      msg = ok and s or "(error object with a failing __tostring)"
    else
      msg = "(error object is a " .. type(e) .. " value)"
    end
  end
  local all, lines = {}, {}
  for line in debug.traceback("", 2):gmatch("[^\n]+") do
    if line:find("in function 'xpcall'", 1, true) or line:find("lunette/repl.lua", 1, true) then break end
    if not line:find("^stack traceback:") and not line:find("^%s*%[C%]: in %?$") then
      all[#all + 1] = line
      if full_traceback or not internal(line) then lines[#lines + 1] = line end
    end
  end
  last_traceback = { msg = msg, tb = all }
  if #lines > 12 then
    local n = #lines
    for i = 11, n - 1 do lines[i] = nil end
    lines[11] = "\t..."
    lines[12], lines[n] = lines[n], nil
  end
  return { msg = msg, tb = lines }
end

-- Compiles src, trying `return src` first so expressions show their value. A line
-- "stmts; expr" shows expr's value (IPython) -- when the part after the last ';' is an
-- expression on its own, so a ';' inside a block or a string is never split -- and a
-- trailing ';' shows nothing.
local function compile(src, name)
  -- an expression runs as "pack it, then return it": not a tail call, so an error raised
  -- in the call still has the user's line in its position and traceback
  local function expr(stmts, e)
    if not load("return " .. e, "=", "t") then return nil end
    return load(stmts .. " local __v = table.pack(" .. e .. "\n) return table.unpack(__v, 1, __v.n)", name, "t")
  end
  local f = expr("", src)
  if f then return f, true end
  local p = src:find(";[^;]*$")
  if p and not src:find(";%s*$") then
    local h = expr(src:sub(1, p), src:sub(p + 1))
    if h then return h, true end
  end
  local g, err = load(src, name, "t")
  if g then return g, false end
  return nil, false, err
end

-- Runs src; returns status ("ok", "error", "interrupted"), a packed table of results or
-- the error info {msg=, tb=}.
local function exec(src, name, args)
  local f, _, err = compile(src, name)
  if not f then return "error", { msg = err, tb = {} } end
  local res = table.pack(xpcall(f, handler, table.unpack(args or {}, 1, args and args.n or 0)))
  if res[1] then return "ok", table.pack(table.unpack(res, 2, res.n)) end
  if res[2] == INTERRUPT then return "interrupted" end
  return "error", res[2]
end

local function show_error(info)
  local s = red(info.msg) .. "\n"
  if #info.tb > 0 then s = s .. "stack traceback:\n" .. table.concat(info.tb, "\n") .. "\n" end
  if last_char ~= "\n" then s = "\n" .. s end
  file_write(stdout, s)
  last_char = "\n"
end

local function values_text(res)
  local parts, multi = {}, false
  for i = 1, res.n do
    parts[i] = P.format(res[i])
    if parts[i]:find("\n") then multi = true end
  end
  return table.concat(parts, multi and "\n" or ", ")
end

-- "name = f(...)" whose call returned nil, message (as nn.load and io.open do): runs it
-- as an assignment that also prints "-- f: message", so the failure is not silent.
-- Returns the function to run, or nil when src is not such an assignment.
local function nil_assignment(src, name)
  local target, rhs = src:match("^%s*([%a_][%w_]*[%w_.]*)%s*=%s*(.-)%s*;?%s*$")
  if not target or rhs:find("^=") then return nil end
  local fname = rhs:match("^([%a_][%w_.:]*)%s*[(\"'{]")
  if not fname then return nil end
  local fr = load("return " .. rhs, name, "t")
  local fa = load(target .. " = ...", name, "t")
  if not fr or not fa then return nil end
  return function(...)
    local r = table.pack(fr(...))
    fa(r[1])
    if r[1] == nil and type(r[2]) == "string" then
      local m = r[2]
      if m:sub(1, #fname + 1) ~= fname .. ":" then m = fname .. ": " .. m end
      print("-- " .. m)
    end
  end
end

-- A value's text cut to a screenful in the REPL on a terminal (numpy and IPython elide
-- too): the first lines, then how many more there are and where the whole value is.
local function screenful(text, n)
  if not L._pager_ok then return text end
  local _, rows = L.columns()
  local keep = math.max(rows - 6, 8)
  local count = select(2, text:gsub("\n", "")) + 1
  if count <= keep + 2 then return text end
  local cut = 0
  for _ = 1, keep do cut = text:find("\n", cut + 1, true) end
  return text:sub(1, cut) .. string.format("... %d more lines (%d in all): Out[%d] holds the "
    .. "whole value; print(Out[%d]) shows it", count - keep, count, n, n)
end
R.screenful = screenful

-- Runs one cell's code with its output captured and shown; returns status, output text
-- (including the value shown as Out[n]) and, on error, the error info.
local function run_cell(src, name, n, show, args)
  local status, res
  local out = capturing(show, function()
    local na = nil_assignment(src, name)
    if na then
      local r = table.pack(xpcall(na, handler, table.unpack(args or {}, 1, args and args.n or 0)))
      if r[1] then status, res = "ok", { n = 0 }
      elseif r[2] == INTERRUPT then status = "interrupted"
      else status, res = "error", r[2] end
    else
      status, res = exec(src, name, args)
    end
    if status == "ok" and res.n > 0 then
      local text = screenful(values_text(res), n)
      if last_char ~= "\n" then emit("\n") end
      if show then   -- a multi-line value starts on its own line (IPython), so plots line up
        file_write(stdout, red("Out[" .. n .. "]:") .. (text:find("\n", 1, true) and "\n" or " "))
      end
      emit(text .. "\n")
      rawset(_G, "_", res[1])
      local out_t = rawget(_G, "Out")
      if type(out_t) == "table" then rawset(out_t, n, res[1]) end
    end
  end)
  if status == "interrupted" then
    if last_char ~= "\n" then file_write(stdout, "\n") end
    file_write(stdout, red("interrupted") .. "\n")
    last_char = "\n"
  elseif status == "error" and show then
    show_error(res)
  end
  return status, out, res
end

-- ---- magics ----
local magics, magic_help = {}, {}

-- Three significant digits in the largest unit whose value, once rounded, is at least 1:
-- 999.96 ns prints as "1 µs", never "1e+03 ns".
local function fmt_time(s)
  if s >= 999.5 then return string.format("%.0f s", s) end
  local units = { { 1, "s" }, { 1e-3, "ms" }, { 1e-6, L.plain and "us" or "µs" }, { 1e-9, "ns" } }
  for i, u in ipairs(units) do
    local text = string.format("%.3g", s / u[1])
    if tonumber(text) >= 1 or i == #units then return text .. " " .. u[2] end
  end
end
R.fmt_time = fmt_time

magic_help.time = "%time STMT   run STMT once and report CPU and wall time"
function magics.time(arg, n)
  if arg == "" then print("usage: %time STMT") return "error" end
  local c0, t0 = os.clock(), clock()
  local status = run_cell(arg, "=In[" .. n .. "]", n, true)
  local wall, cpu = clock() - t0, os.clock() - c0
  file_write(stdout, string.format("CPU time: %s, Wall time: %s\n", fmt_time(cpu), fmt_time(wall)))
  return status
end

magic_help.timeit = "%timeit STMT run STMT many times; report the best and median time per loop"
function magics.timeit(arg)
  if arg == "" then print("usage: %timeit STMT") return "error" end
  local f, _, err = compile(arg, "=timeit")
  if not f then show_error({ msg = err, tb = {} }) return "error" end
  local ok, e = xpcall(function()
    local function measure(loops)
      local t0 = clock()
      for _ = 1, loops do f() end
      return clock() - t0
    end
    local loops, t = 1, measure(1)
    while t < 0.05 and loops < 1e7 do
      loops = loops * 10
      t = measure(loops)
    end
    local repeats = t > 1 and 3 or 7
    local times = { t / loops }
    for i = 2, repeats do times[i] = measure(loops) / loops end
    table.sort(times)
    local median = times[(#times + 1) // 2]
    if #times % 2 == 0 then median = (times[#times // 2] + times[#times // 2 + 1]) / 2 end
    print(string.format("best %s, median %s per loop (%d runs, %d loop%s each)",
      fmt_time(times[1]), fmt_time(median), #times, loops, loops == 1 and "" or "s"))
  end, handler)
  if ok then return "ok" end
  if e == INTERRUPT then file_write(stdout, red("interrupted") .. "\n") return "interrupted" end
  show_error(e)
  return "error"
end

-- A script or notebook: at most MAX_SOURCE bytes (%run /dev/zero read without end).
local MAX_SOURCE = 64 << 20
local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s, rerr = f:read(MAX_SOURCE + 1)
  f:close()
  if rerr then return nil, path .. ": " .. tostring(rerr) end     -- e.g. a directory
  s = s or ""                                                        -- an empty file
  if #s > MAX_SOURCE then
    return nil, string.format("%s: larger than %d MB: not a script or notebook", path, MAX_SOURCE >> 20)
  end
  return s
end

local function split_words(s)
  local w = {}
  for x in s:gmatch("%S+") do w[#w + 1] = x end
  return w
end

magic_help.run = "%run FILE [ARGS]  run a Lua file (or replay a notebook) in this session"
function magics.run(arg)
  local words = split_words(arg)
  local path = words[1]
  if not path then print("usage: %run FILE [ARGS]") return "error" end
  local args = table.pack(table.unpack(words, 2))
  local src, err = read_file(path)
  if not src then show_error({ msg = err, tb = {} }) return "error" end
  if R.is_notebook(src) then
    local code = R.notebook(path, { args = args })
    return code == 0 and "ok" or (code == 130 and "interrupted" or "error")
  end
  return R.script(path, src, args)
end

-- R.is_notebook(src): the file has "-- %%" cell markers.
function R.is_notebook(src)
  return src:find("^%-%- %%%%") ~= nil or src:find("\n%-%- %%%%") ~= nil
end

-- R.script(path, src, args): runs a plain Lua file as lua5.4 would (only what it prints;
-- an error shows its message and traceback). Returns "ok", "error" or "interrupted".
function R.script(path, src, args)
  local f, lerr = load((src:gsub("^#![^\n]*", "")), "@" .. path, "t")
  if not f then show_error({ msg = lerr, tb = {} }) return "error" end
  local res = table.pack(xpcall(f, handler, table.unpack(args, 1, args.n)))
  if res[1] then return "ok" end
  if res[2] == INTERRUPT then file_write(stdout, red("interrupted") .. "\n") return "interrupted" end
  show_error(res[2])
  return "error"
end

-- The text of a notebook holding cells {src=, out=}. Outputs are recorded as --> lines
-- without colour codes; an output drawn with Unicode (a plot, a boxed summary on a
-- terminal) is not recorded, since --check compares in plain ASCII and could never match.
local function notebook_text(cells)
  local parts = {}
  for _, c in ipairs(cells) do
    parts[#parts + 1] = "-- %%\n" .. c.src:gsub("\n+$", "") .. "\n"
    local out = (c.out or ""):gsub("\27%[[%d;?]*%a", ""):gsub("\n$", "")
    if out:find("[\128-\255]") then
      parts[#parts + 1] = "-- (output drawn in Unicode, not recorded; %save under --plain records it)\n"
    elseif out ~= "" then
      for line in (out .. "\n"):gmatch("([^\n]*)\n") do
        line = line:gsub("%s+$", "")
        parts[#parts + 1] = line == "" and "-->\n" or "--> " .. line .. "\n"
      end
    end
    parts[#parts + 1] = "\n"
  end
  return table.concat(parts)
end
R.notebook_text = notebook_text

magic_help.save = "%save FILE   write this session's cells and outputs as a notebook"
function magics.save(arg)
  local path = split_words(arg)[1]
  if not path then print("usage: %save FILE") return "error" end
  local cells = {}
  for _, c in ipairs(R.session) do
    if c.ok and not c.magic then cells[#cells + 1] = c end
  end
  local tmp = path .. ".tmp" .. tostring(math.random(1 << 30))
  local f, err = io.open(tmp, "wb")
  if not f then show_error({ msg = "%save: " .. err, tb = {} }) return "error" end
  local ok, werr = f:write(notebook_text(cells))
  local cok, cerr = f:close()
  if not ok or not cok then
    os.remove(tmp)
    show_error({ msg = "%save: " .. tostring(werr or cerr), tb = {} })
    return "error"
  end
  local rok, rerr = os.rename(tmp, path)
  if not rok then
    os.remove(tmp)
    show_error({ msg = "%save: " .. tostring(rerr), tb = {} })
    return "error"
  end
  print(string.format("saved %d cell%s to %s", #cells, #cells == 1 and "" or "s", path))
  return "ok"
end

magic_help.history = "%history [n]  show the last n inputs of this session (all by default)"
function magics.history(arg)
  local n = tonumber(arg) or #R.session
  for i = math.max(1, #R.session - n + 1), #R.session do
    local c = R.session[i]
    local src = c.src:gsub("\n", "\n" .. string.rep(" ", #tostring(c.n) + 4))
    print(string.format("%3d: %s", c.n, src))
  end
  return "ok"
end

local function user_globals()
  local names = {}
  for k in next, _G do
    if type(k) == "string" and not baseline[k] then names[#names + 1] = k end
  end
  table.sort(names)
  return names
end

magic_help.who = "%who         list the globals this session defined"
function magics.who()
  local names = user_globals()
  if #names == 0 then print("no user globals") return "ok" end
  local w = 0
  for _, k in ipairs(names) do w = math.max(w, #k) end
  for _, k in ipairs(names) do
    local v = rawget(_G, k)
    local mt = debug.getmetatable(v)
    local tname = type(mt) == "table" and type(rawget(mt, "__name")) == "string" and rawget(mt, "__name")
    print(string.format("%-" .. w .. "s  %s", k, tname or type(v)))
  end
  return "ok"
end

magic_help.reset = "%reset       forget this session's globals, Out and inputs"
function magics.reset()
  for _, k in ipairs(user_globals()) do rawset(_G, k, nil) end
  rawset(_G, "_", nil)
  rawset(_G, "Out", {})
  R.session = {}
  print("session reset")
  return "ok"
end

-- Resolves "a.b.c" by raw look-ups only (never runs user code).
local resolve

magic_help.debug = "%debug [on|off] show the last error's full traceback (with on/off: always, or not)"
function magics.debug(arg)
  if arg == "on" or arg == "off" then
    L.traceback(arg == "on")
    print("full tracebacks " .. arg)
    return "ok"
  end
  if not last_traceback then print("no error yet") return "ok" end
  show_error(last_traceback)
  return "ok"
end

magic_help.help = "%help [NAME] list the help topics, or show one"
function magics.help(arg)
  if arg == "" then
    local width = columns()
    local topics = L._helptopics()
    table.sort(topics)
    local out = { "Magics:" }
    local mnames = {}
    for k in pairs(magic_help) do mnames[#mnames + 1] = k end
    table.sort(mnames)
    for _, k in ipairs(mnames) do
      for _, l in ipairs(H.fill(magic_help[k], width, "  ", string.rep(" ", 15))) do out[#out + 1] = l end
    end
    out[#out + 1] = "Help topics (help(NAME) or %help NAME):"
    local line = "  "
    for _, t in ipairs(topics) do
      if line ~= "  " and #line + #t > width then out[#out + 1] = line:gsub("%s+$", "") line = "  " end
      line = line .. t .. "  "
    end
    if line ~= "  " then out[#out + 1] = line:gsub("%s+$", "") end
    H.page(table.concat(out, "\n"))
    return "ok"
  end
  local name = arg:gsub("^%%", "")
  if magic_help[name] then print(H.reflow(magic_help[name], columns())) return "ok" end
  L.help(arg)
  return "ok"
end

-- ---- one REPL input ----

-- R.cell(src): runs a complete input (Lua or a magic) as cell R.n, then advances R.n.
function R.cell(src)
  local n = R.n
  R.n = n + 1
  local entry = { n = n, src = src }
  R.session[#R.session + 1] = entry
  local name, arg = src:match("^%s*%%(%a+)%s*(.-)%s*$")
  if name then
    entry.magic = true
    local m = magics[name]
    if not m then
      file_write(stdout, red("unknown magic %" .. name) .. " (%help lists them)\n")
      return
    end
    entry.ok = m(arg, n) == "ok"
    return
  end
  local topic = src:match("^%s*help%s*%(%s*([%a_][%w_.]*:[%a_][%w_]*)%s*%)%s*;?%s*$")
  if topic then src = "help(" .. P.quote(topic) .. ")" end    -- help(model:fit): not Lua
  local status, out = run_cell(src, "=In[" .. n .. "]", n, true)
  entry.ok, entry.out = status == "ok", out
end

-- ---- completion ----
local lua_keywords = { "and", "break", "do", "else", "elseif", "end", "false", "for",
  "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then",
  "true", "until", "while" }

-- The table of methods behind v's __index (help.lua's: raw look-ups only).
local index_table = H.index_table

local function field(v, k)
  for _ = 1, 16 do
    if type(v) == "table" then
      local r = rawget(v, k)
      if r ~= nil then return r end
    end
    v = index_table(v)
    if v == nil then return nil end
  end
end

function resolve(path)
  if not path:match("^[%a_][%w_]*$") and not path:match("^[%a_][%w_]*[.:][%w_.:]*[%w_]$") then
    return nil
  end
  local v = _G
  for name in path:gmatch("[^.:]+") do
    v = field(v, name)
    if v == nil then return nil end
  end
  return v
end
R.resolve = resolve

local function keys_of(v, want_methods, out, seen)
  seen = seen or {}
  for _ = 1, 16 do
    if v == nil or seen[v] then return end
    seen[v] = true
    if type(v) == "table" then
      for k, val in next, v do
        if type(k) == "string" and k:match("^[%a_][%w_]*$") and
            (not want_methods or type(val) == "function" or type(val) == "table") then
          out[k] = true
        end
      end
    end
    v = index_table(v)
  end
end

-- R.complete(text): the completions of text (the word before the cursor), sorted.
function R.complete(text)
  local prefix, sep, partial = text:match("^(.-)([.:])([%w_]*)$")
  local names = {}
  if prefix and prefix ~= "" then
    local v = resolve(prefix)
    if v == nil then return {} end
    keys_of(v, sep == ":", names)
  else
    partial = text:match("^[%a_][%w_]*$") or (text == "" and "")
    if not partial then return {} end
    prefix, sep = "", ""
    keys_of(_G, false, names)
    for _, k in ipairs(lua_keywords) do names[k] = true end
  end
  local out = {}
  for k in pairs(names) do
    if k:sub(1, #partial) == partial and not (sep == "" and k:match("^__"))
        and (partial:sub(1, 1) == "_" or k:sub(1, 1) ~= "_") then   -- private unless asked
      out[#out + 1] = prefix .. sep .. k
    end
  end
  table.sort(out)
  return out
end

-- ---- notebooks ----

-- A markdown cell's text laid out in width columns: paragraphs refilled, "# titles" in
-- bold, list items filled with a hanging indent (their indented continuation lines
-- joined in), other indented lines, tables and ``` blocks kept as written (broken at a
-- space with a deeper indent only when wider than the window).
local function wrap(text, width)
  local out, para, hang = {}, {}, ""
  local function flush()
    if #para == 0 then return end
    local first = table.concat(para, " ")
    local lead = first:match("^%s*") or ""
    for _, l in ipairs(H.fill(first:sub(#lead + 1), width, lead, hang)) do out[#out + 1] = l end
    para, hang = {}, ""
  end
  local function verbatim(line)
    if H.width(line) <= width then out[#out + 1] = line return end
    local ind = line:match("^%s*")
    for _, l in ipairs(H.fill(line:sub(#ind + 1), width, ind, ind .. "    ")) do out[#out + 1] = l end
  end
  local fence = false
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line:match("^```") then flush(); fence = not fence; out[#out + 1] = line
    elseif fence or line:match("^|") then verbatim(line)
    elseif line:match("^%s*$") then flush(); out[#out + 1] = ""
    elseif line:match("^#") then flush(); out[#out + 1] = bold((line:gsub("^#+%s*", "")))
    elseif line:match("^%s*[-*+] ") or line:match("^%s*%d+[.)] ") then
      flush()
      local marker = line:match("^(%s*[-*+] )") or line:match("^(%s*%d+[.)] )")
      hang = string.rep(" ", #marker)
      para[1] = line
    elseif #para > 0 and hang ~= "" and line:match("^%s") then   -- an item's continuation
      para[#para + 1] = (line:gsub("^%s+", ""))
    elseif line:match("^%s") then flush(); verbatim(line)
    else para[#para + 1] = line end
  end
  flush()
  while out[#out] == "" do out[#out] = nil end
  return table.concat(out, "\n")
end
R.wrap = wrap

local function lines_of(s)
  local t = {}
  if s == nil or s == "" then return t end
  if s:sub(-1) ~= "\n" then s = s .. "\n" end
  for line in s:gmatch("([^\n]*)\n") do t[#t + 1] = (line:gsub("%s+$", "")) end
  return t
end
R.lines_of = lines_of

-- A unified diff of two lists of lines (3 lines of context).
local function udiff(a, b, la, lb)
  local n, m = #a, #b
  local ops = {}
  if n * m > 4e6 then
    for i = 1, n do ops[#ops + 1] = { "-", a[i] } end
    for j = 1, m do ops[#ops + 1] = { "+", b[j] } end
  else
    local lcs = {}
    for i = n + 1, 1, -1 do
      lcs[i] = {}
      for j = m + 1, 1, -1 do
        if i > n or j > m then lcs[i][j] = 0
        elseif a[i] == b[j] then lcs[i][j] = lcs[i + 1][j + 1] + 1
        else lcs[i][j] = math.max(lcs[i + 1][j], lcs[i][j + 1]) end
      end
    end
    local i, j = 1, 1
    while i <= n or j <= m do
      if i <= n and j <= m and a[i] == b[j] then ops[#ops + 1] = { " ", a[i] }; i, j = i + 1, j + 1
      elseif i <= n and (j > m or lcs[i + 1][j] >= lcs[i][j + 1]) then ops[#ops + 1] = { "-", a[i] }; i = i + 1
      else ops[#ops + 1] = { "+", b[j] }; j = j + 1 end
    end
  end
  local out = { "--- " .. la, "+++ " .. lb }
  local k, ai, bi = 1, 1, 1
  local pos = {}                                  -- line numbers before each op
  for idx, op in ipairs(ops) do
    pos[idx] = { ai, bi }
    if op[1] ~= "+" then ai = ai + 1 end
    if op[1] ~= "-" then bi = bi + 1 end
  end
  while k <= #ops do
    if ops[k][1] == " " then k = k + 1 else
      local s = math.max(1, k - 3)
      local e, last = k, k
      while e <= #ops do
        if ops[e][1] ~= " " then last = e end
        if e - last > 6 then break end
        e = e + 1
      end
      e = math.min(#ops, last + 3)
      local na, nb = 0, 0
      for x = s, e do
        if ops[x][1] ~= "+" then na = na + 1 end
        if ops[x][1] ~= "-" then nb = nb + 1 end
      end
      out[#out + 1] = string.format("@@ -%d,%d +%d,%d @@", na > 0 and pos[s][1] or pos[s][1] - 1, na,
        nb > 0 and pos[s][2] or pos[s][2] - 1, nb)
      for x = s, e do out[#out + 1] = ops[x][1] .. ops[x][2] end
      k = e + 1
    end
  end
  return table.concat(out, "\n")
end
R.udiff = udiff

local function echo_source(src, n)
  local prompt = "In [" .. n .. "]: "
  local cont = string.rep(" ", #prompt - 5) .. "...: "
  local first = true
  for line in (src .. "\n"):gmatch("([^\n]*)\n") do
    file_write(stdout, (first and green(prompt) or green(cont)) .. line .. "\n")
    first = false
  end
end

-- R.notebook(path, opts): replays (or with opts.check, checks) a notebook. opts: check,
-- step, args (packed table for `...`). Returns the exit status: 0, 1 or 130.
function R.notebook(path, opts)
  opts = opts or {}
  local text, err = read_file(path)
  if not text then file_write(stdout, red("lunette: " .. err) .. "\n") return 1 end
  if not C.parse_notebook then error("notebook parser unavailable") end
  local cells = C.parse_notebook(text)
  local width = math.min(columns(), 80)
  local failed, compared, code_cells = 0, 0, 0
  local total = 0
  for _, cell in ipairs(cells) do if cell.kind ~= "markdown" then total = total + 1 end end
  -- --check on a terminal: a status line says which cell runs (erased before any output)
  local status_line = opts.check and L._stdout_tty
  local function show_status(s)
    if not status_line then return end
    file_write(stdout, "\r\27[K" .. H.cut(s, width - 1))
    stdout:flush()
  end
  local status_code = 0
  for _, cell in ipairs(cells) do
    if cell.kind == "markdown" then
      if not opts.check and cell.source ~= "" then
        file_write(stdout, wrap(cell.source, width) .. "\n\n")
      end
    else
      code_cells = code_cells + 1
      local n = R.n
      if opts.step then
        if cell.title ~= "" then file_write(stdout, bold("-- " .. cell.title) .. "\n") end
        echo_source(cell.source, n)
        -- one key on a terminal (q needs no Enter); the cell's output starts on a new line
        local ask, answer, raw = "-- Enter runs this cell, q stops: "
        if C.key then answer, raw = C.key(ask)
        else file_write(stdout, ask); stdout:flush(); answer = io.read("l") end
        if raw then file_write(stdout, L._stdout_tty and "\r\27[K" or "\n") end
        if answer == nil or answer:match("^%s*[qQ]") then
          if answer == nil or raw then file_write(stdout, "\n") end
          return status_code
        end
      elseif not opts.check then
        if cell.title ~= "" then file_write(stdout, bold("-- " .. cell.title) .. "\n") end
        echo_source(cell.source, n)
      end
      R.n = n + 1
      local chunk = string.rep("\n", cell.source_line - 1) .. cell.source
      show_status(string.format("checking cell %d/%d (%s:%d)...", code_cells, total, path:match("[^/]*$"), cell.line))
      local status, out, info = run_cell(chunk, "@" .. path, n, not opts.check, opts.args)
      if status_line then file_write(stdout, "\r\27[K") end
      R.session[#R.session + 1] = { n = n, src = cell.source, out = out, ok = status == "ok" }
      if status == "interrupted" then return 130 end
      local where = string.format("cell %d (%s:%d)", code_cells, path, cell.line)
      if status == "error" then
        failed = failed + 1
        status_code = 1
        if opts.check then
          file_write(stdout, red(where .. " raised an error:") .. "\n")
          show_error(info)
        end
      elseif opts.check and cell.expected then
        compared = compared + 1
        local want, got = lines_of(cell.expected), lines_of(out)
        local same = #want == #got
        for i = 1, #want do if want[i] ~= got[i] then same = false end end
        if not same then
          failed = failed + 1
          status_code = 1
          file_write(stdout, red(where .. " output differs:") .. "\n")
          file_write(stdout, udiff(want, got, "expected", "actual") .. "\n")
        end
      end
      if not opts.check then file_write(stdout, "\n") end
    end
  end
  if opts.check then
    file_write(stdout, string.format("%s: %d code cell%s, %d compared, %s\n", path, code_cells,
      code_cells == 1 and "" or "s", compared,
      failed == 0 and green("all match") or red(failed .. " failed")))
  end
  return status_code
end

-- R.run_file(path, check, step): `lunette FILE.lua`, with the global arg as `...`. A file
-- with "-- %%" cells replays as a notebook; a plain Lua file runs as a script (as
-- `lua5.4 FILE` would: its own output only), except under --check and --step, where it
-- is one cell.
function R.run_file(path, check, step)
  local a, args = rawget(_G, "arg"), { n = 0 }
  if type(a) == "table" then
    for i = 1, #a do args[i] = a[i] end
    args.n = #a
  end
  if not check and not step then           -- a plain script runs as a script, unechoed
    local src = read_file(path)
    if src and not R.is_notebook(src) then
      local st = R.script(path, src, args)
      return st == "ok" and 0 or (st == "interrupted" and 130 or 1)
    end
  end
  return R.notebook(path, { check = check, step = step, args = args })
end

-- R.init(): called once by the executable after the globals are set.
function R.init()
  print, io.write, file_methods.write = cap_print, cap_write, cap_file_write
  L._sethelp(cap_print, "print", "print(...)\n\nWrites its arguments (tostring), separated by "
    .. "tabs, and a newline.\nIn the REPL and notebooks the output is recorded with the cell.")
  L._sethelp(cap_write, "io.write", "io.write(...)\n\nWrites strings and numbers to the "
    .. "default output file (recorded with the cell\nwhen it is the terminal).")
  for _, lib in ipairs({ "string", "table", "math", "io", "os", "coroutine", "utf8", "debug" }) do
    local t = rawget(_G, lib)
    if type(t) == "table" then
      for k, f in next, t do
        if type(f) == "function" and type(k) == "string" then P.names[f] = lib .. "." .. k end
      end
    end
  end
  for k, f in next, _G do
    if type(f) == "function" and type(k) == "string" and not P.names[f] then P.names[f] = k end
  end
  for k in next, _G do baseline[k] = true end
  baseline.Out, baseline._ = true, true
  rawset(_G, "Out", {})
end

return R
