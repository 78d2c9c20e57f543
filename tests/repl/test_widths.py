"""test_widths.py: every screen fits the terminal it is on. The REPL runs in a pseudo-
terminal 60, 80 and 200 columns wide (tests/repl/harness.py) and shows help (reflowed,
paged through PAGER=cat), %help, a model summary, fit's progress line and a 10-class
confusion matrix with class names; no line of what it prints (split at newlines and at
the carriage returns that redraw the progress line) is wider than the window."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ANSI, Session, check, done  # noqa: E402

ENV = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "", "PAGER": "cat"}

SETUP = [
    'm = nn.Sequential{nn.Input{20}, nn.Embedding{20, 8}, nn.Conv1D{16, 2}}',
    'm:add(nn.GlobalMaxPool1D()) m:add(nn.Dense{1, activation="sigmoid"})',
    'm:compile{optimizer="adam", loss="binary_crossentropy", metrics={"accuracy"}}',
    'x = (tensor.rand(256, 20) * 19):apply(math.floor) y = tensor.rand(256):gt(0.5)',
    'f = {epochs=2, batch_size=8, validation_split=0.25}',
    'C = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",',
    '  "Shirt", "Sneaker", "Bag", "Ankle boot"}',
    'cm = (tensor.rand(10, 10) * 999):apply(math.floor)',
]

SHOWS = [
    ("help(nn.Conv2D)", r"Example:"),
    ("help(m.fit)", r"Example:"),
    ("%help", r"Help topics"),
    ("m:summary()", r"Non-trainable params"),
    ("h = m:fit(x, y, f)", r"Epoch 2/2[\s\S]*val_loss"),
    ("plot.confusion(cm, {classes=C})", r"Predicted label"),
    ("plot.confusion(cm, {classes=C, width=58})", r"Predicted label"),
]


def lines_of(raw):
    text = ANSI.sub("", raw)
    return re.split(r"\r\n|\n|\r", text)


def at(cols):
    s = Session([], env=ENV, cols=cols)
    try:
        check(s.prompt() is not None, "%d: prompt" % cols, s.out[-500:])
        for code in SETUP:
            s.line(code)
        check(s.expect(r"In \[8\]: ") is not None, "%d: setup ran" % cols, s.out[-800:])
        for code, want in SHOWS:
            start = len(s.out)
            s.line(code)
            ok = s.expect(want, timeout=60) is not None and s.prompt() is not None
            check(ok, "%d: %s shows %s" % (cols, code, want), s.out[start:][-1500:])
            shown = s.out[start:]
            limit = 58 if "width=58" in code else cols
            wide = [l for l in lines_of(shown)[1:] if len(l) > limit]   # [0]: the input line
            check(not wide, "%d: %s: no line wider than %d" % (cols, code, limit),
                  "\n".join("%d: %s" % (len(l), l) for l in wide[:5]))
        s.line("os.exit(0)")
        s.wait()
    finally:
        s.close()


for c in (60, 80, 200):
    at(c)
done()
