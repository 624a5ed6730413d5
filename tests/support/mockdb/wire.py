"""mockdb/wire.py - wire-level patches to mockupdb (BSON codec, receive, OP_MSG replies).

Part of tests/support/mongo_mock.py, which says why the mock exists and
what it does not support.
"""

import errno
import random
import socket
import struct
import bson
import mockupdb
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions


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
