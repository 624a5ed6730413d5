/* store_sqlite_quarantine.c - what the mail gateway adds to the SQLite
 * backend: quarantined mail (see struct td_quarantine in store.h).
 *
 * put is one INSERT ... ON CONFLICT DO UPDATE: the id is derived from the
 * mail, so a mail quarantined again (re-fetched after a crash, or retried
 * by an admin and refused again) updates its one row - new reason, one
 * more attempt - and keeps the raw bytes it was first stored with. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <string.h>

/* The schema this file needs, as a migration store_sqlite.c runs in
 * order (its migrations[] names this array). */
const char sq_migration_quarantine[] =
    "CREATE TABLE quarantine ("
    "  id          TEXT PRIMARY KEY,"
    "  mailbox     TEXT NOT NULL DEFAULT '',"
    "  uidvalidity INTEGER NOT NULL DEFAULT 0,"
    "  uid         INTEGER NOT NULL DEFAULT 0,"
    "  msg_key     TEXT,"
    "  reason      TEXT NOT NULL,"
    "  sender      TEXT,"
    "  subject     TEXT,"
    "  raw         BLOB,"
    "  raw_size    INTEGER NOT NULL DEFAULT 0,"
    "  attempts    INTEGER NOT NULL DEFAULT 1,"
    "  created     INTEGER NOT NULL,"
    "  updated     INTEGER NOT NULL"
    ");"
    "CREATE INDEX quarantine_created ON quarantine(created);";

#define LIST_DEFAULT 100
#define LIST_MAX 1000

/* Columns 0..11; raw is read separately (only get wants it). */
#define Q_COLS                                                                    \
    "id, mailbox, uidvalidity, uid, msg_key, reason, sender, subject, raw_size, " \
    "attempts, created, updated"

static void q_row(sqlite3_stmt *stmt, struct td_quarantine *q)
{
    memset(q, 0, sizeof *q);
    sq_col_id(stmt, 0, q->id);
    q->mailbox = sq_col_str(stmt, 1);
    if (q->mailbox == NULL)
        q->mailbox = td_strdup("");
    q->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 2);
    q->uid = (uint32_t)sqlite3_column_int64(stmt, 3);
    q->msg_key = sq_col_str(stmt, 4);
    q->reason = sq_col_str(stmt, 5);
    q->sender = sq_col_str(stmt, 6);
    q->subject = sq_col_str(stmt, 7);
    int64_t size = sqlite3_column_int64(stmt, 8);
    q->raw_size = size > 0 ? (size_t)size : 0;
    q->attempts = sqlite3_column_int64(stmt, 9);
    q->created = sqlite3_column_int64(stmt, 10);
    q->updated = sqlite3_column_int64(stmt, 11);
}

/* A later put moves the entry only when it names a new place. */
#define PLACE "(excluded.mailbox <> '' AND excluded.uid <> 0)"

bool store_sqlite_quarantine_put(struct store *st, const struct td_quarantine *q,
                                 struct td_err *err)
{
    if (q->id[0] == '\0' || q->reason == NULL)
        return td_fail(err, TD_INVALID, "a quarantine entry needs an id and a reason");
    if (q->raw_len > STORE_QUARANTINE_MAX_RAW)
        return td_fail(err, TD_INVALID, "quarantined mail is %zu bytes; at most %zu are kept",
                       q->raw_len, STORE_QUARANTINE_MAX_RAW);
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(
        s,
        "INSERT INTO quarantine (id, mailbox, uidvalidity, uid, msg_key, reason, sender, "
        "subject, raw, raw_size, attempts, created, updated) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?12) "
        "ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, "
        "  mailbox = CASE WHEN " PLACE " THEN excluded.mailbox ELSE mailbox END, "
        "  uidvalidity = CASE WHEN " PLACE " THEN excluded.uidvalidity ELSE uidvalidity END, "
        "  uid = CASE WHEN " PLACE " THEN excluded.uid ELSE uid END, "
        "  attempts = attempts + 1, updated = excluded.updated",
        NULL, err, "ttiittttbiii", q->id, q->mailbox ? q->mailbox : "",
        (int64_t)q->uidvalidity, (int64_t)q->uid, q->msg_key, q->reason, q->sender, q->subject,
        (const void *)q->raw, q->raw_len, (int64_t)(q->raw_size ? q->raw_size : q->raw_len),
        (int64_t)q->created,
        (int64_t)(q->updated ? q->updated : q->created));
    return sq_end(s, ok, err);
}

bool store_sqlite_quarantine_list(struct store *st, size_t limit, struct td_quarantine_list *out,
                                  struct td_err *err)
{
    if (limit == 0)
        limit = LIST_DEFAULT;
    if (limit > LIST_MAX)
        limit = LIST_MAX;
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_quarantine_list l = { NULL, 0 };
    sqlite3_stmt *stmt = sq_query(s,
                                  "SELECT " Q_COLS " FROM quarantine "
                                  "ORDER BY created DESC, id DESC LIMIT ?1",
                                  err, "i", (int64_t)limit);
    int r = stmt ? 1 : -1;
    size_t cap = 0;
    while (stmt && (r = sq_step(s, stmt, "list quarantine", err)) == 1) {
        if (l.n == cap) {
            cap = cap ? cap * 2 : 16;
            l.v = td_realloc(l.v, cap * sizeof *l.v);
        }
        q_row(stmt, &l.v[l.n++]);
    }
    sq_done(stmt);
    if (!sq_end(s, r == 0, err)) {
        quarantine_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

bool store_sqlite_quarantine_get(struct store *st, const char *id, struct td_quarantine *out,
                                 struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_quarantine q;
    memset(&q, 0, sizeof q);
    sqlite3_stmt *stmt = sq_query(s, "SELECT " Q_COLS ", raw FROM quarantine WHERE id = ?1", err,
                                  "t", id ? id : "");
    int r = stmt ? sq_step(s, stmt, "read quarantine", err) : -1;
    if (r == 1) {
        q_row(stmt, &q);
        const void *blob = sqlite3_column_blob(stmt, 12);
        int n = sqlite3_column_bytes(stmt, 12);
        if (blob != NULL && n > 0) {
            q.raw = td_malloc((size_t)n);
            memcpy(q.raw, blob, (size_t)n);
            q.raw_len = (size_t)n;
        }
    }
    sq_done(stmt);
    bool ok = sq_end(s, r >= 0, err);
    if (ok && r == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no quarantined mail %.40s", id ? id : "");
    if (!ok) {
        quarantine_clear(&q);
        return false;
    }
    *out = q;
    return true;
}

bool store_sqlite_quarantine_delete(struct store *st, const char *id, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t n = 0;
    bool ok = sq_exec(s, "DELETE FROM quarantine WHERE id = ?1", &n, err, "t", id ? id : "");
    if (!sq_end(s, ok, err))
        return false;
    if (n == 0)
        return td_fail(err, TD_NOT_FOUND, "no quarantined mail %.40s", id ? id : "");
    return true;
}
