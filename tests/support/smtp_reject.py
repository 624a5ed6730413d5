#!/usr/bin/python3
"""smtp_reject.py - an SMTP receiver that refuses chosen recipients.

Used by tests/notify/ to check how the outbox sender classifies failures:

    smtp_reject.py --port N --maildir DIR [--reject SUBSTR]... [--tempfail SUBSTR]...
                   [--reject-data SUBSTR]...

RCPT TO an address containing a --reject substring gets
"550 5.1.1 <addr>: Recipient address rejected: User unknown"; one containing
a --tempfail substring gets "451 4.3.0 Try again later"; a mail whose body
contains a --reject-data substring gets "554 5.7.1 Message refused" at the
end of DATA. Everything else is accepted and saved, like aiosmtpd's Mailbox
handler, as one file in DIR/new (with X-MailFrom / X-RcptTo headers).

--hold-rcpt MS holds every answer to RCPT for MS milliseconds, and writes
the most mails held at once (the sender's concurrency) to the file
--held-file names, each time it grows.

Session options, for the sender's TLS and AUTH paths:
    --auth USER:PASS          AUTH (PLAIN, LOGIN) required before MAIL
    --cert FILE --key FILE    with --starttls: STARTTLS offered and required;
                              with --implicit-tls: TLS from the first byte
Run with Debian's /usr/bin/python3 (python3-aiosmtpd). Stops on SIGTERM.
"""
import argparse
import asyncio
import mailbox
import signal
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from aiosmtpd.smtp import AuthResult, LoginPassword


class Refusing(Message):
    def __init__(self, maildir, reject, tempfail, reject_data, hold_ms=0, held_file=None):
        super().__init__()
        self.box = mailbox.Maildir(maildir)
        self.reject = reject
        self.tempfail = tempfail
        self.reject_data = reject_data
        self.hold_ms = hold_ms
        self.held_file = held_file
        self.held = 0
        self.most_held = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if any(s in address for s in self.reject):
            return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address
        if any(s in address for s in self.tempfail):
            return '451 4.3.0 Try again later'
        if self.hold_ms > 0:
            await self.hold()
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        data = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        if any(s.encode() in data for s in self.reject_data):
            return '554 5.7.1 Message refused'
        return await super().handle_DATA(server, session, envelope)

    async def hold(self):
        self.held += 1
        if self.held > self.most_held:
            self.most_held = self.held
            with open(self.held_file, 'w') as f:
                f.write('%d\n' % self.most_held)
        try:
            await asyncio.sleep(self.hold_ms / 1000.0)
        finally:
            self.held -= 1

    def handle_message(self, message):
        self.box.add(message)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--maildir', required=True)
    ap.add_argument('--reject', action='append', default=[])
    ap.add_argument('--tempfail', action='append', default=[])
    ap.add_argument('--reject-data', action='append', default=[])
    ap.add_argument('--hold-rcpt', type=int, default=0)
    ap.add_argument('--held-file')
    ap.add_argument('--auth')
    ap.add_argument('--cert')
    ap.add_argument('--key')
    ap.add_argument('--starttls', action='store_true')
    ap.add_argument('--implicit-tls', action='store_true')
    a = ap.parse_args()
    handler = Refusing(a.maildir, a.reject, a.tempfail, a.reject_data, a.hold_rcpt, a.held_file)
    kw = {}
    if a.auth:
        user, password = a.auth.split(':', 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword) and data.login == user.encode()
                  and data.password == password.encode())
            return AuthResult(success=ok, handled=False)  # failure: let aiosmtpd say 535
        kw.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=a.starttls)  # implicit TLS: aiosmtpd cannot tell
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        if a.implicit_tls:
            kw['ssl_context'] = ctx
        if a.starttls:
            kw.update(tls_context=ctx, require_starttls=True)
    ssl_ctx = kw.pop('ssl_context', None)
    controller = Controller(handler, hostname='127.0.0.1', port=a.port, ssl_context=ssl_ctx, **kw)
    controller.start()
    loop = asyncio.new_event_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(True))
    loop.run_until_complete(stop)
    controller.stop()


if __name__ == '__main__':
    main()
