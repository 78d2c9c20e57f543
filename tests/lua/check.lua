-- check.lua: the tiny Lua test harness. check(cond, name) counts; raises(fn, pattern,
-- name) asserts that fn raises an error whose message contains `pattern` (plain text);
-- close(a, b, tol, name) compares numbers or tensors; done() prints the tally and exits.
local M = { passed = 0, failed = 0 }

function M.check(cond, name)
  if cond then M.passed = M.passed + 1
  else
    M.failed = M.failed + 1
    local level, info = 2, debug.getinfo(2, "Sl")
    while info and info.short_src:find("check.lua", 1, true) do  -- report the test's line
      level = level + 1
      info = debug.getinfo(level, "Sl")
    end
    info = info or { short_src = "?", currentline = 0 }
    io.stderr:write("FAIL ", name or "?", "  (", info.short_src, ":", info.currentline, ")\n")
  end
end

function M.raises(fn, pattern, name)
  local ok, err = pcall(fn)
  err = tostring(err)
  if ok then
    M.check(false, (name or pattern) .. ": expected an error, got none")
  elseif not err:find(pattern, 1, true) then
    M.check(false, (name or pattern) .. ": error was: " .. err)
  else
    M.check(true)
  end
end

local function values(x)
  if type(x) == "number" then return { x } end
  if type(x) == "table" then
    local out = {}
    local function walk(t) for _, v in ipairs(t) do if type(v) == "table" then walk(v) else out[#out + 1] = v end end end
    walk(x)
    return out
  end
  local flat = x:reshape(-1)
  local out = {}
  for i = 1, flat:numel() do out[i] = flat[i] end
  return out
end

function M.close(a, b, tol, name)
  local va, vb = values(a), values(b)
  tol = tol or 1e-5
  if #va ~= #vb then return M.check(false, (name or "close") .. ": " .. #va .. " vs " .. #vb .. " values") end
  for i = 1, #va do
    if not (math.abs(va[i] - vb[i]) <= tol) then
      return M.check(false, string.format("%s: element %d: %g vs %g", name or "close", i, va[i], vb[i]))
    end
  end
  M.check(true)
end

function M.done()
  print(string.format("%d passed, %d failed", M.passed, M.failed))
  os.exit(M.failed == 0 and 0 or 1)
end

return M
