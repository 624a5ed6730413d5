"""mockdb/admin.py - index, database and collection commands (a MockServer mixin).

Part of tests/support/mongo_mock.py, which says why the mock exists and
what it does not support.
"""

from mongomock import helpers as mm_helpers
from mongomock.filtering import filter_applies

from mockdb.common import CommandError
from mockdb.semantics import _unique_conflict, dup_key_error, shell_repr
from mockdb.replies import error_message


class AdminCommands(object):
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
