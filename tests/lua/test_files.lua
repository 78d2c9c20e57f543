-- test_files.lua: lunette.safetensors (save/load/parse/serialize) and lunette.json from Lua:
-- round trips, nil+message for environment failures, raised errors (asserted text) for
-- corrupt files and bad arguments, json edge cases, help texts.
local T = require "check"
local L = require "lunette"
local st, json = L.safetensors, L.json
local tmp = os.getenv("LUNETTE_TEST_TMP") or "."

local function bytes_of(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function le64(n) return string.pack("<I8", n) end
local function file_with(header, data) return le64(#header) .. header .. (data or "") end

-- ---- safetensors round trip ----
local p = tmp .. "/files_model.safetensors"
local w = L.tensor{{1.5, -2, 3}, {4, 5, 6.25}}
local b = L.tensor{0.5, 0.125}
local meta = { lunette_format = "1", architecture = json.encode{ { type = "Dense", units = 2 } } }
T.check(st.save(p, { ["0.dense.weight"] = w, ["0.dense.bias"] = b }, meta) == true, "save returns true")
local t, m, names = st.load(p)
T.close(t["0.dense.weight"], w, 0, "weight round trip")
T.close(t["0.dense.bias"], b, 0, "bias round trip")
T.check(t["0.dense.weight"]:size(1) == 2 and t["0.dense.weight"]:size(2) == 3, "shape round trip")
T.check(m.lunette_format == "1" and m.architecture == meta.architecture, "metadata round trip")
T.check(#names == 2 and names[1] == "0.dense.bias" and names[2] == "0.dense.weight", "sorted names")

-- deterministic: the same contents give the same bytes
local first = bytes_of(p)
st.save(p, { ["0.dense.bias"] = b, ["0.dense.weight"] = w }, meta)
T.check(bytes_of(p) == first, "saving twice gives identical bytes")
T.check(st.serialize({ ["0.dense.weight"] = w, ["0.dense.bias"] = b }, meta) == first,
  "serialize gives the bytes save writes")
T.check(#first % 4 == 0 and string.unpack("<I8", first) % 8 == 0, "header padded to 8")

-- explicit order
st.save(p, { a = b, z = w }, nil, { "z", "a" })
local _, m2, n2 = st.load(p)
T.check(n2[1] == "z" and n2[2] == "a" and next(m2) == nil, "order list respected, no metadata")

-- parse from a string
local pt, pm = st.parse(st.serialize({ x = L.tensor{7, 8} }, { k = "v" }))
T.close(pt.x, { 7, 8 }, 0, "parse round trip")
T.check(pm.k == "v", "parse metadata")

-- ---- environment failures: nil, message ----
local ok, msg = st.save(tmp .. "/no-such-dir/m.safetensors", { w = w })
T.check(ok == nil and msg == "cannot write '" .. tmp .. "/no-such-dir/m.safetensors': No such file or directory",
  "save to a missing directory: " .. tostring(msg))
ok, msg = st.load(tmp .. "/missing.safetensors")
T.check(ok == nil and msg == "cannot read '" .. tmp .. "/missing.safetensors': No such file or directory",
  "load missing: " .. tostring(msg))
ok, msg = st.load(tmp)
T.check(ok == nil and msg == "cannot read '" .. tmp .. "': Is a directory", "load directory: " .. tostring(msg))
ok, msg = st.save(tmp, { w = w })
T.check(ok == nil and msg == "cannot write '" .. tmp .. "': Is a directory", "save over directory")

-- a failed save keeps the previous file
st.save(p, { w = w })
local before = bytes_of(p)
T.raises(function() st.save(p, { w = w, ["__metadata__"] = b }) end, "'__metadata__' is reserved")
T.check(bytes_of(p) == before, "failed save keeps the old file")

-- ---- corrupt files raise, naming the file and the problem ----
local bad = tmp .. "/files_bad.safetensors"
local cases = {
  { "abc", "only 3 bytes, too short for a safetensors file" },
  { le64(1000) .. "{}", "header length 1000 is past the end of the file (10 bytes)" },
  { le64(1 << 40) .. "{}", "header length 1099511627776 is absurd" },
  { file_with("{nope}"), "the header is not valid JSON" },
  { file_with('{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', "abcd"),
    "tensor 'w' has dtype F16; Lunette reads only F32" },
  { file_with('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', "abcd"),
    "tensor 'w': data_offsets [0, 8] run past the end of the data (4 bytes)" },
  { file_with('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', "abcdefgh"),
    "tensor 'w': shape 3 needs 12 bytes but data_offsets [0, 8] hold 8" },
  { file_with('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', "abcdefgh"),
    "4 bytes of trailing data after the last tensor" },
  { file_with('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', "abcdefgh"),
    "tensors 'a' and 'b' overlap" },
  { file_with('{"w":{"dtype":"F32","shape":[1]}}', "abcd"), "tensor 'w' has no \"data_offsets\"" },
}
for i, c in ipairs(cases) do
  write(bad, c[1])
  T.raises(function() st.load(bad) end, bad .. ": " .. c[2], "corrupt case " .. i)
end
local whole = st.serialize({ w = w })
write(bad, whole:sub(1, #whole - 3))
T.raises(function() st.load(bad) end, "run past the end of the data", "truncated file")
T.raises(function() st.parse(whole:sub(1, 20), "blob") end, "blob: header length", "parse names its source")

-- ---- bad arguments raise ----
T.raises(function() st.save(p, { w = 5 }) end, "safetensors.save: tensors['w'] is a number, expected a tensor")
T.raises(function() st.save(p, { w }) end, "safetensors.save: tensor names must be strings, got a number key")
T.raises(function() st.save(p, { w = w }, { k = {} }) end,
  "safetensors.save: metadata['k'] is a table, expected a string (encode tables with lunette.json.encode)")
T.raises(function() st.save(p, { w = w }, nil, { "w", "v" }) end,
  "safetensors.save: the order list has 2 names but there are 1 tensors")
T.raises(function() st.save(p, { w = w }, nil, { "v" }) end,
  "safetensors.save: order names 'v', which is not in the tensors table")
T.raises(function() st.save(p) end, "bad argument #2 to 'save' (table expected, got no value)")
T.raises(function() st.load() end, "bad argument #1 to 'load' (string expected, got no value)")

-- ---- json ----
T.check(json.encode{ name = "dense", units = 10, shape = { 28, 28, 1 } } ==
  '{"name":"dense","shape":[28,28,1],"units":10}', "encode sorts keys")
T.check(json.encode(9007199254740993) == "9007199254740993", "integers exact")
T.check(json.encode{ true, false, json.null } == "[true,false,null]", "booleans and null")
T.check(json.encode({}) == "{}" and json.encode(json.array()) == "[]", "empty object and array")
T.check(json.encode("a\"b\\c\n\1") == '"a\\"b\\\\c\\n\\u0001"', "string escapes")
T.check(json.encode(0.1) == "0.1" and json.decode(json.encode(0.1)) == 0.1, "0.1 round trips")
T.check(json.decode(json.encode(1 / 3)) == 1 / 3, "1/3 round trips exactly")
T.check(json.encode(nil) == "null", "nil is null")
local pretty = json.encode({ a = { 1, 2 } }, { pretty = true })
T.check(pretty:find("\n") and json.encode(json.decode(pretty)) == '{"a":[1,2]}', "pretty output")

local v = json.decode('{"layers": [{"units": 10, "act": null}, [], 2.5, -3, "é"], "ok": true}')
T.check(v.ok == true and v.layers[1].units == 10 and math.type(v.layers[1].units) == "integer",
  "decode objects and integers")
T.check(v.layers[1].act == json.null and #v.layers == 5, "null is json.null")
T.check(v.layers[3] == 2.5 and v.layers[4] == -3 and v.layers[5] == "é", "numbers and utf-8")
T.check(json.encode(v.layers[2]) == "[]", "decoded empty array encodes as []")
T.check(json.encode(json.decode('{"b":[{}],"a":[1,[2,[]]]}')) == '{"a":[1,[2,[]]],"b":[{}]}',
  "round trip")

local cyc = { a = {} }
cyc.a.back = cyc
T.raises(function() json.encode(cyc) end, "json.encode: cycle: the table at value.a.back contains itself")
T.raises(function() json.encode{ f = print } end, "json.encode: cannot encode a function at value.f")
T.raises(function() json.encode{ 1, { 0 / 0 } } end, "json.encode: cannot encode NaN at value[2][1]")
T.raises(function() json.encode{ x = math.huge } end, "json.encode: cannot encode inf at value.x")
T.raises(function() json.encode{ x = -math.huge } end, "json.encode: cannot encode -inf at value.x")
T.raises(function() json.encode{ 1, 2, k = 3 } end, "json.encode: the table at value mixes array positions and string keys")
T.raises(function() json.encode{ [1] = 1, [3] = 3 } end, "json.encode: the table at value is a sparse array (2 items, largest index 3)")
T.raises(function() json.encode{ [1.5] = 1 } end, "json.encode: cannot encode the number key 1.5 at value")
T.raises(function() json.encode{ [true] = 1 } end, "json.encode: cannot encode a key of type boolean at value")
T.raises(function() json.encode("a\0b") end, "json.encode: the string at value contains a zero byte")
T.raises(function() json.encode(w) end, "json.encode: cannot encode a lunette.Tensor at value")
local deep = {}
local cur = deep
for _ = 1, 600 do cur[1] = {}; cur = cur[1] end
T.raises(function() json.encode(deep) end, "json.encode: tables nested deeper than 500 levels")

T.raises(function() json.decode('{"a": tru}') end, "json.decode: invalid JSON at byte")
T.raises(function() json.decode('[1] 2') end, "json.decode: unexpected text after the JSON value at byte 5")
T.raises(function() json.decode('') end, "json.decode: invalid JSON at byte 1")
T.raises(function() json.decode(string.rep("[", 2000)) end, "json.decode: invalid JSON")
T.raises(function() json.decode() end, "bad argument #1 to 'decode' (string expected, got no value)")

-- ---- help texts ----
for _, name in ipairs{ "save", "load", "parse", "serialize" } do
  T.check(L._gethelp(st[name]) ~= nil, "help for safetensors." .. name)
end
for _, name in ipairs{ "encode", "decode", "array" } do
  T.check(L._gethelp(json[name]) ~= nil, "help for json." .. name)
end
T.check(L._gethelp("json.null") ~= nil, "help for json.null")

os.remove(p)
os.remove(bad)
-- doubles encode exactly and idempotently (fuzz_json found cJSON's 15-digit printing lossy)
do
  local json = lunette.json
  for _, v in ipairs { 4444444444444440.5, 0.1, 1 / 3, -0.0, 1e16, 5e-324 } do
    local text = json.encode { v }
    T.check(json.decode(text)[1] == v, "json round trip of " .. text)
    T.check(json.encode(json.decode(text)) == text, "json encoding is idempotent for " .. text)
  end
  T.check(json.encode { 4444444444444440.5 } == "[4444444444444440.5]", "17 digits when 15 lose the value")
end
T.done()
