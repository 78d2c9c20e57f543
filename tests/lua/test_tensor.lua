-- test_tensor.lua: the tensor binding: constructors, views, arithmetic, reductions,
-- functional ops against hand-worked values, and the exact text of bad-input errors.
local T = require "check"

-- constructors and shape
local t = tensor{{1, 2, 3}, {4, 5, 6}}
T.check(t:dim() == 2 and t:numel() == 6 and t.shape[1] == 2 and t.shape[2] == 3, "nested table shape")
T.check(#t == 2, "__len is the first dimension")
T.close(tensor.zeros(2, 3), {0, 0, 0, 0, 0, 0}, 0, "zeros(2, 3)")
T.close(tensor.zeros{2, 3}, {0, 0, 0, 0, 0, 0}, 0, "zeros{2, 3}")
T.close(tensor.ones(3), {1, 1, 1}, 0, "ones")
T.close(tensor.full({2}, 7), {7, 7}, 0, "full")
T.close(tensor.arange(4), {0, 1, 2, 3}, 0, "arange(n)")
T.close(tensor.arange(1, 2, 0.25), {1, 1.25, 1.5, 1.75}, 0, "arange(a, b, step)")
T.close(tensor.eye(2), {1, 0, 0, 1}, 0, "eye")
T.check(tensor.is(t) and not tensor.is({}), "tensor.is")

-- random streams are reproducible
lunette.seed(5); local r1 = tensor.randn(10)
lunette.seed(5); local r2 = tensor.randn(10)
T.close(r1, r2, 0, "same seed, same randn")
local u = tensor.rand(1000)
T.check(u:min() >= 0 and u:max() < 1, "rand in [0, 1)")

-- views share storage
local m = tensor.arange(6):reshape(2, 3)
local row = m[2]
row:set(1, 100)
T.check(m:get(2, 1) == 100, "t[i] is a view")
T.check(m[1][3] == 2, "1-d indexing gives numbers")
m[1] = 9
T.close(m[1], {9, 9, 9}, 0, "t[i] = number fills the row")
m[1] = tensor{1, 2, 3}
T.close(m, {1, 2, 3, 100, 4, 5}, 0, "t[i] = tensor copies")
local flat = m:reshape(-1)
flat:set(1, -1)
T.check(m:get(1, 1) == -1, "reshape is a view")
T.close(m:transpose(), {-1, 100, 2, 4, 3, 5}, 0, "transpose")
T.close(m:permute(2, 1), m:transpose(), 0, "permute(2, 1) == transpose")
T.close(m:slice(2, 2, 3), {2, 3, 4, 5}, 0, "slice columns 2..3")
T.close(m:slice(1, 2), {100, 4, 5}, 0, "slice rows 2..end")
local c = m:clone(); c:fill(0)
T.check(m:get(2, 2) == 4, "clone is a copy")
T.close(tensor.zeros(3):copy({1, 2, 3}), {1, 2, 3}, 0, "copy from table")
T.check(m:totable()[2][1] == 100, "totable")
T.close(tensor{1, 2, 3}:apply(function(x) return x * x end), {1, 4, 9}, 0, "apply")

-- arithmetic with broadcasting (numpy rules)
local a = tensor{{1}, {2}, {3}}        -- 3x1
local b = tensor{10, 20}               -- 2
local s = a + b
T.check(s.shape[1] == 3 and s.shape[2] == 2, "3x1 + 2 broadcasts to 3x2")
T.close(s, {11, 21, 12, 22, 13, 23}, 0, "broadcast values")
T.close(b - 1, {9, 19}, 0, "tensor - scalar")
T.close(1 - b, {-9, -19}, 0, "scalar - tensor")
T.close(b * b, {100, 400}, 0, "element-wise *")
T.close(b / 4, {2.5, 5}, 0, "divide")
T.close(-b, {-10, -20}, 0, "unary minus")
T.close(tensor{1, 5, 3}:gt(2), {0, 1, 1}, 0, "gt mask")
T.close(tensor{1, 5, 3}:eq(tensor{1, 0, 3}), {1, 0, 1}, 0, "eq mask")

-- matmul and reductions
local mm = tensor{{1, 2}, {3, 4}}:matmul(tensor{{1}, {1}})
T.check(mm.shape[1] == 2 and mm.shape[2] == 1, "matmul shape 2x1")
T.close(mm, {3, 7}, 0, "matmul values")
local x = tensor{{1, 5, 3}, {4, 2, 6}}
T.check(x:sum() == 21 and x:mean() == 3.5 and x:max() == 6 and x:min() == 1, "full reductions")
T.close(x:sum(1), {5, 7, 9}, 0, "sum(1)")
T.close(x:max(2), {5, 6}, 0, "max(2)")
T.close(x:argmax(2), {1, 2}, 0, "argmax(2) is 0-based")
T.check(x:argmax() == 5, "argmax of all is 0-based flat index")
T.close(tensor{2, 4, 4, 4, 5, 5, 7, 9}:std(), 2, 1e-6, "population std")

-- functional lesson ops
T.close(tensor.conv1d({1, 2}, {1, -1}), {-1}, 0, "conv1d lesson example")
local pooled = tensor.maxpool2d({{1, 3, 2, 1}, {4, 6, 5, 0}, {7, 2, 9, 8}, {1, 0, 3, 4}})
T.close(pooled, {6, 5, 7, 9}, 0, "maxpool 4x4 by hand")
T.close(tensor.avgpool2d({{1, 3, 2, 1}, {4, 6, 5, 0}, {7, 2, 9, 8}, {1, 0, 3, 4}}), {3.5, 2, 2.5, 6}, 1e-6, "avgpool")
T.close(tensor.conv2d({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, {{1, 2}, {3, 4}}), {37, 47, 67, 77}, 0, "conv2d by hand")
local same = tensor.conv2d(tensor.ones(5, 5, 1), tensor.ones(3, 3, 1, 1), {stride = 2, padding = "same"})
T.check(same.shape[1] == 3 and same.shape[2] == 3 and same.shape[3] == 1, "same padding shape")
T.close(same[1][1], {4}, 0, "corner of same-padded conv sees 2x2 real cells")

-- printing
T.check(tostring(tensor.zeros(2, 3)) == "tensor(2x3)\n[[0, 0, 0],\n [0, 0, 0]]", "tostring 2x3")
local big = tostring(tensor.arange(2000))
T.check(big:find("[   0,    1,    2, ..., 1997, 1998, 1999]", 1, true) ~= nil, "elided in the middle")

-- bad input: each error names the function and the sizes
T.raises(function() return tensor{{1, 2}, {3}} end, "tensor: ragged nested table: [2] has 1 items, expected 2")
T.raises(function() return tensor{{1, "x"}} end, "tensor: element [1][2] is a string, expected a number")
T.raises(function() return tensor{} end, "tensor: empty table at nesting level 1")
T.raises(function() return tensor.zeros(2, 0) end, "dimension 2 is 0 (must be positive)")
T.raises(function() return tensor.zeros(-1) end, "dimension 1 is -1 (must be positive)")
T.raises(function() return tensor.zeros(100000, 100000, 100) end, "exceeds the tensor size limit of 1073741824 elements")
T.raises(function() return tensor.zeros("a") end, "bad argument #1 to 'zeros'")
T.raises(function() return tensor.ones(2, 3) + tensor.ones(4) end, "add: shapes 2x3 and 4 cannot be broadcast (dimension 2: 3 vs 4)")
T.raises(function() return tensor.ones(2, 3):matmul(tensor.ones(2, 3)) end, "matmul: inner dimensions differ: 2x3 times 2x3 (3 vs 2)")
T.raises(function() return tensor.ones(2, 3):reshape(4, 2) end, "reshape: cannot reshape 2x3 (6 elements) into 4x2")
T.raises(function() return tensor.ones(2, 3)[3] end, "index 3 out of range 1..2")
T.raises(function() return tensor.ones(2, 3):get(1, 4) end, "get: index 2 is 4, out of range 1..3 for dimension 2")
T.raises(function() return tensor.ones(2, 3):get(1) end, "get: 1 indexes given for a 2-dimensional tensor")
T.raises(function() return tensor.ones(2, 3):sum(3) end, "dimension 3 out of range (tensor has 2)")
T.raises(function() return tensor.ones(2, 3):slice(2, 2, 5) end, "slice: range 2..5 out of bounds for dimension 2 of size 3")
T.raises(function() return tensor.ones(3) + "x" end, "bad argument #2")
T.raises(function() return tensor.conv2d(tensor.ones(2, 2), tensor.ones(3, 3)) end, "conv2d: input size 2 is smaller than the kernel 3")
T.raises(function() return tensor.conv2d(tensor.ones(4, 4), tensor.ones(2, 2), {padding = "full"}) end, "padding must be 'valid' or 'same', got 'full'")
T.raises(function() return tensor.ones(2):copy(tensor.ones(3)) end, "copy: source 3 has 3 elements, destination 2 has 2")
T.raises(function() return tensor.ones(2):apply(function() return "no" end) end, "apply: the function returned a string, expected a number")

-- overflowing sizes and indexes are errors, never wild views (found by review)
T.raises(function() return tensor.rand(2, 3, 4, 2):reshape{5, 7378697629483820656} end, "reshape: cannot reshape 2x3x4x2 (48 elements)")
T.raises(function() return tensor.rand(2):reshape{2^62, 2^62} end, "reshape: cannot reshape 2 (2 elements)")
T.raises(function() return tensor.rand(4, 16):slice(1, math.mininteger, math.mininteger) end, "slice: range -9223372036854775808..-9223372036854775808 out of bounds for dimension 1 of size 4")
T.raises(function() return tensor.rand(4):slice(1, 3, 2) end, "slice: range 3..2 out of bounds")
T.close(tensor{1, 2, 3, 4}:slice(1, 2, -2), {2, 3}, 0, "slice with a negative last")
T.raises(function() lunette.max_elements(2^62) end, "max_elements: 4611686018427387904 is outside 1..1099511627776")
T.raises(function() return tensor.arange(1 / 0) end, "tensor.arange: the range from 0.0 to inf is infinite")
T.raises(function() return tensor.maxpool2d(tensor.ones(5, 5), {size = 2, stride = math.maxinteger - 3, padding = "same"}) end, "maxpool2d: kernel 2 or stride 9223372036854775804 over the limit of 1073741824")
T.close(tensor.maxpool2d(tensor.arange(25):reshape(5, 5), {size = 2, stride = 100, padding = "same"}), {6}, 0, "a stride beyond the input gives one window")

-- the size ceiling is configurable
local old = lunette.max_elements()
lunette.max_elements(10)
T.raises(function() return tensor.zeros(4, 4) end, "shape 4x4 exceeds the tensor size limit of 10 elements")
lunette.max_elements(old)

-- help texts exist for the functions
T.check(lunette._gethelp(tensor.conv2d):find("tensor.conv2d(input, kernel", 1, true) == 1, "help text of tensor.conv2d")
T.done()
