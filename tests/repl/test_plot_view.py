"""test_plot_view.py: the plot viewer (p:view()) and the live training dashboard driven
through a pseudo-terminal (tests/repl/harness.py): open, move the cursor with the arrow
keys and read the value in the status line, resize (TIOCSWINSZ, which sends SIGWINCH),
quit with q or Ctrl-C, and check the terminal is restored: the alternate screen is left
(rmcup, ESC[?1049l, after the last smcup) and the tty is back in canonical echo mode."""
import fcntl
import os
import struct
import sys
import termios

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, check, done  # noqa: E402

ENV = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "", "NO_COLOR": "1"}
SMCUP, RMCUP = "\x1b[?1049h", "\x1b[?1049l"
RIGHT, LEFT, UP, DOWN = "\x1bOC", "\x1bOD", "\x1bOA", "\x1bOB"


def resize(s, rows, cols):
    fcntl.ioctl(s.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def restored(s, name):
    """Alternate screen left after it was entered, and the tty back in cooked mode."""
    raw = s.out
    check(SMCUP in raw, name + ": entered the alternate screen", raw[-500:])
    check(raw.rfind(RMCUP) > raw.rfind(SMCUP), name + ": left the alternate screen (rmcup)", raw[-500:])
    lflag = termios.tcgetattr(s.fd)[3]
    check(lflag & termios.ICANON and lflag & termios.ECHO, name + ": tty back to canonical echo mode")


def viewer_confusion():
    code = ('local p = plot.confusion({{5,1,0},{2,7,1},{0,0,9}}, {classes={"cat","dog","bird"}}) '
            'p:view() print("AFTER VIEW") io.read()')
    s = Session(["-e", code], env=ENV, cols=80)
    try:
        check(s.expect(r"true cat \(0\), predicted cat \(0\): 5") is not None, "confusion: opens on cell (0,0)", s.out[-800:])
        check("Predicted label" in s.since() or "Predicted label" in s.out, "confusion: drawn")
        s.send(RIGHT)
        check(s.expect(r"predicted dog \(1\): 1 ") is not None, "confusion: right arrow moves to (0,1)", s.since())
        s.send(DOWN)
        check(s.expect(r"true dog \(1\), predicted dog \(1\): 7") is not None, "confusion: down arrow", s.since())
        s.send(DOWN + DOWN + DOWN + RIGHT + RIGHT)     # clamped at the last cell
        check(s.expect(r"true bird \(2\), predicted bird \(2\): 9") is not None, "confusion: clamped at (2,2)")
        mark = len(s.out)
        resize(s, 30, 60)
        check(s.expect(r"Predicted label") is not None and len(s.out) > mark, "confusion: redrawn after resize")
        s.send(LEFT)
        check(s.expect(r"true bird \(2\), predicted dog \(1\): 0") is not None, "confusion: keys work after resize")
        s.send("q")
        check(s.expect(r"AFTER VIEW") is not None, "confusion: q returns to Lua", s.out[-300:])
        restored(s, "confusion")
        s.send("\r")
        check(s.wait() == 0, "confusion: exits 0")
    finally:
        s.close()


def viewer_lines_ctrl_c():
    code = ('local p = plot.lines({loss={2,1.2,0.8,0.6,0.5}, val_loss={1.8,1.3,1.0,0.9,0.95}}, {xlabel="epoch"}) '
            'p:view() print("AFTER VIEW") io.read()')
    s = Session(["-e", code], env=ENV, cols=80)
    try:
        check(s.expect(r"loss  epoch 1: 2 ") is not None, "lines: opens on the first point", s.out[-800:])
        s.send(RIGHT + RIGHT)
        check(s.expect(r"loss  epoch 3: 0\.8") is not None, "lines: right arrow moves along the curve")
        s.send(DOWN)
        check(s.expect(r"val_loss  epoch 3: 1 ") is not None, "lines: down arrow picks the next series")
        s.send("\x03")                                    # Ctrl-C quits the viewer too
        check(s.expect(r"AFTER VIEW") is not None, "lines: Ctrl-C returns", s.out[-300:])
        restored(s, "lines")
        s.send("\r")
        check(s.wait() == 0, "lines: exits 0")
    finally:
        s.close()


def viewer_images_grid():
    code = ('local b = tensor.rand(4, 6, 6, 1) '
            'plot.images(b, {labels={3,1,4,1}, predictions={3,7,4,2}, cols=2}):view() print("AFTER VIEW")')
    s = Session(["-e", code], env=ENV, cols=80)
    try:
        check(s.expect(r"image 1 of 4: True label: 3 Predicted: 3") is not None, "images: opens on image 1", s.out[-800:])
        s.send(DOWN)
        check(s.expect(r"image 3 of 4: True label: 4 Predicted: 4") is not None, "images: down moves a grid row")
        s.send(RIGHT)
        check(s.expect(r"image 4 of 4") is not None, "images: right moves to the next image")
        s.send("q")
        check(s.expect(r"AFTER VIEW") is not None, "images: q returns")
        check(s.wait() == 0, "images: exits 0")
        check(s.out.rfind(RMCUP) > s.out.rfind(SMCUP), "images: left the alternate screen")
    finally:
        s.close()


def viewer_without_terminal():
    # --plain: :view() prints inline, no alternate screen
    code = 'plot.confusion({{1,0},{0,1}}):view() print("AFTER VIEW")'
    s = Session(["--plain", "-e", code], env=ENV, cols=80)
    try:
        check(s.expect(r"AFTER VIEW") is not None, "plain: view returns")
        check(SMCUP not in s.out and "Predicted label" in s.out, "plain: printed inline, no full screen", s.out[-500:])
        s.wait()
    finally:
        s.close()


DASH = r'''
local d = require("lunette.dashboard").start{epochs=3, steps=40, validation=true}
local stopped, h = false, {loss={}, accuracy={}, val_loss={}, val_accuracy={}}
for e = 1, 3 do
  for s = 1, 40 do
    local loss = 2 / (e + s / 40)
    if d:batch(e, s, {loss=loss, accuracy=1 - loss / 3}) == false then stopped = true break end
    local t = lunette.clock() while lunette.clock() - t < %s do end
  end
  if stopped then break end
  h.loss[e], h.accuracy[e] = 2 / (e + 1), 1 - 2 / (e + 1) / 3
  h.val_loss[e], h.val_accuracy[e] = 2.2 / (e + 1), 1 - 2.2 / (e + 1) / 3
  d:epoch(e, {loss=h.loss[e], accuracy=h.accuracy[e], val_loss=h.val_loss[e], val_accuracy=h.val_accuracy[e]})
end
d:finish({history=h})
print("DONE", stopped)
'''


def dashboard_full():
    s = Session(["-e", DASH % "0.002"], env=ENV, cols=100)
    try:
        check(s.expect(r"Training: epoch \d/3") is not None, "dashboard: live screen", s.out[-800:])
        check(s.expect(r"ETA \d+:\d\d") is not None, "dashboard: shows an ETA")
        resize(s, 30, 90)
        check(s.expect(r"DONE\s+false") is not None, "dashboard: training runs to the end", s.out[-800:])
        tail = s.out[s.out.rfind(RMCUP):]
        check("Trained 3 epochs (120 batches)" in tail, "dashboard: summary stays inline", tail[-800:])
        check("val_accuracy" in tail and "Accuracy" in tail, "dashboard: final curves inline", tail[-1500:])
        restored(s, "dashboard")
        check(s.wait() == 0, "dashboard: exits 0")
    finally:
        s.close()


def dashboard_quit():
    s = Session(["-e", DASH % "0.01"], env=ENV, cols=100)
    try:
        check(s.expect(r"Training: epoch 2/3") is not None, "dashboard q: reaches epoch 2", s.out[-800:])
        s.send("q")
        check(s.expect(r"DONE\s+true") is not None, "dashboard q: training stops early", s.out[-800:])
        check("Stopped early (q) at epoch 2" in s.out, "dashboard q: says where it stopped", s.out[-800:])
        restored(s, "dashboard q")
        check(s.wait() == 0, "dashboard q: exits 0")
    finally:
        s.close()


viewer_confusion()
viewer_lines_ctrl_c()
viewer_images_grid()
viewer_without_terminal()
dashboard_full()
dashboard_quit()
done()
