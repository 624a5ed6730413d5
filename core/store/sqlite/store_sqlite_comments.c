/* store_sqlite_comments.c - comments, ticket history and attachment
 * bytes in the SQLite backend.
 *
 * comment_insert is the widest write of the store: the comment, its
 * attachment refs, the ticket's updated/version, its thread Message-ID
 * and the EVENT_COMMENT history event go in one transaction, so a
 * duplicate Message-ID (a mail delivered twice) leaves no trace at all.
 * Comment order is (created, rowid): insertion order breaks ties between
 * comments of the same millisecond. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <string.h>

#define COMMENT_COLS "id, ticket, author_id, internal, source, body, message_id, created"

bool store_sqlite_comment_insert(struct store *st, const struct td_comment *c,
                                 const struct td_event *ev, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    /* The ticket first: its absence is the answer, whatever else is wrong. */
    int64_t changed = 0;
    bool ok = sq_exec(s, "UPDATE tickets SET updated = ?2, version = version + 1 "
                         "WHERE number = ?1",
                      &changed, err, "ii", (int64_t)c->ticket, (int64_t)c->created);
    if (ok && changed == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no ticket #%lld", (long long)c->ticket);
    if (ok) {
        ok = sq_exec(s, "INSERT INTO comments (" COMMENT_COLS ") "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                     NULL, err, "titdttti", c->id, (int64_t)c->ticket, c->author_id,
                     (int)c->internal, source_name(c->source), c->body, c->message_id,
                     (int64_t)c->created);
        if (!ok && err != NULL && err->code == TD_CONFLICT)
            td_fail(err, TD_CONFLICT, "a comment with Message-ID %.180s (or id %s) already "
                    "exists", c->message_id ? c->message_id : "-", c->id);
    }
    for (size_t i = 0; ok && i < c->n_attachments; i++) {
        const struct td_attachment_ref *a = &c->attachments[i];
        ok = sq_exec(s, "INSERT INTO comment_attachments (comment_id, pos, attachment_id, "
                        "name, content_type, size, inline) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                     NULL, err, "titttid", c->id, (int64_t)i, a->id, a->name, a->content_type,
                     (int64_t)a->size, (int)a->is_inline);
    }
    if (ok && c->message_id != NULL)
        ok = sq_thread_add(s, c->ticket, c->message_id, err);
    if (ok && ev != NULL)
        ok = sq_event_append(s, c->ticket, ev, err);
    return sq_end(s, ok, err);
}

/* Fills c from a row of COMMENT_COLS; c is cleared on failure. */
static bool comment_row(sqlite3_stmt *stmt, struct td_comment *c, struct td_err *err)
{
    sq_col_id(stmt, 0, c->id);
    c->ticket = sqlite3_column_int64(stmt, 1);
    sq_col_id(stmt, 2, c->author_id);
    c->internal = sqlite3_column_int(stmt, 3) != 0;
    c->body = sq_col_str(stmt, 5);
    c->message_id = sq_col_str(stmt, 6);
    c->created = sqlite3_column_int64(stmt, 7);
    const char *src = (const char *)sqlite3_column_text(stmt, 4);
    if (!source_parse(src, &c->source)) {
        td_fail(err, TD_INTERNAL, "sqlite: comment %s has unknown source '%.32s'", c->id,
                src ? src : "");
        comment_clear(c);
        return false;
    }
    return true;
}

static bool load_attachment_refs(struct sq_store *s, struct td_comment *c, struct td_err *err)
{
    sqlite3_stmt *stmt = sq_query(s, "SELECT attachment_id, name, content_type, size, inline "
                                     "FROM comment_attachments WHERE comment_id = ?1 "
                                     "ORDER BY pos", err, "t", c->id);
    if (stmt == NULL)
        return false;
    int r;
    while ((r = sq_step(s, stmt, "read attachment refs", err)) == 1) {
        c->attachments = td_realloc(c->attachments,
                                    (c->n_attachments + 1) * sizeof *c->attachments);
        struct td_attachment_ref *a = &c->attachments[c->n_attachments++];
        *a = (struct td_attachment_ref){ 0 };
        sq_col_id(stmt, 0, a->id);
        a->name = sq_col_str(stmt, 1);
        a->content_type = sq_col_str(stmt, 2);
        a->size = (size_t)sqlite3_column_int64(stmt, 3);
        a->is_inline = sqlite3_column_int(stmt, 4) != 0;
    }
    sq_done(stmt);
    return r == 0;
}

/* Runs a COMMENT_COLS query and collects its rows with their refs. */
static bool collect_comments(struct sq_store *s, sqlite3_stmt *stmt, struct td_comment_list *l,
                             struct td_err *err)
{
    int r = -1;
    bool ok = true;
    while (ok && (r = sq_step(s, stmt, "read comments", err)) == 1) {
        l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
        l->v[l->n] = (struct td_comment){ 0 };
        ok = comment_row(stmt, &l->v[l->n], err);
        if (ok)
            l->n++;
    }
    ok = ok && r == 0;
    sq_done(stmt);
    /* The refs are another statement: load them once this one is done. */
    for (size_t i = 0; ok && i < l->n; i++)
        ok = load_attachment_refs(s, &l->v[i], err);
    return ok;
}

bool store_sqlite_comment_list(struct store *st, int64_t ticket, bool include_internal,
                               struct td_comment_list *out, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_comment_list l = { NULL, 0 };
    sqlite3_stmt *stmt = sq_query(s, "SELECT " COMMENT_COLS " FROM comments "
                                     "WHERE ticket = ?1 AND (?2 OR internal = 0) "
                                     "ORDER BY created, rowid",
                                  err, "id", (int64_t)ticket, (int)include_internal);
    bool ok = stmt != NULL && collect_comments(s, stmt, &l, err);
    if (!sq_end(s, ok, err)) {
        comment_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

bool store_sqlite_comment_find_by_msgid(struct store *st, const char *msgid,
                                        struct td_comment *out, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_comment_list l = { NULL, 0 };
    sqlite3_stmt *stmt = sq_query(s, "SELECT " COMMENT_COLS " FROM comments "
                                     "WHERE message_id = ?1",
                                  err, "t", msgid);
    bool ok = stmt != NULL && collect_comments(s, stmt, &l, err);
    if (ok && l.n == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no comment with Message-ID %.180s",
                     msgid ? msgid : "");
    if (!sq_end(s, ok, err)) {
        comment_list_clear(&l);
        return false;
    }
    /* message_id is UNIQUE: exactly one row. */
    *out = l.v[0];
    free(l.v);
    return true;
}

bool store_sqlite_comment_get(struct store *st, const char *id, struct td_comment *out,
                              struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_comment_list l = { NULL, 0 };
    sqlite3_stmt *stmt = sq_query(s, "SELECT " COMMENT_COLS " FROM comments WHERE id = ?1",
                                  err, "t", id);
    bool ok = stmt != NULL && collect_comments(s, stmt, &l, err);
    if (ok && l.n == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no comment %.40s", id ? id : "");
    if (!sq_end(s, ok, err)) {
        comment_list_clear(&l);
        return false;
    }
    /* id is the primary key: exactly one row. */
    *out = l.v[0];
    free(l.v);
    return true;
}

bool store_sqlite_history_list(struct store *st, int64_t ticket, struct td_event_list *out,
                               struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_event_list l = { NULL, 0 };
    bool ok = false;
    sqlite3_stmt *stmt = sq_query(s, "SELECT seq, ticket, actor_id, kind, old_value, "
                                     "new_value, at FROM events WHERE ticket = ?1 "
                                     "ORDER BY seq",
                                  err, "i", (int64_t)ticket);
    if (stmt != NULL) {
        int r = -1;
        ok = true;
        while (ok && (r = sq_step(s, stmt, "read history", err)) == 1) {
            l.v = td_realloc(l.v, (l.n + 1) * sizeof *l.v);
            struct td_event *e = &l.v[l.n];
            *e = (struct td_event){ 0 };
            e->seq = sqlite3_column_int64(stmt, 0);
            e->ticket = sqlite3_column_int64(stmt, 1);
            sq_col_id(stmt, 2, e->actor_id);
            e->old_value = sq_col_str(stmt, 4);
            e->new_value = sq_col_str(stmt, 5);
            e->at = sqlite3_column_int64(stmt, 6);
            const char *kind = (const char *)sqlite3_column_text(stmt, 3);
            if (!event_kind_parse(kind, &e->kind)) {
                ok = td_fail(err, TD_INTERNAL, "sqlite: ticket #%lld event %lld has unknown "
                             "kind '%.32s'", (long long)ticket, (long long)e->seq,
                             kind ? kind : "");
                event_clear(e);
            } else {
                l.n++;
            }
        }
        ok = ok && r == 0;
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        event_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

bool store_sqlite_attachment_put(struct store *st, const struct td_attachment *a,
                                 struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s, "INSERT INTO attachments (id, name, content_type, size, data) "
                         "VALUES (?1, ?2, ?3, ?4, ?5)",
                      NULL, err, "tttib", a->id, a->name, a->content_type, (int64_t)a->size,
                      (const void *)a->data, a->size);
    if (!ok && err != NULL && err->code == TD_CONFLICT)
        td_fail(err, TD_CONFLICT, "attachment %s already exists", a->id);
    return sq_end(s, ok, err);
}

bool store_sqlite_attachment_get(struct store *st, const char *id, struct td_attachment *out,
                                 struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_attachment a = { 0 };
    bool ok = false;
    sqlite3_stmt *stmt = sq_query(s, "SELECT id, name, content_type, data FROM attachments "
                                     "WHERE id = ?1", err, "t", id);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "read attachment", err);
        if (r == 1) {
            sq_col_id(stmt, 0, a.id);
            a.name = sq_col_str(stmt, 1);
            a.content_type = sq_col_str(stmt, 2);
            /* The bytes are the truth; size is what they measure. One
             * spare byte keeps data non-NULL for an empty attachment. */
            const void *blob = sqlite3_column_blob(stmt, 3);
            a.size = (size_t)sqlite3_column_bytes(stmt, 3);
            a.data = td_malloc(a.size + 1);
            if (a.size > 0)
                memcpy(a.data, blob, a.size);
            ok = true;
        } else if (r == 0) {
            td_fail(err, TD_NOT_FOUND, "no attachment %.64s", id ? id : "");
        }
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        attachment_clear(&a);
        return false;
    }
    *out = a;
    return true;
}
