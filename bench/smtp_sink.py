"""smtp_sink.py - the bench's fast SMTP sink (test infrastructure).

    python3 bench/smtp_sink.py --port N --out FILE [--procs 2]

aiosmtpd's Mailbox handler parses every mail with the email package and
writes it out again as a Maildir file: about as much Python per mail as
ticketd spends C, so the bench measured the sink. This one keeps the
protocol (aiosmtpd's SMTP class: every command answered as a real server
would) but appends the raw bytes of each mail, with its envelope, to one
file: no parsing, no fsync, one write per mail. --procs processes share
the port (SO_REUSEPORT: the kernel spreads the connections), so the sink
is not bound to one core either. The file is for a look at what was
sent (each mail is preceded by an "X-Envelope: from -> to port P" line, P the
client's port: how many connections carried the mails)."""
import argparse
import asyncio
import os
import signal
import socket
import sys

from aiosmtpd.smtp import SMTP


class Append:
    def __init__(self, f):
        self.f = f

    async def handle_DATA(self, server, session, envelope):
        # The peer's port names the connection: how many mails each carried.
        head = "X-Envelope: %s -> %s port %s\r\n" % (envelope.mail_from, ",".join(envelope.rcpt_tos),
                                                      session.peer[1])
        self.f.write(head.encode() + envelope.content + b"\r\n")
        return "250 OK"


def serve(port, out):
    f = open(out, "ab", buffering=1 << 20)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    loop = asyncio.new_event_loop()
    handler = Append(f)
    srv = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, hostname="sink", ident="bench sink"), sock=s))
    try:
        loop.run_forever()
    finally:
        srv.close()
        f.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--procs", type=int, default=2)
    a = ap.parse_args()
    children = []
    for i in range(1, a.procs):
        pid = os.fork()
        if pid == 0:
            serve(a.port, "%s.%d" % (a.out, i))
            os._exit(0)
        children.append(pid)
    # Set after the forks: the children keep the default (die at once).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve(a.port, a.out)
    except KeyboardInterrupt:
        pass
    finally:
        for pid in children:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
    sys.exit(0)


if __name__ == "__main__":
    main()
