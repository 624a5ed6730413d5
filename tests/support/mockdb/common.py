"""mockdb/common.py - the constants, the log and the error every part of the mock shares.

Part of tests/support/mongo_mock.py, which says why the mock exists and
what it does not support.
"""

import itertools
import os
import sys


DEBUG = os.environ.get('TICKETD_MONGO_MOCK_DEBUG', '') not in ('', '0')
MAX_WIRE_VERSION = 13            # MongoDB 5.0; libmongoc 1.23 accepts 6..17
MAX_BSON_SIZE = 16 * 1024 * 1024
MAX_MESSAGE_SIZE = 48000000
BATCH_BYTES = MAX_BSON_SIZE - 64 * 1024   # room for the reply envelope
DEFAULT_FIRST_BATCH = 101                 # mongod's default first batch

CODE_NAMES = {
    1: 'InternalError', 2: 'BadValue', 9: 'FailedToParse', 14: 'TypeMismatch',
    26: 'NamespaceNotFound', 27: 'IndexNotFound', 43: 'CursorNotFound',
    48: 'NamespaceExists', 59: 'CommandNotFound', 66: 'ImmutableField',
    67: 'CannotCreateIndex', 73: 'InvalidNamespace', 85: 'IndexOptionsConflict',
    86: 'IndexKeySpecsConflict', 238: 'NotImplemented', 11000: 'DuplicateKey',
}


def log(msg):
    sys.stderr.write('mongo_mock: %s\n' % msg)
    sys.stderr.flush()


class CommandError(Exception):
    """A command failed as a whole: {ok: 0, errmsg, code, codeName}."""

    def __init__(self, code, errmsg, **extra):
        super().__init__(errmsg)
        self.code = code
        self.errmsg = errmsg
        self.extra = extra

    def reply(self):
        doc = {'ok': 0.0, 'errmsg': self.errmsg, 'code': self.code,
               'codeName': CODE_NAMES.get(self.code, 'UnknownError')}
        doc.update(self.extra)
        return doc


def brief(obj, depth=0):
    """A short repr for the debug log (binary and long arrays elided)."""
    if isinstance(obj, bytes):
        return '<%d bytes>' % len(obj)
    if isinstance(obj, dict):
        if depth > 3:
            return '{...}'
        return '{%s}' % ', '.join('%s: %s' % (k, brief(v, depth + 1))
                                  for k, v in itertools.islice(obj.items(), 12))
    if isinstance(obj, list):
        items = [brief(v, depth + 1) for v in obj[:5]]
        if len(obj) > 5:
            items.append('... %d more' % (len(obj) - 5))
        return '[%s]' % ', '.join(items)
    text = repr(obj)
    return text if len(text) < 80 else text[:77] + '...'
