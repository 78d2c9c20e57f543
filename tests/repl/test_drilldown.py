"""test_drilldown.py: the confusion matrix's drill-down viewer (plot.confusion with x,
y_true, y_pred and model; p:view()) driven through a pseudo-terminal: the arrow keys pick a
cell, Enter pages through that cell's images with their probabilities, n/p turn pages, g
shows a page's Grad-CAM, Esc returns to the matrix, q leaves and the terminal is restored.
Then the live dashboard with fit{monitor=true}: its layer health panel and a dead layer's
warning, left inline when training ends."""
import os
import sys
import termios

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, check, done  # noqa: E402

ENV = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "", "NO_COLOR": "1"}
SMCUP, RMCUP = "\x1b[?1049h", "\x1b[?1049l"
RIGHT, LEFT, UP, DOWN, ESC = "\x1bOC", "\x1bOD", "\x1bOA", "\x1bOB", "\x1b"

# six samples: true 0,0,1,1,2,0 predicted 0,1,1,0,2,1 -> cell (cat, dog) holds samples 2 and 6
CODE = """
lunette.seed(3)
local yt = tensor{0, 0, 1, 1, 2, 0}
local pred = {0, 1, 1, 0, 2, 1}
local probs = tensor.zeros(6, 3)
for i, c in ipairs(pred) do
  probs:set(i, c + 1, 0.7); probs:set(i, (c + 1) % 3 + 1, 0.2); probs:set(i, (c + 2) % 3 + 1, 0.1)
end
local x = tensor.rand(6, 8, 8, 1)
local m = nn.Sequential{nn.Conv2D{filters=2, kernel=3, activation='relu', input_shape={8,8,1}},
  nn.Flatten(), nn.Dense{3, activation='softmax'}}
local cm = metrics.confusion_matrix(yt, probs, 3)
local p = plot.confusion(cm, {classes={'cat','dog','bird'}, x=x, y_true=yt, y_pred=probs, model=m})
p:view()
print('AFTER VIEW')
io.read()
"""


def main():
    s = Session(["-e", CODE], env=ENV, cols=80)
    try:
        check(s.expect(r"true cat, predicted cat: 1 image ") is not None, "opens on cell (cat, cat)", s.out[-600:])
        s.send(RIGHT)
        check(s.expect(r"true cat, predicted dog: 2 images") is not None, "right arrow: cell (cat, dog)", s.since())
        s.send("\r")
        check(s.expect(r"image 1/2 \(sample 2\)") is not None, "enter: the cell's first image", s.since())
        check("Probabilities" in s.out[-4000:], "the page shows the probabilities", s.out[-1500:])
        s.send("n")
        check(s.expect(r"image 2/2 \(sample 6\)") is not None, "n: next image", s.since())
        s.send("n")
        check(s.expect(r"image 2/2 \(sample 6\)") is not None, "n at the last image stays", s.since())
        s.send("p")
        check(s.expect(r"image 1/2 \(sample 2\)") is not None, "p: previous image", s.since())
        s.send("g")
        check(s.expect(r"Grad-CAM of dog at conv2d") is not None, "g: the page's Grad-CAM", s.since())
        check(s.expect(r"\[g\] image") is not None, "g again returns to the image", s.since())
        s.send(ESC)
        check(s.expect(r"true cat, predicted dog: 2 images.*\[enter\] images") is not None, "esc: back to the matrix", s.since())
        s.send(DOWN + DOWN + DOWN + DOWN)
        check(s.expect(r"true bird, predicted dog: 0 images") is not None, "down arrows, clamped", s.since())
        s.send("\r")
        check(s.expect(r"no images in this cell") is not None, "enter on an empty cell says so", s.since())
        s.send(UP + LEFT)
        check(s.expect(r"true dog, predicted cat: 1 image ") is not None, "up, left: cell (dog, cat)", s.since())
        s.send("q")
        check(s.expect(r"AFTER VIEW") is not None, "q returns to Lua", s.out[-300:])
        raw = s.out
        check(SMCUP in raw and raw.rfind(RMCUP) > raw.rfind(SMCUP), "left the alternate screen", repr(raw[-300:]))
        lflag = termios.tcgetattr(s.fd)[3]
        check(lflag & termios.ICANON and lflag & termios.ECHO, "tty back to canonical echo mode")
        s.send("\r")
        check(s.wait() == 0, "exits 0")
    finally:
        s.close()


DASH = """
lunette.seed(4)
local m = nn.Sequential{nn.Dense{8, activation='relu', input_shape={4}, name='hidden'},
  nn.Dense{3, activation='softmax'}}
m:compile{optimizer='adam', loss='sparse_categorical_crossentropy', metrics={'accuracy'}}
m:get_layer('hidden').bias = tensor.full(8, -100)
local x = tensor.rand(640, 4)
local y = (tensor.rand(640) * 3):apply(math.floor)
local h = m:fit(x, y, {epochs=2, batch_size=8, dashboard=true, monitor=true})
print('WARNINGS ' .. #h.warnings)
"""


def dashboard():
    s = Session(["-e", DASH], env=ENV, cols=80)
    try:
        check(s.expect(r"Layer health") is not None, "dashboard: the health panel", s.out[-800:])
        check(s.expect(r"hidden\s+100%") is not None, "dashboard: the dead layer's row", s.since()[:800])
        check(s.expect(r"warning: layer hidden died") is not None, "dashboard: the warning", s.since()[:800])
        check(s.expect(r"WARNINGS 1") is not None, "dashboard: history.warnings", s.out[-500:])
        check("warning: layer hidden died" in s.out.split("Trained")[-1] or
              s.out.rfind("warning: layer hidden died") > s.out.rfind("Trained"), "dashboard: the warning left inline")
        check(s.wait() == 0, "dashboard: exits 0")
    finally:
        s.close()


main()
dashboard()
done()
