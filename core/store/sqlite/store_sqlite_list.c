/* store_sqlite_list.c - ticket_list in the SQLite backend.
 *
 * One fixed statement per sort order, every filter a bound parameter
 * that is NULL when unused ("?N IS NULL OR column = ?N"): the SQL never
 * changes with the input, so it is prepared once and cannot be injected
 * into. The cursor is a plain number bound (number > after ascending,
 * number < after descending), which SQLite answers with a rowid range.
 *
 * Text search is a LIKE with the user's text escaped ('\' escapes '%',
 * '_' and itself), so it is a literal substring. SQLite's LIKE folds
 * case for ASCII letters only: a non-ASCII letter matches itself, not its
 * other case. */
#include "store_sqlite_int.h"
#include "core/buf.h"
#include "core/mem.h"

#include <string.h>

#define LIST_WHERE                                                             \
    "WHERE (?1 IS NULL OR t.status = ?1) "                                     \
    "AND (?2 IS NULL OR t.priority = ?2) "                                     \
    "AND (?3 IS NULL OR t.assignee_id = ?3) "                                  \
    "AND (?4 IS NULL OR t.requester_id = ?4 OR (?13 AND EXISTS (SELECT 1 "      \
    "     FROM ticket_participants p WHERE p.ticket = t.number "               \
    "     AND p.user_id = ?4))) "                                              \
    "AND (?5 IS NULL OR EXISTS (SELECT 1 FROM ticket_tags g "                  \
    "     WHERE g.ticket = t.number AND g.tag = ?5)) "                         \
    "AND (?6 IS NULL OR t.queue = ?6) "                                        \
    "AND t.updated >= ?7 "                                                     \
    "AND (?8 IS NULL OR t.subject LIKE ?8 ESCAPE '\\' "                        \
    "     OR EXISTS (SELECT 1 FROM comments c WHERE c.ticket = t.number "      \
    "                AND (?9 OR c.internal = 0) "                              \
    "                AND c.body LIKE ?8 ESCAPE '\\')) "

static const char list_asc[] = "SELECT " SQ_TICKET_COLS " FROM tickets t " LIST_WHERE
                               "AND t.number > ?10 ORDER BY t.number ASC LIMIT ?11";
static const char list_desc[] = "SELECT " SQ_TICKET_COLS " FROM tickets t " LIST_WHERE
                                "AND t.number < ?10 ORDER BY t.number DESC LIMIT ?11";
/* Newest update first; the cursor is the (updated, number) pair. */
static const char list_updated[] = "SELECT " SQ_TICKET_COLS " FROM tickets t " LIST_WHERE
                                   "AND (t.updated < ?12 OR (t.updated = ?12 AND t.number < ?10)) "
                                   "ORDER BY t.updated DESC, t.number DESC LIMIT ?11";

/* "%text%" with LIKE's wildcards and the escape character escaped. */
static char *like_pattern(const char *text)
{
    struct buf b = BUF_INIT;
    buf_putc(&b, '%');
    for (const char *p = text; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            buf_putc(&b, '\\');
        buf_putc(&b, *p);
    }
    buf_putc(&b, '%');
    return buf_steal(&b);
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
    char *pattern = f->text != NULL ? like_pattern(f->text) : NULL;

    if (!sq_begin(s, SQ_READ, err)) {
        free(pattern);
        return false;
    }
    struct td_ticket_list l = { NULL, 0 };
    bool ok = false;
    sqlite3_stmt *stmt = sq_query(
        s, f->by_updated ? list_updated : f->ascending ? list_asc : list_desc, err,
        f->by_updated ? "ttttttitdiiid" : "ttttttitdiiid",
        f->by_status ? status_name(f->status) : NULL,
        f->by_priority ? priority_name(f->priority) : NULL, f->assignee_id, f->requester_id,
        f->tag, f->queue, (int64_t)f->updated_since, pattern, (int)f->text_internal, after,
        (int64_t)limit, after_updated, (int)f->or_participant);
    if (stmt != NULL) {
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
        sq_done(stmt);
    }
    for (size_t i = 0; ok && i < l.n; i++)
        ok = sq_ticket_load_sets(s, &l.v[i], err);
    free(pattern);
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
