"""mockdb/replies.py - cursors, batches, write errors and the mapping of exceptions to error codes.

Part of tests/support/mongo_mock.py, which says why the mock exists and
what it does not support.
"""

import bson
from pymongo.errors import DuplicateKeyError, InvalidName, OperationFailure, WriteError

from mockdb.common import BATCH_BYTES, CommandError
from mockdb.semantics import dup_key_error


class Cursor(object):
    __slots__ = ('ns', 'docs', 'pos')

    def __init__(self, ns, docs, pos):
        self.ns, self.docs, self.pos = ns, docs, pos


def approx_size(value):
    """Roughly the BSON size of value; exact enough to keep a batch near
    16 MB (mongod's limit) and far from the 48 MB message limit, and much
    cheaper than encoding with the pure-Python bson module."""
    if isinstance(value, dict):
        return 5 + sum(len(k) + 2 + approx_size(v) for k, v in value.items())
    if isinstance(value, list):
        return 5 + sum(4 + approx_size(v) for v in value)
    if isinstance(value, (bytes, str)):
        return 5 + len(value) * (1 if isinstance(value, bytes) else 4)
    if isinstance(value, bson.binary.Binary):
        return 5 + len(value)
    return 16


def take_batch(docs, pos, max_docs):
    """docs[pos:] up to max_docs (None: no count limit) and ~16 MB."""
    out, size = [], 0
    while pos < len(docs) and (max_docs is None or len(out) < max_docs):
        n = approx_size(docs[pos])
        if out and size + n > BATCH_BYTES:
            break
        out.append(docs[pos])
        size += n
        pos += 1
    return out, pos


def write_error(index, exc, coll=None, doc=None):
    """A writeErrors[] entry for exc, as mongod words it."""
    if isinstance(exc, DuplicateKeyError):
        details = exc.details
        if not details:
            # mongomock's own _id check in _insert carries no details.
            doc_id = doc.get('_id') if isinstance(doc, dict) else None
            details = dup_key_error(coll, '_id_', [('_id', 1)],
                                    [doc_id]).details
        entry = {'index': index, 'code': 11000}
        for k in ('keyPattern', 'keyValue'):
            if k in details:
                entry[k] = details[k]
        entry['errmsg'] = details['errmsg']
        return entry
    code, msg = error_code(exc)
    return {'index': index, 'code': code, 'errmsg': msg}


def upsert_id_doc(st):
    """{_id} of the document an upsert statement would insert, as far as
    its query pins it (q: {_id: X, ...}), for the duplicate-key message:
    mongod reports that _id as keyValue; None when there is nothing to say.
    """
    q = st.get('q') or {}
    if not st.get('upsert') or '_id' not in q:
        return None
    v = q['_id']
    if isinstance(v, dict) and any(k.startswith('$') for k in v):
        if '$eq' not in v:
            return None
        v = v['$eq']
    return {'_id': v}


def error_message(exc):
    # pymongo's str() of an error appends ", full error: {details}".
    details = getattr(exc, 'details', None)
    if isinstance(details, dict) and details.get('errmsg'):
        return details['errmsg']
    return str(exc.args[0]) if exc.args else str(exc)


def error_code(exc):
    """(code, errmsg) for an exception from mongomock or from us."""
    if isinstance(exc, CommandError):
        return exc.code, exc.errmsg
    if isinstance(exc, NotImplementedError):
        return 238, 'mongo_mock does not implement this: %s' % exc
    msg = error_message(exc)
    code = getattr(exc, 'code', None)
    if code:
        return code, msg
    if '_id' in msg and ('immutable' in msg or 'cannot be changed' in msg):
        return 66, msg
    if isinstance(exc, (InvalidName, bson.errors.InvalidDocument)):
        return 2, msg
    if isinstance(exc, (OperationFailure, WriteError, ValueError, TypeError,
                        KeyError)):
        return 2, msg
    return 1, 'mongo_mock internal error: %r' % (exc,)
