/* store_sqlite_text.c - the write side of the text search index
 * (store_sqlite_list.c has the index and its reads).
 *
 * Up to schema 14 the triggers on tickets and comments wrote each text
 * into ticket_text (FTS5) at once. Under group commit every write runs
 * in a SAVEPOINT, and FTS5 (3.40) writes its pending terms out as a new
 * segment at every savepoint: a group of 8 comments left 8 one-document
 * segments, each a b-tree of its own in the write-ahead log, and the
 * merges to undo them later. With the triggers removed, POST comment
 * went from ~1 700 to ~2 400 req/s on 2 cores.
 *
 * So, from schema 15, the triggers queue what the index must do
 * (text_queue: insert or delete a document's text, in order), and the
 * writer applies the queue in one statement just before each COMMIT,
 * outside every savepoint (store_sqlite_tx.c, store_sqlite_group.c):
 * one FTS5 segment per commit. The queue rows are ordinary rows of the
 * same transaction - a failed operation's savepoint rollback takes its
 * queued texts with it, and readers, which only see committed states,
 * always find the index complete (the queue is empty at every commit).
 * Deletes keep the order of the operations: a contentless FTS5 table
 * must be told the exact text it indexed, and a document inserted and
 * changed in one group is inserted, then deleted, then inserted anew. */
#include "store_sqlite_int.h"

/* Migration 15: the queue, and the six triggers of migration 11 again,
 * writing to it instead of to ticket_text. */
const char sq_migration_text_queue[] =
    "CREATE TABLE text_queue ("
    "  seq  INTEGER PRIMARY KEY,"
    "  doc  INTEGER NOT NULL,"   /* ticket_docs.id = ticket_text's rowid */
    "  body TEXT NOT NULL,"
    "  del  INTEGER NOT NULL"    /* 1: remove body from doc; 0: add it */
    ");"
    "DROP TRIGGER ticket_text_ai;"
    "DROP TRIGGER ticket_text_au;"
    "DROP TRIGGER ticket_text_ad;"
    "DROP TRIGGER comment_text_ai;"
    "DROP TRIGGER comment_text_au;"
    "DROP TRIGGER comment_text_ad;"
    /* last_insert_rowid() inside a trigger is the row the trigger's
     * previous INSERT made: the document's id. */
    "CREATE TRIGGER ticket_text_ai AFTER INSERT ON tickets BEGIN"
    "  INSERT INTO ticket_docs(ticket, comment_id, internal) VALUES (new.number, NULL, 0);"
    "  INSERT INTO text_queue(doc, body, del) VALUES (last_insert_rowid(), new.subject, 0);"
    " END;"
    "CREATE TRIGGER ticket_text_au AFTER UPDATE OF subject ON tickets"
    " WHEN old.subject IS NOT new.subject BEGIN"
    "  INSERT INTO text_queue(doc, body, del) SELECT id, old.subject, 1"
    "    FROM ticket_docs WHERE ticket = old.number AND comment_id IS NULL;"
    "  INSERT INTO text_queue(doc, body, del) SELECT id, new.subject, 0"
    "    FROM ticket_docs WHERE ticket = new.number AND comment_id IS NULL;"
    " END;"
    "CREATE TRIGGER ticket_text_ad AFTER DELETE ON tickets BEGIN"
    "  INSERT INTO text_queue(doc, body, del) SELECT id, old.subject, 1"
    "    FROM ticket_docs WHERE ticket = old.number AND comment_id IS NULL;"
    "  DELETE FROM ticket_docs WHERE ticket = old.number AND comment_id IS NULL;"
    " END;"
    "CREATE TRIGGER comment_text_ai AFTER INSERT ON comments BEGIN"
    "  INSERT INTO ticket_docs(ticket, comment_id, internal) VALUES (new.ticket, new.id, new.internal);"
    "  INSERT INTO text_queue(doc, body, del) VALUES (last_insert_rowid(), coalesce(new.body, ''), 0);"
    " END;"
    "CREATE TRIGGER comment_text_au AFTER UPDATE OF body, internal, ticket, id ON comments BEGIN"
    "  INSERT INTO text_queue(doc, body, del) SELECT id, coalesce(old.body, ''), 1"
    "    FROM ticket_docs WHERE comment_id = old.id;"
    "  UPDATE ticket_docs SET ticket = new.ticket, comment_id = new.id, internal = new.internal"
    "    WHERE comment_id = old.id;"
    "  INSERT INTO text_queue(doc, body, del) SELECT id, coalesce(new.body, ''), 0"
    "    FROM ticket_docs WHERE comment_id = new.id;"
    " END;"
    "CREATE TRIGGER comment_text_ad AFTER DELETE ON comments BEGIN"
    "  INSERT INTO text_queue(doc, body, del) SELECT id, coalesce(old.body, ''), 1"
    "    FROM ticket_docs WHERE comment_id = old.id;"
    "  DELETE FROM ticket_docs WHERE comment_id = old.id;"
    " END;";

bool sq_text_flush(struct sq_store *s, struct td_err *err)
{
    if (s->schema < SQ_SCHEMA_TEXT_QUEUE)
        return true; /* an older schema: its triggers write the index */
    /* A NULL in the column named after the table is a plain insert;
     * 'delete' removes the text from the document. In seq order. */
    return sq_exec(s, "INSERT INTO ticket_text(ticket_text, rowid, body) "
                      "SELECT CASE WHEN del THEN 'delete' END, doc, body FROM text_queue "
                      "ORDER BY seq",
                   NULL, err, "") &&
           sq_exec(s, "DELETE FROM text_queue", NULL, err, "");
}
