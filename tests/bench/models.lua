-- tests/bench/models.lua: the models the benchmarks time, built one way for all of them:
-- the lesson 4/5 model (SPEC section 8) and lesson 13's residual network (ResNet-14:
-- scripts/lessons/13-residual-networks.lua). Used by train_step.lua, hand_loop.lua,
-- lunette_worker.lua and accuracy_lunette.lua.
local L = require "lunette"
local nn = L.nn
local M = {}

-- Conv2D 32/64/128 3×3 stride 2 ReLU → Flatten → Dropout → Dense 1024 ReLU → Dropout →
-- Dense 10 softmax, on a per-sample shape {H, W, C}. rate: the dropout rate (default the
-- lesson's 0.2; 0 leaves the Dropout layers out).
function M.lesson(shape, rate)
  rate = rate or 0.2
  local layers = {
    nn.Input(shape),
    nn.Conv2D { filters = 32, kernel = 3, stride = 2, activation = "relu" },
    nn.Conv2D { filters = 64, kernel = 3, stride = 2, activation = "relu" },
    nn.Conv2D { filters = 128, kernel = 3, stride = 2, activation = "relu" },
    nn.Flatten(),
  }
  local function add(l) layers[#layers + 1] = l end
  if rate > 0 then add(nn.Dropout(rate)) end
  add(nn.Dense { 1024, activation = "relu" })
  if rate > 0 then add(nn.Dropout(rate)) end
  add(nn.Dense { 10, activation = "softmax" })
  return nn.Sequential(layers)
end

local function block(x, filters, stride)
  local h = nn.ReLU()(nn.BatchNorm()(nn.Conv2D { filters = filters, kernel = 3, stride = stride, padding = "same" }(x)))
  h = nn.BatchNorm()(nn.Conv2D { filters = filters, kernel = 3, padding = "same" }(h))
  local s = x
  if stride ~= 1 then s = nn.BatchNorm()(nn.Conv2D { filters = filters, kernel = 1, stride = stride }(x)) end
  return nn.ReLU()(nn.Add()({ h, s }))
end

-- A stem at stride 2, three stages of two residual blocks (16, 32, 64 filters on 16×16,
-- 8×8, 4×4), global average pooling.
function M.resnet14()
  local inp = nn.Input { 32, 32, 3 }
  local h = nn.ReLU()(nn.BatchNorm()(nn.Conv2D { filters = 16, kernel = 3, stride = 2, padding = "same" }(inp)))
  for stage, f in ipairs { 16, 32, 64 } do h = block(block(h, f, stage == 1 and 1 or 2), f, 1) end
  return nn.Model { inputs = inp, outputs = nn.Dense { 10, activation = "softmax" }(nn.GlobalAvgPool2D()(h)),
                    name = "resnet14" }
end

-- FLOPs of one training step and one forward pass for N samples of a built network
-- (model:_network(x)), from the layer shapes: a convolution or dense layer is a GEMM
-- M×K·K×N of 2MKN; backward = the dW GEMM + the dx GEMM (none for the first layer).
-- Only Conv2D and Dense count (BatchNorm, pooling and the rest are a few percent).
function M.flops(net, N)
  local fwd, step = 0, 0
  for i, l in ipairs(net:info().layers) do
    local s, f = l.output_shape, 0
    if l.kind == "Conv2D" then
      local oc = s[#s]
      local k = l.params / oc - 1                 -- KH·KW·C (weights + one bias per filter)
      f = 2 * N * s[1] * s[2] * oc * k
    elseif l.kind == "Dense" then
      local units = s[#s]
      f = 2 * N * units * (l.params / units - 1)
    end
    fwd = fwd + f
    step = step + f * (i == 1 and 2 or 3)
  end
  return fwd, step
end

-- The FMA peak of one core on the instruction set Lunette's kernels use (GFLOP/s, a
-- register-only loop), measured once per process.
local peak
function M.peak()
  if not peak then
    local isa = ({ ["AVX-512"] = "avx512", ["AVX2+FMA"] = "avx2" })[L.machine().isa] or "generic"
    peak = L._fma_peak(isa)
  end
  return peak
end

-- The median of a list of numbers (the benchmarks quote medians: the machines are noisy).
function M.median(t)
  local s = { table.unpack(t) }
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

return M
