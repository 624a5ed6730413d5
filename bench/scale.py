"""scale.py - `make bench BENCH_TICKETS=N`: the same requests at 1k tickets
and at N, side by side, with the growth factor of each row.

Seeding (SQLite only): ticketd creates the schema and the users itself
(`ticketd user add`), then this file bulk-loads tickets through ticketd's
own schema with Python's sqlite3, in transactions of SEED_BATCH tickets
with the journal off (the bench owns the file and nothing runs beside
it). Every row goes through the same triggers and indexes ticketd's own
writes do; ticketd is started only afterwards, so it opens (and, when
needed, migrates) the file as it would any database.

The data: 3 comments per ticket (every third an internal note), one tag
each, requesters from a pool of SEED_CUSTOMERS customers. A fixed handful
of RARE tickets spread evenly over the numbers carries what the requests
look for - the tag "rare", the word RARE_WORD in a comment, and the bench
customer as requester - so each request has the same answer size at 1k
and at N, and any growth is the store's doing.
"""
import http.client
import os
import random
import sqlite3
import statistics
import tempfile
import time
import shutil

from procs import log, stop, stop_all
from servers import Api, free_port, start_ticketd, ticketd, vm_hwm_kb, write_config
from phases import wrk_run

SCALE_SECONDS = int(os.environ.get("BENCH_SCALE_SECONDS", "3"))
SEED_BATCH = 20000
SEED_CUSTOMERS = 2000
RARE = 20
RARE_WORD = "zanzibar"
PASSWORD = "bench password 1"

WORDS = ("printer invoice password login crashes slow error screen update account refund "
         "order delivery broken missing cannot again please urgent thanks hello since "
         "yesterday every time when after the my our your it is not working shows message "
         "blank page").split()
TAGS = ("billing", "hardware", "login", "network", "mail", "vpn")
STATUSES = ("new", "open", "pending", "resolved", "closed")


def _hexid(prefix, k):
    return "%s%022x" % (prefix, k)  # 24 lower-case hex chars, like id_new()


# The seeded history is one ticket a second up to now, and nothing has
# acted on it: no outbox rows, no reminders, no auto-close. Left on, the
# jobs that act on history would start at once - the reconciler would plan
# mail for every ticket of the last 24 h (86 400 of them at a million, all
# 1 000 at a thousand) and send it to an SMTP port nobody listens on, and
# the automation would remind and close the week-old pending and resolved
# tickets - so the rows at N would measure their writes, each of which
# empties the readers' page caches. A store that grew to N has long caught
# up, and the table measures its reads: the jobs are off in both runs.
QUIET_JOBS = """[notify]
reconcile_interval_ms = 0
[automation]
autoclose_days = 0
pending_reminder_days = 0
"""

# The search index (ticketd migration 5): filled in bulk after the rows
# instead of row by row through its triggers, which are set aside while
# seeding and put back as ticketd wrote them.
FILL_SEARCH = (
    "INSERT INTO ticket_docs(ticket, comment_id, internal) SELECT number, NULL, 0 FROM tickets",
    "INSERT INTO ticket_docs(ticket, comment_id, internal) SELECT ticket, id, internal FROM comments",
    "INSERT INTO ticket_text(rowid, body) SELECT d.id, t.subject FROM ticket_docs d "
    "JOIN tickets t ON t.number = d.ticket WHERE d.comment_id IS NULL",
    "INSERT INTO ticket_text(rowid, body) SELECT d.id, coalesce(c.body, '') FROM ticket_docs d "
    "JOIN comments c ON c.id = d.comment_id",
)


def seed(db_path, n, agent_id, customer_id):
    """n tickets into the database ticketd created at db_path."""
    rnd = random.Random(n)
    db = sqlite3.connect(db_path, isolation_level=None)
    triggers = list(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                               "AND name LIKE '%_text_%'"))
    for name, _ in triggers:
        db.execute("DROP TRIGGER %s" % name)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -200000")
    db.execute("BEGIN")
    now = int(time.time() * 1000) - n * 1000
    customers = [_hexid("cc", k) for k in range(SEED_CUSTOMERS)]
    db.executemany("INSERT INTO users (id, email, name, role, pw_hash, disabled, token_version, "
                   "created, updated) VALUES (?, ?, ?, 'customer', NULL, 0, 0, ?, ?)",
                   ((c, "seeded%d@customers.example" % k, "Customer %d" % k, now, now)
                    for k, c in enumerate(customers)))
    db.execute("COMMIT")
    rare = set(1 + k * (n // RARE) for k in range(RARE))
    sentences = [" ".join(rnd.choice(WORDS) for _ in range(10)) for _ in range(512)]
    for lo in range(1, n + 1, SEED_BATCH):
        hi = min(n, lo + SEED_BATCH - 1)
        tickets, tags, events, comments = [], [], [], []
        for i in range(lo, hi + 1):
            at = now + i * 1000
            is_rare = i in rare
            req = customer_id if is_rare else customers[i % SEED_CUSTOMERS]
            subject = "Seeded %d: %s" % (i, sentences[i % 512][:40])
            tickets.append((i, subject, STATUSES[i % 5], "normal", req,
                            agent_id if i % 2 else "", "", at, at + 3, 4))
            tags.append((i, 0, "rare" if is_rare else TAGS[i % len(TAGS)]))
            events.append((i, 1, req, "created", None, subject, at))
            for c in range(3):
                cid = _hexid("dd", i * 4 + c)
                body = sentences[(i * 3 + c) % 512]
                if is_rare and c == 1:
                    body += " " + RARE_WORD
                internal = 1 if c == 2 else 0
                author = agent_id if c else req
                comments.append((cid, i, author, internal, "email" if c == 0 else "api", body,
                                 None, at + c + 1))
                events.append((i, c + 2, author, "comment", "internal" if internal else None,
                               cid, at + c + 1))
        db.execute("BEGIN")
        db.executemany("INSERT INTO tickets (number, subject, status, priority, requester_id, "
                       "assignee_id, queue, created, updated, version) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tickets)
        db.executemany("INSERT INTO ticket_tags (ticket, pos, tag) VALUES (?, ?, ?)", tags)
        db.executemany("INSERT INTO events (ticket, seq, actor_id, kind, old_value, new_value, at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", events)
        db.executemany("INSERT INTO comments (id, ticket, author_id, internal, source, body, "
                       "message_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", comments)
        db.execute("COMMIT")
    db.execute("BEGIN")
    if triggers:  # a ticketd without the search index has none to fill
        for sql in FILL_SEARCH:
            db.execute(sql)
    for _, sql in triggers:
        db.execute(sql)
    db.execute("COMMIT")
    if triggers:
        # One bulk fill leaves thousands of small FTS5 segments that
        # ticketd's incremental writes (automerge) would not have made;
        # merge them as a maintained index would be.
        db.execute("INSERT INTO ticket_text(ticket_text) VALUES ('optimize')")
    db.execute("UPDATE counters SET value = ? WHERE name = 'ticket'", (n,))
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("ANALYZE")
    db.close()


def timed_get(port, path, token=None, n=30):
    """p50 and max of n sequential GETs, in ms."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": "Bearer " + token} if token else {}
    ms = []
    for _ in range(n):
        t0 = time.monotonic()
        c.request("GET", path, headers=headers)
        c.getresponse().read()
        ms.append((time.monotonic() - t0) * 1000)
    return statistics.median(ms), max(ms)


LUA_GET = """
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.path = os.getenv("BENCH_PATH")
"""
LUA_READ = """
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local n = tonumber(os.getenv("BENCH_TICKETS"))
request = function()
  return wrk.format("GET", "/api/v1/tickets/" .. math.random(1, n))
end
"""

# (key, label, kind): kind "rps" is higher-is-better, "ms" lower-is-better.
ROWS = [
    ("tag", "list tag=rare (20 of N)", "rps"),
    ("search", "search q=%s (20 of N)" % RARE_WORD, "rps"),
    ("status", "list status=new&assignee=none", "rps"),
    ("own", "a customer's own list (20 of N)", "rps"),
    ("read", "GET one ticket (random)", "rps"),
    ("metrics", "GET /metrics (p50 of 30)", "ms"),
    ("readyz", "GET /readyz (p50 of 30)", "ms"),
    ("startup", "start-up (spawn to /healthz)", "ms"),
    ("rss", "peak RSS without a login (MB)", "ms"),
    ("seed", "seeding (s)", "ms"),
]


def run_size(bin_, n):
    """One size: {key: (text, value)}."""
    r = {}
    run = tempfile.mkdtemp(prefix="ticketd-scale.")
    os.chmod(run, 0o755)
    ctx = {"run": run, "api_port": free_port()}
    try:
        db = os.path.join(run, "ticketd.db")
        conf = write_config(run, "sqlite:" + db, ctx["api_port"], free_port(), 0, False)
        with open(conf, "a") as f:
            f.write(QUIET_JOBS)
        for email, role in (("admin@localhost", "admin"), ("agent@localhost", "agent"),
                            ("customer@localhost", "customer")):
            out = ticketd(bin_, conf, "user", "add", "--email", email, "--role", role,
                          "--password-stdin", stdin=(PASSWORD + "\n").encode())
            if out.returncode != 0:
                raise RuntimeError("user add: " + out.stderr.decode())
        c = sqlite3.connect(db)
        ids = dict(c.execute("SELECT email, id FROM users"))
        c.close()
        t0 = time.monotonic()
        seed(db, n, ids["agent@localhost"], ids["customer@localhost"])
        # The seed leaves up to ~2 GB of dirty pages (journal off, no
        # syncs); the kernel writing them back would run during the first
        # rows of the table, so they would measure the seeder's tail.
        os.sync()
        r["seed"] = ("%.1f" % (time.monotonic() - t0), time.monotonic() - t0)
        log("  seeded %d tickets in %.1f s" % (n, r["seed"][1]))
        p = start_ticketd(bin_, conf, run, ctx["api_port"])
        r["startup"] = ("%.0f ms" % (p.startup_s * 1000), p.startup_s * 1000)
        hwm0 = vm_hwm_kb(p.pid) or 0
        agent, cust = Api(ctx["api_port"]), Api(ctx["api_port"])
        agent.login("agent@localhost", PASSWORD)
        cust.login("customer@localhost", PASSWORD)
        with open("/proc/%d/clear_refs" % p.pid, "w") as f:
            f.write("5")  # forget the logins' argon2id peak
        env = {"BENCH_TOKEN": agent.token, "BENCH_TICKETS": str(n)}
        for key, path, tok in (("tag", "/api/v1/tickets?tag=rare", agent.token),
                               ("search", "/api/v1/tickets?q=" + RARE_WORD, agent.token),
                               ("status", "/api/v1/tickets?status=new&assignee=none", agent.token),
                               ("own", "/api/v1/tickets", cust.token)):
            st, j = (agent if tok == agent.token else cust).req("GET", path)
            got = len(j.get("items", [])) if st == 200 else "HTTP %s" % st
            text, rps = wrk_run(ctx, key, LUA_GET, dict(env, BENCH_TOKEN=tok, BENCH_PATH=path),
                                seconds=SCALE_SECONDS)
            r[key] = ("%s [%s items]" % (text, got), rps)
        text, rps = wrk_run(ctx, "read", LUA_READ, env, seconds=SCALE_SECONDS)
        r["read"] = (text, rps)
        for key, path in (("metrics", "/metrics"), ("readyz", "/readyz")):
            p50, worst = timed_get(ctx["api_port"], path)
            r[key] = ("%.2f ms (max %.1f)" % (p50, worst), p50)
        hwm = max(hwm0, vm_hwm_kb(p.pid) or 0) / 1024.0
        r["rss"] = ("%.1f" % hwm, hwm)
        stop(p, timeout=30)
    except Exception as e:
        log("[scale %d] %s" % (n, e))
        r["error"] = (str(e), None)
    finally:
        stop_all()
        if os.environ.get("BENCH_KEEP") == "1":
            log("[scale %d] kept %s" % (n, run))
        else:
            shutil.rmtree(run, ignore_errors=True)
    return r


def growth(kind, small, big):
    if small is None or big is None or small <= 0 or big <= 0:
        return "-"
    return "%.2fx" % (small / big if kind == "rps" else big / small)


def table(bin_, n):
    """The scale table as lines of text."""
    sizes = [1000, n]
    res = {}
    for size in sizes:
        log("[scale] %d tickets" % size)
        res[size] = run_size(bin_, size)
    w0 = max(len(label) for _, label, _ in ROWS) + 2
    cols = [max([12] + [len(res[s].get(k, ("-",))[0]) for k, _, _ in ROWS]) + 2 for s in sizes]
    lines = ["Scale (sqlite; %d s of wrk -t2 per row; growth = how many times slower at %d)" % (
        SCALE_SECONDS, n), ""]
    lines.append("".ljust(w0) + "".join(("%d tickets" % s).ljust(w) for s, w in zip(sizes, cols))
                 + "growth")
    for key, label, kind in ROWS:
        a, b = res[sizes[0]].get(key, ("-", None)), res[sizes[1]].get(key, ("-", None))
        lines.append(label.ljust(w0) + a[0].ljust(cols[0]) + b[0].ljust(cols[1]) +
                     growth(kind, a[1], b[1]))
    for s in sizes:
        if "error" in res[s]:
            lines.append("error at %d: %s" % (s, res[s]["error"][0]))
    return lines
