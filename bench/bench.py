#!/usr/bin/python3
"""bench.py BUILD_DIR - `make bench`: ticketd's figures on this machine.

For each store (the embedded SQLite, and MongoDB through the wire-protocol
mock of tests/support - Python, single-threaded: NOT representative of a
real mongod), in one run, side by side:

  ingest     1000 varied mails delivered to a real Dovecot (LMTP) before
             ticketd starts; mails/s from ticketd's start until the last one
             is committed (the mailbox has no unseen mail left)
  notify     the notification mails the ingest planned, sent to an SMTP
             sink (aiosmtpd), from ticketd's start until the outbox is empty
  latency    delivery (LMTP accepted) -> ticket visible over the API, with
             IMAP IDLE, 100 mails one at a time: p50 / p99. Dovecot itself
             waits 500 ms after a change before it tells an IDLE client
             (NOTIFY_DELAY_MSECS in lib-storage): that is the floor.
  API        wrk on loopback, bounded: req/s and p50/p99 for the ticket list,
             a ticket read, a comment create
  RSS        the daemon's peak resident memory (VmHWM)

Figures go to stdout and bench/results/<UTC date-time>.txt. Timing never
fails the run; a phase that cannot run says why ("n/a: ..."). Every wait is
bounded and every server is stopped, also on Ctrl-C.
"""
import datetime
import http.client
import imaplib
import json
import os
import platform
import re
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import mails  # noqa: E402

N_MAILS = int(os.environ.get("BENCH_MAILS", "1000"))
N_LATENCY = int(os.environ.get("BENCH_LATENCY_SAMPLES", "100"))
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "8"))
WRK_CONNECTIONS = int(os.environ.get("BENCH_WRK_CONNECTIONS", "16"))
INGEST_TIMEOUT = float(os.environ.get("BENCH_INGEST_TIMEOUT", "300"))
STORES = os.environ.get("BENCH_STORES", "sqlite,mongodb").split(",")
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


# ---- servers ------------------------------------------------------------------

def start_dovecot(run):
    imap, lmtp = free_port(), free_port()
    d = os.path.join(run, "dovecot")
    for sub in ("dovecot/base", "dovecot/state", "mail", "home"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    os.chmod(d, 0o755)
    os.chmod(os.path.join(d, "dovecot"), 0o755)
    if os.getuid() == 0:
        v = dict(LOGIN_USER="dovenull", INTERNAL_USER="dovecot", INTERNAL_GROUP="dovecot",
                 MAIL_UID="65534", MAIL_GID="65534")
        for sub in ("mail", "home"):
            os.chown(os.path.join(d, sub), 65534, 65534)
    else:
        import grp
        import pwd
        v = dict(LOGIN_USER=pwd.getpwuid(os.getuid()).pw_name, INTERNAL_USER=pwd.getpwuid(os.getuid()).pw_name,
                 INTERNAL_GROUP=grp.getgrgid(os.getgid()).gr_name, MAIL_UID=str(os.getuid()),
                 MAIL_GID=str(os.getgid()))
    v.update(DIR=d, INSTANCE="ticketd-bench-%d" % os.getpid(), IMAP_PORT=str(imap), LMTP_PORT=str(lmtp))
    conf = open(os.path.join(ROOT, "tests/support/dovecot.conf.in")).read()
    conf = re.sub(r"@([A-Z_]+)@", lambda m: v.get(m.group(1), m.group(0)), conf)
    # The bench is about ticketd: Dovecot's own fsyncs stay off as in the tests.
    open(os.path.join(d, "dovecot.conf"), "w").write(conf)
    with open(os.path.join(d, "dovecot/users"), "w") as f:
        f.write("support:{PLAIN}support::::::\n")
    os.chmod(os.path.join(d, "dovecot/users"), 0o644)
    p = spawn(["/usr/sbin/dovecot", "-F", "-c", os.path.join(d, "dovecot.conf")],
              os.path.join(run, "dovecot.log"))
    wait_port(imap, p, "dovecot")
    return p, imap, lmtp


def start_smtp_sink(run):
    port = free_port()
    box = os.path.join(run, "outbox")
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(box, sub), exist_ok=True)
    p = spawn([PY, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:%d" % port, "-c",
               "aiosmtpd.handlers.Mailbox", box], os.path.join(run, "smtp.log"))
    wait_port(port, p, "smtp sink")
    return p, port


def start_mongo_mock(run):
    port = free_port()
    p = spawn([PY, "-u", os.path.join(ROOT, "tests/support/mongo_mock.py"), "--port", str(port)],
              os.path.join(run, "mongo.log"))
    wait_port(port, p, "mongo mock", timeout=30)
    return p, "mongodb://127.0.0.1:%d/ticketd_bench?serverSelectionTimeoutMS=5000&connectTimeoutMS=2000" % port


# ---- ticketd -------------------------------------------------------------------

def write_config(run, store_uri, api_port, smtp_port, imap_port, with_mailbox):
    for name in ("jwt_secret", "reply_secret"):
        with open(os.path.join(run, name), "w") as f:
            f.write(os.urandom(32).hex())
    conf = """[store]
uri = {store}
[log]
level = info
[api]
port = {api}
jwt_secret_file = {run}/jwt_secret
login_max_failures_per_address = 1000000
rate_limit_per_address = 0
rate_limit_per_token = 0
[notify]
support_address = support@localhost
ticket_url = http://127.0.0.1:{api}/api/v1/tickets/
reply_secret_file = {run}/reply_secret
builtin_templates_dir = {root}/templates
max_per_recipient_hour = 0
[smtp]
url = smtp://127.0.0.1:{smtp}
starttls = no
""".format(store=store_uri, api=api_port, run=run, root=ROOT, smtp=smtp_port)
    if with_mailbox:
        conf += """[mailgw]
rate_limit = 0
support_addresses = support@localhost
[mailbox support]
host = 127.0.0.1
port = {imap}
tls = none
user = support
password = support
address = support@localhost
""".format(imap=imap_port)
    path = os.path.join(run, "ticketd.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path


def ticketd(bin_, conf, *args, stdin=None, timeout=60):
    return subprocess.run([bin_, "--config", conf] + list(args), input=stdin, capture_output=True,
                          timeout=timeout)


class Api:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.token = None

    def req(self, method, path, body=None):
        headers = {}
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, (json.loads(data) if data and data[:1] in b"{[" else data)
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                if attempt:
                    raise

    def login(self, email, password):
        st, j = self.req("POST", "/api/v1/auth/login", {"email": email, "password": password})
        if st != 200:
            raise RuntimeError("login %s: %s %s" % (email, st, j))
        self.token = j["access_token"]
        return self.token


def start_ticketd(bin_, conf, run, api_port):
    p = spawn([bin_, "--config", conf, "serve"], os.path.join(run, "ticketd.log"))
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20:
        if p.poll() is not None:
            raise RuntimeError("ticketd exited: " + open(p.logpath).read()[-500:])
        try:
            c = http.client.HTTPConnection("127.0.0.1", api_port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return p
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError("ticketd did not answer /healthz within 20 s")


def vm_hwm_kb(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


# ---- phases --------------------------------------------------------------------

def deliver(lmtp_port, items):
    with smtplib.LMTP("127.0.0.1", lmtp_port, timeout=30) as s:
        for _, raw in items:
            s.sendmail("sender@bench.example", ["support@localhost"], raw)


def unseen(imap_port):
    m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
    try:
        m.login("support", "support")
        m.select("INBOX", readonly=True)
        typ, data = m.search(None, "UNSEEN")
        return len(data[0].split()) if typ == "OK" else None
    finally:
        try:
            m.logout()
        except Exception:
            pass


def phase_ingest(r, ctx):
    items = mails.make(N_MAILS)
    t = time.monotonic()
    deliver(ctx["lmtp"], items)
    log("  delivered %d mails to Dovecot in %.1f s" % (len(items), time.monotonic() - t))
    p = start_ticketd(ctx["bin"], ctx["conf"], ctx["run"], ctx["api_port"])
    t0 = time.monotonic()
    ctx["proc"] = p
    left = None
    while time.monotonic() - t0 < INGEST_TIMEOUT:
        left = unseen(ctx["imap"])
        if left == 0:
            break
        if p.poll() is not None:
            raise RuntimeError("ticketd exited during ingest")
        time.sleep(0.05)
    dt = time.monotonic() - t0
    if left != 0:
        r["ingest"] = "n/a: %s of %d left after %d s" % (left, N_MAILS, INGEST_TIMEOUT)
        return
    r["ingest"] = "%.0f mails/s (%.1f s)" % (N_MAILS / dt, dt)
    r["ingest_rate"] = N_MAILS / dt
    ctx["ingest_s"] = dt


def metric(api_port, name):
    c = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    total = None
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total = (total or 0) + float(line.rsplit(" ", 1)[1])
    return total


def phase_drain(r, ctx):
    """The notifications the ingest planned: until the outbox is empty."""
    t0 = time.monotonic()
    sent0 = metric(ctx["api_port"], "ticketd_outbox_sent_total") or 0
    while time.monotonic() - t0 < 300:
        if metric(ctx["api_port"], "ticketd_outbox_pending") == 0:
            break
        time.sleep(0.2)
    else:
        r["drain"] = "n/a: outbox not empty after 300 s"
        return
    sent = metric(ctx["api_port"], "ticketd_outbox_sent_total") or 0
    dt = time.monotonic() - t0 + ctx.get("ingest_s", 0)
    r["drain"] = "%d mails sent, %.0f/s" % (sent, sent / dt if dt > 0 else 0)


def newest_subject(api):
    st, j = api.req("GET", "/api/v1/tickets?limit=1")
    if st == 200 and j.get("items"):
        return j["items"][0]["subject"]
    return None


LATENCY_GIVE_UP_S = 10


def phase_latency(r, ctx, api):
    """A probe not seen within LATENCY_GIVE_UP_S counts as infinitely late
    (the next probe's arrival usually brings it in): the percentiles stay
    honest and one stuck mail does not end the phase."""
    samples, late = [], 0
    # Let the poller settle into IDLE after the ingest burst.
    time.sleep(1.0)
    with smtplib.LMTP("127.0.0.1", ctx["lmtp"], timeout=30) as s:
        for i in range(N_LATENCY):
            subject = "latency probe %d %d" % (i, os.getpid())
            raw = mails.one(i, subject)
            t0 = time.monotonic()
            s.sendmail("probe@latency.example", ["support@localhost"], raw)
            while True:
                if newest_subject(api) == subject:
                    samples.append((time.monotonic() - t0) * 1000)
                    break
                if time.monotonic() - t0 > LATENCY_GIVE_UP_S:
                    samples.append(float("inf"))
                    late += 1
                    break
                time.sleep(0.001)
            time.sleep(0.02)

    def ms(v):
        return "> %d s" % LATENCY_GIVE_UP_S if v == float("inf") else "%.0f ms" % v
    r["latency"] = "p50 %s, p99 %s" % (ms(pct(samples, 50)), ms(pct(samples, 99)))
    if late:
        r["latency"] += " (%d of %d over %d s)" % (late, len(samples), LATENCY_GIVE_UP_S)
    r["latency_ms"] = (pct(samples, 50), pct(samples, 99))


WRK_LUA = {
    "list": """
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.path = "/api/v1/tickets"
""",
    "read": """
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local n = tonumber(os.getenv("BENCH_TICKETS"))
request = function()
  return wrk.format("GET", "/api/v1/tickets/" .. math.random(1, n))
end
""",
    "comment": """
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
local n = tonumber(os.getenv("BENCH_TICKETS"))
request = function()
  return wrk.format("POST", "/api/v1/tickets/" .. math.random(1, n) .. "/comments", nil,
                    '{"body":"We are looking into it; thank you for your patience."}')
end
""",
}


def parse_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)$", s)
    if not m:
        return float("nan")
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def wrk(ctx, kind, token, tickets):
    script = os.path.join(ctx["run"], "wrk_%s.lua" % kind)
    with open(script, "w") as f:
        f.write(WRK_LUA[kind])
    env = dict(os.environ, BENCH_TOKEN=token, BENCH_TICKETS=str(tickets))
    out = subprocess.run(["wrk", "-t2", "-c%d" % WRK_CONNECTIONS, "-d%ds" % WRK_SECONDS, "--latency",
                          "-s", script, "http://127.0.0.1:%d" % ctx["api_port"]],
                         capture_output=True, text=True, env=env, timeout=WRK_SECONDS + 60)
    text = out.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"\s50%\s+(\S+)", text)
    p99 = re.search(r"\s99%\s+(\S+)", text)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    if not rps:
        return "n/a: wrk: " + (out.stderr or text)[-200:].strip()
    s = "%.0f req/s, p50 %.2f ms, p99 %.2f ms" % (float(rps.group(1)), parse_ms(p50.group(1)),
                                                    parse_ms(p99.group(1)))
    if bad:
        s += " (%s non-2xx)" % bad.group(1)
    if errors:
        s += " (%s)" % errors.group(0)
    return s


def seed_tickets(api, want):
    st, j = api.req("GET", "/api/v1/tickets?limit=1")
    have = j["items"][0]["number"] if st == 200 and j.get("items") else 0
    for i in range(have, want):
        st, _ = api.req("POST", "/api/v1/tickets", {"subject": "Seeded ticket %d" % i,
                                                    "body": "Seeded for the API benchmark."})
        if st != 201:
            raise RuntimeError("seeding tickets: HTTP %s" % st)
    st, j = api.req("GET", "/api/v1/tickets?limit=1")
    return j["items"][0]["number"]


def phase_api(r, ctx, api):
    if shutil.which("wrk") is None:
        for k in ("list", "read", "comment"):
            r["api_" + k] = "n/a: wrk is not installed (make deps)"
        return
    tickets = seed_tickets(api, N_MAILS)
    for k in ("list", "read", "comment"):
        r["api_" + k] = wrk(ctx, k, api.token, tickets)


def run_store(store, bin_, results):
    r = results.setdefault(store, {})
    run = tempfile.mkdtemp(prefix="ticketd-bench.")
    os.chmod(run, 0o755)
    ctx = {"bin": bin_, "run": run, "api_port": free_port()}
    try:
        _, ctx["imap"], ctx["lmtp"] = start_dovecot(run)
        _, smtp = start_smtp_sink(run)
        if store == "sqlite":
            uri = "sqlite:%s/ticketd.db" % run
        else:
            _, uri = start_mongo_mock(run)
        conf = write_config(run, uri, ctx["api_port"], smtp, ctx["imap"], True)
        chk = ticketd(bin_, conf, "check-config")
        mailgw = chk.returncode == 0
        if not mailgw:  # a build without the mail gateway: its keys are unknown
            conf = write_config(run, uri, ctx["api_port"], smtp, ctx["imap"], False)
            chk = ticketd(bin_, conf, "check-config")
            if chk.returncode != 0:
                raise RuntimeError("check-config: " + chk.stderr.decode())
        ctx["conf"] = conf
        for email, role in (("admin@localhost", "admin"), ("agent@localhost", "agent")):
            out = ticketd(bin_, conf, "user", "add", "--email", email, "--role", role, "--password-stdin",
                          stdin=b"bench password 1\n")
            if out.returncode != 0:
                raise RuntimeError("user add: " + out.stderr.decode())
        if mailgw:
            log("[%s] ingest" % store)
            phase_ingest(r, ctx)
        else:
            r["ingest"] = r["latency"] = "n/a: no mail gateway in this build"
            ctx["proc"] = start_ticketd(bin_, conf, run, ctx["api_port"])
        # Peak RSS: argon2id (libsodium's "interactive" cost) takes 64 MiB
        # for each password check, freed at once. The workload's own peak is
        # measured apart: VmHWM before the login, and again after resetting
        # it (clear_refs 5) once the login is done.
        pid = ctx["proc"].pid
        hwm_before = vm_hwm_kb(pid) or 0
        api = Api(ctx["api_port"])
        api.login("agent@localhost", "bench password 1")
        hwm_login = vm_hwm_kb(pid) or 0
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
            reset = True
        except OSError:
            reset = False
        if mailgw and "ingest_rate" in r:
            log("[%s] notifications of the ingest" % store)
            phase_drain(r, ctx)
            log("[%s] delivery -> ticket latency" % store)
            phase_latency(r, ctx, api)
        elif mailgw:
            r["latency"] = "n/a: ingest did not finish"
        log("[%s] API" % store)
        phase_api(r, ctx, api)
        hwm_after = vm_hwm_kb(pid) or 0
        if reset:
            r["rss"] = "%.1f MB" % (max(hwm_before, hwm_after) / 1024.0)
            r["rss_login"] = "%.1f MB" % (max(hwm_login, hwm_after) / 1024.0)
        else:
            r["rss"] = "n/a: cannot reset VmHWM"
            r["rss_login"] = "%.1f MB" % (max(hwm_login, hwm_after) / 1024.0)
        rc = stop(ctx["proc"], timeout=30)
        if rc != 0:
            r["rss"] += " (ticketd exit %s)" % rc
    except Exception as e:  # a phase that cannot run says why; the others still run
        log("[%s] %s" % (store, e))
        r.setdefault("error", str(e))
    finally:
        stop_all()
        if os.environ.get("BENCH_KEEP") == "1":
            log("[%s] kept %s" % (store, run))
        else:
            shutil.rmtree(run, ignore_errors=True)


ROWS = [
    ("ingest", "mail ingest, %d mails end to end" % N_MAILS),
    ("drain", "notifications of the ingest (SMTP)"),
    ("latency", "delivery -> ticket (IDLE), %d mails" % N_LATENCY),
    ("api_list", "GET /api/v1/tickets"),
    ("api_read", "GET /api/v1/tickets/{n}"),
    ("api_comment", "POST /api/v1/tickets/{n}/comments"),
    ("rss", "peak RSS of the daemon (VmHWM)"),
    ("rss_login", "  the same with a login's argon2id"),
    ("error", "error"),
]


def report(results, bin_):
    now = datetime.datetime.now(datetime.timezone.utc)
    version = subprocess.run([bin_, "--version"], capture_output=True, text=True).stdout.strip()
    head = ["ticketd benchmarks - %s UTC" % now.strftime("%Y-%m-%d %H:%M"),
            "%s (%s); %s, %d cores; wrk -t2 -c%d -d%ds on loopback" % (
                version, bin_, platform.machine(), os.cpu_count() or 0, WRK_CONNECTIONS, WRK_SECONDS)]
    stores = [s for s in STORES if s in results]
    names = {"sqlite": "sqlite (embedded)", "mongodb": "mongodb (Python mock*)"}
    w0 = max(len(label) for _, label in ROWS) + 2
    widths = [max([len(names.get(s, s))] + [len(str(results[s].get(k, ""))) for k, _ in ROWS]) + 2
              for s in stores]
    lines = head + [""]
    lines.append("".ljust(w0) + "".join(names.get(s, s).ljust(w) for s, w in zip(stores, widths)))
    for key, label in ROWS:
        if not any(key in results[s] for s in stores):
            continue
        lines.append(label.ljust(w0) + "".join(str(results[s].get(key, "-")).ljust(w)
                                               for s, w in zip(stores, widths)))
    lines += ["", "* tests/support/mongo_mock.py: Python (mockupdb + mongomock), one thread; it measures",
              "  ticketd's MongoDB code path, not what a real mongod can do."]
    text = "\n".join(l.rstrip() for l in lines) + "\n"
    print(text)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", now.strftime("%Y-%m-%d-%H%M") + ".txt")
    with open(path, "w") as f:
        f.write(text)
    print("written to %s" % os.path.relpath(path, ROOT))


def main():
    if len(sys.argv) != 2:
        print("usage: bench.py BUILD_DIR", file=sys.stderr)
        return 2
    bin_ = os.path.abspath(os.path.join(sys.argv[1], "ticketd"))
    if not os.access(bin_, os.X_OK):
        print("bench: no %s (run make first)" % bin_, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(130))
    results = {}
    try:
        for store in STORES:
            run_store(store, bin_, results)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        stop_all()
    report(results, bin_)
    return 0


if __name__ == "__main__":
    sys.exit(main())
