"""procs.py - process helpers of the benchmarks: free ports, spawning and
always stopping what was started (PROCS), bounded waits, percentiles."""
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"
PROCS = []  # every Popen we started, stopped at the end whatever happens


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def spawn(argv, logpath, env=None):
    f = open(logpath, "ab")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=f, env=env,
                         start_new_session=True)
    p.logpath = logpath
    PROCS.append(p)
    return p


def stop(p, timeout=15):
    """TERM, bounded wait, KILL. Returns the exit code (None if killed)."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
            return None
    if p in PROCS:
        PROCS.remove(p)
    return p.returncode


def stop_all():
    for p in reversed(list(PROCS)):
        stop(p)


def wait_port(port, proc, what, timeout=15):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError("%s exited during start-up (see %s)" % (what, proc.logpath))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("%s not up after %d s" % (what, timeout))


def pct(values, q):
    v = sorted(values)
    if not v:
        return float("nan")
    k = min(len(v) - 1, max(0, int(round(q / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


