"""mockdb/server.py - the MockServer class: dispatch, helpers, handshake.

Part of tests/support/mongo_mock.py, which says why the mock exists and
what it does not support.
"""

import copy
import datetime
import os
import random
import traceback
import mockupdb
import mongomock
from bson.int64 import Int64
from pymongo.errors import DuplicateKeyError, InvalidName, WriteError

from mockdb.common import CommandError, DEBUG, DEFAULT_FIRST_BATCH, MAX_BSON_SIZE, MAX_MESSAGE_SIZE, MAX_WIRE_VERSION, brief, log
from mockdb.semantics import UPDATE_OPERATORS, _bson_type_name, _store_key
from mockdb.replies import Cursor, error_code, error_message, take_batch
from mockdb.crud import CrudCommands
from mockdb.admin import AdminCommands


class MockServer(CrudCommands, AdminCommands):
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
