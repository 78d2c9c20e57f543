-- test_tensor_print.lua: tostring of tensors visits only what it shows (a 150-million-
-- element tensor, the size of CIFAR-10's training set, prints in well under a second)
-- and wraps rows at numpy's 75 columns in an 80-column window (no lone "]" line).
local T = require "check"
local L = require "lunette"

local big = tensor.zeros(50000, 32, 32, 3)              -- 153,600,000 elements
big[50000]:fill(0.5)                                     -- the last rows are shown: FIXED format
local t0 = L.clock()
local s = tostring(big)
local dt = L.clock() - t0
-- the speed is measured in tests/bench/tostring.lua (a timed check fails on a loaded
-- machine); what makes it fast is checked below: elements not shown are not read
print(string.format("tostring of 153.6M elements: %.3f s", dt))
T.check(s:find("^tensor%(50000x32x32x3%)\n") and s:find("0.5000", 1, true), "the shape, then values")
local lines = 0
for _ in s:gmatch("\n") do lines = lines + 1 end
T.check(lines < 400, "elided: " .. lines .. " lines")
-- the format comes from the elements shown: an unshown 1e9 does not switch to e-notation
local mid = tensor.zeros(3000)
mid:set(1500, 1e9)
T.check(not tostring(mid):find("e+", 1, true) and tostring(mid):find("[0, 0, 0, ..., 0, 0, 0]", 1, true),
  "an elided element does not change the format")
big = nil
collectgarbage()

-- a 10-class probability row: 10 values of 6 columns, 81 characters unwrapped
local p = tensor.full({ 1, 10 }, 0.1)
local txt = tostring(p)
local widest = 0
for l in (txt .. "\n"):gmatch("([^\n]*)\n") do widest = math.max(widest, #l) end
T.check(widest <= 75, "rows wrap at 75 columns (" .. widest .. ")")
T.check(txt == "tensor(1x10)\n[[0.1000, 0.1000, 0.1000, 0.1000, 0.1000, 0.1000, 0.1000, 0.1000, 0.1000,\n  0.1000]]",
  "numpy's wrap:\n" .. txt)
T.check(not txt:find("\n%]"), "no lone ]")
T.check(tostring(tensor { 1, 2, 3 }) == "tensor(3)\n[1, 2, 3]", "short rows unchanged")

T.done()
