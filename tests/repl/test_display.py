"""test_display.py: what the REPL shows (tests/repl/harness.py). The value after the
last ';' (IPython), nothing after a trailing ';'; an assignment whose call returned
nil, message says so; an error points at the user's line and hides Lunette's own frames
(unless %debug or lunette.traceback(true)); a value longer than the screen is cut to a
screenful on a terminal."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, check, clean, done, run  # noqa: E402

SCRIPT = "\n".join([
    "x = 2; x * 3",
    "z = 5;",
    "for i = 1, 2 do y = i; end",
    "y",
    'm = nn.load("nope.safetensors")',
    "m == nil",
    'f = io.open("/nonexistent/dir/file")',
    "mm = nn.Sequential{nn.Dense{2, input_shape={3}}}",
    "mm:fit(tensor.rand(4, 3), tensor{0, 1, 0, 1})",
    "%debug",
    "lunette.traceback(true)",
    "mm:fit(tensor.rand(4, 3), tensor{0, 1, 0, 1})",
]) + "\n"

code, out, err = run([], input_text=SCRIPT)
check(code == 0, "runs", out + err)
check("Out[1]: 6" in out, "the value after ';' is shown", out)
check(not re.search(r"In \[2\]: z = 5;\nOut", out), "a trailing ';' shows nothing", out)
check("Out[4]: 2" in out, "a ';' inside a block is left alone", out)
check("-- nn.load: cannot read 'nope.safetensors': No such file or directory" in out,
      "nil, message from nn.load is said", out)
check("Out[6]: true" in out, "m is nil", out)
check("-- io.open: /nonexistent/dir/file: No such file or directory" in out, "io.open's too", out)
blocks = out.split("In [")
fit1 = next((b for b in blocks if b.startswith("9]")), "")
check("In[9]:1: fit: the model is not compiled" in fit1, "the error points at the user's line", fit1)
check("In[9]:1: in main chunk" in fit1 and "lunette/" not in fit1 and "[C]" not in fit1,
      "library frames hidden", fit1)
dbg = next((b for b in blocks if b.startswith("10]")), "")
check("[C]: in function 'error'" in dbg or "model.lua" in dbg, "%debug shows every frame", dbg)
fit2 = next((b for b in blocks if b.startswith("12]")), "")
check("model.lua" in fit2 or "[C]" in fit2, "lunette.traceback(true) shows them", fit2)

# a screenful on a terminal (40 rows): a 300-line value is cut, with the count
s = Session([], env={"TERM": "xterm", "PAGER": "cat"}, cols=80)
try:
    s.prompt()
    s.line("t = tensor.rand(50000, 32, 32, 3)")
    s.prompt()
    start = len(s.out)
    s.line("t")
    m = s.expect(r"\.\.\. (\d+) more lines \((\d+) in all\): Out\[2\] holds the whole value")
    check(m is not None, "the value is cut to a screenful", s.out[-600:])
    s.prompt()
    shown = clean(s.out[start:])
    check(shown.count("\n") <= 40, "no more than the screen: %d lines" % shown.count("\n"), shown)
    s.line("os.exit(0)")
    s.wait()
finally:
    s.close()
done()
