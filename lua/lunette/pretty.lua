-- lunette/pretty.lua: how the REPL shows values (Out[n]: ...). Tables are shown nested
-- with keys sorted (array part first, then strings, then other keys), cycles marked
-- <cycle>, long tables truncated; tensors and models by their __tostring; functions by
-- their help line. Never shows an address, so notebook outputs stay reproducible.
local L = require "lunette"

local P = {}
P.max_items = 40       -- entries shown per table before "..."
P.max_depth = 4        -- nesting shown before {...}
P.width = 78           -- a table fitting this stays on one line

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do keywords[w] = true end

-- A string as Lua source: "..." with escapes for control bytes.
local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r", ['"'] = '\\"', ["\\"] = "\\\\" }
    return named[c] or string.format("\\%03d", c:byte())
  end) .. '"'
end
P.quote = quote

local function is_ident(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") and not keywords[k]
end

-- The first line of a documented function's help text, or nil.
local function help_line(f)
  local ok, text = pcall(L._gethelp, f)
  if ok and type(text) == "string" then return (text:match("^[^\n]*")) end
end

P.names = setmetatable({}, { __mode = "k" })   -- builtin function → its name (repl.lua fills it)

local function funcname(f)
  local line = help_line(f)
  if line then return "<function " .. line .. ">" end
  if P.names[f] then return "<function " .. P.names[f] .. ">" end
  local info = debug.getinfo(f, "S")
  if info.what == "C" then return "<function (C)>" end
  return string.format("<function %s:%d>", info.short_src, info.linedefined)
end

local function number(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" elseif v == -math.huge then return "-inf" end
  local s = string.format("%.14g", v)
  if not s:find("[.eEn]") then s = s .. ".0" end
  return s
end

-- tostring through a __tostring/__name metamethod, without ever raising.
local function meta_tostring(v)
  local mt = debug.getmetatable(v)
  if type(mt) == "table" and rawget(mt, "__tostring") then
    local ok, s = pcall(tostring, v)
    if ok and type(s) == "string" then return s end
    return "<" .. type(v) .. " (__tostring failed: " .. tostring(s) .. ")>"
  end
  if type(v) == "userdata" then
    local name = type(mt) == "table" and rawget(mt, "__name")
    return "<userdata" .. (type(name) == "string" and " " .. name or "") .. ">"
  end
end

local order = { number = 1, string = 2, boolean = 3 }
local function keyless(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (order[ta] or 9) < (order[tb] or 9) or
    ((order[ta] or 9) == (order[tb] or 9) and ta < tb) end
  if ta == "number" or ta == "string" then return a < b end
  if ta == "boolean" then return (not a) and b end
  return false
end

local format

local function format_table(t, depth, seen, indent)
  if seen[t] then return "<cycle>" end
  if depth > P.max_depth then return "{...}" end
  local s = meta_tostring(t)
  if s then return s end
  seen[t] = true
  local items, n = {}, 0
  local len = rawlen(t)
  local truncated = 0
  for i = 1, len do
    if n >= P.max_items then truncated = truncated + 1 else
      n = n + 1
      items[n] = format(rawget(t, i), depth + 1, seen, indent .. "  ")
    end
  end
  local keys = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= len) then keys[#keys + 1] = k end
  end
  table.sort(keys, keyless)
  for _, k in ipairs(keys) do
    if n >= P.max_items then truncated = truncated + 1 else
      local ks
      if is_ident(k) then ks = k
      elseif type(k) == "string" then ks = "[" .. quote(k) .. "]"
      elseif type(k) == "number" then ks = "[" .. number(k) .. "]"
      else ks = "[" .. format(k, depth + 1, seen, indent .. "  ") .. "]" end
      n = n + 1
      items[n] = ks .. " = " .. format(rawget(t, k), depth + 1, seen, indent .. "  ")
    end
  end
  seen[t] = nil
  if truncated > 0 then items[n + 1] = "... (" .. truncated .. " more)" end
  if #items == 0 then return "{}" end
  local one = "{" .. table.concat(items, ", ") .. "}"
  if #one + #indent <= P.width and not one:find("\n") then return one end
  if #keys == 0 and not one:find("\n") then     -- a long array of scalars: fill the lines
    local lines, line = {}, ""
    for i, it in ipairs(items) do
      local piece = it .. (i < #items and "," or "")
      if line ~= "" and #indent + 2 + #line + 1 + #piece > P.width then
        lines[#lines + 1] = line
        line = piece
      else
        line = line == "" and piece or line .. " " .. piece
      end
    end
    lines[#lines + 1] = line
    return "{\n" .. indent .. "  " .. table.concat(lines, "\n" .. indent .. "  ") .. "\n" .. indent .. "}"
  end
  return "{\n" .. indent .. "  " .. table.concat(items, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
end

function format(v, depth, seen, indent)
  local tv = type(v)
  if tv == "string" then return quote(v)
  elseif tv == "number" then return number(v)
  elseif tv == "table" then return format_table(v, depth, seen, indent)
  elseif tv == "function" then return funcname(v)
  elseif tv == "nil" or tv == "boolean" then return tostring(v)
  end
  return meta_tostring(v) or ("<" .. tv .. ">")
end

-- P.format(v): the text shown for v (may span lines). Never raises.
function P.format(v)
  local ok, s = pcall(format, v, 1, {}, "")
  if ok then return s end
  return "<" .. type(v) .. " (cannot show: " .. tostring(s) .. ")>"
end

-- P.pprint(...): prints each value pretty-printed, separated by ", " (or lines).
function P.pprint(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = P.format((select(i, ...))) end
  print(table.concat(parts, ", "))
end

L._sethelp(P.pprint, "pprint", "pprint(v, ...)\n\nPrints values the way the REPL shows them: "
  .. "tables nested with sorted keys,\ncycles marked <cycle>, long tables truncated, tensors "
  .. "and models by their summary.\nExample: pprint({1, 2, x = {y = 3}})")
L.pprint = P.pprint

return P
