"""mockdb/semantics.py - semantic patches to mongomock where it differs from mongod.

Part of tests/support/mongo_mock.py, which says why the mock exists and
what it does not support.
"""

import datetime
import itertools
import operator
import re
import bson
from bson.int64 import Int64
from bson.objectid import ObjectId
from mongomock import collection as mm_collection
from mongomock import filtering as mm_filtering
from mongomock import helpers as mm_helpers
from mongomock.filtering import filter_applies
from pymongo.errors import DuplicateKeyError, OperationFailure, WriteError


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
