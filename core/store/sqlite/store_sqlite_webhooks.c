/* store_sqlite_webhooks.c - webhook endpoints and their deliveries
 * (core/webhook.h) in the SQLite backend.
 *
 * An endpoint's event types are kept space-joined in one column (types
 * never contain spaces). The claim is one write transaction: SQLite's
 * single writer makes "find the due head-of-line row" and "take it" one
 * step, so two claimers never get the same row. */
#include "store_sqlite_int.h"
#include "core/buf.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

const char sq_migration_webhooks[] =
    "CREATE TABLE webhooks ("
    "  id              TEXT PRIMARY KEY,"
    "  url             TEXT NOT NULL,"
    "  events          TEXT NOT NULL DEFAULT '',"
    "  secret          TEXT NOT NULL,"
    "  enabled         INTEGER NOT NULL,"
    "  failures        INTEGER NOT NULL DEFAULT 0,"
    "  disabled_reason TEXT,"
    "  created         INTEGER NOT NULL,"
    "  updated         INTEGER NOT NULL"
    ");"
    "CREATE TABLE webhook_deliveries ("
    "  id           TEXT PRIMARY KEY,"
    "  endpoint_id  TEXT NOT NULL,"
    "  ticket       INTEGER NOT NULL,"
    "  seq          INTEGER NOT NULL,"
    "  type         TEXT NOT NULL,"
    "  payload      TEXT NOT NULL,"
    "  state        TEXT NOT NULL,"
    "  attempts     INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt INTEGER NOT NULL,"
    "  owner        TEXT,"
    "  lease_until  INTEGER NOT NULL DEFAULT 0,"
    "  last_status  INTEGER NOT NULL DEFAULT 0,"
    "  last_error   TEXT,"
    "  created      INTEGER NOT NULL,"
    "  finished     INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt);"
    "CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint_id, ticket, seq);"
    "CREATE INDEX webhook_deliveries_log ON webhook_deliveries(endpoint_id, created);";

/* ---- endpoints ---- */

#define WH_COLS "id, url, events, secret, enabled, failures, disabled_reason, created, updated"

static char *events_join(const struct strv *ev)
{
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < ev->n; i++)
        buf_printf(&b, "%s%s", i ? " " : "", ev->v[i]);
    char *s = td_strndup(b.data ? b.data : "", b.len);
    buf_free(&b);
    return s;
}

static void events_split(const char *s, struct strv *out)
{
    while (s && *s) {
        size_t n = strcspn(s, " ");
        if (n > 0) {
            char *one = td_strndup(s, n);
            strv_push(out, one);
            free(one);
        }
        s += n;
        while (*s == ' ')
            s++;
    }
}

static void wh_row(sqlite3_stmt *stmt, struct td_webhook *w)
{
    memset(w, 0, sizeof *w);
    sq_col_id(stmt, 0, w->id);
    w->url = sq_col_str(stmt, 1);
    events_split((const char *)sqlite3_column_text(stmt, 2), &w->events);
    w->secret = sq_col_str(stmt, 3);
    w->enabled = sqlite3_column_int(stmt, 4) != 0;
    w->failures = sqlite3_column_int64(stmt, 5);
    w->disabled_reason = sq_col_str(stmt, 6);
    w->created = sqlite3_column_int64(stmt, 7);
    w->updated = sqlite3_column_int64(stmt, 8);
}

bool store_sqlite_webhook_insert(struct store *st, const struct td_webhook *w, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    char *events = events_join(&w->events);
    bool ok = sq_begin(s, SQ_WRITE, err);
    if (ok) {
        ok = sq_exec(s, "INSERT INTO webhooks (" WH_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                     NULL, err, "ttttditii", w->id, w->url, events, w->secret, (int)w->enabled,
                     (int64_t)w->failures, w->disabled_reason, (int64_t)w->created,
                     (int64_t)w->updated);
        ok = sq_end(s, ok, err);
    }
    free(events);
    return ok;
}

bool store_sqlite_webhook_get(struct store *st, const char *id, struct td_webhook *out,
                              struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_webhook w;
    memset(&w, 0, sizeof w);
    int r = -1;
    sqlite3_stmt *stmt = sq_query(s, "SELECT " WH_COLS " FROM webhooks WHERE id = ?1", err, "t", id);
    if (stmt != NULL) {
        r = sq_step(s, stmt, "read webhook", err);
        if (r == 1)
            wh_row(stmt, &w);
        else if (r == 0)
            td_fail(err, TD_NOT_FOUND, "no such webhook");
        sq_done(stmt);
    }
    if (!sq_end(s, r == 1, err)) {
        webhook_clear(&w);
        return false;
    }
    *out = w;
    return true;
}

bool store_sqlite_webhook_list(struct store *st, struct td_webhook_list *out, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_webhook_list l = { NULL, 0 };
    sqlite3_stmt *stmt =
        sq_query(s, "SELECT " WH_COLS " FROM webhooks ORDER BY created, id", err, "");
    int r = stmt ? 1 : -1;
    while (r == 1) {
        r = sq_step(s, stmt, "list webhooks", err);
        if (r == 1) {
            l.v = td_realloc(l.v, (l.n + 1) * sizeof *l.v);
            wh_row(stmt, &l.v[l.n++]);
        }
    }
    sq_done(stmt);
    if (!sq_end(s, r == 0, err)) {
        webhook_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

bool store_sqlite_webhook_update(struct store *st, const struct td_webhook *w, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    char *events = events_join(&w->events);
    bool ok = sq_begin(s, SQ_WRITE, err);
    if (ok) {
        int64_t n = 0;
        ok = sq_exec(s,
                     "UPDATE webhooks SET url = ?2, events = ?3, secret = ?4, enabled = ?5, "
                     "failures = ?6, disabled_reason = ?7, updated = ?8 WHERE id = ?1",
                     &n, err, "ttttditi", w->id, w->url, events, w->secret, (int)w->enabled,
                     (int64_t)w->failures, w->disabled_reason, (int64_t)w->updated);
        if (ok && n == 0)
            ok = td_fail(err, TD_NOT_FOUND, "no such webhook");
        ok = sq_end(s, ok, err);
    }
    free(events);
    return ok;
}

bool store_sqlite_webhook_delete(struct store *st, const char *id, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t n = 0;
    bool ok = sq_exec(s, "DELETE FROM webhooks WHERE id = ?1", &n, err, "t", id);
    if (ok && n == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no such webhook");
    ok = ok && sq_exec(s, "DELETE FROM webhook_deliveries WHERE endpoint_id = ?1", NULL, err, "t", id);
    return sq_end(s, ok, err);
}

bool store_sqlite_webhook_result(struct store *st, const char *id, bool success,
                                 int64_t *failures, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t n = 0, f = 0;
    bool ok = sq_exec(s,
                      "UPDATE webhooks SET failures = CASE WHEN ?2 THEN 0 ELSE failures + 1 END "
                      "WHERE id = ?1",
                      &n, err, "td", id, (int)success);
    if (ok && n == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no such webhook");
    if (ok) {
        sqlite3_stmt *stmt = sq_query(s, "SELECT failures FROM webhooks WHERE id = ?1", err, "t", id);
        ok = stmt != NULL && sq_step(s, stmt, "read webhook failures", err) == 1;
        if (ok)
            f = sqlite3_column_int64(stmt, 0);
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err))
        return false;
    if (failures)
        *failures = f;
    return true;
}

bool store_sqlite_webhook_disable(struct store *st, const char *id, const char *reason,
                                  td_time now, bool *changed, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t n = 0, any = 0;
    bool ok = sq_exec(s,
                      "UPDATE webhooks SET enabled = 0, disabled_reason = ?2, updated = ?3 "
                      "WHERE id = ?1 AND enabled = 1",
                      &n, err, "tti", id, reason, (int64_t)now);
    if (ok && n == 0) {
        sqlite3_stmt *stmt = sq_query(s, "SELECT 1 FROM webhooks WHERE id = ?1", err, "t", id);
        int r = stmt ? sq_step(s, stmt, "read webhook", err) : -1;
        sq_done(stmt);
        ok = r >= 0;
        any = r == 1;
        if (ok && !any)
            ok = td_fail(err, TD_NOT_FOUND, "no such webhook");
    }
    if (!sq_end(s, ok, err))
        return false;
    if (changed)
        *changed = n > 0;
    return true;
}

/* ---- deliveries ---- */

#define DL_COLS                                                                                    \
    "id, endpoint_id, ticket, seq, type, payload, state, attempts, next_attempt, owner, "         \
    "lease_until, last_status, last_error, created, finished"

static void dl_row(sqlite3_stmt *stmt, struct td_delivery *d)
{
    memset(d, 0, sizeof *d);
    sq_col_id(stmt, 0, d->id);
    sq_col_id(stmt, 1, d->endpoint_id);
    d->ticket = sqlite3_column_int64(stmt, 2);
    d->seq = sqlite3_column_int64(stmt, 3);
    d->type = sq_col_str(stmt, 4);
    d->payload = sq_col_str(stmt, 5);
    (void)delivery_state_parse((const char *)sqlite3_column_text(stmt, 6), &d->state);
    d->attempts = sqlite3_column_int64(stmt, 7);
    d->next_attempt = sqlite3_column_int64(stmt, 8);
    d->owner = sq_col_str(stmt, 9);
    d->lease_until = sqlite3_column_int64(stmt, 10);
    d->last_status = sqlite3_column_int64(stmt, 11);
    d->last_error = sq_col_str(stmt, 12);
    d->created = sqlite3_column_int64(stmt, 13);
    d->finished = sqlite3_column_int64(stmt, 14);
}

bool store_sqlite_delivery_insert(struct store *st, const struct td_delivery *d,
                                  struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s,
                      "INSERT INTO webhook_deliveries (" DL_COLS ") "
                      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
                      NULL, err, "ttiitttiitiitii", d->id, d->endpoint_id, (int64_t)d->ticket,
                      (int64_t)d->seq, d->type ? d->type : "", d->payload ? d->payload : "",
                      delivery_state_name(d->state), (int64_t)d->attempts,
                      (int64_t)d->next_attempt, d->owner, (int64_t)d->lease_until,
                      (int64_t)d->last_status, d->last_error, (int64_t)d->created,
                      (int64_t)d->finished);
    return sq_end(s, ok, err);
}

bool store_sqlite_delivery_claim(struct store *st, const char *owner, td_time now,
                                 int64_t lease_ms, struct td_delivery *out, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    char id[TD_ID_LEN + 1] = "";
    sqlite3_stmt *stmt = sq_query(
        s,
        "SELECT d.id FROM webhook_deliveries d "
        "WHERE ((d.state = 'pending' AND d.next_attempt <= ?1) "
        "    OR (d.state = 'sending' AND d.lease_until < ?1)) "
        "  AND (d.ticket = 0 OR NOT EXISTS (SELECT 1 FROM webhook_deliveries e "
        "       WHERE e.endpoint_id = d.endpoint_id AND e.ticket = d.ticket "
        "         AND e.state IN ('pending', 'sending') AND e.seq < d.seq)) "
        "ORDER BY d.next_attempt, d.created LIMIT 1",
        err, "i", (int64_t)now);
    int r = stmt ? sq_step(s, stmt, "claim delivery", err) : -1;
    if (r == 1)
        sq_col_id(stmt, 0, id);
    sq_done(stmt);
    bool ok = r >= 0;
    if (ok && r == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no delivery is due");
    ok = ok && sq_exec(s,
                       "UPDATE webhook_deliveries SET state = 'sending', owner = ?2, "
                       "lease_until = ?3, attempts = attempts + 1 WHERE id = ?1",
                       NULL, err, "tti", id, owner, (int64_t)(now + lease_ms));
    struct td_delivery d;
    memset(&d, 0, sizeof d);
    if (ok) {
        stmt = sq_query(s, "SELECT " DL_COLS " FROM webhook_deliveries WHERE id = ?1", err, "t", id);
        ok = stmt != NULL && sq_step(s, stmt, "read delivery", err) == 1;
        if (ok)
            dl_row(stmt, &d);
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        delivery_clear(&d);
        return false;
    }
    *out = d;
    return true;
}

bool store_sqlite_delivery_finish(struct store *st, const char *id, const char *owner,
                                  enum td_delivery_state state, int64_t status, const char *error,
                                  td_time next_attempt, td_time now, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t n = 0;
    bool ok = sq_exec(s,
                      "UPDATE webhook_deliveries SET state = ?3, owner = NULL, lease_until = 0, "
                      "last_status = ?4, last_error = ?5, next_attempt = ?6, finished = ?7 "
                      "WHERE id = ?1 AND state = 'sending' AND owner = ?2",
                      &n, err, "tttitii", id, owner, delivery_state_name(state), (int64_t)status,
                      error, (int64_t)next_attempt,
                      (int64_t)(state == DELIVERY_PENDING ? 0 : now));
    if (ok && n == 0) {
        sqlite3_stmt *stmt = sq_query(s, "SELECT 1 FROM webhook_deliveries WHERE id = ?1", err, "t", id);
        int r = stmt ? sq_step(s, stmt, "read delivery", err) : -1;
        sq_done(stmt);
        ok = r < 0 ? false
                   : r == 1 ? td_fail(err, TD_CONFLICT, "delivery not held by this owner")
                            : td_fail(err, TD_NOT_FOUND, "no such delivery");
    }
    return sq_end(s, ok, err);
}

bool store_sqlite_delivery_list(struct store *st, const char *endpoint_id, size_t limit,
                                struct td_delivery_list *out, struct td_err *err)
{
    if (limit == 0)
        limit = 100;
    if (limit > 1000)
        limit = 1000;
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_delivery_list l = { NULL, 0 };
    sqlite3_stmt *stmt = sq_query(s,
                                  "SELECT " DL_COLS " FROM webhook_deliveries WHERE endpoint_id = ?1 "
                                  "ORDER BY created DESC, ticket DESC, seq DESC, id DESC LIMIT ?2",
                                  err, "ti", endpoint_id, (int64_t)limit);
    int r = stmt ? 1 : -1;
    while (r == 1) {
        r = sq_step(s, stmt, "list deliveries", err);
        if (r == 1) {
            l.v = td_realloc(l.v, (l.n + 1) * sizeof *l.v);
            dl_row(stmt, &l.v[l.n++]);
        }
    }
    sq_done(stmt);
    if (!sq_end(s, r == 0, err)) {
        delivery_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}
