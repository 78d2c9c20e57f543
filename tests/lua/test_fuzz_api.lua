-- test_fuzz_api.lua: replays a few seeds of the Lua API fuzzer (fuzz/lua_api.lua) in the
-- suite, so that the sanitizer build of CI runs them on every change; fuzz/run runs new
-- seeds for longer. Passing means the process survived every call.
local T = require "check"
local src = os.getenv("LUNETTE_SOURCE") or "."
for _, seed in ipairs { 1, 2, 3 } do
  arg = { tostring(seed), "2000" }     -- about a second in all under ASan: reaches fit, schedules, Grad-CAM...
  local ok, err = pcall(dofile, src .. "/fuzz/lua_api.lua")
  T.check(ok, "fuzz seed " .. seed .. ": " .. tostring(err))
end
T.done()
