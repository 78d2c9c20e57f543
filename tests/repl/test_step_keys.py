"""test_step_keys.py: lunette --step on a terminal (tests/repl/harness.py): a single key
answers the pause (q stops without Enter; Enter runs the cell), the pause line is erased
so a cell's output starts on a line of its own, and Ctrl-D stops."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, check, clean, done, scratch  # noqa: E402


def printed(out, text):
    """text printed by a cell: a whole line of the terminal's output (the echoed source
    has it inside print('...'))."""
    lines = [l.split("\x1b[K")[-1] for l in out.replace("\r", "").split("\n")]
    return any(clean(l) == text for l in lines)

nb = os.path.join(scratch(), "steps.lua")
with open(nb, "w") as f:
    f.write("-- %%\nprint('first output')\n\n-- %%\nprint('second output')\n\n-- %%\nprint('third')\n")

s = Session(["--step", nb], env={"TERM": "xterm"}, cols=80)
try:
    check(s.expect(r"Enter runs this cell, q stops: ") is not None, "pauses before cell 1", s.out[-300:])
    s.send("\r")
    check(s.expect(r"Enter runs this cell, q stops: ") is not None, "pauses before cell 2")
    check(printed(s.out, "first output"), "Enter ran cell 1; its output is on a line of its own",
          repr(s.out[-300:]))
    s.send("q")                                    # no Enter
    check(s.wait(5) == 0, "q stops at once, exit 0", s.out[-300:])
    check(not printed(s.out, "second output"), "cell 2 did not run")
finally:
    s.close()

s = Session(["--step", nb], env={"TERM": "xterm"}, cols=80)
try:
    s.expect(r"Enter runs this cell, q stops: ")
    s.send("\x04")                                 # Ctrl-D
    check(s.wait(5) == 0 and not printed(s.out, "first output"), "Ctrl-D stops", s.out[-300:])
finally:
    s.close()
done()
