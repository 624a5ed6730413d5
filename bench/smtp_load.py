"""smtp_load.py - the SMTP sink alone: how many mails per second it takes.

    python3 bench/smtp_load.py [--sink postfix|fast|mailbox] [--mails 2000]
                               [--sessions 2] [--eml FILE]

Starts the bench's sink (bench/servers.py) on a free loopback port and
sends --mails copies of one message (--eml, or a built-in notification
of about 1.5 kB) over --sessions concurrent SMTP sessions, each carrying
many mails (MAIL/RCPT/DATA repeated, as libcurl does with one handle).
The client is plain asyncio with pipelining-free, minimal parsing so the
figure is the sink's, not the client's. Prints mails/s."""
import argparse
import asyncio
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

SAMPLE = (
    "From: Support <support@localhost>\r\n"
    "To: Customer <customer@example.com>\r\n"
    "Subject: [#1] We received your request\r\n"
    "Message-ID: <ticketd.x@localhost>\r\n"
    "Date: Fri, 04 Dec 2026 09:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Auto-Submitted: auto-replied\r\n"
    "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"
    "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    + "Thank you for your message, we will answer soon.\r\n" * 12
    + "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>"
    + "Thank you for your message, we will answer soon.<br>\r\n" * 12
    + "</p>\r\n--b--\r\n"
).encode()


async def reply(r):
    """Reads one (possibly multi-line) reply; returns its code."""
    while True:
        line = await r.readline()
        if not line:
            raise RuntimeError("connection closed")
        if line[3:4] != b"-":
            return int(line[:3])


async def session(port, n, data):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    await reply(r)
    w.write(b"EHLO load\r\n")
    await reply(r)
    body = data.replace(b"\r\n.", b"\r\n..") + b".\r\n"
    for _ in range(n):
        w.write(b"MAIL FROM:<support@localhost>\r\n")
        await reply(r)
        w.write(b"RCPT TO:<customer@example.com>\r\n")
        await reply(r)
        w.write(b"DATA\r\n")
        await reply(r)
        w.write(body)
        if await reply(r) != 250:
            raise RuntimeError("mail refused")
    w.write(b"QUIT\r\n")
    await reply(r)
    w.close()


async def run(port, mails, sessions, data):
    per = [mails // sessions + (1 if i < mails % sessions else 0) for i in range(sessions)]
    await asyncio.gather(*(session(port, n, data) for n in per))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sink", default=os.environ.get("BENCH_SMTP_SINK"))
    ap.add_argument("--mails", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--eml")
    a = ap.parse_args()
    data = SAMPLE
    if a.eml:
        data = open(a.eml, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with tempfile.TemporaryDirectory() as run_dir:
        p, port = servers.start_smtp_sink(run_dir, a.sink)
        try:
            t0 = time.monotonic()
            asyncio.run(run(port, a.mails, a.sessions, data))
            dt = time.monotonic() - t0
        finally:
            p.terminate()
            p.wait()
    print("sink=%s sessions=%d mails=%d bytes=%d: %.0f mails/s (%.2f s)"
          % (p.sink_kind, a.sessions, a.mails, len(data), a.mails / dt, dt))


if __name__ == "__main__":
    main()
