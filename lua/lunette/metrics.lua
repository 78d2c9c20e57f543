-- lunette/metrics.lua: classification_report on top of the C metrics
-- (src/lua/l_metrics.c: accuracy, confusion_matrix). Per class, as sklearn's report:
-- precision = TP/(TP+FP), recall = TP/(TP+FN), f1 = 2PR/(P+R) (0 when undefined),
-- support = the true count; then accuracy, macro and support-weighted averages.
local L = require "lunette"
local error = L._error     -- errors point at the caller's code, not this file
local M = L.metrics

function M.classification_report(y_true, y_pred, opts)
  local fn = "metrics.classification_report"
  opts = L._options(opts, "metrics.classification_report", "classes k")
  local classes = opts.classes
  local k = opts.k or (classes and #classes) or nil
  local cm = M.confusion_matrix(y_true, y_pred, k)
  k = cm:size(1)
  if classes and #classes ~= k then
    error(string.format("%s: %d class names for %d classes", fn, #classes, k), 2)
  end
  local rows, total, correct = {}, 0, 0
  for i = 1, k do
    local tp, colsum, rowsum = cm:get(i, i), 0, 0
    for j = 1, k do
      colsum = colsum + cm:get(j, i)
      rowsum = rowsum + cm:get(i, j)
    end
    local p = colsum > 0 and tp / colsum or 0
    local r = rowsum > 0 and tp / rowsum or 0
    local f = (p + r) > 0 and 2 * p * r / (p + r) or 0
    rows[i] = { name = classes and tostring(classes[i]) or tostring(i - 1), p = p, r = r, f = f, n = rowsum }
    total, correct = total + rowsum, correct + tp
  end
  local w = 12
  for _, r in ipairs(rows) do w = math.max(w, #r.name) end
  local out = { string.format("%" .. w .. "s %9s %9s %9s %9s", "", "precision", "recall", "f1-score", "support"), "" }
  local mp, mr, mf, wp, wr, wf = 0, 0, 0, 0, 0, 0
  for _, r in ipairs(rows) do
    out[#out + 1] = string.format("%" .. w .. "s %9.2f %9.2f %9.2f %9d", r.name, r.p, r.r, r.f, r.n)
    mp, mr, mf = mp + r.p / k, mr + r.r / k, mf + r.f / k
    if total > 0 then
      wp, wr, wf = wp + r.p * r.n / total, wr + r.r * r.n / total, wf + r.f * r.n / total
    end
  end
  out[#out + 1] = ""
  out[#out + 1] = string.format("%" .. w .. "s %9s %9s %9.2f %9d", "accuracy", "", "", total > 0 and correct / total or 0, total)
  out[#out + 1] = string.format("%" .. w .. "s %9.2f %9.2f %9.2f %9d", "macro avg", mp, mr, mf, total)
  out[#out + 1] = string.format("%" .. w .. "s %9.2f %9.2f %9.2f %9d", "weighted avg", wp, wr, wf, total)
  return table.concat(out, "\n")
end
L._sethelp(M.classification_report, "metrics.classification_report", [==[metrics.classification_report(y_true, y_pred [, opts])

A text table like sklearn's: precision, recall, f1-score and support for each class,
then accuracy, the macro average and the support-weighted average. Labels are 0-based
class ids; y_pred may be NxK scores (argmax).
opts: classes (names, one per class), k (the class count; default from classes or labels).
Example: print(metrics.classification_report(ds.y_test, model:predict(ds.x_test), {classes=ds.classes}))]==])

L._sethelp(M, "metrics", [==[metrics: scoring predictions against 0-based class ids.

metrics.accuracy(y_true, y_pred), metrics.confusion_matrix(y_true, y_pred, k), metrics.classification_report(y_true, y_pred, opts). Predictions may be class ids or N×K scores (the argmax is taken).
Example: plot.confusion(metrics.confusion_matrix(ds.y_test, model:predict(ds.x_test), 10))]==])

return M
