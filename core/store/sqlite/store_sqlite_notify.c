/* store_sqlite_notify.c - the store operations the notification planner
 * (core/notify.c) adds to the SQLite backend.
 *
 * outbox_count_recent is the loop guard's counter: one COUNT over the
 * outbox_recipient index (recipient, created), added by schema migration
 * 2, so it stays cheap however long the outbox grows. */
#include "store_sqlite_int.h"

bool store_sqlite_outbox_count_recent(struct store *st, const char *recipient, td_time since,
                                      int64_t *out, struct td_err *err)
{
    if (recipient == NULL)
        return td_fail(err, TD_INVALID, "count outbox: no recipient");
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    bool ok = false;
    int64_t n = 0;
    /* Failed rows never went out, so they do not count against the cap. */
    sqlite3_stmt *stmt = sq_query(s,
                                  "SELECT COUNT(*) FROM outbox WHERE recipient = ?1 "
                                  "AND created >= ?2 AND state IN ('pending', 'sending', 'sent')",
                                  err, "ti", recipient, (int64_t)since);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "count outbox", err);
        if (r == 1) {
            n = sqlite3_column_int64(stmt, 0);
            ok = true;
        } else if (r == 0) {
            td_fail(err, TD_INTERNAL, "sqlite: COUNT returned no row");
        }
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err))
        return false;
    *out = n;
    return true;
}
