"""test_notebook.py: `lunette FILE.lua` replay, --check on good and deliberately wrong
notebooks (exit status and diff), errors, args after --, files without markers or with
CRLF line ends, -i and --step, and output free of escape sequences off a terminal."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, check, clean, done, run, scratch  # noqa: E402

tmp = scratch()
ESC = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")   # anything but \t and \n


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w", newline="") as f:
        f.write(text)
    return path


GOOD = """-- %% [markdown]
-- # A small notebook
-- This paragraph is long enough to be wrapped by the renderer: it goes on and on and on
-- over two source lines.

-- %% setup
x = 40
print("x is", x)
--> x is\t40

-- %%
x + 2
--> 42

-- %%
for i = 1, 3 do io.write(i, " ") end
print()
print(select("#", ...), ...)
--> 1 2 3
--> 2\ta\tb

-- %% no recorded output: run, not compared
y = x * 2
"""
good = write("good.lua", GOOD)
env = {"TERM": "xterm"}
env.pop("NO_COLOR", None)

# replay: text rendered, cells echoed with their number, outputs shown
status, out, err = run([good, "--", "a", "b"], env={"NO_COLOR": ""})
check(status == 0, "replay exits 0", out + err)
check("A small notebook" in out and "-- # A small" not in out, "markdown rendered as text", out)
check("This paragraph is long enough to be wrapped by the renderer: it goes on and on and on over"
      not in out and "over two source lines." in out, "text re-wrapped", out)
check("In [1]: x = 40\n   ...: print(\"x is\", x)\nx is\t40\n" in out, "code cell echoed, then its output", out)
check("In [2]: x + 2\nOut[2]: 42\n" in out, "expression cell shows Out[2]", out)
check("2\ta\tb" in out, "args after -- reach the notebook as ...", out)
check(not ESC.search(out), "no escape sequences in piped output (even with TERM=xterm)", repr(out))

# --check on a good notebook
status, out, err = run(["--check", good, "--", "a", "b"])
check(status == 0, "--check exits 0 when all match", out + err)
check("4 code cells, 3 compared, all match" in out, "--check summary", out)
check("In [" not in out, "--check does not echo cells", out)

# --check on a wrong notebook: exit 1 and a unified diff
bad = write("bad.lua", GOOD.replace("--> 42", "--> 43").replace("--> x is\t40", "--> x is\t41"))
status, out, err = run(["--check", bad, "--", "a", "b"])
check(status == 1, "--check exits 1 on a mismatch", out + err)
check("cell 2 (%s:11) output differs:\n--- expected\n+++ actual\n@@ -1,1 +1,1 @@\n-43\n+42\n" % bad in out,
      "unified diff for the wrong value", out)
check("-x is\t41\n+x is\t40" in out, "diff for the wrong print", out)
check("2 failed" in out, "failure count", out)

# errors count as mismatches; the replay goes on after an error
errnb = write("err.lua", "-- %%\nerror('kaput')\n-- %%\nprint('after')\n--> after\n")
status, out, err = run(["--check", errnb])
check(status == 1 and "raised an error" in out and "kaput" in out, "--check: an error fails", out + err)
check("err.lua:2: kaput" in out, "error position is the file's line", out)
status, out, err = run([errnb])
check(status == 1 and "kaput" in out and "after" in out, "replay continues after an error, exits 1", out + err)

# a file without markers is one cell; CRLF line ends; no final newline
plain = write("plain.lua", "local a = 1\r\nprint(a + 1)\r\n--> 2")
status, out, err = run(["--check", plain])
check(status == 0 and "1 code cell, 1 compared, all match" in out, "no markers, CRLF, no final newline", out + err)
status, out, err = run([plain])
check(status == 0 and out == "2\n", "without markers: runs as a script (its output only)", out + err)
script = write("script.lua", "#!/usr/bin/env lunette\nprint(select('#', ...), ...)\nerror('bad')\n")
status, out, err = run([script, "--", "a", "b"])
check(status == 1 and out.startswith("2\ta\tb\n") and "script.lua:3: bad" in out and "In [" not in out,
      "a script: args as ..., an error exits 1 with its line", out + err)

# a missing file
status, out, err = run([os.path.join(tmp, "missing.lua")])
check(status == 1 and "missing.lua" in out + err, "missing notebook reported, exit 1", out + err)

# -i: the REPL afterwards keeps the notebook's state (plain input from a pipe)
status, out, err = run(["-i", good, "--", "a", "b"], input_text="y + 1\n")
check(status == 0 and re.search(r"In \[5\]: y \+ 1\nOut\[5\]: 81\n", out), "-i keeps the state", out + err)

# --step: Enter runs a cell, q stops
status, out, err = run(["--step", good, "--", "a", "b"], input_text="\n\nq\n")
check(status == 0 and "Out[2]: 42" in out and "1 2 3" not in out, "--step runs until q", out + err)

# the REPL on a pipe: a transcript without escape sequences, errors keep it going
status, out, err = run([], input_text="1+1\nerror('x')\nfunction f()\nreturn 3\nend\nf()\n%time f()\n",
                       env={"TERM": "xterm", "NO_COLOR": ""})
check(status == 0, "piped REPL exits 0 at the end of input", out + err)
check("In [1]: 1+1\nOut[1]: 2\n" in out and "Out[4]: 3" in out and "Wall time" in out,
      "piped REPL transcript", out)
check(not ESC.search(out), "no escape sequences from the piped REPL", repr(out))

# %run, %history, %reset on a pipe
script = write("script.lua", "z = (z or 0) + 10\nprint('ran', ...)\n")
status, out, err = run([], input_text="%%run %s p q\nz\n%%history 2\n%%reset\nz\n" % script)
check("ran\tp\tq" in out and "Out[2]: 10" in out, "%run runs a file with args", out + err)
check("  2: z\n  3: %history 2\n" in out, "%history shows the last inputs", out)
check("session reset" in out and "Out[5]: nil" in out, "%reset forgets globals", out)

# --plain on a terminal: no colour, no Readline escape sequences (bracketed paste)
s = Session(args=["--plain"], env={"NO_COLOR": ""})
check(s.prompt(1), "--plain prompt", s.out)
s.line("1+1")
check(s.expect(r"Out\[1\]: 2"), "--plain evaluates", s.out)
s.prompt(2)                          # Ctrl-D typed while busy reaches the kernel's canonical mode
s.send("\x04")
s.wait()
s.close()
check("\x1b" not in s.out, "--plain: no escape sequences on a terminal", repr(s.out))

# colour on a terminal without NO_COLOR, none with NO_COLOR
s = Session(env={"NO_COLOR": ""})
s.prompt(1)
s.line("1+1")
s.expect(r"Out\[1\]: 2")
s.prompt(2)
s.send("\x04")
s.wait()
s.close()
check("\x1b[32mIn [1]: " in s.out, "colour prompts on a terminal", repr(s.out))
s = Session(env={"NO_COLOR": "1"})
s.prompt(1)
s.line("1+1")
s.expect(r"Out\[1\]: 2")
s.prompt(2)
s.send("\x04")
s.wait()
s.close()
check("\x1b[32m" not in s.out and "\x1b[31m" not in s.out, "NO_COLOR: no colours", repr(s.out))

# lunette.plain / lunette.color reach Lua
status, out, err = run(["-e", "print(require'lunette'.plain)"])
check(status == 0 and "true" in out, "lunette.plain is true off a terminal", out + err)

# Ctrl-C during a non-interactive notebook: exit status 130 after the error
loop = write("loop.lua", "-- %%\nprint('started')\nwhile true do end\n")
s = Session(args=[loop])
check(s.expect("started"), "long notebook started", s.out)
s.interrupt()
check(s.expect("interrupted"), "notebook interrupted", s.out)
check(s.wait() == 130, "exit status 130 after Ctrl-C", repr(s.out))
s.close()

# --check on a terminal compares in plain ASCII: a recorded (plain) model summary matches
# although the terminal would draw it with box characters
summ = write("summary.lua", "-- %%\nm = nn.Sequential{nn.Input{4}, nn.Dense{2}}\nprint(m:summary_text())\n"
             + "".join("--> " + l.rstrip() + "\n" if l.strip() else "-->\n"
                       for l in run(["-e", "m = nn.Sequential{nn.Input{4}, nn.Dense{2}} print(m:summary_text())"])[1].splitlines()))
s = Session(args=["--check", summ])
status = s.wait()
check(status == 0 and "all match" in clean(s.out), "--check on a terminal passes on plain records", s.out[-600:])
s.close()

# %save on a terminal: colours are stripped, Unicode drawings are not recorded (a note says so)
nb = os.path.join(tmp, "tty-session.lua")
s = Session(env={"NO_COLOR": ""})
s.prompt(1)
s.line("m = nn.Sequential{nn.Input{4}, nn.Dense{2}}")
s.prompt(2)
s.line("m")
check(s.expect("Total params"), "summary shown on the terminal", s.since())
s.prompt(3)
s.line("1+1")
s.prompt(4)
s.line("%save " + nb)
check(s.expect(r"saved \d+ cells"), "%save on a terminal", s.since())
s.prompt(5)
s.send("\x04")
s.wait()
s.close()
saved = open(nb).read() if os.path.exists(nb) else ""
check("output drawn in Unicode, not recorded" in saved and "\x1b" not in saved and "--> 2\n" in saved,
      "%save keeps plain outputs and skips drawings", saved)
status, out, err = run(["--check", nb])
check(status == 0 and "all match" in out, "--check passes on a session saved on a terminal", out + err)

done()
