"""test_plain_editing.py: TERM=dumb, NO_COLOR and --plain change what is drawn, not
whether Readline edits (tests/repl/harness.py). In each, Up recalls the previous input and
Left moves the cursor (before, Up inserted ESC [ A into the line), and the plain styles
draw no colour codes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, check, done  # noqa: E402

UP, LEFT = "\x1b[A", "\x1b[D"
CASES = [
    ("TERM=dumb", [], {"TERM": "dumb"}),
    ("NO_COLOR", [], {"TERM": "xterm", "NO_COLOR": "1"}),
    ("--plain", ["--plain"], {"TERM": "xterm"}),
]

for name, args, env in CASES:
    s = Session(args, env=env, cols=80)
    try:
        check(s.prompt(1) is not None, name + ": prompt", s.out[-300:])
        s.line("40 + 2")
        check(s.expect(r"Out\[1\]: 42") is not None, name + ": runs", s.out[-300:])
        s.prompt(2)
        s.send(UP)
        s.send("\r")
        check(s.expect(r"Out\[2\]: 42") is not None, name + ": Up recalls the last input", s.out[-300:])
        s.prompt(3)
        s.send("1 + 3" + LEFT * 4 + "0")   # 10 + 3
        s.send("\r")
        check(s.expect(r"Out\[3\]: 13") is not None, name + ": Left moves the cursor", s.out[-300:])
        check("\x1b[31m" not in s.out and "\x1b[32m" not in s.out, name + ": no colour codes",
              repr(s.out[-300:]))
        s.line("os.exit(0)")
        s.wait()
    finally:
        s.close()
done()
