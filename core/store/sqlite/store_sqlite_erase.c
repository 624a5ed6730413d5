/* store_sqlite_erase.c - erasing a customer's personal data
 * (core/erase.c) in the SQLite backend: one write transaction each. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <string.h>

bool store_sqlite_erase_comments(struct store *st, const char *author_id, const char *body,
                                 struct td_erasure *out, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    struct td_erasure e;
    memset(&e, 0, sizeof e);
    sqlite3_stmt *stmt = sq_query(s, "SELECT DISTINCT ticket FROM comments WHERE author_id = ?1 "
                                     "ORDER BY ticket",
                                  err, "t", author_id);
    int r = stmt ? 1 : -1;
    while (r == 1 && (r = sq_step(s, stmt, "find comments", err)) == 1) {
        e.tickets = td_realloc(e.tickets, (e.n_tickets + 1) * sizeof *e.tickets);
        e.tickets[e.n_tickets++] = sqlite3_column_int64(stmt, 0);
    }
    sq_done(stmt);
    if (r == 0) {
        stmt = sq_query(s,
                        "SELECT a.attachment_id FROM comment_attachments a "
                        "JOIN comments c ON c.id = a.comment_id WHERE c.author_id = ?1",
                        err, "t", author_id);
        r = stmt ? 1 : -1;
        while (r == 1 && (r = sq_step(s, stmt, "find attachments", err)) == 1)
            strv_push(&e.attachments, (const char *)sqlite3_column_text(stmt, 0));
        sq_done(stmt);
    }
    bool ok = r == 0 &&
              sq_exec(s, "UPDATE comments SET body = ?2 WHERE author_id = ?1", &e.comments, err,
                      "tt", author_id, body) &&
              sq_exec(s,
                      "UPDATE comment_attachments SET name = 'erased', "
                      "content_type = 'application/octet-stream', size = 0 "
                      "WHERE comment_id IN (SELECT id FROM comments WHERE author_id = ?1)",
                      NULL, err, "t", author_id);
    if (!sq_end(s, ok, err)) {
        erasure_clear(&e);
        return false;
    }
    *out = e;
    return true;
}

bool store_sqlite_attachment_delete(struct store *st, const char *id, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s, "DELETE FROM attachments WHERE id = ?1", NULL, err, "t", id);
    return sq_end(s, ok, err);
}

bool store_sqlite_outbox_erase_recipient(struct store *st, const char *recipient,
                                         const char *replacement, int64_t *n, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    bool ok = sq_exec(s,
                      "UPDATE outbox SET recipient = ?2, payload = '{}', "
                      "state = CASE WHEN state IN ('pending', 'sending') THEN 'failed' ELSE state END, "
                      "last_error = CASE WHEN state IN ('pending', 'sending') "
                      "  THEN 'recipient erased' ELSE last_error END, "
                      "owner = NULL, lease_until = 0 WHERE recipient = ?1",
                      &changed, err, "tt", recipient, replacement);
    if (!sq_end(s, ok, err))
        return false;
    if (n)
        *n = changed;
    return true;
}
