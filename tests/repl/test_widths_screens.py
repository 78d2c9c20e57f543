"""test_widths_screens.py: the full screens at 60, 80 and 200 columns (tests/repl/
harness.py): the confusion viewer keeps its status line's value and key hints, the
training dashboard its header whole ("ETA", "[q] stop early"), and the dashboard's
curves list the validation series in their legends (wrapped, never cut).
TERM=screen: its terminfo has no "rep", so drawn text stays readable in the log."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ANSI, Session, check, done  # noqa: E402

ENV = {"TERM": "screen", "LANG": "C.UTF-8", "LC_ALL": "", "NO_COLOR": "1"}
VIEW = ('plot.confusion({{5,1,0,2},{2,7,1,0},{0,0,9,1},{1,0,0,8}}, {classes={"T-shirt/top",'
        '"Trouser","Pullover","Ankle boot"}}):view() print("AFTER VIEW")')
DASH = ('lunette.seed(1) local m = nn.Sequential{nn.Dense{3, activation="softmax", input_shape={4}}} '
        'm:compile{optimizer="sgd", loss="sparse_categorical_crossentropy", metrics={"accuracy"}} '
        'local x, y = tensor.rand(4000, 4), (tensor.rand(4000) * 2.99):apply(math.floor) '
        'm:fit(x, y, {epochs=50, batch_size=2, validation_split=0.1, dashboard=true}) print("AFTER FIT")')


for cols in (60, 80, 200):
    s = Session(["-e", VIEW], env=ENV, cols=cols)
    try:
        # the value is whole: the key hints go first when narrow, then the class names
        if cols == 60:
            want = r"true 0, predicted 0: 5 \(62\.5%\)   \[q\] quit"
        else:
            want = (r"true T-shirt/top \(0\), predicted T-shirt/top \(0\): 5  \(62\.5% of the row\)" +
                    (r"   \[arrows\] move  \[tab\] next  \[q\] quit" if cols == 200 else ""))
        check(s.expect(want, timeout=2) is not None, "%d: the status line's value is whole" % cols,
              ANSI.sub("", s.out)[-300:])
        s.send("q")
        check(s.expect(r"AFTER VIEW") is not None, "%d: viewer q" % cols)
        s.wait()
    finally:
        s.close()

    s = Session(["-e", DASH], env=ENV, cols=cols)
    try:
        check(s.expect(r"ETA \d+:\d\d", timeout=20) is not None, "%d: dashboard ETA whole" % cols, s.out[-400:])
        check(s.expect(r"\[q\] stop early", timeout=20) is not None, "%d: dashboard [q] whole" % cols)
        # after epoch 1 the curves' legends name the validation series (wrapped, not cut)
        for name in ("val_loss", "val_accuracy"):
            check(s.expect("[\u25cf\u25a0\u25b2\u25c6] " + name, timeout=30) is not None,
                  "%d: legend lists %s" % (cols, name), ANSI.sub("", s.out)[-600:])
        s.send("q")
        check(s.expect(r"AFTER FIT", timeout=20) is not None, "%d: dashboard q" % cols, s.out[-300:])
        s.wait()
    finally:
        s.close()
done()
