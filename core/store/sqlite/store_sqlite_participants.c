/* store_sqlite_participants.c - what conversations (issue 10) add to the
 * SQLite backend: a ticket's participants, its merged_into mark, and
 * moving comments from a merged ticket to its target.
 *
 * Participants are rows of ticket_participants (pos keeps the order they
 * joined in); merged_into is a column of tickets. Both are written inside
 * the caller's write transaction (ticket_insert, ticket_update), so they
 * change with the ticket's version and its history events or not at
 * all. */
#include "store_sqlite_int.h"

/* The schema this file needs, as a migration store_sqlite.c runs in
 * order (its migrations[] names this array). */
const char sq_migration_participants[] =
    "CREATE TABLE ticket_participants ("
    "  ticket  INTEGER NOT NULL REFERENCES tickets(number) ON DELETE CASCADE,"
    "  pos     INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  PRIMARY KEY (ticket, user_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX ticket_participants_user ON ticket_participants(user_id);"
    "ALTER TABLE tickets ADD COLUMN merged_into INTEGER NOT NULL DEFAULT 0;"
    /* inline images of a mail stay inline in the mails about it */
    "ALTER TABLE comment_attachments ADD COLUMN inline INTEGER NOT NULL DEFAULT 0;";

bool sq_participants_write(struct sq_store *s, const struct td_ticket *t, struct td_err *err)
{
    if (!sq_exec(s, "DELETE FROM ticket_participants WHERE ticket = ?1", NULL, err, "i",
                 t->number))
        return false;
    for (size_t i = 0; i < t->participants.n; i++)
        if (!sq_exec(s,
                     "INSERT INTO ticket_participants (ticket, pos, user_id) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (ticket, user_id) DO NOTHING",
                     NULL, err, "iit", t->number, (int64_t)i, t->participants.v[i]))
            return false;
    return sq_exec(s, "UPDATE tickets SET merged_into = ?2 WHERE number = ?1", NULL, err, "ii",
                   t->number, t->merged_into);
}

bool store_sqlite_comment_move(struct store *st, int64_t from, int64_t to, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s, "UPDATE comments SET ticket = ?2 WHERE ticket = ?1", NULL, err, "ii",
                      from, to);
    return sq_end(s, ok, err);
}
