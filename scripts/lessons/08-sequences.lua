-- %% [markdown]
-- # Lesson 8: convolution on sequences
--
-- Convolution is not only for images. A sequence (a sound, a sensor reading, a
-- sentence) has one axis instead of two, and the kernel slides along it:
--
--   y[i] = sum over k' of x[i + k'] * w[k']        (k' = 0 .. k-1)
--
-- A kernel of length k looks at k consecutive values at a time, so on text it
-- reacts to groups of k consecutive words (n-grams), wherever they occur.

-- %%
lunette = require "lunette"
tensor, nn, optim, plot = lunette.tensor, lunette.nn, lunette.optim, lunette.plot
QUICK = os.getenv("LUNETTE_QUICK") == "1"
function shape_of(t) return table.concat(t.shape, "x") end
function ints(t)                       -- a 1-d tensor as "a b c", whole numbers
  local out = {}
  for i, v in ipairs(t:totable()) do out[i] = string.format("%d", v) end
  return table.concat(out, " ")
end

-- %% [markdown]
-- ## The smallest example
--
-- x = {1, 2} and w = {1, -1}: the kernel fits once, and
-- y[0] = x[0]*w[0] + x[1]*w[1] = 1*1 + 2*(-1) = -1.
--
-- (A textbook convolution would flip the kernel first and give +1; like every
-- deep-learning library, Lunette computes the unflipped sum, cross-correlation.)

-- %%
print(tensor.conv1d({1, 2}, {1, -1}))
--> tensor(1)
--> [-1]

-- %% [markdown]
-- On a longer sequence the same kernel gives minus the difference between
-- neighbours: {1, 2, 4, 7, 11} has differences 1, 2, 3, 4. Five values and a
-- kernel of two give 5 - 2 + 1 = 4 outputs.

-- %%
print(tensor.conv1d({1, 2, 4, 7, 11}, {1, -1}))
--> tensor(4)
--> [-1, -2, -3, -4]

-- %% [markdown]
-- ## Several channels
--
-- Like images, sequences can have several channels per position: a sequence is
-- L x C (length x channels) and a layer's kernel is k x C x F for F filters. The
-- sum then runs over the channels too:
--
--   y[i, f] = sum over k', c of x[i + k', c] * w[k', c, f]
--
-- Below, a 4x2 sequence (two channels) and two filters of length 2: the first
-- adds up channel 1 over two steps, the second takes channel 2 minus channel 1.

-- %%
x = tensor{{1, 10}, {2, 20}, {3, 30}, {4, 40}}
w = tensor.zeros(2, 2, 2)
w:set(1, 1, 1, 1); w:set(2, 1, 1, 1)                      -- filter 1: x[i,1] + x[i+1,1]
w:set(1, 1, 2, -1); w:set(1, 2, 2, 1)                     -- filter 2: x[i,2] - x[i,1]
print(shape_of(x) .. " * " .. shape_of(w) .. " -> " .. shape_of(tensor.conv1d(x, w)))
print(tensor.conv1d(x, w))
--> 4x2 * 2x2x2 -> 3x2
--> tensor(3x2)
--> [[ 3,  9],
-->  [ 5, 18],
-->  [ 7, 27]]

-- %% [markdown]
-- ## A sequence classifier: Embedding + Conv1D
--
-- A made-up language with 20 words (ids 0..19). Each sentence is 20 words long.
-- A sentence is "positive" (label 1) when it contains word 5 immediately followed
-- by word 7, like "not" followed by "bad". Negative sentences (label 0) contain
-- the words 5 and 7 too, but never 5 directly followed by 7. So counting words is
-- useless: only their order tells the classes apart, which is exactly what a
-- convolution of length 2 can see.
--
-- The model:
--
-- - Embedding{20, 8} turns each word id into a learned vector of 8 numbers, so
--   a sentence of 20 ids becomes a 20x8 sequence;
-- - Conv1D{16, 2} slides 16 filters of length 2 along it: each filter can learn
--   to fire on one pair of consecutive words;
-- - GlobalMaxPool1D keeps each filter's strongest response anywhere in the
--   sentence ("did the pattern occur at all?");
-- - Dense{1, sigmoid} turns that into the probability of "positive".

-- %%
math.randomseed(8)
L, VOCAB = 20, 20
function make_sentence(positive)
  while true do
    local s = {}
    for i = 1, L do s[i] = math.random(0, VOCAB - 1) end
    -- plant both words; the positive class gets them as a 5-7 pair
    local p = math.random(1, L - 1)
    if positive then s[p], s[p + 1] = 5, 7
    else
      local q = math.random(1, L)
      while q == p or q == p + 1 do q = math.random(1, L) end
      s[q], s[p] = 5, 7
      if math.random() < 0.5 then s[p + 1] = 5 end                -- sometimes "7 5"
    end
    local has_pair = false
    for i = 1, L - 1 do if s[i] == 5 and s[i + 1] == 7 then has_pair = true end end
    if has_pair == positive then return s end
  end
end
function make_set(n)
  local xs, ys = {}, {}
  for i = 1, n do
    local positive = i % 2 == 0
    xs[i] = make_sentence(positive)
    ys[i] = positive and 1 or 0
  end
  return tensor(xs), tensor(ys):reshape(n, 1)
end
N_TRAIN = QUICK and 1000 or 4000
x_train, y_train = make_set(N_TRAIN)
x_test, y_test = make_set(1000)
print("sentence 1: " .. ints(x_train[1]) .. " -> label " .. ints(y_train[1]))
print("sentence 2: " .. ints(x_train[2]) .. " -> label " .. ints(y_train[2]))
print("test set " .. shape_of(x_test) .. ", labels " .. shape_of(y_test))
--> sentence 1: 13 4 1 1 9 13 1 5 9 15 18 2 7 5 5 4 14 12 3 3 -> label 0
--> sentence 2: 4 16 16 14 19 8 14 16 16 5 7 4 2 19 10 12 14 2 17 15 -> label 1
--> test set 1000x20, labels 1000x1

-- %% [markdown]
-- ## The model
--
-- Parameters: the embedding has 20 words x 8 numbers = 160; the convolution
-- (2*8 + 1) * 16 = 272; the dense layer 16 + 1 = 17. The shapes: 20 ids ->
-- 20x8 vectors -> 19x16 filter responses (20 - 2 + 1 = 19 positions) -> 16
-- maxima -> 1 probability.

-- %%
lunette.seed(8)
model = nn.Sequential{
  nn.Input{L},
  nn.Embedding{VOCAB, 8},
  nn.Conv1D{16, 2, activation = "relu"},
  nn.GlobalMaxPool1D(),
  nn.Dense{1, activation = "sigmoid"},
}
model:summary()
--> Model: "sequential"
--> _______________________________________________________________________________
-->  Layer (type)                            Output Shape                  Param #
--> ===============================================================================
-->  embedding (Embedding)                   (None, 20, 8)                     160
--> _______________________________________________________________________________
-->  conv1d (Conv1D)                         (None, 19, 16)                    272
--> _______________________________________________________________________________
-->  global_max_pooling1d (GlobalMaxPool1D)  (None, 16)                          0
--> _______________________________________________________________________________
-->  dense (Dense)                           (None, 1)                          17
--> ===============================================================================
-->  Total params: 449 (1.75 KB)
-->  Trainable params: 449 (1.75 KB)
-->  Non-trainable params: 0 (0.00 B)

-- %% [markdown]
-- Binary cross-entropy (lesson 11) with Adam. LUNETTE_QUICK=1 trains on 1,000
-- sentences instead of 4,000, for fewer epochs.

-- %%
model:compile{optimizer = optim.Adam{lr = 0.01}, loss = "binary_crossentropy",
              metrics = {"accuracy"}}
history = model:fit(x_train, y_train, {epochs = QUICK and 5 or 15, batch_size = 32,
                                       validation_data = {x_test, y_test}, verbose = 0})
val = history.history.val_accuracy
print(string.format("validation accuracy after %d epochs: %.3f", #val, val[#val]))
assert(val[#val] > (QUICK and 0.75 or 0.95), "the pair detector should be learnt")

-- %%
print(plot.history(history))

-- %% [markdown]
-- Two sentences that differ only in word order: "5 7" inside gives a high
-- probability, "7 5" a low one, although both contain the same words.

-- %%
a = {1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0, 1}
b = {1, 2, 3, 4, 7, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0, 1}
p = model:predict(tensor{a, b})
print(string.format("... 5 7 ...: %.2f   ... 7 5 ...: %.2f", p:get(1, 1), p:get(2, 1)))
assert(p:get(1, 1) > 0.5 and p:get(2, 1) < 0.5, "order matters to the convolution")
