#!/usr/bin/python3
"""mongo_mock.py - a MongoDB wire-protocol server for ticketd's tests.

    /usr/bin/python3 mongo_mock.py --port PORT      (listens on 127.0.0.1)

Debian's python3-mockupdb speaks the wire protocol (OP_MSG with document
sequences, legacy OP_QUERY for the hello handshake); python3-mongomock gives
the query and update semantics. This file is the glue: every command libmongoc
sends is dispatched to one in-memory mongomock.MongoClient and the reply is
shaped like mongod 5.0's (wire version 13, standalone): same fields, same
error codes, same BSON types. Tests against this mock should pass unchanged
against a real server (TICKETD_TEST_MONGO_URI), and vice versa.

Why the patches below: mongomock is a pymongo stand-in, not a server, and it
is unfaithful where a backend would notice: $inc turns int64 into int32,
duplicate-key errors carry no index name, a failing update operator leaves
the document half-updated, unique indexes ignore partial filters when built,
$type cannot tell int from long, $size counts string length, projections
reorder fields, upserts store _id last. Each patch says what it fixes.

Not supported (the reply is code 238 NotImplemented, never a silent wrong
answer): collation, arrayFilters, pipeline-style updates, $text, tailable
cursors, transactions (the mock is a standalone), capped collections and
validators.

Concurrency: mockupdb runs one thread per connection but handles every
request under one server lock, so mongomock (not thread-safe) sees one
command at a time. That also makes each command atomic, like mongod's
per-document atomicity, only stronger.

Set TICKETD_MONGO_MOCK_DEBUG=1 to log every command and reply to stderr.
"""

import argparse
import os
import signal
import sys
import threading

import mockupdb

# The parts live in mockdb/ beside this file; importing wire and semantics
# applies their patches to mockupdb and mongomock, in this order.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mockdb.wire  # noqa: E402,F401
import mockdb.semantics  # noqa: E402,F401
from mockdb.server import MockServer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--host', default='127.0.0.1')
    args = ap.parse_args()

    # Die at once on TERM/INT: mockupdb's atexit hook would join every
    # connection thread for up to 10 s each.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: os._exit(0))

    mock = MockServer()
    server = mockupdb.MockupDB(port=args.port, verbose=False)
    server._address = (args.host, args.port)   # mockupdb binds "localhost"
    server.autoresponds(mock.handle)
    port = server.run()
    print('mongo_mock: listening on %s:%d' % (args.host, port), flush=True)
    threading.Event().wait()


if __name__ == '__main__':
    main()
