"""mockdb/crud.py - CRUD, findAndModify, count, distinct and aggregate commands (a MockServer mixin).

Part of tests/support/mongo_mock.py, which says why the mock exists and
what it does not support.
"""

import bson
import mongomock
from bson.int64 import Int64
from bson.objectid import ObjectId
from pymongo.errors import WriteError

from mockdb.common import CommandError
from mockdb.semantics import find_docs
from mockdb.replies import error_code, take_batch, upsert_id_doc, write_error


class CrudCommands(object):
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
