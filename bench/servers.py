"""servers.py - the servers a benchmark run starts on loopback (Dovecot,
an SMTP sink, the MongoDB wire-protocol mock) and ticketd itself: its
configuration, start-up, a small API client and what /proc and /metrics
say about it."""
import http.client
import json
import os
import re
import subprocess
import time

from procs import ROOT, PY, free_port, spawn, wait_port

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


def smtp_sink_binary():
    """Postfix's smtp-sink, taken out of Debian's postfix package by `make
    bench` (Makefile: bench-tools) without installing it, or None."""
    tools = os.environ.get("BENCH_TOOLS") or os.path.join(ROOT, "build", "bench-tools")
    path = os.path.join(tools, "usr", "sbin", "smtp-sink")
    return path if os.access(path, os.X_OK) else None


def start_smtp_sink(run, kind=None):
    """kind (BENCH_SMTP_SINK): "postfix" (the default when `make bench`
    has fetched it: Postfix's smtp-sink, C, made to take mail as fast as
    it comes; it keeps nothing), "fast" (bench/smtp_sink.py: raw mails
    appended to run/outbox.mbox by two Python processes sharing the port;
    the default without smtp-sink) or "mailbox" (aiosmtpd's Maildir
    handler, which parses every mail in Python and limited the
    notifications row to ~330 mails/s)."""
    kind = kind or os.environ.get("BENCH_SMTP_SINK") or ("postfix" if smtp_sink_binary() else "fast")
    port = free_port()
    env = None
    if kind == "postfix":
        binary = smtp_sink_binary()
        if binary is None:
            raise RuntimeError("BENCH_SMTP_SINK=postfix: no smtp-sink; run `make bench-tools`")
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(os.path.dirname(os.path.dirname(binary)),
                                                            "lib", "postfix"))
        # smtp-sink refuses to run as root unless told whom to become.
        argv = [binary] + (["-u", "nobody"] if os.geteuid() == 0 else []) + \
               ["127.0.0.1:%d" % port, "256"]
    elif kind == "mailbox":
        box = os.path.join(run, "outbox")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(box, sub), exist_ok=True)
        argv = [PY, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:%d" % port, "-c",
                "aiosmtpd.handlers.Mailbox", box]
    else:
        argv = [PY, os.path.join(ROOT, "bench/smtp_sink.py"), "--port", str(port), "--out",
                os.path.join(run, "outbox.mbox"), "--procs", "2"]
    p = spawn(argv, os.path.join(run, "smtp.log"), env=env)
    p.sink_kind = kind
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
    t0 = time.monotonic()
    p = spawn([bin_, "--config", conf, "serve"], os.path.join(run, "ticketd.log"))
    while time.monotonic() - t0 < 20:
        if p.poll() is not None:
            raise RuntimeError("ticketd exited: " + open(p.logpath).read()[-500:])
        try:
            c = http.client.HTTPConnection("127.0.0.1", api_port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                p.startup_s = time.monotonic() - t0  # spawn to the first answer
                return p
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError("ticketd did not answer /healthz within 20 s")


def cpu_s(pid):
    """User + system CPU seconds the process has used, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def vm_hwm_kb(pid, field="VmHWM"):
    """The process's peak (VmHWM) or current (VmRSS) resident set, kB."""
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def metric(api_port, name):
    c = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    total = None
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total = (total or 0) + float(line.rsplit(" ", 1)[1])
    return total
