/* store_sqlite_outbox.c - the durable outbox in the SQLite backend.
 *
 * Claiming is one UPDATE ... WHERE id = (SELECT the due row) RETURNING,
 * run inside BEGIN IMMEDIATE: the write lock is held from the choice of
 * the row to its change, so two claimers - threads on one handle or
 * processes on one file - never get the same row. A sending row whose
 * lease ran out (its sender died) is due again; attempts counts claims. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#define OUTBOX_COLS                                                            \
    "id, kind, ticket, recipient, payload, state, attempts, next_attempt, "    \
    "owner, lease_until, last_error, created"

/* Fills o from a row of OUTBOX_COLS; o is cleared on failure. */
static bool outbox_row(sqlite3_stmt *stmt, struct td_outbox *o, struct td_err *err)
{
    sq_col_id(stmt, 0, o->id);
    o->kind = sq_col_str(stmt, 1);
    o->ticket = sqlite3_column_int64(stmt, 2);
    o->recipient = sq_col_str(stmt, 3);
    o->payload = sq_col_str(stmt, 4);
    o->attempts = sqlite3_column_int(stmt, 6);
    o->next_attempt = sqlite3_column_int64(stmt, 7);
    o->owner = sq_col_str(stmt, 8);
    o->lease_until = sqlite3_column_int64(stmt, 9);
    o->last_error = sq_col_str(stmt, 10);
    o->created = sqlite3_column_int64(stmt, 11);
    const char *state = (const char *)sqlite3_column_text(stmt, 5);
    if (!outbox_state_parse(state, &o->state)) {
        td_fail(err, TD_INTERNAL, "sqlite: outbox row %s has unknown state '%.32s'", o->id,
                state ? state : "");
        outbox_clear(o);
        return false;
    }
    return true;
}

bool store_sqlite_outbox_insert(struct store *st, const struct td_outbox *o,
                                struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s, "INSERT INTO outbox (" OUTBOX_COLS ") "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                      NULL, err, "ttitttdititi", o->id, o->kind, (int64_t)o->ticket,
                      o->recipient, o->payload, outbox_state_name(o->state), o->attempts,
                      (int64_t)o->next_attempt, o->owner, (int64_t)o->lease_until,
                      o->last_error, (int64_t)o->created);
    if (!ok && err != NULL && err->code == TD_CONFLICT)
        td_fail(err, TD_CONFLICT, "outbox row %s already exists", o->id);
    return sq_end(s, ok, err);
}

/* The first due row of each kind - pending and due, or sending with its
 * lease run out - by (next_attempt, created, rowid). Two probes of
 * outbox_due rather than one OR: SQLite answers that OR by collecting
 * and sorting every pending row, so each claim cost O(pending) - 2 ms
 * with 2600 mails waiting, the sender's whole budget (issue 11). */
/* Migration 16: the claim's order, whole, from the index. On
 * outbox_due (state, next_attempt) the probes below sorted each run of
 * rows with one next_attempt by created, reading every row of the run
 * from the table: the rows one transaction plans share their
 * next_attempt, and a reconciler pass that planned 227 000 of them made
 * each claim read thousands (~40 ms a claim, the sending thread at 100 %
 * of a core). With created in the index (and the rowid after it, as in
 * every index), the first entry at or after the state is the answer. */
const char sq_migration_outbox_due[] =
    "DROP INDEX outbox_due;"
    "CREATE INDEX outbox_due ON outbox(state, next_attempt, created);";

const char sq_outbox_due_pending_sql[] =
    "SELECT rowid, next_attempt, created FROM outbox "
    "WHERE state = 'pending' AND next_attempt <= ?1 "
    "ORDER BY next_attempt, created, rowid LIMIT 1";
const char sq_outbox_due_expired_sql[] =
    "SELECT rowid, next_attempt, created FROM outbox "
    "WHERE state = 'sending' AND lease_until < ?1 "
    "ORDER BY next_attempt, created, rowid LIMIT 1";

struct due {
    bool found;
    int64_t rowid, next_attempt, created;
};

/* Runs one of the probes above; false on a store error. */
static bool due_probe(struct sq_store *s, const char *sql, td_time now, struct due *d,
                      struct td_err *err)
{
    d->found = false;
    sqlite3_stmt *stmt = sq_query(s, sql, err, "i", (int64_t)now);
    if (stmt == NULL)
        return false;
    int r = sq_step(s, stmt, "find a due outbox row", err);
    if (r == 1) {
        d->found = true;
        d->rowid = sqlite3_column_int64(stmt, 0);
        d->next_attempt = sqlite3_column_int64(stmt, 1);
        d->created = sqlite3_column_int64(stmt, 2);
    }
    sq_done(stmt);
    return r >= 0;
}

static bool due_before(const struct due *a, const struct due *b)
{
    if (a->next_attempt != b->next_attempt)
        return a->next_attempt < b->next_attempt;
    if (a->created != b->created)
        return a->created < b->created;
    return a->rowid < b->rowid;
}

bool store_sqlite_outbox_claim(struct store *st, const char *owner, td_time now,
                               int64_t lease_ms, struct td_outbox *out, struct td_err *err)
{
    if (owner == NULL || *owner == '\0')
        return td_fail(err, TD_INVALID, "an outbox claim needs an owner");
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    struct td_outbox o = { 0 };
    /* Both probes and the update in one write transaction: no other
     * claimer can take the row in between. */
    struct due pending, expired;
    bool ok = due_probe(s, sq_outbox_due_pending_sql, now, &pending, err) &&
              due_probe(s, sq_outbox_due_expired_sql, now, &expired, err);
    const struct due *pick = NULL;
    if (ok) {
        if (pending.found && (!expired.found || due_before(&pending, &expired)))
            pick = &pending;
        else if (expired.found)
            pick = &expired;
        if (pick == NULL) {
            td_fail(err, TD_NOT_FOUND, "no outbox mail is due");
            ok = false;
        }
    }
    sqlite3_stmt *stmt = NULL;
    if (ok) {
        ok = false;
        stmt = sq_query(s,
                        "UPDATE outbox SET state = 'sending', owner = ?1, lease_until = ?2 + ?3, "
                        "attempts = attempts + 1 WHERE rowid = ?4 "
                        "RETURNING " OUTBOX_COLS,
                        err, "tiii", owner, (int64_t)now, (int64_t)lease_ms, pick->rowid);
    }
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "claim outbox row", err);
        if (r == 1) {
            ok = outbox_row(stmt, &o, err);
            /* Run the statement to its end before committing. */
            if (ok && sq_step(s, stmt, "claim outbox row", err) != 0) {
                outbox_clear(&o);
                ok = false;
            }
        } else if (r == 0) { /* cannot happen inside the transaction */
            td_fail(err, TD_INTERNAL, "the due outbox row went away");
        }
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        outbox_clear(&o);
        return false;
    }
    *out = o;
    return true;
}

bool store_sqlite_outbox_finish(struct store *st, const char *id, const char *owner,
                                enum td_outbox_state state, const char *error,
                                td_time next_attempt, struct td_err *err)
{
    if (state != OUTBOX_SENT && state != OUTBOX_FAILED && state != OUTBOX_PENDING)
        return td_fail(err, TD_INVALID, "an outbox row finishes as sent, failed or pending, "
                       "not %s", outbox_state_name(state));
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    /* The claim ends here, whatever the outcome: no owner, no lease.
     * A NULL error keeps the last one recorded. */
    bool ok = sq_exec(s,
                      "UPDATE outbox SET state = ?3, last_error = COALESCE(?4, last_error), "
                      "next_attempt = CASE WHEN ?3 = 'pending' THEN ?5 ELSE next_attempt END, "
                      "owner = NULL, lease_until = 0 "
                      "WHERE id = ?1 AND owner = ?2 AND state = 'sending'",
                      &changed, err, "tttti", id, owner, outbox_state_name(state), error,
                      (int64_t)next_attempt);
    if (ok && changed == 0) {
        sqlite3_stmt *stmt = sq_query(s, "SELECT 1 FROM outbox WHERE id = ?1", err, "t", id);
        ok = false;
        if (stmt != NULL) {
            int r = sq_step(s, stmt, "read outbox row", err);
            if (r == 0)
                td_fail(err, TD_NOT_FOUND, "no outbox row %.64s", id ? id : "");
            else if (r == 1)
                td_fail(err, TD_CONFLICT, "outbox row %.64s is not claimed by %.100s",
                        id, owner ? owner : "");
            sq_done(stmt);
        }
    }
    return sq_end(s, ok, err);
}

bool store_sqlite_outbox_list(struct store *st, int state, size_t limit,
                              struct td_outbox_list *out, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (limit == 0)
        limit = STORE_LIST_MAX;
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_outbox_list l = { NULL, 0 };
    bool ok = false;
    sqlite3_stmt *stmt = sq_query(s, "SELECT " OUTBOX_COLS " FROM outbox "
                                     "WHERE ?1 IS NULL OR state = ?1 "
                                     "ORDER BY created, rowid LIMIT ?2",
                                  err, "ti",
                                  state < 0 ? NULL : outbox_state_name((enum td_outbox_state)state),
                                  (int64_t)(limit > (size_t)INT64_MAX ? (size_t)INT64_MAX : limit));
    if (stmt != NULL) {
        int r = -1;
        ok = true;
        while (ok && (r = sq_step(s, stmt, "list outbox", err)) == 1) {
            l.v = td_realloc(l.v, (l.n + 1) * sizeof *l.v);
            l.v[l.n] = (struct td_outbox){ 0 };
            ok = outbox_row(stmt, &l.v[l.n], err);
            if (ok)
                l.n++;
        }
        ok = ok && r == 0;
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        outbox_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}
