/* store_sqlite_text_pending.c - the search index (store_sqlite_list.c)
 * filled once per commit instead of once per write.
 *
 * Why: an FTS5 table writes its pending terms out as a new segment at
 * every SAVEPOINT of the transaction (its xSavepoint), and every write of
 * a group commit runs in one (store_sqlite_group.c). So each comment made
 * a segment of its own - a leaf page, the index's structure record
 * rewritten, and merge work for FTS5 to do later - however many comments
 * shared the commit. Dropping the comments' trigger altogether took
 * ~55 us of the write threads' CPU off a mailed POST comment.
 *
 * Since migration 18 the triggers on tickets and comments only record
 * the search document (ticket_docs) and its id in ticket_text_pending;
 * sq_text_flush indexes every pending document's current text in one
 * statement and empties the table, in the transaction, right before its
 * COMMIT (sq_commit). The table is empty in every committed state, so
 * readers (other connections) see the index complete as before. An
 * update or delete takes the old text out of the index only for a
 * document already in it (one still pending was never indexed: a
 * contentless FTS5 row must be deleted with exactly the text it was
 * indexed with), and an update queues the document again. */
#include "store_sqlite_int.h"

/* Migration 18. */
const char sq_migration_text_pending[] =
    "CREATE TABLE ticket_text_pending (id INTEGER PRIMARY KEY);"
    "DROP TRIGGER ticket_text_ai;"
    "DROP TRIGGER ticket_text_au;"
    "DROP TRIGGER ticket_text_ad;"
    "DROP TRIGGER comment_text_ai;"
    "DROP TRIGGER comment_text_au;"
    "DROP TRIGGER comment_text_ad;"
    "CREATE TRIGGER ticket_text_ai AFTER INSERT ON tickets BEGIN"
    "  INSERT INTO ticket_docs(ticket, comment_id, internal) VALUES (new.number, NULL, 0);"
    "  INSERT INTO ticket_text_pending(id) VALUES (last_insert_rowid());"
    " END;"
    "CREATE TRIGGER ticket_text_au AFTER UPDATE OF subject ON tickets"
    " WHEN old.subject IS NOT new.subject BEGIN"
    "  INSERT INTO ticket_text(ticket_text, rowid, body) SELECT 'delete', id, old.subject"
    "    FROM ticket_docs WHERE ticket = old.number AND comment_id IS NULL"
    "    AND id NOT IN (SELECT id FROM ticket_text_pending);"
    "  INSERT OR IGNORE INTO ticket_text_pending(id) SELECT id"
    "    FROM ticket_docs WHERE ticket = new.number AND comment_id IS NULL;"
    " END;"
    "CREATE TRIGGER ticket_text_ad AFTER DELETE ON tickets BEGIN"
    "  INSERT INTO ticket_text(ticket_text, rowid, body) SELECT 'delete', id, old.subject"
    "    FROM ticket_docs WHERE ticket = old.number AND comment_id IS NULL"
    "    AND id NOT IN (SELECT id FROM ticket_text_pending);"
    "  DELETE FROM ticket_text_pending WHERE id IN"
    "    (SELECT id FROM ticket_docs WHERE ticket = old.number AND comment_id IS NULL);"
    "  DELETE FROM ticket_docs WHERE ticket = old.number AND comment_id IS NULL;"
    " END;"
    "CREATE TRIGGER comment_text_ai AFTER INSERT ON comments BEGIN"
    "  INSERT INTO ticket_docs(ticket, comment_id, internal) VALUES (new.ticket, new.id, new.internal);"
    "  INSERT INTO ticket_text_pending(id) VALUES (last_insert_rowid());"
    " END;"
    "CREATE TRIGGER comment_text_au AFTER UPDATE OF body, internal, ticket, id ON comments BEGIN"
    "  INSERT INTO ticket_text(ticket_text, rowid, body) SELECT 'delete', id, coalesce(old.body, '')"
    "    FROM ticket_docs WHERE comment_id = old.id"
    "    AND id NOT IN (SELECT id FROM ticket_text_pending);"
    "  UPDATE ticket_docs SET ticket = new.ticket, comment_id = new.id, internal = new.internal"
    "    WHERE comment_id = old.id;"
    "  INSERT OR IGNORE INTO ticket_text_pending(id) SELECT id"
    "    FROM ticket_docs WHERE comment_id = new.id;"
    " END;"
    "CREATE TRIGGER comment_text_ad AFTER DELETE ON comments BEGIN"
    "  INSERT INTO ticket_text(ticket_text, rowid, body) SELECT 'delete', id, coalesce(old.body, '')"
    "    FROM ticket_docs WHERE comment_id = old.id"
    "    AND id NOT IN (SELECT id FROM ticket_text_pending);"
    "  DELETE FROM ticket_text_pending WHERE id IN"
    "    (SELECT id FROM ticket_docs WHERE comment_id = old.id);"
    "  DELETE FROM ticket_docs WHERE comment_id = old.id;"
    " END;";

bool sq_text_flush(struct sq_store *s, struct td_err *err)
{
    if (!s->text_pending)
        return true;
    int64_t indexed = 0;
    if (!sq_exec(s,
                 "INSERT INTO ticket_text(rowid, body) SELECT d.id, CASE WHEN d.comment_id IS NULL"
                 " THEN (SELECT subject FROM tickets WHERE number = d.ticket)"
                 " ELSE (SELECT coalesce(body, '') FROM comments WHERE id = d.comment_id) END"
                 " FROM ticket_text_pending p JOIN ticket_docs d ON d.id = p.id",
                 &indexed, err, ""))
        return false;
    /* Nothing pending (a commit without new text): the table is left
     * alone - emptying an empty table still rewrites its root page. A
     * pending id without its document cannot be (the delete triggers
     * take both). */
    return indexed == 0 || sq_exec(s, "DELETE FROM ticket_text_pending", NULL, err, "");
}

bool sq_commit(struct sq_store *s, struct td_err *err)
{
    return sq_text_flush(s, err) && sq_exec_fixed(s, "COMMIT", "commit", err);
}
