#!/usr/bin/python3
"""webhook_receiver.py - an HTTP receiver for the webhook tests.

    webhook_receiver.py --port N --dir DIR

Every POST is answered with the status written in DIR/status (default
200) and logged as one JSON line {"path", "status", "headers" (names
lower-cased), "body"} in DIR/attempts.jsonl; the ones answered 2xx also
go to DIR/received.jsonl (what a receiver would have processed). The line
is written before the answer is sent. Listens on 127.0.0.1 only; stops on
SIGTERM. Run with Debian's /usr/bin/python3 (standard library only).
"""
import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()

    def status():
        try:
            with open(os.path.join(args.dir, "status")) as f:
                return int(f.read().strip() or "200")
        except (OSError, ValueError):
            return 200

    def log(name, entry):
        with open(os.path.join(args.dir, name), "a") as f:
            f.write(json.dumps(entry) + "\n")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode("utf-8")
            code = status()
            entry = {"path": self.path, "status": code,
                     "headers": {k.lower(): v for k, v in self.headers.items()},
                     "body": body}
            log("attempts.jsonl", entry)
            if 200 <= code < 300:
                log("received.jsonl", entry)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, fmt, *a):
            sys.stderr.write("receiver: " + (fmt % a) + "\n")

    srv = HTTPServer(("127.0.0.1", args.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv.serve_forever()


if __name__ == "__main__":
    main()
