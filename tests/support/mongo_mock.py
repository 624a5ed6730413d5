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
import copy
import datetime
import errno
import itertools
import operator
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import traceback

import bson
import mockupdb
import mongomock
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from bson.int64 import Int64
from bson.objectid import ObjectId
from mongomock import collection as mm_collection
from mongomock import filtering as mm_filtering
from mongomock import helpers as mm_helpers
from mongomock.filtering import filter_applies
from pymongo.errors import (CollectionInvalid, DuplicateKeyError, InvalidName,
                            OperationFailure, WriteError)

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


# ---------------------------------------------------------------------------
# Wire-level patches to mockupdb
# ---------------------------------------------------------------------------

# Decode BSON without turning binary subtypes 3/4 into uuid.UUID, so every
# Binary goes back out with the subtype it came in with. (Subtype 0 decodes
# to bytes and bytes encode as subtype 0, so that round-trips too; int64
# decodes to bson.Int64 and the patches below keep it one.)
mockupdb.CODEC_OPTIONS = CodecOptions(
    document_class=dict, uuid_representation=UuidRepresentation.UNSPECIFIED)


def _receive(sock, length):
    # mockupdb's receive concatenates bytes chunk by chunk, which is
    # quadratic: a 48 MB insert batch would take minutes.
    buf = bytearray(length)
    view = memoryview(buf)
    pos = 0
    while pos < length:
        n = sock.recv_into(view[pos:], length - pos)
        if n == 0:
            raise socket.error(errno.ECONNRESET, 'closed')
        pos += n
    return bytes(buf)


mockupdb.mock_server_receive = _receive


def _cheap_repr(self):
    # mockupdb formats every request and reply as JSON for its log even when
    # logging is off; for GridFS chunks that is most of the CPU time.
    return '%s(%s)' % (type(self).__name__, getattr(self, 'command_name', ''))


mockupdb.Request.__repr__ = _cheap_repr
mockupdb.Reply.__repr__ = _cheap_repr

_INT32 = struct.Struct('<i').pack
_CODEC = CodecOptions()


def _encode_doc(doc, parts):
    """Appends doc's BSON to parts as pieces; returns its size."""
    at = len(parts)
    parts.append(b'')
    size = 5
    for key, value in doc.items():
        size += _encode_element(key.encode('utf-8') + b'\x00', value, parts)
    parts.append(b'\x00')
    parts[at] = _INT32(size)
    return size


def _encode_element(name, value, parts):
    if isinstance(value, dict):
        parts.append(b'\x03' + name)
        return 1 + len(name) + _encode_doc(value, parts)
    if isinstance(value, (list, tuple)):
        parts.append(b'\x04' + name)
        return 1 + len(name) + _encode_doc(
            {str(i): v for i, v in enumerate(value)}, parts)
    if isinstance(value, bytes) and getattr(value, 'subtype', 0) != 2:
        head = b'\x05' + name + _INT32(len(value)) + \
            bytes((getattr(value, 'subtype', 0),))
        parts.append(head)
        parts.append(value)
        return len(head) + len(value)
    piece = bson._name_value_to_bson(name, value, False, _CODEC)
    parts.append(piece)
    return len(piece)


def _op_msg_reply_bytes(self, request):
    # The pure-Python bson encoder copies every nested document into its
    # parent, and the header concatenation copies the whole reply again:
    # about a second per 16 MB batch of attachment chunks. Collect the
    # pieces and join them once.
    parts = [b'', struct.pack('<Ib', self._flags, 0)]
    size = 16 + 5 + _encode_doc(self.doc, parts)
    parts[0] = struct.pack('<iiii', size, random.randint(0, 1000000),
                           request.request_id, mockupdb.OP_MSG)
    return b''.join(parts)


mockupdb.OpMsgReply.reply_bytes = _op_msg_reply_bytes


# ---------------------------------------------------------------------------
# Semantic patches to mongomock
# ---------------------------------------------------------------------------

def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _bson_type_name(v):
    if v is None:
        return 'null'
    for t, name in ((bool, 'bool'), (Int64, 'long'), (int, 'int'),
                    (float, 'double'), (str, 'string'), (dict, 'object'),
                    (list, 'array'), (bytes, 'binData'),
                    (datetime.datetime, 'date'), (ObjectId, 'objectId')):
        if isinstance(v, t):
            return name
    return type(v).__name__


def _arith(a, b, op, what):
    """a op b with mongod's type promotion: any double gives a double, any
    long gives a long, int op int stays int unless it overflows to long."""
    if isinstance(a, float) or isinstance(b, float):
        return float(op(float(a), float(b)))
    r = op(int(a), int(b))
    if not -2**63 <= r < 2**63:
        raise WriteError('Failed to apply %s operations to current value: '
                         'integer overflow' % what, 2)
    if isinstance(a, Int64) or isinstance(b, Int64) or not -2**31 <= r < 2**31:
        return Int64(r)
    return r


def _numeric_updater(what, op, zero_of):
    def updater(doc, field, value):
        if not _is_number(value):
            verb = 'increment' if what == '$inc' else 'multiply'
            raise WriteError('Cannot %s with non-numeric argument: {%s: %s}'
                             % (verb, field, shell_repr(value)), 14)
        if isinstance(doc, list):
            idx = int(field)
            if idx < 0:
                raise WriteError('Negative index provided', 2)
            doc.extend([None] * (idx + 1 - len(doc)))
            has, cur = doc[idx] is not None, doc[idx]
        elif isinstance(doc, dict):
            has, cur = field in doc, doc.get(field)
        else:
            return
        if not has:
            new = zero_of(value)
        elif not _is_number(cur):
            raise WriteError("Cannot apply %s to a value of non-numeric type. "
                             "The field '%s' has non-numeric type %s"
                             % (what, field, _bson_type_name(cur)), 14)
        else:
            new = _arith(cur, value, op, what)
        if isinstance(doc, list):
            doc[int(field)] = new
        else:
            doc[field] = new
    return updater


def _zero_like(v):
    return type(v)(0) if isinstance(v, (float, Int64)) else 0


# $inc: mongomock adds with Python '+', so Int64(7) + 1 is a plain int and
# goes back to the client as int32. $mul: mongomock does not know it.
mm_collection._updaters['$inc'] = _numeric_updater(
    '$inc', operator.add, lambda v: v)
mm_collection._updaters['$mul'] = _numeric_updater(
    '$mul', operator.mul, _zero_like)

UPDATE_OPERATORS = {'$set', '$unset', '$inc', '$mul', '$min', '$max', '$pop',
                    '$rename', '$setOnInsert', '$currentDate', '$addToSet',
                    '$pull', '$pullAll', '$push'}


def _index_key_values(doc, keys):
    """Index keys a document produces for `keys` ([(field, dir)]): a list
    of value tuples (several if a field is an array: multikey), and whether
    every field is missing (what a sparse index skips)."""
    per_field, all_missing = [], True
    for field, _ in keys:
        try:
            v = mm_helpers.get_value_by_dot(doc, field, can_generate_array=True)
            all_missing = False
        except KeyError:
            v = None
        if isinstance(v, list) and v:
            seen = []
            for e in v:
                if e not in seen:
                    seen.append(e)
            per_field.append(seen)
        else:
            per_field.append([v])
    return list(itertools.product(*per_field))[:1000], all_missing


def _unique_conflict(coll, index, doc):
    """The key values `doc` shares with another document under the unique
    `index`, or None."""
    keys = index['key']
    combos, all_missing = _index_key_values(doc, keys)
    if index.get('sparse') and all_missing:
        return None
    pfe = index.get('partialFilterExpression')
    if pfe is not None and not filter_applies(pfe, doc):
        return None
    for combo in combos:
        clauses = [{'_id': {'$ne': doc.get('_id')}}]
        clauses += [{f: {'$eq': v}} for (f, _), v in zip(keys, combo)]
        if pfe is not None:
            clauses.append(pfe)
        for _ in coll._iter_documents({'$and': clauses}):
            return combo
    return None


def dup_key_error(coll, name, keys, values):
    key_pattern = {f: d for f, d in keys}
    key_value = {f: v for (f, _), v in zip(keys, values)}
    msg = ('E11000 duplicate key error collection: %s index: %s dup key: %s'
           % (coll.full_name, name, shell_repr(key_value)))
    return DuplicateKeyError(msg, 11000, {
        'code': 11000, 'errmsg': msg,
        'keyPattern': key_pattern, 'keyValue': key_value})


def _ensure_uniques(self, new_data):
    # Replaces mongomock's check, which says only "E11000 Duplicate Key
    # Error", crashes on unhashable (document or array) keys and ignores
    # multikey semantics. new_data is already in the store.
    for name, index in list(self._store.indexes.items()):
        if index.get('unique'):
            combo = _unique_conflict(self, index, new_data)
            if combo is not None:
                raise dup_key_error(self, name, index['key'], combo)


mm_collection.Collection._ensure_uniques = _ensure_uniques


def shell_repr(v):
    """Values the way mongod prints them in error messages."""
    if isinstance(v, dict):
        if not v:
            return '{}'
        return '{ %s }' % ', '.join('%s: %s' % (k, shell_repr(x))
                                   for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return '[ %s ]' % ', '.join(shell_repr(x) for x in v) if v else '[]'
    if v is None:
        return 'null'
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, str):
        return '"%s"' % v.replace('\\', '\\\\').replace('"', '\\"')
    if isinstance(v, ObjectId):
        return "ObjectId('%s')" % v
    if isinstance(v, datetime.datetime):
        return 'new Date(%d)' % int(
            (v - datetime.datetime(1970, 1, 1)).total_seconds() * 1000)
    return repr(v)


def _check_keys(value):
    if isinstance(value, dict):
        for k, v in value.items():
            if k.startswith('$'):
                raise bson.errors.InvalidDocument(
                    "key %r must not start with '$'" % k)
            if '.' in k:
                raise bson.errors.InvalidDocument(
                    "key %r must not contain '.'" % k)
            _check_keys(v)
    elif isinstance(value, list):
        for v in value:
            _check_keys(v)


class _KeyCheck(object):
    """mongomock validates keys by BSON-encoding each document it stores
    (check_keys=True), in pure Python: for a 1 MB attachment chunk that is
    most of an insert's time. Only the key check matters."""

    @staticmethod
    def encode(doc, check_keys=False, **unused):
        if check_keys:
            _check_keys(doc)
        return b''


mm_collection.BSON = _KeyCheck


# $type: mongomock tells int from long by bit length, not by BSON type, so
# Int64(2) is an "int"; it also lacks null/regex/timestamp and the numeric
# type codes. $size: mongomock counts string length and dict keys; mongod
# matches arrays only. $mod: missing.
mm_filtering.TYPE_MAP.update({
    'int': lambda v: (isinstance(v, int) and not isinstance(v, (bool, Int64))
                      and -2**31 <= v < 2**31),
    'long': lambda v: isinstance(v, Int64) or (
        isinstance(v, int) and not isinstance(v, bool)
        and not -2**31 <= v < 2**31),
    'null': lambda v: v is None,
    'regex': lambda v: isinstance(v, (bson.regex.Regex, type(re.compile('')))),
    'timestamp': lambda v: isinstance(v, bson.timestamp.Timestamp),
    'minKey': lambda v: isinstance(v, bson.min_key.MinKey),
    'maxKey': lambda v: isinstance(v, bson.max_key.MaxKey),
})
for _code, _name in ((1, 'double'), (2, 'string'), (3, 'object'), (4, 'array'),
                     (5, 'binData'), (7, 'objectId'), (8, 'bool'), (9, 'date'),
                     (10, 'null'), (11, 'regex'), (16, 'int'),
                     (17, 'timestamp'), (18, 'long'), (19, 'decimal'),
                     (-1, 'minKey'), (127, 'maxKey')):
    mm_filtering.TYPE_MAP[_code] = mm_filtering.TYPE_MAP[_name]


def _mod_op(doc_val, search_val):
    if not isinstance(search_val, list) or len(search_val) != 2:
        raise OperationFailure('malformed mod, needs to be an array of '
                               'size 2', 2)
    divisor, remainder = (int(x) for x in search_val)
    if divisor == 0:
        raise OperationFailure('divisor cannot be 0', 2)
    values = doc_val if isinstance(doc_val, list) else [doc_val]
    for v in values:
        if _is_number(v):
            n = int(v)      # truncates toward zero, like mongod
            r = abs(n) % abs(divisor) * (-1 if n < 0 else 1)
            if r == remainder:
                return True
    return False


_ops = mm_filtering._filterer_inst._operator_map
_ops['$size'] = lambda dv, sv: isinstance(dv, list) and len(dv) == sv
_ops['$mod'] = _mod_op


def reorder_like(doc, model):
    """doc with its keys in model's order: mongod keeps document order in
    projections, mongomock moves _id last and puts $slice fields after."""
    if isinstance(doc, dict) and isinstance(model, dict):
        out = {k: reorder_like(doc[k], model[k]) for k in model if k in doc}
        out.update((k, v) for k, v in doc.items() if k not in out)
        return out
    if isinstance(doc, list) and isinstance(model, list) and \
            len(doc) == len(model):
        return [reorder_like(d, m) for d, m in zip(doc, model)]
    return doc


def find_docs(coll, flt, projection=None, **kwargs):
    """coll.find(flt, projection, **kwargs) as a list, projected in
    document order."""
    docs = list(coll.find(flt, None, **kwargs))
    if projection:
        docs = [reorder_like(coll._copy_only_fields(d, dict(projection), dict),
                             d) for d in docs]
    return docs


def _store_key(doc_id):
    return mm_helpers.hashdict(doc_id) if isinstance(doc_id, dict) else doc_id


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------

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


class MockServer(object):
    def __init__(self):
        self.client = mongomock.MongoClient()
        self.cursors = {}
        self.started = datetime.datetime.utcnow()
        self.commands = {
            'hello': self.cmd_hello, 'isMaster': self.cmd_hello,
            'ismaster': self.cmd_hello, 'ping': self.cmd_ok,
            'buildInfo': self.cmd_build_info, 'buildinfo': self.cmd_build_info,
            'serverStatus': self.cmd_server_status,
            'getLastError': self.cmd_get_last_error,
            'getlasterror': self.cmd_get_last_error,
            'endSessions': self.cmd_ok, 'killSessions': self.cmd_ok,
            'refreshSessions': self.cmd_ok, 'killAllSessions': self.cmd_ok,
            'insert': self.cmd_insert, 'update': self.cmd_update,
            'delete': self.cmd_delete, 'find': self.cmd_find,
            'getMore': self.cmd_get_more, 'killCursors': self.cmd_kill_cursors,
            'count': self.cmd_count, 'aggregate': self.cmd_aggregate,
            'distinct': self.cmd_distinct,
            'findAndModify': self.cmd_find_and_modify,
            'findandmodify': self.cmd_find_and_modify,
            'createIndexes': self.cmd_create_indexes,
            'listIndexes': self.cmd_list_indexes,
            'dropIndexes': self.cmd_drop_indexes,
            'deleteIndexes': self.cmd_drop_indexes,
            'dropDatabase': self.cmd_drop_database, 'drop': self.cmd_drop,
            'listCollections': self.cmd_list_collections,
            'listDatabases': self.cmd_list_databases,
            'create': self.cmd_create,
            'renameCollection': self.cmd_rename_collection,
        }

    # -- mockupdb entry point ----------------------------------------------

    def handle(self, request):
        """Answers every request (mockupdb autoresponder: returns True)."""
        if not isinstance(request, mockupdb.CommandBase):
            # Legacy OP_QUERY/OP_GET_MORE on a collection, OP_INSERT...:
            # libmongoc >= 1.20 never sends them to a wire version 13 server.
            log('unsupported legacy opcode %s' % type(request).__name__)
            if isinstance(request, (mockupdb.OpQuery, mockupdb.OpGetMore)):
                request.fail('mongo_mock: legacy opcodes are not supported')
            return True
        cmd = request.doc
        if '$query' in cmd:     # OP_QUERY commands may come wrapped
            cmd = cmd['$query']
        name = next(iter(cmd), '')
        db = request.namespace or 'admin'
        try:
            fn = self.commands.get(name)
            if fn is None:
                raise CommandError(59, "no such command: '%s'" % name)
            reply = fn(db, cmd, name)
        except CommandError as e:
            reply = e.reply()
        except DuplicateKeyError as e:
            reply = CommandError(11000, error_message(e), **{
                k: v for k, v in (e.details or {}).items()
                if k in ('keyPattern', 'keyValue')}).reply()
        except Exception as e:  # noqa: BLE001 - every failure must reply
            code, msg = error_code(e)
            if code == 1:
                traceback.print_exc()
            reply = CommandError(code, msg).reply()
        if DEBUG:
            log('%s.%s %s -> %s' % (db, name, brief(cmd), brief(reply)))
        flags = request.flags or 0
        if isinstance(request, mockupdb.OpMsg) and \
                flags & mockupdb.OP_MSG_FLAGS['moreToCome']:
            return True         # unacknowledged write (w:0): no reply
        request.replies(reply)
        return True

    # -- helpers -----------------------------------------------------------

    def coll(self, db, cmd, name):
        cname = cmd.get(name)
        if not isinstance(cname, str) or not cname:
            raise CommandError(73, "collection name has invalid type %s"
                               % _bson_type_name(cname))
        try:
            return self.client[db][cname]
        except InvalidName as e:
            raise CommandError(73, 'Invalid collection name: %s' % e)

    def cursor_reply(self, ns, docs, batch_size, single_batch, key):
        first = DEFAULT_FIRST_BATCH if batch_size is None else int(batch_size)
        if first < 0:
            raise CommandError(2, 'BSON field \'batchSize\' value must be '
                               '>= 0, actual value \'%d\'' % first)
        batch, pos = take_batch(docs, 0, first)
        cursor_id = 0
        if pos < len(docs) and not single_batch:
            cursor_id = random.getrandbits(62) + 1
            self.cursors[cursor_id] = Cursor(ns, docs, pos)
        return {'cursor': {key: batch, 'id': Int64(cursor_id), 'ns': ns},
                'ok': 1.0}

    @staticmethod
    def reject_options(cmd, names):
        for n in names:
            if cmd.get(n):
                raise NotImplementedError('option %r' % n)

    def atomic(self, coll, q, multi, fn):
        # mongomock applies update operators to the stored document one by
        # one and does not undo the earlier ones when a later one fails;
        # mongod applies a document's update all or nothing. Snapshot what
        # the update will touch and put it back on error. (Duplicate keys
        # are rolled back by mongomock itself.)
        saved = {}
        for doc in coll._iter_documents(q):
            saved[_store_key(doc['_id'])] = copy.deepcopy(doc)
            if not multi:
                break
        try:
            return fn()
        except DuplicateKeyError:
            raise
        except Exception:
            for key, doc in saved.items():
                coll._store[key] = doc
            raise

    def apply_update(self, coll, q, u, upsert, multi):
        """One update statement; mongomock's raw result dict."""
        if isinstance(u, list):
            raise NotImplementedError('pipeline-style updates')
        if not isinstance(u, dict):
            raise WriteError('Update argument must be either an object or '
                             'an array', 14)
        ops = [k for k in u if k.startswith('$')]
        if ops:
            for k in u:
                if k not in UPDATE_OPERATORS:
                    raise WriteError(
                        'Unknown modifier: %s. Expected a valid update modifier'
                        ' or pipeline-style update specified as an array' % k, 9)
            fn = coll.update_many if multi else coll.update_one
        else:
            if multi:
                raise WriteError('multi update is not supported for '
                                 'replacement-style update', 9)
            fn = coll.replace_one
        result = self.atomic(coll, q, multi,
                             lambda: fn(q, u, upsert=upsert)).raw_result
        if result.get('upserted') is not None:
            # mongomock appends _id last when it builds an upsert from the
            # query; mongod always stores _id first.
            key = _store_key(result['upserted'])
            doc = coll._store[key]
            fixed = {'_id': doc['_id']}
            fixed.update((k, v) for k, v in doc.items() if k != '_id')
            coll._store[key] = fixed
        return result

    # -- handshake and server info -----------------------------------------

    def cmd_ok(self, db, cmd, name):
        return {'ok': 1.0}

    def cmd_hello(self, db, cmd, name):
        reply = {}
        if cmd.get('helloOk'):
            reply['helloOk'] = True
        reply['isWritablePrimary' if name == 'hello' else 'ismaster'] = True
        reply.update({
            # No topologyVersion: libmongoc then polls instead of using
            # streaming (exhaust) hello, which mockupdb cannot answer.
            'maxBsonObjectSize': MAX_BSON_SIZE,
            'maxMessageSizeBytes': MAX_MESSAGE_SIZE,
            'maxWriteBatchSize': 100000,
            'localTime': datetime.datetime.utcnow(),
            'logicalSessionTimeoutMinutes': 30,
            'connectionId': 1,
            'minWireVersion': 0,
            'maxWireVersion': MAX_WIRE_VERSION,
            'readOnly': False,
            'ok': 1.0,
        })
        return reply

    def cmd_build_info(self, db, cmd, name):
        return {'version': '5.0.0', 'gitVersion': 'mongo_mock',
                'versionArray': [5, 0, 0, 0], 'bits': 64,
                'maxBsonObjectSize': MAX_BSON_SIZE, 'ok': 1.0}

    def cmd_server_status(self, db, cmd, name):
        now = datetime.datetime.utcnow()
        return {'host': 'mongo_mock', 'version': '5.0.0', 'process': 'mongod',
                'pid': Int64(os.getpid()),
                'uptime': float((now - self.started).total_seconds()),
                'localTime': now, 'ok': 1.0}

    def cmd_get_last_error(self, db, cmd, name):
        return {'n': 0, 'err': None, 'ok': 1.0}

    # -- writes -------------------------------------------------------------

    def cmd_insert(self, db, cmd, name):
        coll = self.coll(db, cmd, name)
        ordered = cmd.get('ordered', True)
        n, errors = 0, []
        for i, doc in enumerate(cmd.get('documents', [])):
            try:
                if '_id' not in doc:
                    doc = dict(_id=ObjectId(), **doc)   # mongod puts it first
                elif isinstance(doc['_id'], (list, bson.regex.Regex)):
                    raise WriteError("can't use a%s for _id" % (
                        'n array' if isinstance(doc['_id'], list)
                        else ' regex'), 2)
                coll.insert_one(doc)
                n += 1
            except Exception as e:  # noqa: BLE001
                errors.append(write_error(i, e, coll, doc))
                if ordered:
                    break
        reply = {'n': n}
        if errors:
            reply['writeErrors'] = errors
        reply['ok'] = 1.0
        return reply

    def cmd_update(self, db, cmd, name):
        coll = self.coll(db, cmd, name)
        ordered = cmd.get('ordered', True)
        n = n_modified = 0
        upserted, errors = [], []
        for i, st in enumerate(cmd.get('updates', [])):
            try:
                self.reject_options(st, ('arrayFilters', 'collation'))
                r = self.apply_update(coll, st.get('q', {}), st.get('u'),
                                      bool(st.get('upsert', False)),
                                      bool(st.get('multi', False)))
                n += r['n']
                n_modified += r['nModified']
                if r.get('upserted') is not None:
                    upserted.append({'index': i, '_id': r['upserted']})
            except Exception as e:  # noqa: BLE001
                errors.append(write_error(i, e, coll, upsert_id_doc(st)))
                if ordered:
                    break
        reply = {'n': n, 'nModified': n_modified}
        if upserted:
            reply['upserted'] = upserted
        if errors:
            reply['writeErrors'] = errors
        reply['ok'] = 1.0
        return reply

    def cmd_delete(self, db, cmd, name):
        coll = self.coll(db, cmd, name)
        ordered = cmd.get('ordered', True)
        n, errors = 0, []
        for i, st in enumerate(cmd.get('deletes', [])):
            try:
                self.reject_options(st, ('collation',))
                q = st.get('q', {})
                if st.get('limit', 0) == 1:
                    n += coll.delete_one(q).deleted_count
                else:
                    n += coll.delete_many(q).deleted_count
            except Exception as e:  # noqa: BLE001
                errors.append(write_error(i, e, coll))
                if ordered:
                    break
        reply = {'n': n}
        if errors:
            reply['writeErrors'] = errors
        reply['ok'] = 1.0
        return reply

    def cmd_find_and_modify(self, db, cmd, name):
        coll = self.coll(db, cmd, name)
        self.reject_options(cmd, ('arrayFilters', 'collation'))
        query = cmd.get('query') or {}
        sort = list((cmd.get('sort') or {}).items()) or None
        fields = cmd.get('fields') or None
        update = cmd.get('update')
        remove, new = bool(cmd.get('remove')), bool(cmd.get('new'))
        upsert = bool(cmd.get('upsert'))
        if remove and update is not None:
            raise CommandError(9, 'Cannot specify both an update and '
                               'remove=true')
        if not remove and update is None:
            raise CommandError(9, 'Either an update or remove=true must be '
                               'specified')
        if remove and (new or upsert):
            raise CommandError(9, "Cannot specify both new=true and "
                               "remove=true; 'remove' always returns the "
                               "deleted document" if new else
                               'Cannot specify both upsert=true and '
                               'remove=true')
        pre = next(iter(coll.find(query, sort=sort, limit=1)), None)
        leo = {'n': 0}
        value = None
        if pre is not None:
            pre_id = pre['_id']
            by_id = {'_id': pre_id}
            pre_value = find_docs(coll, by_id, fields)[0]
            if remove:
                coll.delete_one(by_id)
                leo, value = {'n': 1}, pre_value
            else:
                # Keep the caller's query so the positional $ still works,
                # but pin it to the document the sort chose.
                if '_id' not in query:
                    q = dict(query, _id=pre_id)
                elif query['_id'] == pre_id:
                    q = query
                else:
                    q = by_id
                try:
                    self.apply_update(coll, q, update, False, False)
                except WriteError as e:
                    raise CommandError(*error_code(e))
                leo = {'n': 1, 'updatedExisting': True}
                value = find_docs(coll, by_id, fields)[0] if new else pre_value
        elif upsert:
            try:
                r = self.apply_update(coll, query, update, True, False)
            except WriteError as e:
                raise CommandError(*error_code(e))
            leo = {'n': 1, 'updatedExisting': False,
                   'upserted': r['upserted']}
            if new:
                value = find_docs(coll, {'_id': r['upserted']}, fields)[0]
        elif not remove:
            leo = {'n': 0, 'updatedExisting': False}
        return {'lastErrorObject': leo, 'value': value, 'ok': 1.0}

    # -- reads ----------------------------------------------------------------

    def cmd_find(self, db, cmd, name):
        coll = self.coll(db, cmd, name)
        self.reject_options(cmd, ('collation', 'tailable', 'awaitData', 'min',
                                  'max', 'returnKey', 'showRecordId'))
        limit = int(cmd.get('limit', 0))
        skip = int(cmd.get('skip', 0))
        single = bool(cmd.get('singleBatch', False))
        if limit < 0:
            limit, single = -limit, True
        if skip < 0:
            raise CommandError(2, 'skip value must be non-negative')
        sort = list((cmd.get('sort') or {}).items()) or None
        docs = find_docs(coll, cmd.get('filter') or {},
                         cmd.get('projection') or None,
                         skip=skip, limit=limit, sort=sort)
        return self.cursor_reply(coll.full_name, docs, cmd.get('batchSize'),
                                 single, 'firstBatch')

    def cmd_get_more(self, db, cmd, name):
        cursor_id = int(cmd['getMore'])
        cur = self.cursors.get(cursor_id)
        if cur is None or cur.ns != '%s.%s' % (db, cmd.get('collection')):
            raise CommandError(43, 'cursor id %d not found' % cursor_id)
        size = cmd.get('batchSize')
        batch, cur.pos = take_batch(cur.docs, cur.pos,
                                    int(size) if size else None)
        if cur.pos >= len(cur.docs):
            del self.cursors[cursor_id]
            cursor_id = 0
        return {'cursor': {'nextBatch': batch, 'id': Int64(cursor_id),
                           'ns': cur.ns}, 'ok': 1.0}

    def cmd_kill_cursors(self, db, cmd, name):
        killed, missing = [], []
        for cid in cmd.get('cursors', []):
            if self.cursors.pop(int(cid), None) is not None:
                killed.append(Int64(cid))
            else:
                missing.append(Int64(cid))
        return {'cursorsKilled': killed, 'cursorsNotFound': missing,
                'cursorsAlive': [], 'cursorsUnknown': [], 'ok': 1.0}

    def cmd_count(self, db, cmd, name):
        coll = self.coll(db, cmd, name)
        docs = coll.find(cmd.get('query') or {}, skip=int(cmd.get('skip', 0)),
                         limit=abs(int(cmd.get('limit', 0))))
        return {'n': sum(1 for _ in docs), 'ok': 1.0}

    def cmd_distinct(self, db, cmd, name):
        coll = self.coll(db, cmd, name)
        values = coll.distinct(cmd['key'], cmd.get('query') or None)
        return {'values': list(values), 'ok': 1.0}

    def cmd_aggregate(self, db, cmd, name):
        if not isinstance(cmd.get('aggregate'), str):
            raise NotImplementedError('database-level aggregate')
        coll = self.coll(db, cmd, name)
        self.reject_options(cmd, ('explain', 'collation'))
        if 'cursor' not in cmd:
            raise CommandError(9, "The 'cursor' option is required, except "
                               "for aggregate with the explain argument")
        pipeline = list(cmd.get('pipeline', []))
        if pipeline and '$collStats' in pipeline[0]:
            # estimatedDocumentCount in some drivers.
            docs = [{'ns': coll.full_name, 'count': len(coll._store)}]
            docs = list(mongomock.aggregate.process_pipeline(
                docs, coll.database, pipeline[1:], None))
        else:
            docs = list(coll.aggregate(pipeline))
        return self.cursor_reply(coll.full_name, docs,
                                 cmd['cursor'].get('batchSize'), False,
                                 'firstBatch')

    # -- indexes ----------------------------------------------------------------

    def cmd_create_indexes(self, db, cmd, name):
        coll = self.coll(db, cmd, name)
        created_auto = not coll._store.is_created
        if created_auto:
            coll._store.create()
        before = len(coll.index_information())
        made = 0
        for spec in cmd.get('indexes', []):
            key = spec.get('key')
            if not isinstance(key, dict) or not key:
                raise CommandError(9, "Error in specification %s :: caused by "
                                   ":: The 'key' field must be a non-empty "
                                   "object" % shell_repr(spec))
            self.reject_options(spec, ('collation', 'weights', 'hidden'))
            keys = list(key.items())
            iname = spec.get('name') or mm_helpers.gen_index_name(keys)
            opts = {k: spec[k] for k in ('unique', 'sparse',
                                         'partialFilterExpression',
                                         'expireAfterSeconds') if k in spec}
            if self._same_index_exists(coll, iname, keys, opts):
                continue
            coll.create_index(keys, name=iname,
                              **{k: v for k, v in opts.items()
                                 if k != 'unique'})
            index = coll._store.indexes[iname]
            if opts.get('unique'):
                # Checked here rather than by mongomock, which ignores the
                # partial filter and sparse-ness of existing documents.
                for doc in list(coll._store.documents):
                    combo = _unique_conflict(coll, index, doc)
                    if combo is not None:
                        coll._store.drop_index(iname)
                        e = dup_key_error(coll, iname, keys, combo)
                        raise CommandError(
                            11000, 'Index build failed: %s' % error_message(e),
                            keyPattern=e.details['keyPattern'],
                            keyValue=e.details['keyValue'])
                index['unique'] = True
            made += 1
        reply = {'createdCollectionAutomatically': bool(created_auto),
                 'numIndexesBefore': before,
                 'numIndexesAfter': len(coll.index_information())}
        if not made:
            reply['note'] = 'all indexes already exist'
        reply['ok'] = 1.0
        return reply

    @staticmethod
    def _same_index_exists(coll, iname, keys, opts):
        """True if exactly this index exists; raises mongod's conflict
        errors for a clash of name or key pattern."""
        if keys == [('_id', 1)] or iname == '_id_':
            return True
        want = {k: v for k, v in opts.items() if v not in (False, None)}
        for name, info in coll._store.indexes.items():
            have = {k: v for k, v in info.items() if k != 'key'}
            same_keys = list(info['key']) == keys
            if name == iname and same_keys and have == want:
                return True
            if name == iname:
                raise CommandError(
                    86 if not same_keys else 85,
                    'An existing index has the same name as the requested '
                    'index. When index names are not specified, they are '
                    'auto generated and can cause conflicts. Please refer to '
                    'our documentation. Requested index: %s, existing index: '
                    '%s' % (shell_repr(dict(keys)), shell_repr(dict(info['key']))))
            if same_keys:
                raise CommandError(85, 'Index already exists with a '
                                   'different name: %s' % name)
        return False

    def cmd_list_indexes(self, db, cmd, name):
        coll = self.coll(db, cmd, name)
        if not coll._store.is_created:
            raise CommandError(26, 'ns does not exist: %s' % coll.full_name)
        docs = [{'v': 2, 'key': {'_id': 1}, 'name': '_id_'}]
        for iname, info in coll._store.indexes.items():
            doc = {'v': 2, 'key': dict(info['key']), 'name': iname}
            doc.update((k, v) for k, v in info.items() if k != 'key')
            docs.append(doc)
        return self.cursor_reply(coll.full_name, docs,
                                 (cmd.get('cursor') or {}).get('batchSize'),
                                 False, 'firstBatch')

    def cmd_drop_indexes(self, db, cmd, name):
        coll = self.coll(db, cmd, name)
        if not coll._store.is_created:
            raise CommandError(26, 'ns not found %s' % coll.full_name)
        was = len(coll._store.indexes) + 1
        which = cmd.get('index')
        names = []
        if which == '*':
            names = list(coll._store.indexes)
        elif isinstance(which, str):
            names = [which]
        elif isinstance(which, list):
            names = list(which)
        elif isinstance(which, dict):
            names = [n for n, info in coll._store.indexes.items()
                     if list(info['key']) == list(which.items())]
            if not names:
                raise CommandError(27, "can't find index with key: %s"
                                   % shell_repr(which))
        for n in names:
            if n == '_id_':
                raise CommandError(72, 'cannot drop _id index')
            if n not in coll._store.indexes:
                raise CommandError(27, 'index not found with name [%s]' % n)
        for n in names:
            coll._store.drop_index(n)
        return {'nIndexesWas': was, 'ok': 1.0}

    # -- databases and collections ----------------------------------------

    def cmd_drop_database(self, db, cmd, name):
        self.client.drop_database(db)
        self.cursors = {k: c for k, c in self.cursors.items()
                        if not c.ns.startswith(db + '.')}
        return {'dropped': db, 'ok': 1.0}

    def cmd_drop(self, db, cmd, name):
        coll = self.coll(db, cmd, name)
        if not coll._store.is_created:
            # mongod < 7.0 answers this way; 7.0+ returns ok.
            raise CommandError(26, 'ns not found')
        was = len(coll._store.indexes) + 1
        coll.drop()
        return {'nIndexesWas': was, 'ns': coll.full_name, 'ok': 1.0}

    def cmd_create(self, db, cmd, name):
        self.reject_options(cmd, ('capped', 'validator', 'viewOn',
                                  'timeseries', 'collation', 'clusteredIndex',
                                  'changeStreamPreAndPostImages'))
        coll = self.coll(db, cmd, name)
        if coll._store.is_created:
            raise CommandError(48, 'Collection already exists. NS: %s'
                               % coll.full_name)
        coll._store.create()
        return {'ok': 1.0}

    def cmd_rename_collection(self, db, cmd, name):
        src, dst = cmd.get('renameCollection', ''), cmd.get('to', '')
        sdb, _, sname = src.partition('.')
        ddb, _, dname = dst.partition('.')
        if sdb != ddb:
            raise NotImplementedError('renameCollection across databases')
        database = self.client[sdb]
        if not database[sname]._store.is_created:
            raise CommandError(26, 'Source collection %s does not exist' % src)
        if database[dname]._store.is_created:
            if not cmd.get('dropTarget'):
                raise CommandError(48, 'target namespace exists')
            database[dname].drop()
        database.rename_collection(sname, dname)
        return {'ok': 1.0}

    def cmd_list_collections(self, db, cmd, name):
        database = self.client[db]
        docs = []
        for cname in sorted(database.list_collection_names()):
            docs.append({'name': cname, 'type': 'collection', 'options': {},
                         'info': {'readOnly': False},
                         'idIndex': {'v': 2, 'key': {'_id': 1},
                                     'name': '_id_'}})
        flt = cmd.get('filter') or {}
        if flt:
            docs = [d for d in docs if filter_applies(flt, d)]
        if cmd.get('nameOnly'):
            docs = [{'name': d['name'], 'type': d['type']} for d in docs]
        return self.cursor_reply('%s.$cmd.listCollections' % db, docs,
                                 (cmd.get('cursor') or {}).get('batchSize'),
                                 False, 'firstBatch')

    def cmd_list_databases(self, db, cmd, name):
        names = sorted(self.client.list_database_names())
        if cmd.get('nameOnly'):
            dbs = [{'name': n} for n in names]
        else:
            dbs = [{'name': n, 'sizeOnDisk': 4096.0, 'empty': False}
                   for n in names]
        return {'databases': dbs, 'totalSize': 4096.0 * len(names), 'ok': 1.0}


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
