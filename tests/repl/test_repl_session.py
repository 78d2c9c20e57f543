"""test_repl_session.py: an interactive session in a pseudo-terminal: results, multi-line
input, errors, _ and Out, completion, Ctrl-C at the prompt and during Lua and engine work,
magics, history across sessions, and %save followed by `lunette --check`."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, check, clean, done, run, scratch  # noqa: E402

tmp = scratch()
hist = os.path.join(tmp, "history")
env = {"LUNETTE_HISTORY": hist, "HOME": tmp}

s = Session(env=env)
check(s.prompt(1), "first prompt In [1]", s.out)

# an expression prints without return; Out[n]
s.line("1+1")
check(s.expect(r"Out\[1\]: 2\n"), "1+1 shows Out[1]: 2", s.out)

# a function over three lines: continuation prompts, then it works
check(s.prompt(2), "prompt 2")
s.line("function twice(x)")
check(s.expect(r"\.\.\.: "), "continuation prompt", s.since())
s.line("  return 2 * x")
check(s.expect(r"\.\.\.: "), "second continuation prompt", s.since())
s.line("end")
check(s.prompt(3), "function defined", s.since())
s.line("twice(21)")
check(s.expect(r"Out\[3\]: 42"), "the three-line function works", s.since())

# several results together, _ and Out[n]
s.line('1, "two", {3}')
check(s.expect(r'Out\[4\]: 1, "two", \{3\}'), "several results print together", s.since())
s.line("_")
check(s.expect(r"Out\[5\]: 1\n"), "_ is the last value", s.since())
s.line("Out[3] + 1")
check(s.expect(r"Out\[6\]: 43"), "Out[n] holds earlier values", s.since())

# pretty printing: nested tables, sorted keys, cycles marked
s.line("c = {b = 2, a = {1, 2}}; c.self = c; c")
check(s.expect(r"Out\[7\]: \{a = \{1, 2\}, b = 2, self = <cycle>\}"), "nested table, cycle", s.since())

# an error prints its message and traceback; the REPL goes on with state intact
s.line('error("boom")')
m = s.expect(r"In \[9\]: ")
text = clean(s.out)
check(m and "In[8]:1: boom" in text, "error message shown", text[-500:])
check("repl.lua" not in text and "xpcall" not in text, "traceback without the REPL's frames", text[-500:])
s.line("twice(5)")
check(s.expect(r"Out\[9\]: 10"), "REPL alive after an error", s.since())

# Tab completion: a field after '.', a method after ':' (tensor userdata)
s.send("tensor.ze\t")
check(s.expect(r"tensor\.zeros"), "tensor.ze + Tab completes tensor.zeros", s.since())
s.line("(3)")
check(s.expect(r"Out\[10\]:\ntensor\(3\)"), "completed call runs", s.since())
s.line("t = tensor.zeros(2)")
check(s.prompt(12), "t defined")
s.send("t:nu\t")
check(s.expect(r"t:numel"), "t:nu + Tab completes t:numel", s.since())
s.line("()")
check(s.expect(r"Out\[12\]: 2"), "t:numel() runs", s.since())
has_nn = run(["-e", "os.exit(rawget(_G, 'nn') and nn.Conv2D and 0 or 3)"])[0] == 0
if has_nn:
    s.send("nn.Con\t")
    time.sleep(0.3)
    s.send("\t")
    m = s.expect(r"Conv1D[\s\S]*Conv2D|Conv2D[\s\S]*Conv1D", timeout=10)
    check(m, "nn.Con + Tab offers Conv1D and Conv2D", s.since())
    s.interrupt()
    s.expect(r"\^C\n")
    s.prompt(13)
# a global, and completion never raises on odd text
s.send("twi\t")
check(s.expect(r"twice"), "global completion", s.since())
s.send("\x15")                                  # Ctrl-U: drop the line
s.send("undefined_thing.x.y:\t\"/\tZQ")
s.expect(r"ZQ")                                 # typed text consumed before the signal
s.interrupt()
s.expect(r"\^C\n")
check(s.prompt(13), "odd completions do not break the prompt", s.since())

# %save writes this session's cells with outputs; --check passes on the file
nb = os.path.join(tmp, "session.lua")
s.line("%save " + nb)
check(s.expect(r"saved \d+ cells to "), "%save reports", s.since())
saved = open(nb).read() if os.path.exists(nb) else ""
check("-- %%\nfunction twice(x)\n  return 2 * x\nend\n" in saved, "saved the multi-line cell", saved)
check("-- %%\n1+1\n--> 2\n" in saved, "saved an output as --> lines", saved)
check("boom" not in saved and "%time" not in saved, "failed cells and magics not saved", saved)
check(not [f for f in os.listdir(tmp) if ".tmp" in f], "no temporary file left", str(os.listdir(tmp)))
status, out, err = run(["--check", nb])
check(status == 0 and "all match" in out, "lunette --check passes on the saved session", out + err)


# Ctrl-C at the prompt clears the line (same number, nothing run)
s.send("this is not run")
s.expect(r"this is not run")                    # echoed: consumed before the signal
s.interrupt()
check(s.expect(r"\^C\n"), "^C shown at the prompt", s.since())
check(s.prompt(14), "Ctrl-C at the prompt gives a fresh prompt", s.since())

# Ctrl-C during a long Lua loop returns to the prompt, state intact
s.line("x = 7; print('lo' .. 'oping'); while true do x = x + 0 end")
s.expect(r"looping")                            # running before the signal
time.sleep(0.2)
s.interrupt()
check(s.expect(r"interrupted"), "Ctrl-C interrupts a Lua loop", s.since())
check(s.prompt(15), "back at the prompt after the interrupt", s.since())
s.line("x, twice(1)")
check(s.expect(r"Out\[15\]: 7, 2"), "state intact after the interrupt", s.since())

# Ctrl-C during engine work (a loop of tensor operations), twice in a row
s.line("a = tensor.ones(200, 200); n = 0; print('mul' .. 'tiplying'); while true do a:matmul(a); n = n + 1 end")
s.expect(r"multiplying")
time.sleep(0.3)
s.interrupt()
s.interrupt()
check(s.expect(r"interrupted"), "Ctrl-C interrupts engine calls", s.since())
check(s.prompt(17), "prompt after a double Ctrl-C", s.since())
s.line("n > 0, a:numel()")
check(s.expect(r"Out\[17\]: true, 40000"), "engine state intact", s.since())

# Ctrl-C during training: fit stops at a batch boundary, returns the history so far
has_fit = run(["-e", "os.exit(rawget(_G, 'nn') and nn.Sequential and 0 or 3)"])[0] == 0
if has_fit:
    s.line('m = nn.Sequential{nn.Dense(16, {input_shape={32}}), nn.Dense(4)}; '
           'm:compile{loss="sparse_categorical_crossentropy", optimizer="sgd"}; '
           'xs = tensor.randn(512, 32); ys = tensor.zeros(512)')
    check(s.prompt(19), "model built", s.since())
    s.line("print('fit' .. 'ting'); h = m:fit(xs, ys, {epochs = 100000, batch_size = 8, verbose = 0})")
    s.expect(r"fitting")
    time.sleep(1.0)
    s.interrupt()
    check(s.expect(r"Interrupted at epoch \d+, batch \d+"), "Ctrl-C stops fit", s.since())
    check(s.prompt(20), "prompt after interrupting fit", s.since())
    s.line("h.interrupted, m:count_params()")
    check(s.expect(r"Out\[20\]: true, 596"), "history returned, model intact", s.since())

# magics
s.line("%time twice(4)")
check(s.expect(r"Wall time: [0-9.]+ ?[nµum]?s"), "%time reports wall time", s.since())
s.line("%timeit twice(4)")
check(s.expect(r"best [0-9.]+ \S+, median [0-9.]+ \S+ per loop"), "%timeit best and median", s.since())
s.line("%who")
check(s.expect(r"twice\s+function"), "%who lists user globals", s.since())
s.line("%help")
check(s.expect(r"tensor\.zeros"), "%help lists topics", s.since())
s.line("%help tensor.zeros")
check(s.expect(r"A tensor of zeros"), "%help NAME prints the help", s.since())
s.line("%nosuch")
check(s.expect(r"unknown magic %nosuch"), "unknown magic reported", s.since())
check(s.prompt(), "prompt before Ctrl-D")

s.send("\x04")                                   # Ctrl-D exits, saving history
check(s.wait() == 0, "Ctrl-D exits with status 0", s.out[-300:])
s.close()


# history: written, bounded file, multi-line entries read back as one
htext = open(hist).read() if os.path.exists(hist) else ""
check("twice(21)" in htext and "%save" in htext, "history written", htext[-300:])
s = Session(env=env)
check(s.prompt(1), "second session starts")
s.send("\x1b[A")                                 # Up: the last entry
check(s.expect(r"%nosuch"), "history read back", s.since())
s.send("\x15")
s.send("\x12twice(x")                            # Ctrl-R search, Enter runs the entry
time.sleep(0.3)
s.send("\r")
check(s.prompt(2), "recalled entry ran as one cell", s.since())
s.line("twice(8)")
check(s.expect(r"Out\[2\]: 16"), "multi-line history entry recalled as one", s.since())
check(s.prompt(3), "prompt before Ctrl-D")
s.send("\x04")
st = s.wait()
check(st == 0, "second session exits", "status %s: %s" % (st, clean(s.out)[-1500:]))
s.close()

done()
