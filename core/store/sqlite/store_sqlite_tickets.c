/* store_sqlite_tickets.c - tickets, their tags, thread Message-IDs and
 * history appends in the SQLite backend (ticket_list has its own file).
 *
 * A ticket is one row of tickets plus rows in ticket_tags and
 * ticket_msgids; every operation that touches more than one of them
 * runs in one BEGIN IMMEDIATE transaction, so a reader never sees a
 * ticket without its tags or an update without its history events.
 * Optimistic concurrency is a plain compare-and-set on tickets.version
 * inside that transaction. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/* Migration 15: a thread's Message-IDs in order, from the index alone.
 * ticket_thread_ids reads a thread's first and last ids; through
 * ticket_msgids_ticket (ticket, rowid) each id then cost a lookup in the
 * table, whose rows of one ticket lie on as many pages as it has mails
 * (5.7 % of the CPU of a mailed comment, mostly page reads). seq is the
 * row's rowid (sq_thread_add sets it to the next one), so the order is
 * the one the ids were added in, as before; the index (ticket, seq,
 * msgid) covers the read and serves every lookup by ticket. */
const char sq_migration_thread[] =
    "ALTER TABLE ticket_msgids ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "UPDATE ticket_msgids SET seq = rowid;"
    "CREATE INDEX ticket_msgids_thread ON ticket_msgids(ticket, seq, msgid);"
    "DROP INDEX ticket_msgids_ticket;";

/* A thread's oldest and newest Message-IDs (?1 ticket, ?2 how many). */
const char sq_thread_oldest_sql[] =
    "SELECT msgid FROM ticket_msgids WHERE ticket = ?1 ORDER BY seq LIMIT ?2";
const char sq_thread_newest_sql[] =
    "SELECT msgid FROM ticket_msgids WHERE ticket = ?1 ORDER BY seq DESC LIMIT ?2";

bool sq_ticket_row(struct sq_store *s, sqlite3_stmt *stmt, struct td_ticket *t,
                   struct td_err *err)
{
    (void)s;
    t->number = sqlite3_column_int64(stmt, 0);
    t->subject = sq_col_str(stmt, 1);
    sq_col_id(stmt, 4, t->requester_id);
    sq_col_id(stmt, 5, t->assignee_id);
    t->queue = sq_col_str(stmt, 6);
    t->created = sqlite3_column_int64(stmt, 7);
    t->updated = sqlite3_column_int64(stmt, 8);
    t->version = sqlite3_column_int64(stmt, 9);
    t->merged_into = sqlite3_column_int64(stmt, 10);
    const char *status = (const char *)sqlite3_column_text(stmt, 2);
    const char *prio = (const char *)sqlite3_column_text(stmt, 3);
    if (!status_parse(status, &t->status) || !priority_parse(prio, &t->priority)) {
        td_fail(err, TD_INTERNAL, "sqlite: ticket #%lld has unknown status '%.32s' or "
                "priority '%.32s'", (long long)t->number, status ? status : "",
                prio ? prio : "");
        ticket_clear(t);
        return false;
    }
    return true;
}

/* One value of a ticket's ordered sets and its position. */
struct set_item {
    int64_t pos;
    char *value; /* borrowed from the strv being ordered */
};

static int by_pos(const void *a, const void *b)
{
    const struct set_item *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Puts sv->v[from..] in the order of pos[0..] (read with them). */
static void order_by_pos(struct strv *sv, size_t from, const int64_t *pos)
{
    size_t n = sv->n - from;
    if (n < 2)
        return;
    struct set_item *items = td_malloc(n * sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = (struct set_item){ pos[i], sv->v[from + i] };
    qsort(items, n, sizeof *items, by_pos);
    for (size_t i = 0; i < n; i++)
        sv->v[from + i] = items[i].value;
    free(items);
}

/* Tags and participants in one statement, each read through its
 * primary key (ticket, value) and put in pos order here: an ORDER BY
 * pos in SQL ran a sorter per set and per ticket (~5 % of a GET one
 * ticket), for sets of a few values. */
static bool load_tags_and_participants(struct sq_store *s, struct td_ticket *t, struct td_err *err)
{
    sqlite3_stmt *stmt = sq_query(s,
                                  "SELECT 0, pos, tag FROM ticket_tags WHERE ticket = ?1 "
                                  "UNION ALL "
                                  "SELECT 1, pos, user_id FROM ticket_participants WHERE ticket = ?1",
                                  err, "i", t->number);
    if (stmt == NULL)
        return false;
    struct strv *sets[2] = { &t->tags, &t->participants };
    size_t from[2] = { t->tags.n, t->participants.n };
    int64_t *pos[2] = { NULL, NULL };
    size_t cap[2] = { 0, 0 };
    int r;
    while ((r = sq_step(s, stmt, "read ticket sets", err)) == 1) {
        int which = sqlite3_column_int(stmt, 0) ? 1 : 0;
        size_t k = sets[which]->n - from[which];
        if (k == cap[which]) {
            cap[which] = cap[which] ? cap[which] * 2 : 8;
            pos[which] = td_realloc(pos[which], cap[which] * sizeof *pos[which]);
        }
        pos[which][k] = sqlite3_column_int64(stmt, 1);
        const char *v = (const char *)sqlite3_column_text(stmt, 2);
        strv_push(sets[which], v ? v : "");
    }
    sq_done(stmt);
    for (int w = 0; w < 2; w++) {
        order_by_pos(sets[w], from[w], pos[w]);
        free(pos[w]);
    }
    return r == 0;
}

bool sq_ticket_load_sets(struct sq_store *s, struct td_ticket *t, struct td_err *err)
{
    return load_tags_and_participants(s, t, err) && sq_sla_load(s, t, err);
}

/* Replaces the ticket's tag set; a tag given twice is stored once. */
static bool write_tags(struct sq_store *s, int64_t number, const struct strv *tags,
                       struct td_err *err)
{
    if (!sq_exec(s, "DELETE FROM ticket_tags WHERE ticket = ?1", NULL, err, "i", number))
        return false;
    for (size_t i = 0; i < tags->n; i++) {
        if (!sq_exec(s,
                     "INSERT INTO ticket_tags (ticket, pos, tag) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (ticket, tag) DO NOTHING",
                     NULL, err, "iit", number, (int64_t)i, tags->v[i]))
            return false;
    }
    return true;
}

bool sq_event_append(struct sq_store *s, int64_t ticket, const struct td_event *ev,
                     struct td_err *err)
{
    /* MAX(seq) + 1 is safe only because the caller holds the write lock
     * (BEGIN IMMEDIATE); the (ticket, seq) primary key would turn any
     * mistake there into an error rather than a duplicate. */
    return sq_exec(s,
                   "INSERT INTO events (ticket, seq, actor_id, kind, old_value, new_value, at) "
                   "VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE ticket = ?1), "
                   "?2, ?3, ?4, ?5, ?6)",
                   NULL, err, "itttti", ticket, ev->actor_id, event_kind_name(ev->kind),
                   ev->old_value, ev->new_value, (int64_t)ev->at);
}

bool sq_thread_add(struct sq_store *s, int64_t ticket, const char *msgid, struct td_err *err)
{
    if (msgid == NULL || *msgid == '\0')
        return td_fail(err, TD_INVALID, "empty Message-ID");
    int64_t added = 0;
    if (!sq_exec(s,
                 "INSERT INTO ticket_msgids (msgid, ticket, seq) VALUES (?1, ?2, "
                 "(SELECT COALESCE(MAX(rowid), 0) + 1 FROM ticket_msgids)) "
                 "ON CONFLICT (msgid) DO NOTHING",
                 &added, err, "ti", msgid, ticket))
        return false;
    if (added)
        return true;
    /* Already known: fine if it is this thread's (idempotent), a
     * conflict if another ticket's thread holds it. */
    sqlite3_stmt *stmt = sq_query(s, "SELECT ticket FROM ticket_msgids WHERE msgid = ?1", err,
                                  "t", msgid);
    if (stmt == NULL)
        return false;
    int r = sq_step(s, stmt, "read thread", err);
    int64_t owner = r == 1 ? sqlite3_column_int64(stmt, 0) : 0;
    sq_done(stmt);
    if (r != 1)
        return r == 0 ? td_fail(err, TD_INTERNAL, "sqlite: Message-ID vanished in a write "
                                                  "transaction") : false;
    if (owner != ticket)
        return td_fail(err, TD_CONFLICT, "Message-ID %.180s already belongs to ticket #%lld",
                       msgid, (long long)owner);
    return true;
}

bool store_sqlite_ticket_next_number(struct store *st, int64_t *out, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = false;
    int64_t n = 0;
    sqlite3_stmt *stmt = sq_query(s,
                                  "UPDATE counters SET value = value + 1 "
                                  "WHERE name = 'ticket' RETURNING value",
                                  err, "");
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "allocate ticket number", err);
        if (r == 1) {
            n = sqlite3_column_int64(stmt, 0);
            r = sq_step(s, stmt, "allocate ticket number", err);
            ok = r == 0;
        } else if (r == 0) {
            td_fail(err, TD_INTERNAL, "sqlite: the ticket counter row is missing");
        }
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err))
        return false;
    *out = n;
    return true;
}

bool store_sqlite_ticket_insert(struct store *st, const struct td_ticket *t,
                                const struct td_event *created, struct td_err *err)
{
    if (t->version != 1)
        return td_fail(err, TD_INVALID, "a new ticket has version 1, not %lld",
                       (long long)t->version);
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s,
                      "INSERT INTO tickets (number, subject, status, priority, requester_id, "
                      "assignee_id, queue, created, updated, version) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                      NULL, err, "ittttttiii", (int64_t)t->number, t->subject ? t->subject : "",
                      status_name(t->status), priority_name(t->priority), t->requester_id,
                      t->assignee_id, t->queue ? t->queue : "", (int64_t)t->created,
                      (int64_t)t->updated, (int64_t)t->version);
    if (!ok && err != NULL && err->code == TD_CONFLICT)
        td_fail(err, TD_CONFLICT, "ticket #%lld already exists", (long long)t->number);
    ok = ok && write_tags(s, t->number, &t->tags, err) && sq_participants_write(s, t, err) &&
         sq_sla_write(s, t, true, err);
    for (size_t i = 0; ok && i < t->message_ids.n; i++)
        ok = sq_thread_add(s, t->number, t->message_ids.v[i], err);
    if (ok && created != NULL)
        ok = sq_event_append(s, t->number, created, err);
    return sq_end(s, ok, err);
}

/* After a compare-and-set matched nothing: was it the version or the
 * ticket itself? */
static bool update_missed(struct sq_store *s, int64_t number, int64_t expected,
                          struct td_err *err)
{
    sqlite3_stmt *stmt = sq_query(s, "SELECT version FROM tickets WHERE number = ?1", err, "i",
                                  number);
    if (stmt == NULL)
        return false;
    int r = sq_step(s, stmt, "read ticket version", err);
    int64_t v = r == 1 ? sqlite3_column_int64(stmt, 0) : 0;
    sq_done(stmt);
    if (r == 1)
        return td_fail(err, TD_STALE, "ticket #%lld changed meanwhile (version %lld, "
                       "expected %lld): reload and retry", (long long)number, (long long)v,
                       (long long)expected);
    if (r == 0)
        return td_fail(err, TD_NOT_FOUND, "no ticket #%lld", (long long)number);
    return false;
}

bool store_sqlite_ticket_update(struct store *st, const struct td_ticket *t,
                                int64_t expected_version, const struct td_event *events,
                                size_t n, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    bool ok = sq_exec(s,
                      "UPDATE tickets SET subject = ?2, status = ?3, priority = ?4, "
                      "assignee_id = ?5, queue = ?6, updated = ?7, version = ?8 + 1 "
                      "WHERE number = ?1 AND version = ?8",
                      &changed, err, "itttttii",
                      (int64_t)t->number, t->subject ? t->subject : "", status_name(t->status),
                      priority_name(t->priority), t->assignee_id, t->queue ? t->queue : "",
                      (int64_t)t->updated, (int64_t)expected_version);
    if (ok && changed == 0)
        ok = update_missed(s, t->number, expected_version, err);
    ok = ok && write_tags(s, t->number, &t->tags, err) && sq_participants_write(s, t, err) &&
         sq_sla_write(s, t, false, err);
    for (size_t i = 0; ok && i < n; i++)
        ok = sq_event_append(s, t->number, &events[i], err);
    return sq_end(s, ok, err);
}

bool store_sqlite_ticket_get(struct store *st, int64_t number, struct td_ticket *out,
                             struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_ticket t = { 0 };
    bool ok = false;
    sqlite3_stmt *stmt = sq_query(s, "SELECT " SQ_TICKET_COLS " FROM tickets t "
                                     "WHERE t.number = ?1", err, "i", number);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "read ticket", err);
        if (r == 1)
            ok = sq_ticket_row(s, stmt, &t, err);
        else if (r == 0)
            td_fail(err, TD_NOT_FOUND, "no ticket #%lld", (long long)number);
        sq_done(stmt);
    }
    ok = ok && sq_ticket_load_sets(s, &t, err);
    if (!sq_end(s, ok, err)) {
        ticket_clear(&t);
        return false;
    }
    *out = t;
    return true;
}

/* TD_NOT_FOUND unless ticket number exists. */
static bool ticket_exists(struct sq_store *s, int64_t number, struct td_err *err)
{
    sqlite3_stmt *stmt = sq_query(s, "SELECT 1 FROM tickets WHERE number = ?1", err, "i",
                                  number);
    if (stmt == NULL)
        return false;
    int r = sq_step(s, stmt, "read ticket", err);
    sq_done(stmt);
    if (r == 0)
        return td_fail(err, TD_NOT_FOUND, "no ticket #%lld", (long long)number);
    return r == 1;
}

bool store_sqlite_ticket_add_msgid(struct store *st, int64_t number, const char *msgid,
                                   struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = ticket_exists(s, number, err) && sq_thread_add(s, number, msgid, err);
    return sq_end(s, ok, err);
}

/* Up to limit Message-IDs of the thread from one end (newest first when
 * newest), appended to ids. */
static bool thread_end(struct sq_store *s, int64_t number, bool newest, int64_t limit,
                       struct strv *ids, struct td_err *err)
{
    sqlite3_stmt *stmt = sq_query(s, newest ? sq_thread_newest_sql : sq_thread_oldest_sql, err,
                                  "ii", number, limit);
    if (stmt == NULL)
        return false;
    int r;
    while ((r = sq_step(s, stmt, "read thread", err)) == 1) {
        const char *id = (const char *)sqlite3_column_text(stmt, 0);
        strv_push(ids, id ? id : "");
    }
    sq_done(stmt);
    return r == 0;
}

bool store_sqlite_ticket_thread_ids(struct store *st, int64_t number, size_t max,
                                    struct strv *out, struct td_err *err)
{
    if (max == 0)
        return td_fail(err, TD_INVALID, "ticket_thread_ids: max must be at least 1");
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    /* Both ends walk ticket_msgids_thread (ticket, seq, msgid): the first
     * row and the last max - 1, however long the thread, from index pages
     * only; two plain index walks cost less than one compound query with
     * its temp b-trees. */
    struct strv first = STRV_INIT, last = STRV_INIT;
    bool ok = thread_end(s, number, false, 1, &first, err) &&
              (max == 1 || thread_end(s, number, true, (int64_t)(max - 1), &last, err));
    if (ok && first.n == 0)
        ok = ticket_exists(s, number, err);
    if (sq_end(s, ok, err)) {
        /* first, then the last oldest to newest. A Message-ID is in one
         * row only, so first can be among them only as the oldest. */
        size_t n = last.n;
        if (first.n == 1) {
            strv_push(out, first.v[0]);
            if (n > 0 && strcmp(last.v[n - 1], first.v[0]) == 0)
                n--;
        }
        for (size_t i = n; i-- > 0;)
            strv_push(out, last.v[i]);
    } else {
        ok = false;
    }
    strv_clear(&first);
    strv_clear(&last);
    return ok;
}

bool store_sqlite_ticket_find_by_msgid(struct store *st, const char *msgid, int64_t *number,
                                       struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    bool ok = false;
    int64_t n = 0;
    sqlite3_stmt *stmt = sq_query(s, "SELECT ticket FROM ticket_msgids WHERE msgid = ?1", err,
                                  "t", msgid);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "find thread", err);
        if (r == 1) {
            n = sqlite3_column_int64(stmt, 0);
            ok = true;
        } else if (r == 0) {
            td_fail(err, TD_NOT_FOUND, "no ticket thread holds Message-ID %.180s",
                    msgid ? msgid : "");
        }
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err))
        return false;
    *number = n;
    return true;
}
