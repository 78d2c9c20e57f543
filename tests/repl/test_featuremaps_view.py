"""test_featuremaps_view.py: the feature-map viewer (tests/repl/harness.py). 16 maps of a
Conv2D in a 120x40 window: a grid sized to the window (pages of 3x2 maps at least 16
pixels across in the colourless style), n/p turn pages, arrows move, Enter zooms one map
to the window and arrows then read its pixels, Enter goes back, q returns."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, check, done  # noqa: E402

ENV = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "", "NO_COLOR": "1"}
RIGHT, DOWN = "\x1bOC", "\x1bOB"
CODE = ('lunette.seed(3) local m = nn.Sequential{nn.Conv2D{filters=16, kernel=3, input_shape={28,28,1}}} '
        'plot.featuremaps(m, tensor.rand(28, 28, 1), 1):view() print("AFTER VIEW")')

s = Session(["-e", CODE], env=ENV, cols=120)
try:
    check(s.expect(r"page 1/3  image 1 of 16: 1 \(26x26x1\)") is not None, "opens on page 1 of 3",
          s.out[-600:])
    s.send(RIGHT)
    check(s.expect(r"page 1/3  image 2 of 16") is not None, "right: the next map")
    s.send(DOWN)
    check(s.expect(r"page 1/3  image 5 of 16") is not None, "down: a grid row (3 maps) further")
    s.send("n")
    check(s.expect(r"page 2/3  image 7 of 16") is not None, "n: the next page")
    s.send("n")
    check(s.expect(r"page 3/3  image 13 of 16") is not None, "n: the last page")
    s.send("p")
    check(s.expect(r"page 2/3  image 7 of 16") is not None, "p: back a page")
    s.send("\r")
    check(s.expect(r"image 7/16 \(zoomed\)  pixel \(1, 1\)") is not None, "Enter zooms the map", s.out[-400:])
    s.send(RIGHT)
    check(s.expect(r"image 7/16 \(zoomed\)  pixel \(1, 2\)") is not None, "arrows read its pixels",
          s.out[-400:])
    s.send("\r")
    check(s.expect(r"page 2/3  image 7 of 16") is not None, "Enter goes back to the grid")
    s.send("q")
    check(s.expect(r"AFTER VIEW") is not None, "q returns")
    check(s.wait() == 0, "exits 0")
finally:
    s.close()
done()
