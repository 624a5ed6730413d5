#!/usr/bin/python3
"""tls_imap_server.py DIR IMPLICIT_PORT STARTTLS_PORT

A just-enough IMAP server for the mail gateway's TLS tests
(tests/mailgw/test_imap_tls.c): it makes a throwaway CA and a server
certificate for DNS:localhost in DIR (openssl), then serves implicit TLS
on one port and plain + STARTTLS on the other, answering CAPABILITY,
STARTTLS, LOGIN, AUTHENTICATE PLAIN, SELECT, UID SEARCH, NOOP and LOGOUT.
DIR/ready appears when both ports listen. Runs until killed; every
client socket has a timeout so nothing hangs."""
import os
import socket
import ssl
import subprocess
import sys
import threading

d, p_implicit, p_starttls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


ca_key, ca, key, csr, crt = (os.path.join(d, n) for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
ext = os.path.join(d, "ext.cnf")
sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
   "-days", "2", "-subj", "/CN=ticketd test CA")
sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
with open(ext, "w") as f:
    f.write("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n")
sh("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
   "-days", "2", "-extfile", ext)

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)


def serve(conn, implicit):
    conn.settimeout(20)
    try:
        if implicit:
            conn = ctx.wrap_socket(conn, server_side=True)
        f = conn.makefile("rb")
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] fake ready\r\n")
        while True:
            line = f.readline()
            if not line:
                return
            parts = line.decode("utf-8", "replace").strip().split(" ")
            tag, cmd = parts[0], (parts[1].upper() if len(parts) > 1 else "")
            if cmd == "CAPABILITY":
                conn.sendall(b"* CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN STARTTLS\r\n" + tag.encode() + b" OK done\r\n")
            elif cmd == "STARTTLS" and not implicit:
                conn.sendall(tag.encode() + b" OK begin TLS\r\n")
                conn = ctx.wrap_socket(conn, server_side=True)
                f = conn.makefile("rb")
                implicit = True
            elif cmd == "LOGIN":
                ok = len(parts) >= 4 and parts[2].strip('"') == "alice" and parts[3].strip('"') == "secret"
                conn.sendall(tag.encode() + (b" OK logged in\r\n" if ok else b" NO [AUTHENTICATIONFAILED] no\r\n"))
            elif cmd == "AUTHENTICATE":
                if len(parts) < 4:
                    conn.sendall(b"+ \r\n")
                    f.readline()
                conn.sendall(tag.encode() + b" OK logged in\r\n")
            elif cmd == "SELECT" or cmd == "EXAMINE":
                conn.sendall(b"* 0 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 1] ok\r\n" +
                             tag.encode() + b" OK [READ-WRITE] done\r\n")
            elif cmd == "UID" and len(parts) > 2 and parts[2].upper() == "SEARCH":
                conn.sendall(b"* SEARCH\r\n" + tag.encode() + b" OK done\r\n")
            elif cmd == "NOOP":
                conn.sendall(tag.encode() + b" OK done\r\n")
            elif cmd == "LOGOUT":
                conn.sendall(b"* BYE bye\r\n" + tag.encode() + b" OK done\r\n")
                return
            else:
                conn.sendall(tag.encode() + b" BAD unknown\r\n")
    except (OSError, ssl.SSLError):
        return
    finally:
        try:
            conn.close()
        except OSError:
            pass


def listen(port, implicit):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    return s, implicit


def accept_loop(s, implicit):
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, implicit), daemon=True).start()


socks = [listen(p_implicit, True), listen(p_starttls, False)]
for s, implicit in socks:
    threading.Thread(target=accept_loop, args=(s, implicit), daemon=True).start()
open(os.path.join(d, "ready"), "w").close()
threading.Event().wait()
