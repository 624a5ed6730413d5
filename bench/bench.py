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
  cost       fsyncs (strace) and store write transactions per mail (ingest
             and its notifications) and per comment (and its notifications)
  RSS        the daemon's peak resident memory (VmHWM)

With BENCH_TICKETS=N (scale.py) it then seeds stores of 1000 and N tickets
and prints the same requests at both sizes with the growth of each;
BENCH_SCALE_ONLY=1 skips the table above.

Figures go to stdout and bench/results/<UTC date-time>.txt. Timing never
fails the run; a phase that cannot run says why ("n/a: ..."). Every wait is
bounded and every server is stopped, also on Ctrl-C.

The code is split by concept: procs.py (processes, ports), servers.py
(Dovecot, SMTP sink, mock, ticketd), phases.py (what is measured),
scale.py (seeding and the scale table), mails.py (the test mails).
"""
import datetime
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile

from procs import HERE, ROOT, log, stop, stop_all
from servers import (Api, start_dovecot, start_mongo_mock, smtp_sink_binary, start_smtp_sink,
                     start_ticketd, ticketd, vm_hwm_kb, write_config, free_port)
from phases import (N_COST, N_LATENCY, N_MAILS, WRK_CONNECTIONS, WRK_SECONDS, phase_api,
                    phase_cost_comment, phase_cost_mail, phase_drain, phase_ingest,
                    phase_latency)
import scale

STORES = [s for s in os.environ.get("BENCH_STORES", "sqlite,mongodb").split(",") if s]
SCALE_N = int(os.environ.get("BENCH_TICKETS", "0"))
SCALE_ONLY = os.environ.get("BENCH_SCALE_ONLY") == "1"


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
        log("  peak RSS after the ingest: %.1f MB" % (hwm_before / 1024.0))
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
        log("  peak RSS after the drain: %.1f MB" % ((vm_hwm_kb(pid) or 0) / 1024.0))
        log("[%s] API" % store)
        phase_api(r, ctx, api)
        log("  peak RSS after the API: %.1f MB (now %.1f)" % ((vm_hwm_kb(pid) or 0) / 1024.0,
            (vm_hwm_kb(pid, "VmRSS") or 0) / 1024.0))
        if mailgw and "ingest_rate" in r:
            log("[%s] cost of one mail" % store)
            phase_cost_mail(r, ctx)
            log("  peak RSS after the mail cost: %.1f MB (now %.1f)" % ((vm_hwm_kb(pid) or 0) / 1024.0,
                (vm_hwm_kb(pid, "VmRSS") or 0) / 1024.0))
        log("[%s] cost of one comment" % store)
        phase_cost_comment(r, ctx, api, ctx.get("tickets", N_MAILS))
        log("  peak RSS after the comment cost: %.1f MB (now %.1f)" % ((vm_hwm_kb(pid) or 0) / 1024.0,
            (vm_hwm_kb(pid, "VmRSS") or 0) / 1024.0))
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
    ("api_comment_quiet", "  the same, nothing to mail"),
    ("cost_mail", "per mail (%d, with notifications)" % N_COST),
    ("cost_comment", "per comment (%d, with notifications)" % N_COST),
    ("rss", "peak RSS of the daemon (VmHWM)"),
    ("rss_login", "  the same with a login's argon2id"),
    ("error", "error"),
]


def report(results, bin_, extra):
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
              "  ticketd's MongoDB code path, not what a real mongod can do.",
              "* SMTP sink: %s (BENCH_SMTP_SINK; bench/README.md)." % sink_name()]
    if extra:
        lines += [""] + extra
    text = "\n".join(l.rstrip() for l in lines) + "\n"
    print(text)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", now.strftime("%Y-%m-%d-%H%M") + ".txt")
    with open(path, "w") as f:
        f.write(text)
    print("written to %s" % os.path.relpath(path, ROOT))


def sink_name():
    kind = os.environ.get("BENCH_SMTP_SINK") or ("postfix" if smtp_sink_binary() else "fast")
    return {"postfix": "postfix (Postfix's smtp-sink)", "fast": "fast (bench/smtp_sink.py)",
            "mailbox": "mailbox (aiosmtpd Maildir)"}.get(kind, kind)


def main():
    if len(sys.argv) != 2:
        print("usage: bench.py BUILD_DIR", file=sys.stderr)
        return 2
    bin_ = os.path.abspath(os.path.join(sys.argv[1], "ticketd"))
    os.environ.setdefault("BENCH_TOOLS", os.path.abspath(os.path.join(sys.argv[1], "bench-tools")))
    if not os.access(bin_, os.X_OK):
        print("bench: no %s (run make first)" % bin_, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(130))
    results, extra = {}, []
    try:
        for store in ([] if SCALE_ONLY else STORES):
            run_store(store, bin_, results)
        if SCALE_N > 0:
            extra = scale.table(bin_, SCALE_N)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        stop_all()
    report(results, bin_, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
