"""phases.py - what one benchmark run measures against a started ticketd:
ingest, the notifications it planned, delivery -> ticket latency, the API
under wrk, and what one mail and one comment cost in fsyncs and write
transactions (strace and the store's own operation counters)."""
import http.client
import imaplib
import os
import re
import shutil
import signal
import smtplib
import subprocess
import time

import mails
from procs import log, pct, spawn, stop
from servers import cpu_s, metric, start_ticketd

N_MAILS = int(os.environ.get("BENCH_MAILS", "1000"))
N_LATENCY = int(os.environ.get("BENCH_LATENCY_SAMPLES", "100"))
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "8"))
WRK_CONNECTIONS = int(os.environ.get("BENCH_WRK_CONNECTIONS", "16"))
INGEST_TIMEOUT = float(os.environ.get("BENCH_INGEST_TIMEOUT", "300"))
N_COST = int(os.environ.get("BENCH_COST_SAMPLES", "200"))

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


def phase_drain(r, ctx):
    """The notifications the ingest planned: until the outbox is empty."""
    t0 = time.monotonic()
    sent0 = metric(ctx["api_port"], "ticketd_outbox_sent_total") or 0
    cpu0 = cpu_s(ctx["proc"].pid)
    while time.monotonic() - t0 < 300:
        t1 = time.monotonic()
        if metric(ctx["api_port"], "ticketd_outbox_pending") == 0:
            break
        # Every 20 ms (a coarser poll overstated a ~2 s drain by up to
        # 10 %), but never more than a third of the time: on the MongoDB
        # mock a scrape is slow, and polling must not slow the drain.
        time.sleep(max(0.02, 2 * (time.monotonic() - t1)))
    else:
        r["drain"] = "n/a: outbox not empty after 300 s"
        return
    sent = metric(ctx["api_port"], "ticketd_outbox_sent_total") or 0
    dt = time.monotonic() - t0 + ctx.get("ingest_s", 0)
    r["drain"] = "%d mails sent, %.0f/s" % (sent, sent / dt if dt > 0 else 0)
    cpu1 = cpu_s(ctx["proc"].pid)
    if cpu0 is not None and cpu1 is not None and sent > sent0:
        # CPU time does not move with the machine's load as wall time does.
        r["drain"] += ", %.0f us of ticketd CPU each" % ((cpu1 - cpu0) * 1e6 / (sent - sent0))


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
    "comment_quiet": """
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
local first = tonumber(os.getenv("BENCH_FIRST"))
local last = tonumber(os.getenv("BENCH_TICKETS"))
request = function()
  return wrk.format("POST", "/api/v1/tickets/" .. math.random(first, last) .. "/comments", nil,
                    '{"body":"A note for the record, on a ticket nobody else follows."}')
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


def wrk_run(ctx, name, lua, env, seconds=None, connections=None):
    """wrk with the script lua; (summary text, req/s or None)."""
    seconds = seconds or WRK_SECONDS
    connections = connections or WRK_CONNECTIONS
    script = os.path.join(ctx["run"], "wrk_%s.lua" % name)
    with open(script, "w") as f:
        f.write(lua)
    out = subprocess.run(["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "--latency",
                          "-s", script, "http://127.0.0.1:%d" % ctx["api_port"]],
                         capture_output=True, text=True, env=dict(os.environ, **env),
                         timeout=seconds + 60)
    text = out.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"\s50%\s+(\S+)", text)
    p99 = re.search(r"\s99%\s+(\S+)", text)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    if not rps:
        return "n/a: wrk: " + (out.stderr or text)[-200:].strip(), None
    s = "%.0f req/s, p50 %.2f ms, p99 %.2f ms" % (float(rps.group(1)), parse_ms(p50.group(1)),
                                                    parse_ms(p99.group(1)))
    if bad:
        s += " (%s non-2xx)" % bad.group(1)
    if errors:
        s += " (%s)" % errors.group(0)
    return s, float(rps.group(1))


def wrk(ctx, kind, token, tickets, first=1):
    """wrk_run's text, with ticketd's CPU time per request (which, unlike
    wall time, the rest of the machine's load hardly moves; it includes
    what ticketd did meanwhile, such as sending the comments' mails)."""
    pid = ctx["proc"].pid if "proc" in ctx else None
    cpu0 = cpu_s(pid) if pid else None
    text, rps = wrk_run(ctx, kind, WRK_LUA[kind], {"BENCH_TOKEN": token, "BENCH_FIRST": str(first),
                                                   "BENCH_TICKETS": str(tickets)})
    cpu1 = cpu_s(pid) if pid else None
    if rps and cpu0 is not None and cpu1 is not None:
        text += ", %.0f us CPU/req" % ((cpu1 - cpu0) * 1e6 / (rps * WRK_SECONDS))
    return text


QUIET_TICKETS = 200


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
        for k in ("list", "read", "comment", "comment_quiet"):
            r["api_" + k] = "n/a: wrk is not installed (make deps)"
        return
    tickets = seed_tickets(api, N_MAILS)
    ctx["tickets"] = tickets
    for k in ("list", "read", "comment"):
        r["api_" + k] = wrk(ctx, k, api.token, tickets)
    # The same write with nothing to mail: the agent's own tickets, which
    # no one else requests or follows - the comment's cost alone, without
    # its mail being sent beside it on the same two cores.
    quiet = seed_tickets(api, tickets + QUIET_TICKETS)
    t0 = time.monotonic()  # the seeded tickets' own mails go out first
    while metric(ctx["api_port"], "ticketd_outbox_pending") and time.monotonic() - t0 < 60:
        time.sleep(0.05)
    r["api_comment_quiet"] = wrk(ctx, "comment_quiet", api.token, quiet, first=tickets + 1)




# ---- what one mail and one comment cost -------------------------------------

# Store operations that open a write transaction (one each on SQLite).
WRITE_OPS = ("user_insert", "user_update", "ticket_next_number", "ticket_insert",
             "ticket_update", "ticket_add_msgid", "comment_insert", "attachment_put",
             "msgid_put", "lease_acquire", "lease_release", "mailbox_set_uid", "outbox_insert",
             "outbox_claim", "outbox_finish", "token_insert", "token_mark_used_if_unused",
             "token_revoke_family", "token_purge", "quarantine_put", "quarantine_delete")


def write_ops(api_port):
    """Write transactions committed so far: the SQLite store's own
    counter, else (MongoDB: every write is its own) the store's write
    operations, from /metrics."""
    c = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    total, commits = 0, None
    for line in text.splitlines():
        m = re.match(r'ticketd_store_operation_duration_seconds_count\{op="(\w+)"\} (\S+)', line)
        if m and m.group(1) in WRITE_OPS:
            total += float(m.group(2))
        if line.startswith("ticketd_store_commits_total "):
            commits = float(line.split()[1])
    return commits if commits else total


class Strace:
    """fsync/fdatasync calls of every thread of pid while it runs."""

    def __init__(self, ctx, pid, name):
        self.out = os.path.join(ctx["run"], "strace_%s.txt" % name)
        self.p = None
        if shutil.which("strace") is None or os.environ.get("BENCH_NO_STRACE"):
            return
        self.p = spawn(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", self.out,
                        "-p", str(pid)], os.path.join(ctx["run"], "strace.log"))
        time.sleep(0.5)  # attach to every thread before the work starts

    def count(self):
        if self.p is None:
            return None
        os.killpg(self.p.pid, signal.SIGINT)
        try:
            self.p.wait(15)
        except subprocess.TimeoutExpired:
            pass
        stop(self.p)
        total = 0
        try:
            for line in open(self.out):
                f = line.split()
                if len(f) >= 5 and f[-1] in ("fsync", "fdatasync"):
                    total += int(f[3])
        except OSError:
            return None
        return total


def cost_text(fsyncs, txs, n):
    fs = "n/a (no strace)" if fsyncs is None else "%.1f fsyncs" % (fsyncs / n)
    return "%s, %.1f write transactions" % (fs, txs / n)


def phase_cost_mail(r, ctx):
    """N_COST new mails delivered while ticketd runs (IDLE), until they are
    ingested and their notifications sent."""
    items = mails.make(N_COST, seed=7, tag="c")
    pid, port = ctx["proc"].pid, ctx["api_port"]
    tx0 = write_ops(port)
    st = Strace(ctx, pid, "mail")
    deliver(ctx["lmtp"], items)
    t0 = time.monotonic()
    while time.monotonic() - t0 < INGEST_TIMEOUT:
        if unseen(ctx["imap"]) == 0 and metric(port, "ticketd_outbox_pending") == 0:
            break
        time.sleep(0.2)
    time.sleep(0.5)  # the last notification's finish
    fs = st.count()
    r["cost_mail"] = cost_text(fs, write_ops(port) - tx0, N_COST)


def phase_cost_comment(r, ctx, api, tickets):
    """N_COST comments by an agent, one at a time, and their notifications."""
    pid, port = ctx["proc"].pid, ctx["api_port"]
    tx0 = write_ops(port)
    st = Strace(ctx, pid, "comment")
    for i in range(N_COST):
        api.req("POST", "/api/v1/tickets/%d/comments" % (1 + i % tickets),
                {"body": "Cost probe %d: we are looking into it." % i})
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120 and metric(port, "ticketd_outbox_pending") != 0:
        time.sleep(0.2)
    time.sleep(0.5)
    fs = st.count()
    r["cost_comment"] = cost_text(fs, write_ops(port) - tx0, N_COST)
