-- tests/mpi/mpi.lua: what the MPI tests share. Each test_*.lua runs as one plain process
-- (the driver) that starts `mpirun -np N lunette child.lua` with a time limit, so a hang
-- fails the test instead of CI. skip() reports SKIPPED (ctest: skipped) when this build
-- has no MPI or mpirun is absent.
local M = {}
M.bin = assert(os.getenv("LUNETTE_BIN"), "LUNETTE_BIN is not set (run through ctest)")
M.tmp = os.getenv("LUNETTE_TEST_TMP") or "."
M.source = os.getenv("LUNETTE_SOURCE") or "."

function M.skip_unless_mpi()
  if not lunette.dist.available() then
    print("SKIPPED: this build has no MPI (apt-get install libopenmpi-dev, then rebuild)")
    os.exit(0)
  end
  if not os.execute("command -v mpirun >/dev/null 2>&1") then
    print("SKIPPED: mpirun is absent (apt-get install openmpi-bin)")
    os.exit(0)
  end
end

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
M.quote = sh_quote

-- Writes code to <tmp>/<name>.lua; returns its path. The child finds check.lua and the
-- benchmark models through package.path.
function M.write(name, code)
  local path = M.tmp .. "/" .. name .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write("package.path = ", string.format("%q", M.source .. "/tests/lua/?.lua;" .. M.source .. "/tests/bench/?.lua;"),
    " .. package.path\n", code)
  f:close()
  return path
end

-- Runs path on np processes (np = 1: without mpirun) within `limit` seconds (killed
-- after). Returns the output (stdout and stderr), whether it exited 0, and the seconds it took.
function M.run(path, np, limit, args)
  limit = limit or 60
  local cmd
  if np == 1 then
    cmd = string.format("timeout -k 5 %d %s %s", limit, sh_quote(M.bin), sh_quote(path))
  else
    cmd = string.format("timeout -k 5 %d mpirun -np %d --oversubscribe %s %s %s", limit, np,
      args or "", sh_quote(M.bin), sh_quote(path))
  end
  local t0 = lunette.clock()
  local p = io.popen("cd " .. sh_quote(M.tmp) .. " && " .. cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return out, ok == true, lunette.clock() - t0
end

-- Reads a file of little-endian floats written by write_floats.
function M.read_floats(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  local out, pos = {}, 1
  while pos <= #s do out[#out + 1], pos = string.unpack("<f", s, pos) end
  return out
end

return M
