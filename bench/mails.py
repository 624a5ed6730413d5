"""mails.py - a deterministic set of varied customer mails for the benchmarks.

About 60 % open new tickets, 40 % reply to an earlier mail of the set
(In-Reply-To/References, "Re:" subject), so ingest exercises threading as
well as creation. Bodies vary in structure and encoding: plain UTF-8
8bit, ISO-8859-1 quoted-printable, UTF-8 base64, Shift_JIS, HTML only,
multipart/alternative, multipart/mixed with a small attachment, quoted
replies with a signature. Senders come from a pool of 250 addresses.
"""
import email.utils
import random
from email.message import EmailMessage
from email.policy import SMTP

WORDS = ("printer invoice password login crashes slow error screen update "
         "account refund order delivery broken missing cannot again please "
         "urgent thanks hello since yesterday every time when after the my "
         "our your it is not working shows message blank page").split()


def _sentence(rnd, n):
    w = [rnd.choice(WORDS) for _ in range(n)]
    return " ".join(w).capitalize() + "."


def _body(rnd, lines):
    return "\n".join(_sentence(rnd, rnd.randint(6, 14)) for _ in range(lines)) + "\n"


def make(n, seed=42, domain="bench.example", to="support@localhost", tag="b"):
    """n mails as (message_id, bytes) in delivery order."""
    rnd = random.Random(seed)
    senders = ["customer%03d@%s" % (i, domain) for i in range(250)]
    sent = []  # (message_id, subject, sender) that can be replied to
    out = []
    for i in range(n):
        m = EmailMessage(policy=SMTP)
        mid = "<%s%05d.%d@%s>" % (tag, i, seed, domain)
        reply = sent and rnd.random() < 0.4
        if reply:
            parent_id, subject, sender = rnd.choice(sent)
            m["Subject"] = "Re: " + subject
            m["In-Reply-To"] = parent_id
            m["References"] = parent_id
        else:
            sender = rnd.choice(senders)
            subject = "%s %s (%s-%d)" % (rnd.choice(WORDS).capitalize(), rnd.choice(WORDS), tag, i)
            m["Subject"] = subject
        m["From"] = email.utils.formataddr(("Customer %s" % sender.split("@")[0][-3:], sender))
        m["To"] = to
        m["Message-ID"] = mid
        m["Date"] = email.utils.formatdate(1795600000 + i * 7)
        text = _body(rnd, rnd.randint(2, 12))
        if reply:
            quoted = "".join("> " + l + "\n" for l in _body(rnd, 4).splitlines())
            text += "\nOn Mon, 23 Nov 2026 at 10:00, Support wrote:\n" + quoted + "\n-- \nSent from my phone\n"
        kind = i % 8
        if kind == 0:
            m.set_content(text, charset="utf-8", cte="8bit")
        elif kind == 1:
            m.set_content(text + "Caf\u00e9 cr\u00e8me \u00e0 emporter.\n", charset="iso-8859-1",
                          cte="quoted-printable")
        elif kind == 2:
            m.set_content(text + "\u00dcberweisung \u2013 \u20ac 42\n", charset="utf-8", cte="base64")
        elif kind == 3:
            m.set_content(text + "\u30d7\u30ea\u30f3\u30bf\u30fc\u304c\u58ca\u308c\u307e\u3057\u305f\u3002\n",
                          charset="shift_jis")
        elif kind == 4:
            html = "<html><body>" + "".join("<p>%s</p>" % l for l in text.splitlines()) + "</body></html>"
            m.set_content(html, subtype="html", charset="utf-8")
        elif kind == 5:
            m.set_content(text, charset="utf-8")
            m.add_alternative("<html><body><pre>%s</pre></body></html>" % text, subtype="html")
        elif kind == 6:
            m.set_content(text, charset="utf-8")
            blob = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(2000, 20000)))
            m.add_attachment(blob, maintype="application", subtype="octet-stream",
                             filename="log-%d.bin" % i)
        else:
            m.set_content(text, charset="us-ascii", cte="7bit")
        if not reply:
            sent.append((mid, subject, sender))
        out.append((mid, m.as_bytes()))
    return out


def one(i, subject, domain="latency.example", to="support@localhost"):
    """One small new-ticket mail (the latency probe)."""
    m = EmailMessage(policy=SMTP)
    m["From"] = "probe%d@%s" % (i % 50, domain)
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = "<probe%d.%d@%s>" % (i, random.getrandbits(32), domain)
    m["Date"] = email.utils.formatdate()
    m.set_content("Latency probe %d.\n" % i)
    return m.as_bytes()
