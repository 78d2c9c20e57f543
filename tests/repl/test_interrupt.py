"""test_interrupt.py: a real Ctrl-C (the ^C key through the pseudo-terminal, and SIGINT sent
with kill) during fit, evaluate, predict, data loading and saving in the REPL: each time the
prompt comes back, nothing is half-done (the model still predicts, a saved file still loads and
equals the model, no temporary files are left, a dataset variable is either unchanged or
complete) and training continues afterwards."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, check, done, scratch  # noqa: E402

tmp = scratch()
env = {"LUNETTE_HISTORY": os.path.join(tmp, "history"), "HOME": tmp}
model_path = os.path.join(tmp, "m.safetensors")
IDX = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def cmd(s, code, pattern, name, timeout=20):
    """Runs one line and waits for pattern and then the next prompt."""
    s.line(code)
    m = s.expect(pattern, timeout)
    check(m, name, s.since())
    check(s.prompt(), name + ": prompt", s.since())
    return m


def interrupt_during(s, code, how, name, pattern=r"interrupted|Interrupted at epoch \d+, batch \d+"):
    """Starts code, lets it run, interrupts it with ^C or SIGINT; expects pattern and a prompt."""
    s.line("print('run' .. 'ning') " + code)
    s.expect(r"running", 20)   # a ^C signal would overtake typed text still in the pty
    time.sleep(1.0)
    if how == "key":
        s.interrupt()
    else:
        os.kill(s.pid, signal.SIGINT)
    m = s.expect(pattern, 20)
    check(m, name + ": interrupted (" + how + ")", s.since())
    check(s.prompt(), name + ": the prompt returns", s.since())
    return m


s = Session(env=env)
check(s.prompt(1), "first prompt", s.out)
cmd(s, 'lunette = require "lunette"; lunette.seed(3); '
       'm = nn.Sequential{nn.Conv2D{filters=8, kernel=3, activation="relu", input_shape={16,16,1}}, '
       'nn.BatchNorm(), nn.Flatten(), nn.Dense{10, activation="softmax"}}; '
       'm:compile{optimizer="adam", loss="sparse_categorical_crossentropy", metrics={"accuracy"}}; '
       'xs = tensor.randn(2000, 16, 16, 1); ys = (tensor.rand(2000) * 10):apply(math.floor); '
       'xt = xs:slice(1, 1, 16); print("READY", m:count_params())',
    r"READY\s+\d+", "model and data built")
cmd(s, 'function finite(t) local v = (t * 0):sum() return v == v end; '
       'function tmpfiles() local n = 0 for f in io.popen("ls -a %s"):lines() do '
       'if f:find(".tmp-", 1, true) then n = n + 1 end end return n end' % tmp,
    r"", "helpers")

# fit with the progress line (a terminal): ^C stops at a batch, history so far returned
m = interrupt_during(s, "h = m:fit(xs, ys, {epochs = 1000, batch_size = 16})", "key", "fit",
                     r"Interrupted at epoch (\d+), batch (\d+)")
cmd(s, 'print("FIT", h.interrupted, #h.history.loss, finite(m:predict(xt)))',
    r"FIT\s+true\s+\d+\s+true", "fit returned the history; the model predicts finite values")
cmd(s, 'p0 = m:predict(xt); print("SAVED", m:save("%s"), m.optimizer.iterations)' % model_path,
    r"SAVED\s+true\s+\d+", "the interrupted model saves")
cmd(s, 'm2 = nn.load("%s"); print("SAME", (m2:predict(xt) - p0):abs():max(), '
       'm2.optimizer.iterations == m.optimizer.iterations)' % model_path,
    r"SAME\s+0\.0\s+true", "the saved file equals the model (weights and optimizer)")
cmd(s, 'h2 = m:fit(xs:slice(1, 1, 64), ys:slice(1, 1, 64), {epochs = 2, verbose = 0}); '
       'print("AGAIN", #h2.history.loss, h2.interrupted, finite(m:predict(xt)))',
    r"AGAIN\s+2\s+nil\s+true", "training continues after the interrupt")

# SIGINT (kill) during fit with verbose=0 and validation
interrupt_during(s, "h = m:fit(xs, ys, {epochs = 1000, batch_size = 32, verbose = 0, "
                    "validation_split = 0.2})", "kill", "fit (SIGINT)",
                 r"Interrupted at epoch \d+, batch \d+")
cmd(s, 'print("FIT2", h.interrupted, finite(m:predict(xt)))', r"FIT2\s+true\s+true",
    "fit after SIGINT: history and model")

# evaluate and predict in a loop: interrupted, the model unchanged
cmd(s, 'p0 = m:predict(xt); l0 = m:evaluate(xs, ys); print("L0", l0 == l0)', r"L0\s+true", "baseline")
interrupt_during(s, "n = 0; while true do m:evaluate(xs, ys); n = n + 1 end", "key", "evaluate")
interrupt_during(s, "while true do m:predict(xs) end", "kill", "predict")
cmd(s, 'print("EVAL", m:evaluate(xs, ys) == l0, (m:predict(xt) - p0):abs():max())',
    r"EVAL\s+true\s+0\.0", "evaluate/predict interrupts leave the model as it was")

# data loading: the variable is either the old value or the complete tensor, never partial
if os.path.exists(IDX):
    cmd(s, "d = nil; loads = 0", r"", "before loading")
    interrupt_during(s, 'while true do d = data.idx("%s"); loads = loads + 1 end' % IDX, "key",
                     "data loading")
    cmd(s, 'print("DATA", d == nil or d:numel() == 60000 * 28 * 28, loads)', r"DATA\s+true\s+\d+",
        "a loaded dataset is complete or absent")
    cmd(s, 'd = data.idx("%s"); print("RELOAD", d:numel())' % IDX, r"RELOAD\s+47040000",
        "loading works after the interrupt")
else:
    print("notice: %s missing; data-loading interrupt skipped" % IDX)

# saving in a loop: the file on disk always loads and equals the model; no temporary files
interrupt_during(s, 'while true do m:save("%s") end' % model_path, "kill", "saving")
cmd(s, 'm3 = nn.load("%s"); print("SAVE", (m3:predict(xt) - m:predict(xt)):abs():max(), tmpfiles())'
    % model_path, r"SAVE\s+0\.0\s+0", "the file is whole after an interrupted save loop")

# the REPL is still alive and state intact; Ctrl-D exits cleanly
cmd(s, 'print("ALIVE", m:count_params())', r"ALIVE\s+\d+", "session still alive")
s.send("\x04")
check(s.wait() == 0, "Ctrl-D exits with status 0", s.since())
s.close()
done()
