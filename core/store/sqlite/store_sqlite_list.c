/* store_sqlite_list.c - ticket_list in the SQLite backend, and the text
 * search index it reads.
 *
 * The SQL is built per filter: only the conditions the caller asked for
 * appear, each a plain "column = ?N", so SQLite can answer each with an
 * index whose order is the list's order. Every index on tickets ends in
 * the rowid (number), so tickets_status (status) is in effect
 * (status, number): "status = ? AND number < ? ORDER BY number DESC
 * LIMIT n" reads n index entries, at a thousand tickets or a million.
 * The tag filter joins ticket_tags through its (tag, ticket) index; a
 * range on updated alone is read from tickets_updated.
 *
 * The web console's order, last updated first (by_updated), has a keyset
 * cursor on the pair (updated, number), written as a row value so SQLite
 * reads it as one range of an index ending in (updated, number):
 * tickets_updated alone, and (status|assignee_id|requester_id|queue,
 * updated) for the filters the console combines with it. A customer's
 * own list "or participant" is the requester's tickets united with the
 * ones ticket_participants (user_id, ticket) lists: both read from
 * indexes, then sorted - as many rows as that one person has.
 * tests/core/test_store_sqlite.c checks every filter's query plan.
 * Values are still only bound (?N, fixed numbers per field), never
 * written into the SQL; the few distinct texts are interned so the
 * per-handle statement cache (keyed by address) keeps them prepared.
 *
 * Text search (store.h, td_ticket_filter.text) uses FTS5: ticket_docs
 * has one row per searchable text - a ticket's subject (comment_id NULL)
 * or a comment - and ticket_text, a contentless FTS5 table with the
 * "ascii" tokenizer (store_words.c's definition of a word), indexes its
 * text under the same rowid. Triggers on tickets and comments keep both
 * in step with every write, whoever makes it, so no store operation has
 * to remember them; since migration 18 the text itself is indexed once
 * per commit (store_sqlite_text_pending.c). ticket_docs has its own INTEGER PRIMARY KEY because
 * comments' implicit rowids may change under VACUUM. Each query word is
 * a prefix query ("word"*); the ticket sets of the words are
 * intersected, as a ticket matches when its texts hold every word
 * between them. */
#include "store_sqlite_int.h"
#include "core/buf.h"
#include "core/mem.h"

#include <string.h>

/* Migration: the indexes the filters lack and the search index, filled
 * from what is there (self-contained: an older database gets all of it). */
const char sq_migration_search[] =
    "CREATE INDEX tickets_priority ON tickets(priority);"
    "CREATE INDEX tickets_queue ON tickets(queue);"
    "CREATE INDEX tickets_status_updated ON tickets(status, updated);"
    "CREATE INDEX tickets_assignee_updated ON tickets(assignee_id, updated);"
    "CREATE INDEX tickets_requester_updated ON tickets(requester_id, updated);"
    "CREATE INDEX tickets_queue_updated ON tickets(queue, updated);"
    "CREATE TABLE ticket_docs ("
    "  id         INTEGER PRIMARY KEY,"
    "  ticket     INTEGER NOT NULL,"
    "  comment_id TEXT UNIQUE,"
    "  internal   INTEGER NOT NULL"
    ");"
    "CREATE INDEX ticket_docs_ticket ON ticket_docs(ticket);"
    "CREATE VIRTUAL TABLE ticket_text USING fts5(body, content='', tokenize='ascii');"
    /* last_insert_rowid() inside a trigger is the row the trigger's
     * previous INSERT made. A contentless FTS5 row is removed with the
     * text it was indexed with: old.* has it. */
    "CREATE TRIGGER ticket_text_ai AFTER INSERT ON tickets BEGIN"
    "  INSERT INTO ticket_docs(ticket, comment_id, internal) VALUES (new.number, NULL, 0);"
    "  INSERT INTO ticket_text(rowid, body) VALUES (last_insert_rowid(), new.subject);"
    " END;"
    "CREATE TRIGGER ticket_text_au AFTER UPDATE OF subject ON tickets"
    " WHEN old.subject IS NOT new.subject BEGIN"
    "  INSERT INTO ticket_text(ticket_text, rowid, body) SELECT 'delete', id, old.subject"
    "    FROM ticket_docs WHERE ticket = old.number AND comment_id IS NULL;"
    "  INSERT INTO ticket_text(rowid, body) SELECT id, new.subject"
    "    FROM ticket_docs WHERE ticket = new.number AND comment_id IS NULL;"
    " END;"
    "CREATE TRIGGER ticket_text_ad AFTER DELETE ON tickets BEGIN"
    "  INSERT INTO ticket_text(ticket_text, rowid, body) SELECT 'delete', id, old.subject"
    "    FROM ticket_docs WHERE ticket = old.number AND comment_id IS NULL;"
    "  DELETE FROM ticket_docs WHERE ticket = old.number AND comment_id IS NULL;"
    " END;"
    "CREATE TRIGGER comment_text_ai AFTER INSERT ON comments BEGIN"
    "  INSERT INTO ticket_docs(ticket, comment_id, internal) VALUES (new.ticket, new.id, new.internal);"
    "  INSERT INTO ticket_text(rowid, body) VALUES (last_insert_rowid(), coalesce(new.body, ''));"
    " END;"
    "CREATE TRIGGER comment_text_au AFTER UPDATE OF body, internal, ticket, id ON comments BEGIN"
    "  INSERT INTO ticket_text(ticket_text, rowid, body) SELECT 'delete', id, coalesce(old.body, '')"
    "    FROM ticket_docs WHERE comment_id = old.id;"
    "  UPDATE ticket_docs SET ticket = new.ticket, comment_id = new.id, internal = new.internal"
    "    WHERE comment_id = old.id;"
    "  INSERT INTO ticket_text(rowid, body) SELECT id, coalesce(new.body, '')"
    "    FROM ticket_docs WHERE comment_id = new.id;"
    " END;"
    "CREATE TRIGGER comment_text_ad AFTER DELETE ON comments BEGIN"
    "  INSERT INTO ticket_text(ticket_text, rowid, body) SELECT 'delete', id, coalesce(old.body, '')"
    "    FROM ticket_docs WHERE comment_id = old.id;"
    "  DELETE FROM ticket_docs WHERE comment_id = old.id;"
    " END;"
    "INSERT INTO ticket_docs(ticket, comment_id, internal) SELECT number, NULL, 0 FROM tickets;"
    "INSERT INTO ticket_docs(ticket, comment_id, internal) SELECT ticket, id, internal FROM comments;"
    "INSERT INTO ticket_text(rowid, body) SELECT d.id, t.subject FROM ticket_docs d"
    "  JOIN tickets t ON t.number = d.ticket WHERE d.comment_id IS NULL;"
    "INSERT INTO ticket_text(rowid, body) SELECT d.id, coalesce(c.body, '') FROM ticket_docs d"
    "  JOIN comments c ON c.id = d.comment_id;";

/* Parameter numbers: fixed per field, whichever appear in the SQL. */
enum { P_STATUS = 1, P_PRIORITY, P_ASSIGNEE, P_REQUESTER, P_TAG, P_QUEUE, P_UPDATED, P_AFTER,
       P_LIMIT, P_AFTER_UPDATED, P_DUE_BEFORE, P_ESCALATION, P_WORD0 };
/* in_groups_of, past the words' numbers (P_WORD0 + STORE_TEXT_MAX_WORDS). */
#define P_GROUPS_OF 30
_Static_assert(P_GROUPS_OF >= P_WORD0 + STORE_TEXT_MAX_WORDS, "in_groups_of's number among the words'");

/* One stable copy of each distinct SQL text, for the statement cache.
 * Bounded: the texts differ only in which of 9 filters, or_participant,
 * the order (3), the number of words (<= STORE_TEXT_MAX_WORDS) and
 * internal notes. Kept for
 * the life of the process. */
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static char **interned;
static size_t n_interned;

static const char *intern(char *sql)
{
    (void)pthread_mutex_lock(&intern_lock); /* a default mutex: fails only when misused */
    const char *found = NULL;
    for (size_t i = 0; i < n_interned && found == NULL; i++)
        if (strcmp(interned[i], sql) == 0)
            found = interned[i];
    if (found == NULL) {
        interned = td_realloc(interned, (n_interned + 1) * sizeof *interned);
        interned[n_interned++] = sql;
        found = sql;
        sql = NULL;
    }
    (void)pthread_mutex_unlock(&intern_lock);
    free(sql);
    return found;
}

/* The statement text for f with n_words search words. */
static const char *list_sql(const struct td_ticket_filter *f, size_t n_words)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "SELECT " SQ_TICKET_COLS " FROM tickets t ");
    /* "Updated since" alone (the notification reconciler, incremental
     * sync): the planner would walk the numbers from the cursor and test
     * each ticket's time; the recently updated ones are few, so read
     * them from tickets_updated and sort those. */
    if (f->updated_since != 0 && !f->by_status && !f->by_priority && f->assignee_id == NULL &&
        f->requester_id == NULL && f->tag == NULL && f->queue == NULL && n_words == 0 &&
        f->due_before == 0 && f->escalation_due == 0)
        buf_puts(&b, "INDEXED BY tickets_updated ");
    if (f->tag != NULL)
        buf_puts(&b, "JOIN ticket_tags g ON g.ticket = t.number AND g.tag = ?5 ");
    /* With a tag, order by the tag index's own column (equal to the
     * number): then its entries come in list order and no sort of every
     * ticket with the tag is needed (60 ms for a tag on 1 in 6 tickets
     * of 200k, against 0.1 ms). */
    const char *num = f->tag != NULL ? "g.ticket" : "t.number";
    if (f->by_updated)
        buf_printf(&b, "WHERE (t.updated, %s) < (?%d, ?%d) ", num, P_AFTER_UPDATED, P_AFTER);
    else
        buf_printf(&b, "WHERE %s %s ?8 ", num, f->ascending ? ">" : "<");
    /* One person's tickets are few: with a requester, the other
     * equalities are only tested ("+" keeps SQLite from walking, say,
     * every open ticket to find that person's few among them). */
    const char *pin = f->requester_id != NULL ? "+" : "";
    if (f->by_status)
        buf_printf(&b, "AND %st.status = ?1 ", pin);
    if (f->by_priority)
        buf_printf(&b, "AND %st.priority = ?2 ", pin);
    if (f->assignee_id != NULL)
        buf_printf(&b, "AND %st.assignee_id = ?3 ", pin);
    if (f->requester_id != NULL && f->or_participant)
        buf_puts(&b, "AND t.number IN (SELECT r.number FROM tickets r WHERE r.requester_id = ?4 "
                     "UNION ALL SELECT p.ticket FROM ticket_participants p WHERE p.user_id = ?4) ");
    else if (f->requester_id != NULL)
        buf_puts(&b, "AND t.requester_id = ?4 ");
    if (f->queue != NULL)
        buf_printf(&b, "AND %st.queue = ?6 ", pin);
    if (f->updated_since != 0)
        buf_puts(&b, "AND t.updated >= ?7 ");
    /* A restricted agent: their groups' queues (group_members' index on
     * user_id) or their own tickets. */
    if (f->in_groups_of != NULL)
        buf_printf(&b, "AND (t.assignee_id = ?%d OR t.queue IN (SELECT m.group_key FROM "
                       "group_members m WHERE m.user_id = ?%d)) ", P_GROUPS_OF, P_GROUPS_OF);
    /* SLAs (store_sqlite_sla.c): the few tickets due before a time, from
     * the partial index ticket_sla_next_due. */
    if (f->due_before != 0)
        buf_printf(&b, "AND t.number IN (SELECT d.ticket FROM ticket_sla d WHERE d.next_due > 0 "
                       "AND d.next_due < ?%d) ", P_DUE_BEFORE);
    if (f->escalation_due != 0)
        buf_printf(&b, "AND t.number IN (SELECT e.ticket FROM ticket_sla e WHERE "
                       "e.next_escalation > 0 AND e.next_escalation <= ?%d) ", P_ESCALATION);
    if (n_words > 0) {
        buf_puts(&b, "AND t.number IN (");
        for (size_t i = 0; i < n_words; i++)
            buf_printf(&b, "%sSELECT d.ticket FROM ticket_text x JOIN ticket_docs d "
                           "ON d.id = x.rowid WHERE ticket_text MATCH ?%zu%s ",
                       i > 0 ? "INTERSECT " : "", (size_t)P_WORD0 + i,
                       f->text_internal ? "" : " AND d.internal = 0");
        buf_puts(&b, ") ");
    }
    if (f->by_updated)
        buf_printf(&b, "ORDER BY t.updated DESC, %s DESC LIMIT ?9", num);
    else
        buf_printf(&b, "ORDER BY %s %s LIMIT ?9", num, f->ascending ? "ASC" : "DESC");
    return intern(buf_steal(&b));
}

/* "word"*: a prefix query for one word. Words hold no '"' (store_words.c). */
static char *fts_prefix(const char *word)
{
    struct buf b = BUF_INIT;
    buf_putc(&b, '"');
    buf_puts(&b, word);
    buf_puts(&b, "\"*");
    return buf_steal(&b);
}

static bool bind_text(struct sq_store *s, sqlite3_stmt *stmt, int idx, const char *v,
                      struct td_err *err)
{
    int rc = v != NULL ? sqlite3_bind_text(stmt, idx, v, -1, SQLITE_TRANSIENT)
                       : sqlite3_bind_null(stmt, idx);
    return rc == SQLITE_OK || sq_fail(s, rc, "bind", err);
}

/* Binds every parameter the statement has (unused numbers below the
 * highest are allowed, and harmless). */
static bool bind_list(struct sq_store *s, sqlite3_stmt *stmt, const struct td_ticket_filter *f,
                      int64_t after, int64_t after_updated, size_t limit, const struct strv *words,
                      struct td_err *err)
{
    bool ok = bind_text(s, stmt, P_STATUS, f->by_status ? status_name(f->status) : NULL, err) &&
              bind_text(s, stmt, P_PRIORITY, f->by_priority ? priority_name(f->priority) : NULL,
                        err) &&
              bind_text(s, stmt, P_ASSIGNEE, f->assignee_id, err) &&
              bind_text(s, stmt, P_REQUESTER, f->requester_id, err) &&
              bind_text(s, stmt, P_TAG, f->tag, err) && bind_text(s, stmt, P_QUEUE, f->queue, err);
    int rc = SQLITE_OK;
    if (ok && (rc = sqlite3_bind_int64(stmt, P_UPDATED, f->updated_since)) == SQLITE_OK &&
        (rc = sqlite3_bind_int64(stmt, P_AFTER, after)) == SQLITE_OK)
        rc = sqlite3_bind_int64(stmt, P_LIMIT, (int64_t)limit);
    if (ok && rc == SQLITE_OK && f->by_updated) /* ?10 is in the SQL only then */
        rc = sqlite3_bind_int64(stmt, P_AFTER_UPDATED, after_updated);
    if (ok && rc == SQLITE_OK && f->due_before != 0) /* ?11 likewise */
        rc = sqlite3_bind_int64(stmt, P_DUE_BEFORE, f->due_before);
    if (ok && rc == SQLITE_OK && f->escalation_due != 0)
        rc = sqlite3_bind_int64(stmt, P_ESCALATION, f->escalation_due);
    if (ok && rc != SQLITE_OK)
        ok = sq_fail(s, rc, "bind", err);
    if (ok && f->in_groups_of != NULL) /* in the SQL only then */
        ok = bind_text(s, stmt, P_GROUPS_OF, f->in_groups_of, err);
    for (size_t i = 0; ok && i < words->n; i++) {
        char *q = fts_prefix(words->v[i]);
        ok = bind_text(s, stmt, P_WORD0 + (int)i, q, err);
        free(q);
    }
    return ok;
}

bool store_sqlite_ticket_list(struct store *st, const struct td_ticket_filter *f,
                              struct td_ticket_list *out, struct td_err *err)
{
    static const struct td_ticket_filter all;
    if (f == NULL)
        f = &all;
    if (f->by_updated && f->text != NULL)
        return td_fail(err, TD_INVALID, "text search cannot be ordered by update time");
    struct sq_store *s = sq_of(st);
    size_t limit = f->limit == 0 ? STORE_LIST_DEFAULT : f->limit;
    if (limit > STORE_LIST_MAX)
        limit = STORE_LIST_MAX;
    /* 0 = from the start: every number is > 0, and < INT64_MAX. */
    int64_t after = f->after != 0 ? f->after : (f->ascending && !f->by_updated ? 0 : INT64_MAX);
    int64_t after_updated = f->after_updated != 0 ? (int64_t)f->after_updated : INT64_MAX;
    struct strv words = STRV_INIT;
    store_text_words(f->text, &words);
    if (words.n > STORE_TEXT_MAX_WORDS) {
        strv_clear(&words);
        return td_fail(err, TD_INVALID, "search text has more than %d words",
                       STORE_TEXT_MAX_WORDS);
    }
    const char *sql = list_sql(f, words.n);

    if (!sq_begin(s, SQ_READ, err)) {
        strv_clear(&words);
        return false;
    }
    struct td_ticket_list l = { NULL, 0 };
    bool ok = false;
    sqlite3_stmt *stmt = sq_prepare(s, sql, err);
    if (stmt != NULL && bind_list(s, stmt, f, after, after_updated, limit, &words, err)) {
        /* Rows first, sets after: the set queries are other statements,
         * but finishing this one first keeps the cursor simple. */
        l.v = td_calloc(limit, sizeof *l.v);
        int r = -1;
        ok = true;
        while (ok && l.n < limit && (r = sq_step(s, stmt, "list tickets", err)) == 1) {
            ok = sq_ticket_row(s, stmt, &l.v[l.n], err);
            if (ok)
                l.n++;
        }
        ok = ok && (r == 0 || r == 1);
    }
    sq_done(stmt);
    for (size_t i = 0; ok && i < l.n; i++)
        ok = sq_ticket_load_sets(s, &l.v[i], err);
    strv_clear(&words);
    if (!sq_end(s, ok, err)) {
        ticket_list_clear(&l);
        return false;
    }
    if (l.n == 0) {
        free(l.v);
        l.v = NULL;
    }
    *out = l;
    return true;
}

bool sq_list_plan(struct store *st, const struct td_ticket_filter *f, struct buf *out,
                  struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    struct strv words = STRV_INIT;
    store_text_words(f->text, &words);
    struct buf q = BUF_INIT;
    buf_puts(&q, "EXPLAIN QUERY PLAN ");
    buf_puts(&q, list_sql(f, words.n));
    if (!sq_begin(s, SQ_READ, err)) {
        strv_clear(&words);
        buf_free(&q);
        return false;
    }
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(sq_db(s), q.data, -1, &stmt, NULL);
    bool ok = rc == SQLITE_OK || sq_fail(s, rc, "explain", err);
    ok = ok && bind_list(s, stmt, f, 1, INT64_MAX, 10, &words, err);
    while (ok && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char *d = sqlite3_column_text(stmt, 3);
        buf_puts(out, d ? (const char *)d : "");
        buf_putc(out, '\n');
    }
    if (ok && rc != SQLITE_DONE)
        ok = sq_fail(s, rc, "explain", err);
    sqlite3_finalize(stmt);
    strv_clear(&words);
    buf_free(&q);
    return sq_end(s, ok, err);
}
