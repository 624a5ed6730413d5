/* store_sqlite_mailbox.c - what the mail gateway keeps in the SQLite
 * backend: the Message-ID -> ticket map (dedupe and threading of inbound
 * mail) and each mailbox poller's state with its lease.
 *
 * A lease is held while now <= lease_until and expired once
 * lease_until < now - the same boundary as the outbox's sending lease.
 * Taking it is one conditional UPSERT, so two pollers racing for a free
 * or expired lease cannot both get it: the second one's WHERE sees the
 * first one's row. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <string.h>

bool store_sqlite_msgid_put(struct store *st, const char *msgid, int64_t ticket,
                            struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (msgid == NULL || *msgid == '\0')
        return td_fail(err, TD_INVALID, "empty Message-ID");
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s, "INSERT INTO msgid_map (msgid, ticket) VALUES (?1, ?2)", NULL, err,
                      "ti", msgid, (int64_t)ticket);
    if (!ok && err != NULL && err->code == TD_CONFLICT)
        td_fail(err, TD_CONFLICT, "Message-ID %.180s was seen already", msgid);
    return sq_end(s, ok, err);
}

bool store_sqlite_msgid_get(struct store *st, const char *msgid, int64_t *ticket,
                            struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    bool ok = false;
    int64_t n = 0;
    sqlite3_stmt *stmt = sq_query(s, "SELECT ticket FROM msgid_map WHERE msgid = ?1", err, "t",
                                  msgid);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "read Message-ID map", err);
        if (r == 1) {
            n = sqlite3_column_int64(stmt, 0);
            ok = true;
        } else if (r == 0) {
            td_fail(err, TD_NOT_FOUND, "Message-ID %.180s is not mapped", msgid ? msgid : "");
        }
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err))
        return false;
    *ticket = n;
    return true;
}

bool store_sqlite_lease_acquire(struct store *st, const char *mailbox, const char *owner,
                                td_time now, int64_t ttl_ms, struct td_err *err)
{
    if (owner == NULL || *owner == '\0')
        return td_fail(err, TD_INVALID, "a lease needs an owner");
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    /* Insert creates the row already held; on an existing row the
     * update happens only when the lease is free, expired or ours.
     * A skipped DO UPDATE counts as no change. */
    bool ok = sq_exec(s,
                      "INSERT INTO mailboxes (name, uidvalidity, last_uid, lease_owner, "
                      "lease_until) VALUES (?1, 0, 0, ?2, ?3 + ?4) "
                      "ON CONFLICT (name) DO UPDATE SET lease_owner = excluded.lease_owner, "
                      "lease_until = excluded.lease_until "
                      "WHERE lease_owner IS NULL OR lease_owner = excluded.lease_owner "
                      "OR lease_until < ?3",
                      &changed, err, "ttii", mailbox, owner, (int64_t)now, (int64_t)ttl_ms);
    if (ok && changed == 0)
        ok = td_fail(err, TD_CONFLICT, "mailbox %.100s is being polled by another process",
                     mailbox ? mailbox : "");
    return sq_end(s, ok, err);
}

bool store_sqlite_lease_release(struct store *st, const char *mailbox, const char *owner,
                                struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = false;
    sqlite3_stmt *stmt = sq_query(s, "SELECT lease_owner FROM mailboxes WHERE name = ?1", err,
                                  "t", mailbox);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "read mailbox", err);
        const char *holder = r == 1 ? (const char *)sqlite3_column_text(stmt, 0) : NULL;
        if (r == 0)
            td_fail(err, TD_NOT_FOUND, "no mailbox %.100s", mailbox ? mailbox : "");
        else if (r == 1 && holder != NULL && (owner == NULL || strcmp(holder, owner) != 0))
            td_fail(err, TD_CONFLICT, "the lease on mailbox %.100s is not yours to release",
                    mailbox);
        else
            ok = r == 1; /* ours, or already free: nothing to refuse */
        sq_done(stmt);
    }
    ok = ok && sq_exec(s, "UPDATE mailboxes SET lease_owner = NULL, lease_until = 0 "
                          "WHERE name = ?1", NULL, err, "t", mailbox);
    return sq_end(s, ok, err);
}

bool store_sqlite_mailbox_get(struct store *st, const char *mailbox,
                              struct td_mailbox_state *out, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_mailbox_state m = { 0 };
    bool ok = false;
    sqlite3_stmt *stmt = sq_query(s, "SELECT name, uidvalidity, last_uid, lease_owner, "
                                     "lease_until FROM mailboxes WHERE name = ?1",
                                  err, "t", mailbox);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "read mailbox", err);
        if (r == 1) {
            m.name = sq_col_str(stmt, 0);
            m.uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 1);
            m.last_uid = (uint32_t)sqlite3_column_int64(stmt, 2);
            m.lease_owner = sq_col_str(stmt, 3);
            m.lease_until = sqlite3_column_int64(stmt, 4);
            ok = true;
        } else if (r == 0) {
            td_fail(err, TD_NOT_FOUND, "no mailbox %.100s", mailbox ? mailbox : "");
        }
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        mailbox_state_clear(&m);
        return false;
    }
    *out = m;
    return true;
}

bool store_sqlite_mailbox_set_uid(struct store *st, const char *mailbox, const char *owner,
                                  td_time now, uint32_t uidvalidity, uint32_t last_uid,
                                  struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    bool ok = sq_exec(s,
                      "UPDATE mailboxes SET uidvalidity = ?4, last_uid = ?5 "
                      "WHERE name = ?1 AND lease_owner = ?2 AND lease_until >= ?3",
                      &changed, err, "ttiii", mailbox, owner, (int64_t)now,
                      (int64_t)uidvalidity, (int64_t)last_uid);
    if (ok && changed == 0)
        ok = td_fail(err, TD_CONFLICT, "no valid lease of %.100s on mailbox %.100s: "
                     "not moving its UID", owner ? owner : "", mailbox ? mailbox : "");
    return sq_end(s, ok, err);
}
