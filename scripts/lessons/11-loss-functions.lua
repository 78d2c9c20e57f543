-- %% [markdown]
-- # Lesson 11: loss functions
--
-- Training needs one number that says how wrong the network is: the loss. The
-- optimizer then moves every weight a little in the direction that lowers it.
-- Three losses cover almost every network in this course:
--
-- - mean squared error (MSE) for predicting numbers (regression);
-- - binary cross-entropy for yes/no answers (one sigmoid output);
-- - categorical cross-entropy for one class out of K (a softmax output).
--
-- Each is worked out by hand below, then computed by Lunette's own losses, which
-- are the ones model:compile{loss = ...} uses.

-- %%
lunette = require "lunette"
tensor, nn = lunette.tensor, lunette.nn
function fmt(x) return string.format("%.4f", x) end
function list(t)
  local out = {}
  for i, v in ipairs(t) do out[i] = fmt(v) end
  return "{" .. table.concat(out, ", ") .. "}"
end

-- %% [markdown]
-- ## Mean squared error
--
--   MSE = (1/n) * sum over i of (y[i] - p[i])^2
--
-- where y are the true values and p the predictions. Squaring makes every error
-- positive and punishes big errors much more than small ones. Worked example:
-- y = {1, 2, 3}, p = {1.5, 2, 2}. The errors are -0.5, 0 and 1, their squares
-- 0.25, 0 and 1, and the mean (0.25 + 0 + 1) / 3 = 0.4167.
--
-- Its gradient, the direction in which each prediction should move, is
-- dMSE/dp[i] = 2 * (p[i] - y[i]) / n.

-- %%
y, p = {1, 2, 3}, {1.5, 2, 2}
mse, grad = 0, {}
for i = 1, #y do
  mse = mse + (y[i] - p[i]) ^ 2 / #y
  grad[i] = 2 * (p[i] - y[i]) / #y
end
print("MSE = " .. fmt(mse) .. "   gradient " .. list(grad))
--> MSE = 0.4167   gradient {0.3333, 0.0000, -0.6667}

-- %% [markdown]
-- ## Binary cross-entropy
--
-- For a yes/no question the network outputs p = the probability of "yes"
-- (a sigmoid squashes any number into 0..1). With y = 1 for yes and 0 for no:
--
--   BCE = -(1/n) * sum over i of ( y[i]*log(p[i]) + (1 - y[i])*log(1 - p[i]) )
--
-- Only one of the two terms is active for each example: -log(p) when the answer
-- is yes, -log(1 - p) when it is no. It is the negative log of the probability
-- the network gave to the right answer. Worked example: y = {1, 0, 1, 0},
-- p = {0.9, 0.2, 0.4, 0.3}. The probabilities of the right answers are 0.9, 0.8,
-- 0.4 and 0.7; their negative logs 0.1054, 0.2231, 0.9163, 0.3567; the mean 0.4004.

-- %%
y, p = {1, 0, 1, 0}, {0.9, 0.2, 0.4, 0.3}
terms, bce = {}, 0
for i = 1, #y do
  terms[i] = -(y[i] * math.log(p[i]) + (1 - y[i]) * math.log(1 - p[i]))
  bce = bce + terms[i] / #y
end
print("terms " .. list(terms) .. "   BCE = " .. fmt(bce))
--> terms {0.1054, 0.2231, 0.9163, 0.3567}   BCE = 0.4004

-- %% [markdown]
-- A confident wrong answer costs a lot: p = 0.01 for a true "yes" costs
-- -log(0.01) = 4.6, and p = 0 would cost infinity. Keras (and Lunette) therefore
-- clip p into [1e-7, 1 - 1e-7], so the worst possible term is -log(1e-7) = 16.1181.

-- %%
print("p = 0.01: " .. fmt(-math.log(0.01)) .. "   p = 1e-7: " .. fmt(-math.log(1e-7)))
--> p = 0.01: 4.6052   p = 1e-7: 16.1181

-- %% [markdown]
-- ## Categorical cross-entropy
--
-- With K classes the network outputs K probabilities that add up to 1 (softmax)
-- and the true class is written one-hot: a 1 at its position, 0 elsewhere.
--
--   CCE = -(1/n) * sum over i of sum over k of y[i,k] * log(p[i,k])
--
-- Again only one term per example survives, -log(probability of the true class).
-- Worked example with K = 3 and two examples:
--   y = {0, 1, 0}, p = {0.1, 0.7, 0.2}  ->  -log(0.7) = 0.3567
--   y = {0, 0, 1}, p = {0.3, 0.6, 0.1}  ->  -log(0.1) = 2.3026
-- mean 1.3296. "Sparse" categorical cross-entropy is the same loss with the true
-- class given as its id (0-based: 1 and 2 here) instead of a one-hot row; that is
-- the form Keras datasets and Lunette's data.load provide.

-- %%
Y = {{0, 1, 0}, {0, 0, 1}}
P = {{0.1, 0.7, 0.2}, {0.3, 0.6, 0.1}}
cce = 0
for i = 1, #Y do
  for k = 1, 3 do
    if Y[i][k] > 0 then cce = cce - Y[i][k] * math.log(P[i][k]) / #Y end
  end
end
labels = {1, 2}                         -- class ids, 0-based
scce = 0
for i = 1, #labels do scce = scce - math.log(P[i][labels[i] + 1]) / #labels end
print("CCE = " .. fmt(cce) .. "   sparse CCE = " .. fmt(scce))
--> CCE = 1.3296   sparse CCE = 1.3296

-- %% [markdown]
-- ## Softmax and its gradient
--
-- Softmax turns K raw scores (logits) z into probabilities:
--
--   p[k] = exp(z[k]) / sum over j of exp(z[j])
--
-- For z = {2, 1, 0.1}: exp gives 7.389, 2.718, 1.105, their sum 11.212, so
-- p = {0.6590, 0.2424, 0.0986}. Softmax followed by cross-entropy has a very
-- simple gradient with respect to the logits: p - y. If the true class is 0, the
-- loss is -log(0.6590) = 0.4170 and the gradient {-0.3410, 0.2424, 0.0986}
-- raises the right score and lowers the others.

-- %%
z = {2, 1, 0.1}
sum = 0
for k = 1, 3 do sum = sum + math.exp(z[k]) end
soft, g = {}, {}
for k = 1, 3 do
  soft[k] = math.exp(z[k]) / sum
  g[k] = soft[k] - (k == 1 and 1 or 0)
end
print("softmax " .. list(soft) .. "   loss " .. fmt(-math.log(soft[1])) .. "   gradient " .. list(g))
--> softmax {0.6590, 0.2424, 0.0986}   loss 0.4170   gradient {-0.3410, 0.2424, 0.0986}

-- %% [markdown]
-- ## Why not MSE for classification?
--
-- Take one sigmoid output p = sigmoid(z) with true answer y = 1, and a network
-- that is badly wrong: z = -5, so p = 0.0067. The gradients with respect to z:
--
--   MSE: d/dz (p - 1)^2 = 2*(p - 1)*p*(1 - p) = -0.0132
--   BCE: d/dz -log(p) = p - 1 = -0.9933
--
-- The sigmoid's flat tail multiplies the MSE gradient by p*(1 - p), almost 0,
-- so the network barely learns exactly when it is most wrong. Cross-entropy's
-- log cancels that factor: the gradient stays large until the answer is right.

-- %%
zz = -5
pp = 1 / (1 + math.exp(-zz))
print("p = " .. fmt(pp) .. "   MSE gradient " .. fmt(2 * (pp - 1) * pp * (1 - pp))
      .. "   BCE gradient " .. fmt(pp - 1))
--> p = 0.0067   MSE gradient -0.0132   BCE gradient -0.9933

-- %% [markdown]
-- ## The same numbers from Lunette's losses
--
-- The loss objects take predictions and targets as tensors, one row per
-- example: :forward(pred, target) gives the mean loss and :backward(pred,
-- target) its gradient with respect to the predictions. model:compile{loss =
-- "mse"} and the other names use exactly these.

-- %%
print("mse                             " .. fmt(nn.MeanSquaredError():forward(
  tensor{{1.5}, {2}, {2}}, tensor{{1}, {2}, {3}})))
print("binary_crossentropy             " .. fmt(nn.BinaryCrossentropy():forward(
  tensor{{0.9}, {0.2}, {0.4}, {0.3}}, tensor{{1}, {0}, {1}, {0}})))
print("categorical_crossentropy        " .. fmt(nn.CategoricalCrossentropy():forward(
  tensor(P), tensor(Y))))
print("sparse_categorical_crossentropy " .. fmt(nn.SparseCategoricalCrossentropy():forward(
  tensor(P), tensor(labels))))
g = nn.MeanSquaredError():backward(tensor{{1.5}, {2}, {2}}, tensor{{1}, {2}, {3}})
print("mse gradient                    " .. list(g:reshape(3):totable()))
--> mse                             0.4167
--> binary_crossentropy             0.4004
--> categorical_crossentropy        1.3296
--> sparse_categorical_crossentropy 1.3296
--> mse gradient                    {0.3333, 0.0000, -0.6667}
