-- test_dropout_training.lua: dropout inside the network's training path (fit), over many
-- steps, at 1 and 2 threads (issue 19: the backward of a model built in Lua passed the
-- gradient through dropped units, unscaled, because it read the layer's mode flag after the
-- net had restored it; standalone layers and one-step checks did not show it, only a model
-- trained for thousands of steps learned worse).
-- The model Dense{H, linear} → Dropout(r) → Dense{1} sees batches of 2 rows, x = (1, 0) and
-- (0, 1), so the first layer's kernel row n receives only row n's gradient:
--   Δw1[n][j] = -lr·g_n·w2_j·m_nj    (m_nj: row n's mask for unit j, 0 or s = 1/(1-r))
--   Δb2       = -lr·(g_1 + g_2)
-- so each step's masks can be read back from the SGD update: R_nj = Δw1[n][j]/w2_j is 0 where
-- unit j was dropped for row n and one value c_n = -lr·g_n·s elsewhere, and (c_1+c_2)/Δb2 = s.
-- At 2 threads the two rows go to different threads (their own random streams), so the joint
-- statistics check the streams too: each mask is dropped with probability r, independently
-- of the other row's (thread's), of the next step's and of the next unit's.
local T = require "check"

local H, RATE, STEPS, LR = 32, 0.5, 800, 0.01
local SCALE = 1 / (1 - RATE)

local function run(threads)
  lunette.threads(threads)
  lunette.seed(19)
  local m = nn.Sequential { nn.Input { 2 }, nn.Dense { H, activation = "linear" }, nn.Dropout(RATE),
                            nn.Dense { 1 } }
  m:compile { optimizer = optim.SGD { lr = LR }, loss = "mse" }
  local n = 2 * STEPS
  local x, y = tensor.zeros(n, 2), tensor.randn(n, 1)
  for i = 1, n do x:set(i, 2 - i % 2, 1) end          -- rows (1, 0), (0, 1), (1, 0), ...
  m:predict(x:slice(1, 1, 2))                         -- builds the weights
  local d1, d2 = m.layers[1], m.layers[3]
  local w1, w2, b2 = d1.weight:clone(), d2.weight:clone(), d2.bias:get(1)
  local masks = {}                                    -- masks[t][n][j]: 1 dropped, 0 kept
  local stats = { steps = 0, bad_values = 0, bad_scale = 0, worst_scale = 0 }
  m:fit(x, y, { epochs = 1, batch_size = 2, shuffle = false, verbose = 0, callbacks = { {
    on_batch_end = function()
      local nw1, nw2, nb2 = d1.weight:clone(), d2.weight:clone(), d2.bias:get(1)
      local step, c = {}, {}
      for row = 1, 2 do
        local mk, ratios, tols = {}, {}, {}   -- ratios[k] with its tolerance tols[k]
        for j = 1, H do
          local a, b, w = w1:get(row, j), nw1:get(row, j), w2:get(j, 1)
          local r = (b - a) / w
          mk[j] = r == 0 and 1 or 0
          if r ~= 0 then   -- tolerance: float32 rounding of w1 (2 ulp), divided by w2_j
            ratios[#ratios + 1] = r
            tols[#ratios] = 2.5e-7 * (math.abs(a) + math.abs(b)) / math.abs(w)
          end
        end
        local sorted = { table.unpack(ratios) }
        table.sort(sorted)
        local mid = sorted[(#sorted + 1) // 2] or 0
        local tolmax = 0                   -- the median's own rounding: at most the largest
        for _, t in ipairs(tols) do tolmax = math.max(tolmax, t) end
        for k, r in ipairs(ratios) do      -- every kept unit got the same multiplier
          if math.abs(r - mid) > 1e-4 * math.abs(mid) + 2 * tols[k] + tolmax then
            stats.bad_values = stats.bad_values + 1
            break
          end
        end
        c[row] = mid
        step[row] = mk
      end
      local db2 = nb2 - b2
      if math.abs(db2) > 1e-5 then          -- the multiplier itself: s = (c_1 + c_2)/Δb2
        local s = (c[1] + c[2]) / db2
        stats.worst_scale = math.max(stats.worst_scale, math.abs(s - SCALE))
        if math.abs(s - SCALE) > 1e-2 then stats.bad_scale = stats.bad_scale + 1 end
      end
      stats.steps = stats.steps + 1
      masks[#masks + 1] = step
      w1, w2, b2 = nw1, nw2, nb2
    end } } })
  return masks, stats
end

-- fraction of cases where both a and b are dropped, over the pairs f(t, n, j) yields
local function both(masks, pairs)
  local hit, total = 0, 0
  pairs(function(a, b) total = total + 1; if a == 1 and b == 1 then hit = hit + 1 end end)
  return hit / total
end

local old = lunette.threads()
for _, threads in ipairs { 1, 2 } do
  local masks, st = run(threads)
  local tag = string.format("%d thread(s): ", threads)
  T.check(st.steps == STEPS, tag .. "fit ran every step (" .. st.steps .. ")")
  T.check(st.bad_values == 0, tag .. "kept units pass the gradient with one multiplier, dropped "
          .. "units none (" .. st.bad_values .. " rows differ)")
  T.check(st.bad_scale == 0, string.format("%sthe backward multiplies by 1/(1-rate) = %g (worst "
          .. "error %g, %d steps off)", tag, SCALE, st.worst_scale, st.bad_scale))
  local drop, total = 0, 0
  for t = 1, #masks do
    for row = 1, 2 do for j = 1, H do drop = drop + masks[t][row][j]; total = total + 1 end end
  end
  local p = drop / total
  T.check(math.abs(p - RATE) < 0.015, string.format("%sdropped fraction %.4f, rate %g", tag, p, RATE))
  local r2 = RATE * RATE
  local rows = both(masks, function(f)                -- the two rows (threads) of a step
    for t = 1, #masks do for j = 1, H do f(masks[t][1][j], masks[t][2][j]) end end
  end)
  local steps = both(masks, function(f)               -- a row's masks in consecutive steps
    for t = 1, #masks - 1 do for row = 1, 2 do for j = 1, H do
      f(masks[t][row][j], masks[t + 1][row][j])
    end end end
  end)
  local units = both(masks, function(f)               -- neighbouring units of a row
    for t = 1, #masks do for row = 1, 2 do for j = 1, H - 1 do
      f(masks[t][row][j], masks[t][row][j + 1])
    end end end
  end)
  T.check(math.abs(rows - r2) < 0.015, string.format("%sboth rows dropped %.4f, expected %.4f "
          .. "(independent masks across rows and threads)", tag, rows, r2))
  T.check(math.abs(steps - r2) < 0.015, string.format("%sdropped in consecutive steps %.4f, "
          .. "expected %.4f", tag, steps, r2))
  T.check(math.abs(units - r2) < 0.015, string.format("%sneighbouring units both dropped %.4f, "
          .. "expected %.4f", tag, units, r2))
end
lunette.threads(old)
T.done()
