"""test_help_repl.py: help in the REPL (tests/repl/harness.py). Long help goes through
$PAGER on a terminal and never in a pipe; help(model:fit) and help(Plot:view), which
Lua cannot parse, show the method's help; help(x) of a large tensor describes tensors
and prints no data; help reflows to the window (60 columns: no line wider)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ANSI, Session, check, done, run  # noqa: E402

PAGED = {"TERM": "xterm", "PAGER": "sed s/^/PAGED:/"}

s = Session([], env=PAGED, cols=80)
try:
    check(s.prompt() is not None, "prompt")
    s.line("%help")
    check(s.expect(r"PAGED:Magics:") is not None, "%help (longer than the screen) is paged", s.since()[-500:])
    check(s.expect(r"PAGED:Help topics") is not None, "the whole listing goes to the pager")
    s.prompt()
    s.line("help(nn.Dense)")
    m = s.expect(r"In \[\d+\]: ")
    check(m is not None and "nn.Dense{units" in s.out and "PAGED:nn.Dense" not in s.out,
          "short help is printed, not paged", s.out[-600:])
    s.line("m = nn.Sequential{nn.Dense{2, input_shape={3}}}")
    s.prompt()
    s.line("help(m:fit)")
    check(s.expect(r"model:fit\(x, y \[, opts\]\) → history") is not None, "help(m:fit) works", s.since()[-500:])
    s.prompt()
    s.line("help(Plot:view)")
    check(s.expect(r"p:view\(\)") is not None, "help(Plot:view) works", s.since()[-500:])
    s.prompt()
    s.line("x = tensor.zeros(60000, 28, 28, 1)")
    s.prompt()
    start = len(s.out)
    s.line("help(x)")
    check(s.expect(r"Methods") is not None and s.prompt() is not None, "help(x) of a tensor", s.since()[-500:])
    shown = ANSI.sub("", s.out[start:])
    check(shown.count("\n") < 30 and "0.0000" not in shown and "0." not in shown.replace("0.8", ""),
          "help(x) prints no data", shown[-800:])
    s.line("os.exit(0)")
    s.wait()
finally:
    s.close()

# a pipe: never paged
code, out, err = run([], input_text="%help\n", env=PAGED)
check(code == 0 and "Magics:" in out and "PAGED:" not in out, "not paged in a pipe", out[-400:] + err)

# 60 columns: help reflowed, no line wider than the window, no word broken
s = Session([], env=PAGED, cols=60)
try:
    s.prompt()
    start = len(s.out)
    s.line("help(nn.Conv2D)")
    s.expect(r"Example:")
    s.prompt()
    lines = re.split(r"\r\n|\n|\r", ANSI.sub("", s.out[start:]))[1:]
    wide = [l for l in lines if len(l) > 60]
    check(not wide, "60 columns: help(nn.Conv2D) fits", "\n".join(wide))
    text = " ".join(l.strip() for l in lines)
    check("TensorFlow's, asymmetric at stride 2" in text, "60 columns: words kept whole", text)
    s.line("os.exit(0)")
    s.wait()
finally:
    s.close()
# --check on a terminal never pages (its outputs are compared, not read)
from harness import scratch  # noqa: E402
nb = os.path.join(scratch(), "pager.lua")
with open(nb, "w") as f:
    f.write("-- %%\nprint(lunette._pager_ok, (lunette.columns()))\n--> false\t80\n")
s = Session(["--check", nb], env=PAGED, cols=120)
try:
    check(s.wait() == 0, "--check on a terminal: no pager, 80 columns", s.out[-500:])
finally:
    s.close()
done()
