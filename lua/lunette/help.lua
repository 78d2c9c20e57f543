-- lunette/help.lua: help(obj) and what it needs. Help texts are stored as written in the
-- sources (signature, blank line, prose hard-wrapped near 90 columns, "Example:" lines,
-- indented code); they are reflowed at display time to lunette.columns() so no word is
-- broken at 80 or 60 columns. Values get the help of their class (a model, a tensor, a
-- layer), strings may spell methods either way ("Sequential:fit", "model.fit"), and text
-- longer than the screen goes through a pager ($PAGER, else less -R) on a terminal.
local L = require "lunette"

local H = {}

-- Display width of a UTF-8 string (one column per code point; bytes when not UTF-8).
local function dwidth(s) return utf8.len(s) or #s end
H.width = dwidth

-- The first n columns of s (whole code points).
local function cut(s, n)
  if dwidth(s) <= n then return s end
  if not utf8.len(s) then return s:sub(1, n) end
  return s:sub(1, (utf8.offset(s, n + 1) or #s + 1) - 1)
end
H.cut = cut

-- Words of s laid into lines of at most width columns; continuation lines start with
-- indent (first lines with first). A word wider than a line is split.
local function fill(s, width, first, indent)
  local out, line = {}, first
  local fresh = true                              -- nothing but the indent on this line yet
  for w in s:gmatch("%S+") do
    local lw = dwidth(line)
    if not fresh and lw + 1 + dwidth(w) > width then
      out[#out + 1] = line
      line, fresh, lw = indent, true, dwidth(indent)
    end
    while lw + (fresh and 0 or 1) + dwidth(w) > width and width - lw - (fresh and 0 or 1) >= 8 do
      local room = width - lw - (fresh and 0 or 1)  -- a word longer than any line: split it
      line = line .. (fresh and "" or " ") .. cut(w, room)
      w = w:sub(#cut(w, room) + 1)
      out[#out + 1] = line
      line, fresh, lw = indent, true, dwidth(indent)
    end
    line = line .. (fresh and "" or " ") .. w
    fresh = false
  end
  if not fresh or #out == 0 then out[#out + 1] = line end
  return out
end
H.fill = fill

-- H.reflow(text, width) → text whose lines fit width. Prose lines are joined into
-- paragraphs and refilled; a blank line, an indented line, a line starting with a label
-- ("opts:", "Example:", "Load:") or a list item starts a new block; indented (code) lines
-- and long "Example:" lines are broken at spaces with a deeper indent.
function H.reflow(text, width)
  width = math.max(width or 80, 20)
  local out, para = {}, nil
  local function add(lines) for _, l in ipairs(lines) do out[#out + 1] = l end end
  local function flush()
    if para then add(fill(para, width, "", "")) end
    para = nil
  end
  local src = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do src[#src + 1] = (line:gsub("%s+$", "")) end
  for i, line in ipairs(src) do
    if line == "" then
      flush()
      out[#out + 1] = ""
    elseif i == 1 and (src[2] == nil or src[2] == "") then      -- the signature
      add(fill(line, width, "", "    "))
    elseif line:match("^%s") then                               -- code, a table row, an item
      flush()
      if dwidth(line) <= width then out[#out + 1] = line
      else
        local ind = line:match("^%s*")
        add(fill(line:sub(#ind + 1), width, ind, ind .. "    "))
      end
    elseif line:match("^Example:") then
      flush()
      if dwidth(line) <= width then out[#out + 1] = line
      else
        local rest = line:match("^Example:%s*(.*)$")
        out[#out + 1] = "Example:"
        if rest ~= "" then add(fill(rest, width, "  ", "      ")) end
      end
    elseif line:match("^[%w_%*%.%-/]+: ") or line:match("^[-*] ") or line:match("^%-%->") then
      flush()
      para = line
    else
      para = para and (para .. " " .. line) or line
    end
  end
  flush()
  while out[#out] == "" do out[#out] = nil end
  return table.concat(out, "\n")
end

-- ---- finding the help of a value ----

local function class_name(v)
  local mt = debug.getmetatable(v)
  local n = type(mt) == "table" and rawget(mt, "__name")
  return type(n) == "string" and n or nil
end

-- Topics "Prefix:method", as a sorted list of method names.
local function methods_of(prefix)
  local names = {}
  for _, t in ipairs(L._helptopics()) do
    local m = t:match("^" .. prefix:gsub("%p", "%%%0") .. ":([%w_]+)$")
    if m then names[#names + 1] = m end
  end
  table.sort(names)
  return names
end

-- What help shows for an object of a class: the class's text (or its constructor's),
-- then its methods.
local CLASSES = {   -- metatable __name → method prefix, topic of the class text
  ["lunette.Sequential"] = { "Sequential", "nn.Sequential" },
  ["lunette.Tensor"] = { "Tensor", "lunette.Tensor" },
  ["lunette.Layer"] = { "Layer" },
  ["lunette.Optimizer"] = { "Optimizer", "optim" },
  ["lunette.Loss"] = { "Loss", "nn.loss" },
  ["lunette.Plot"] = { "Plot", "lunette.Plot" },
}

local function class_help(v, cname)
  local c = CLASSES[cname]
  if not c then
    local text = L._gethelp(cname)
    return text, text and cname
  end
  local topic = c[2]
  if cname == "lunette.Layer" then
    local ok, kind = pcall(function() return v.kind end)
    topic = ok and type(kind) == "string" and "nn." .. kind or nil
  end
  local text = topic and L._gethelp(topic)
  local ms = methods_of(c[1])
  local parts = { text or (cname .. " object") }
  if #ms > 0 then
    parts[#parts + 1] = "\nMethods (help('" .. c[1] .. ":" .. ms[1] .. "') and so on): "
      .. table.concat(ms, ", ") .. "."
  end
  return table.concat(parts, "\n"), topic or cname
end

-- Resolves "a.b.c" / "a:b" in the globals by raw look-ups and __index tables (never
-- runs a metamethod).
local function index_table(v)
  local mt = debug.getmetatable(v)
  if type(mt) ~= "table" then return nil end
  local idx = rawget(mt, "__index")
  if type(idx) == "table" then return idx end
  if type(idx) == "function" and debug.getinfo(idx, "S").what == "C" then
    local _, up = debug.getupvalue(idx, 1)
    if type(up) == "table" then return up end
  end
  if type(rawget(mt, "methods")) == "table" then return rawget(mt, "methods") end
end
H.index_table = index_table     -- the REPL's completion reads methods the same way
function H.resolve(path)
  if not path:match("^[%a_][%w_]*$") and not path:match("^[%a_][%w_]*[.:][%w_.:]*[%w_]$") then
    return nil
  end
  local v = _G
  for name in path:gmatch("[^.:]+") do
    local found
    for _ = 1, 16 do
      if type(v) == "table" then found = rawget(v, name) end
      if found ~= nil then break end
      v = index_table(v)
      if v == nil then return nil end
    end
    if found == nil then return nil end
    v = found
  end
  return v
end

-- H.text(obj) → help text, topic; or nil, message (the message never shows the value).
function H.text(obj)
  local text, name = L._gethelp(obj)
  if text then return text, name end
  if type(obj) == "string" then
    local alt = obj:gsub("%.([%w_]+)$", ":%1")                 -- "Sequential.fit"
    text = alt ~= obj and L._gethelp(alt)
    if text then return text, alt end
    local v = H.resolve(obj)
    if v ~= nil and type(v) ~= "string" then
      text, name = H.text(v)
      if text then return text, name end
    end
    return nil, "no help for '" .. obj .. "'"
  end
  local cname = class_name(obj)
  if cname then
    text, name = class_help(obj, cname)
    if text then return text, name end
  end
  local what = type(obj)
  if cname then what = cname .. " " .. what end
  return nil, "no help for this " .. what .. " value"
end

-- ---- showing it ----

local pager_cmd
local function find_pager()
  if pager_cmd ~= nil then return pager_cmd end
  local p = os.getenv("PAGER")
  if p and p ~= "" then pager_cmd = p
  elseif os.getenv("TERM") == "dumb" then pager_cmd = false
  else
    local f = io.popen("command -v less 2>/dev/null")
    local found = f and f:read("l")
    if f then f:close() end
    pager_cmd = found and found ~= "" and "less -R" or false
  end
  return pager_cmd
end

-- H.page(text): prints text, through the pager when it is longer than the screen, the
-- REPL runs on a terminal (lunette._pager_ok, never in pipes or --check) and a pager
-- exists. Returns true when a pager showed it.
function H.page(text)
  local _, rows, tty = L.columns()
  local n = select(2, text:gsub("\n", "")) + 1
  if L._pager_ok and tty and n > rows - 2 then
    local cmd = find_pager()
    if cmd then
      io.stdout:flush()
      local f = io.popen(cmd, "w")
      if f then
        f:write(text, "\n")
        f:close()
        return true
      end
    end
  end
  print(text)
  return false
end

-- The width help is laid out in: the window's, but prose is no wider than 100 columns
-- (long lines are hard to read on a wide terminal).
local function help_width() return math.min((L.columns()), 100) end
H.help_width = help_width

-- help(obj): the help of obj, reflowed to the terminal's width.
function H.help(obj)
  if obj == nil then
    print(H.reflow("help(obj) shows the help of a Lunette function, layer, object or module; "
      .. "%help lists the topics.", help_width()))
    return
  end
  local text, msg = H.text(obj)
  if not text then
    print(H.reflow(msg .. " (%help lists the topics)", help_width()))
    return
  end
  H.page(H.reflow(text, help_width()))
end

return H
