/* store_sqlite_outbox_stats.c - the outbox gauges and retention in the
 * SQLite backend (store.h: outbox_stats, outbox_purge).
 *
 * Every query here is answered by outbox_due (state, next_attempt) or
 * outbox_created (created): a COUNT over the pending range of the index,
 * MIN()s that read one index entry (the sending rows are few: one per
 * busy sender), and a purge that walks the oldest rows of the created
 * index. None reads a payload, so /metrics and /readyz cost the same
 * with a thousand rows sent or a million. */
#include "store_sqlite_int.h"

static bool one_int(struct sq_store *s, const char *sql, int64_t *out, struct td_err *err,
                    const char *fmt, int64_t arg)
{
    sqlite3_stmt *stmt = sq_query(s, sql, err, fmt, arg);
    if (stmt == NULL)
        return false;
    int r = sq_step(s, stmt, "outbox stats", err);
    if (r == 1)
        *out = sqlite3_column_int64(stmt, 0); /* MIN() of nothing is NULL: 0 */
    sq_done(stmt);
    return r == 1;
}

bool store_sqlite_outbox_stats(struct store *st, td_time now, int64_t *pending,
                               td_time *oldest_due, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    int64_t n = 0, due_pending = 0, due_sending = 0;
    bool ok = one_int(s, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'", &n, err, "", 0) &&
              one_int(s, "SELECT MIN(next_attempt) FROM outbox "
                         "WHERE state = 'pending' AND next_attempt <= ?1",
                      &due_pending, err, "i", (int64_t)now) &&
              one_int(s, "SELECT MIN(lease_until) FROM outbox "
                         "WHERE state = 'sending' AND lease_until < ?1",
                      &due_sending, err, "i", (int64_t)now);
    if (!sq_end(s, ok, err))
        return false;
    td_time oldest = due_pending;
    if (due_sending != 0 && (oldest == 0 || due_sending < oldest))
        oldest = due_sending;
    *pending = n;
    *oldest_due = oldest;
    return true;
}

bool store_sqlite_outbox_purge(struct store *st, td_time before, size_t limit, int64_t *deleted,
                               struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (limit == 0)
        limit = 1000;
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t n = 0;
    bool ok = sq_exec(s, "DELETE FROM outbox WHERE rowid IN (SELECT rowid FROM outbox "
                         "WHERE created < ?1 AND state IN ('sent', 'failed') "
                         "ORDER BY created LIMIT ?2)",
                      &n, err, "ii", (int64_t)before,
                      (int64_t)(limit > (size_t)INT64_MAX ? (size_t)INT64_MAX : limit));
    if (!sq_end(s, ok, err))
        return false;
    if (deleted != NULL)
        *deleted = n;
    return true;
}
