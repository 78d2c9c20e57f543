"""harness.py: drives the real lunette binary through a pseudo-terminal (python3's pty
module) and asserts on what a user sees. Session.expect waits for a regex with a generous
timeout, so tests do not depend on timing; check() counts failures like tests/c/check.h."""
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("LUNETTE_BIN") or os.path.join(os.environ.get("LUNETTE_BUILD", "."), "lunette")
TIMEOUT = float(os.environ.get("LUNETTE_TEST_TIMEOUT", "10"))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|[\x01\x02]")

passed = 0
failed = 0


def check(cond, name, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s %s" % (name, detail[-2000:] if detail else ""))
    sys.stdout.flush()
    return cond


def done():
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def scratch():
    """A fresh scratch directory under LUNETTE_TEST_TMP (or the system temp dir)."""
    base = os.environ.get("LUNETTE_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix="repl-", dir=base)


def clean(text):
    """Terminal output with escape sequences and carriage returns removed."""
    return ANSI.sub("", text).replace("\r", "")


class Session:
    """lunette in a pseudo-terminal. All output is kept in self.out (raw bytes decoded)."""

    def __init__(self, args=(), env=None, cols=100):
        e = dict(os.environ)
        e.setdefault("TERM", "xterm")
        if e.get("TERM") == "dumb":
            e["TERM"] = "xterm"
        e["INPUTRC"] = "/dev/null"           # the user's inputrc must not change the keys
        e.setdefault("PAGER", "cat")         # long help is paged: through cat, it stays in self.out
        if env:
            e.update(env)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                import fcntl, struct, termios
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
            except Exception:
                pass
            os.execve(BIN, [BIN] + list(args), e)
        self.out = ""
        self.mark = 0                          # expect() searches from here
        self.status = None

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            raise EOFError
        self.out += data.decode("utf-8", "replace")
        return True

    def expect(self, pattern, timeout=TIMEOUT):
        """Waits until pattern (a regex) appears in the cleaned output after the mark;
        moves the mark past it and returns the match, or None on timeout/EOF."""
        rx = re.compile(pattern)
        end = time.time() + timeout
        while True:
            text = clean(self.out)
            m = rx.search(text, self.mark)
            if m:
                self.mark = m.end()
                return m
            left = end - time.time()
            if left <= 0:
                return None
            try:
                self._read(min(left, 0.2))
            except EOFError:
                text = clean(self.out)
                m = rx.search(text, self.mark)
                if m:
                    self.mark = m.end()
                return m

    def prompt(self, n=None):
        return self.expect(r"In \[%s\]: " % (n if n is not None else r"\d+"))

    def send(self, s):
        os.write(self.fd, s.encode())

    def line(self, s):
        self.send(s + "\r")

    def interrupt(self):
        self.send("\x03")

    def since(self):
        return clean(self.out)[self.mark:]

    def wait(self, timeout=TIMEOUT):
        """Reads to the end and returns the exit status (or None if it did not exit)."""
        end = time.time() + timeout
        while time.time() < end:
            try:
                self._read(0.2)
            except EOFError:
                break
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                self._drain()                  # what it wrote just before exiting
                return self.status
        try:
            pid, st = os.waitpid(self.pid, 0 if time.time() < end else os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
        except ChildProcessError:
            pass
        return self.status

    def _drain(self):
        """Reads what is left in the terminal after the process has exited."""
        try:
            while self._read(0.2):
                pass
        except EOFError:
            pass

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        try:
            os.close(self.fd)
        except OSError:
            pass


def run(args, input_text=None, env=None, timeout=TIMEOUT):
    """lunette with pipes (no terminal): returns (exit status, stdout, stderr)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([BIN] + list(args), input=input_text, capture_output=True, text=True,
                       env=e, timeout=timeout)
    return p.returncode, p.stdout, p.stderr
