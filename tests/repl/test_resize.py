"""test_resize.py: the viewer and the dashboard follow the window both ways (SIGWINCH)
inside the REPL, where Readline's own SIGWINCH handler used to hide resizes from ncurses
(tests/repl/harness.py). After growing to 30x120 the status line is drawn on row 30 and
whole; after shrinking to 20x60 it is on row 20 and nothing is drawn past column 60; the
status line shortens its key hints instead of being cut."""
import fcntl
import os
import re
import struct
import sys
import termios

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ANSI, Session, check, done  # noqa: E402

# screen: its terminfo has no "rep" (repeat a character), so drawn text stays readable
ENV = {"TERM": "screen", "LANG": "C.UTF-8", "LC_ALL": "", "NO_COLOR": "1"}
CUP = re.compile(r"\x1b\[(\d+);(\d+)H")
ROW = re.compile(r"\x1b\[(\d+)d")


def resize(s, rows, cols):
    fcntl.ioctl(s.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def rows_addressed(raw):
    return {int(m.group(1)) for m in CUP.finditer(raw)} | {int(m.group(1)) for m in ROW.finditer(raw)}


def widest_col(raw):
    return max([int(m.group(2)) for m in CUP.finditer(raw)] or [0])


s = Session([], env=ENV, cols=80)
try:
    s.prompt()
    s.line('h = {loss={2,1.2,0.8,0.6}, val_loss={1.8,1.3,1.0,0.9}}')
    s.prompt()
    s.line("plot.history(h):view()")
    check(s.expect(r"\[q\] quit") is not None, "viewer opens in the REPL", s.out[-500:])
    mark = len(s.out)
    resize(s, 30, 120)
    check(s.expect(r"loss  epoch 1: 2 .*\[q\] quit") is not None, "grown: redrawn", s.out[mark:][-500:])
    grown = s.out[mark:]
    check(30 in rows_addressed(grown), "grown: the status line is on row 30", repr(grown[-300:]))
    mark = len(s.out)
    resize(s, 20, 60)
    check(s.expect(r"loss  epoch 1: 2") is not None, "shrunk: redrawn", s.out[mark:][-500:])
    s.expect(r"\[q\] quit", timeout=1)
    shrunk = s.out[mark:]
    check(20 in rows_addressed(shrunk) and max(rows_addressed(shrunk)) <= 20, "shrunk: rows 1-20",
          repr(shrunk[-300:]))
    check(widest_col(shrunk) <= 60, "shrunk: nothing past column 60 (%d)" % widest_col(shrunk))
    s.send("q")
    check(s.prompt() is not None, "q returns to the prompt")
    # the confusion viewer's status line at 60 columns: the value, then shorter hints
    s.line('plot.confusion({{5,1,0},{2,7,1},{0,0,9}}, {classes={"cat","dog","bird"}}):view()')
    m = s.expect(r"true cat \(0\), predicted cat \(0\): 5  \(83\.3% of the row\)")
    check(m is not None, "60 columns: the status line keeps the whole value (hints dropped)", s.out[-400:])
    s.send("q")
    s.prompt()
    # the dashboard inside the REPL follows a resize too
    s.line("lunette.seed(1) m = nn.Sequential{nn.Dense{2, input_shape={4}}}")
    s.prompt()
    s.line('m:compile{optimizer="sgd", loss="mse"} x = tensor.rand(20000, 4)')
    s.prompt()
    s.line("h = m:fit(x, tensor.rand(20000, 2), {epochs=50, batch_size=4, dashboard=true})")
    check(s.expect(r"Training: epoch 1/50", timeout=20) is not None, "dashboard in the REPL", s.out[-400:])
    mark = len(s.out)
    resize(s, 30, 120)
    # the progress bar is 10 cells at 60 columns and 40 at 120
    check(s.expect(r"\[[#.]{40}\]", timeout=20) is not None, "dashboard redrawn at the new width",
          repr(s.out[mark:])[:1500])
    s.send("q")
    check(s.expect(r"Stopped early \(q\)", timeout=20) is not None, "dashboard stops on q", s.out[-400:])
    s.prompt()
    s.line("os.exit(0)")
    s.wait()
finally:
    s.close()
done()
