-- test_metrics.lua: metrics against hand-computed values (labels 0-based) and errors.
local T = require "check"
local yt, yp = { 0, 0, 1, 1, 2, 2 }, { 0, 1, 1, 1, 2, 0 }
-- correct: positions 1, 3, 4, 5 → 4/6
T.close(metrics.accuracy(yt, yp), 4 / 6, 1e-12, "accuracy 4/6")
T.close(metrics.accuracy(tensor(yt), tensor(yp)), 4 / 6, 1e-12, "accuracy of tensors")
-- probabilities → argmax: rows predict 1, 0, 2
local probs = tensor { { 0.1, 0.8, 0.1 }, { 0.6, 0.3, 0.1 }, { 0.2, 0.2, 0.6 } }
T.close(metrics.accuracy({ 1, 1, 2 }, probs), 2 / 3, 1e-12, "accuracy from probabilities")
T.close(metrics.accuracy(tensor { { 1 }, { 0 }, { 2 } }, probs), 1, 1e-12, "Nx1 labels")
-- confusion: rows true, columns predicted; worked by hand from yt/yp above
local cm = metrics.confusion_matrix(yt, yp, 3)
T.close(cm, { { 1, 1, 0 }, { 0, 2, 0 }, { 1, 0, 1 } }, 0, "confusion matrix by hand")
T.check(cm:size(1) == 3 and cm:size(2) == 3, "3x3")
T.close(metrics.confusion_matrix({ 0, 1 }, { 1, 1 }), { { 0, 1 }, { 0, 1 } }, 0, "k from the labels")
T.close(metrics.confusion_matrix({ 0 }, { 0 }, 3), { { 1, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }, 0, "k given")
T.close(metrics.confusion_matrix({ 1, 1, 2 }, probs, 3):sum(), 3, 0, "probabilities into counts")
-- report: cat P=1/2 R=1/2; dog P=2/3 R=1 F=0.8; bird P=1 R=1/2 F=2/3; macro P=0.72
local rep = metrics.classification_report(yt, yp, { classes = { "cat", "dog", "bird" } })
T.check(rep:find("         cat      0.50      0.50      0.50         2", 1, true), "report: cat row")
T.check(rep:find("         dog      0.67      1.00      0.80         2", 1, true), "report: dog row")
T.check(rep:find("        bird      1.00      0.50      0.67         2", 1, true), "report: bird row")
T.check(rep:find("    accuracy                          0.67         6", 1, true), "report: accuracy")
T.check(rep:find("   macro avg      0.72      0.67      0.66         6", 1, true), "report: macro avg")
T.check(metrics.classification_report({ 0, 1 }, { 0, 0 }):find("           1      0.00      0.00      0.00         1", 1, true),
  "report: a class never predicted has precision 0")
-- errors
T.raises(function() metrics.confusion_matrix({ 0, 1, 3 }, { 0, 1, 1 }, 3) end,
  "metrics.confusion_matrix: y_true[3] = 3 is outside 0..2")
T.raises(function() metrics.confusion_matrix({ 0, 1 }, { 0, 5 }, 2) end, "metrics.confusion_matrix: y_pred[2] = 5 is outside 0..1")
T.raises(function() metrics.accuracy({ 0, 1, 2 }, { 0, 1 }) end, "metrics.accuracy: y_true has 3 labels, y_pred has 2")
T.raises(function() metrics.accuracy({ 0, 1.5 }, { 0, 1 }) end, "metrics.accuracy: y_true[2] = 1.5 is not a class id")
T.raises(function() metrics.accuracy({ -1 }, { 0 }) end, "y_true[1] = -1.0 is not a class id")
T.raises(function() metrics.accuracy(tensor { { 0.2, 0.8 } }, { 1 }) end, "y_true must be class ids")
T.raises(function() metrics.classification_report({ 0, 1 }, { 0, 1 }, { classes = { "a" } }) end,
  "metrics.confusion_matrix: y_true[2] = 1 is outside 0..0")
for _, n in ipairs { "accuracy", "confusion_matrix", "classification_report" } do
  T.check(lunette._gethelp(metrics[n]) ~= nil, "help for metrics." .. n)
end
T.done()
