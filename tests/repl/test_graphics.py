"""test_graphics.py: images as real pixels (lunette.graphics) through a pseudo-terminal:
kitty and sixel sequences when chosen on a colour terminal, the device-attributes query of
lunette.graphics('auto') answered with and without sixel (4), and never in pipes, with
--plain, NO_COLOR or --check. The encoders' bytes are checked in tests/c/test_pixels.c."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, check, done, run, scratch  # noqa: E402

ENV = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "", "NO_COLOR": "", "COLORTERM": ""}
IMG = "plot.image(tensor{{0, 1}, {1, 0}}, {title='T'})"
KITTY, SIXEL = "\x1b_Ga=T,f=24,", "\x1bPq\"1;1;"


def session(code, env=None):
    e = dict(ENV)
    e.update(env or {})
    return Session(["-e", code + " print('END') io.read()"], env=e, cols=80)


def raw_wait(s, text, timeout=10):
    end = time.time() + timeout
    while text not in s.out and time.time() < end:
        try:
            s._read(0.1)
        except EOFError:
            break
    return text in s.out


def finish(s, name):
    s.send("\r")
    check(s.wait() == 0, name + ": exits 0")
    s.close()


def chosen():
    for mode, mark in (("kitty", KITTY), ("sixel", SIXEL)):
        s = session("print(lunette.graphics('%s')) print(%s)" % (mode, IMG))
        check(raw_wait(s, "END"), mode + ": runs", s.out[-300:])
        check(mark in s.out, mode + ": the image as %s" % mode, repr(s.out[-300:]))
        check("\x1b\\" in s.out.split(mark, 1)[-1], mode + ": the sequence is terminated")
        check("\nT" in s.out.replace("\r", "") or "T\r\n" in s.out, mode + ": the title as text")
        finish(s, mode)
    s = session("lunette.graphics('kitty') print(plot.lines{a={1, 2, 3}})")
    check(raw_wait(s, "END") and KITTY not in s.out, "a line chart stays text")
    finish(s, "lines")
    s = session("lunette.graphics('kitty') print(%s)" % IMG, {"NO_COLOR": "1"})
    check(raw_wait(s, "END") and KITTY not in s.out, "NO_COLOR: text")
    finish(s, "NO_COLOR")
    s = Session(["--plain", "-e", "lunette.graphics('kitty') print(%s) print('END') io.read()" % IMG],
                env=ENV, cols=80)
    check(raw_wait(s, "END") and KITTY not in s.out, "--plain: text")
    finish(s, "--plain")


def env_detection():
    s = session("print(lunette.graphics()) print(%s)" % IMG, {"KITTY_WINDOW_ID": "1"})
    check(raw_wait(s, "END") and KITTY in s.out, "auto under kitty ($KITTY_WINDOW_ID): kitty", s.out[-200:])
    finish(s, "kitty env")
    s = session("print(lunette.graphics()) print(%s)" % IMG, {"TERM": "foot"})
    check(raw_wait(s, "END") and SIXEL in s.out, "auto with TERM=foot: sixel", s.out[-200:])
    finish(s, "foot")
    s = session("print(%s)" % IMG)
    check(raw_wait(s, "END") and KITTY not in s.out and SIXEL not in s.out, "auto in xterm-256color: text")
    finish(s, "xterm")


def device_attributes():
    for answer, want in (("\x1b[?62;4;22c", "sixel"), ("\x1b[?62;22c", "text")):
        s = session("local now = lunette.graphics('auto') print('NOW ' .. now) print(%s)" % IMG)
        check(raw_wait(s, "\x1b[c"), "auto: asks the device attributes")
        s.send(answer)
        check(raw_wait(s, "NOW " + want), "answer %r: %s" % (answer, want), repr(s.out[-200:]))
        check(raw_wait(s, "END"), "runs on")
        check((SIXEL in s.out) == (want == "sixel"), "the image follows the answer (%s)" % want)
        finish(s, "DA " + want)
    s = session("print('NOW ' .. lunette.graphics('auto'))")
    check(raw_wait(s, "NOW text"), "no answer within the timeout: text", repr(s.out[-200:]))
    finish(s, "DA silent")


def pipes_and_check():
    status, out, _ = run(["-e", "lunette.graphics('kitty') print(%s)" % IMG], env=ENV)
    check(status == 0 and KITTY not in out and SIXEL not in out and "T" in out, "pipes: text", out[-200:])
    d = scratch()
    nb = os.path.join(d, "nb.lua")
    with open(nb, "w") as f:
        f.write("-- %%\nlunette.graphics('sixel')\nprint((lunette.graphics()))\n--> text\n")
    s = Session(["--check", nb], env=ENV, cols=80)
    check(s.expect(r"all match") is not None, "--check: text even when sixel is chosen", s.out[-300:])
    s.wait()
    s.close()


chosen()
env_detection()
device_attributes()
pipes_and_check()
done()
