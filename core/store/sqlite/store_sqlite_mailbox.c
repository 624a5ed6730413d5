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

/* ---- content digests of mapped Message-IDs (issue 15) ------------------ */

/* Migration 5: a repeat Message-ID is a duplicate only when the mail's
 * content digest matches the first one's. NULL for rows written before. */
const char sq_migration_msgid_digest[] = "ALTER TABLE msgid_map ADD COLUMN digest TEXT;";

/* Whether msgid is mapped, inside the caller's transaction. */
static bool msgid_mapped(struct sq_store *s, const char *msgid, bool *mapped, struct td_err *err)
{
    sqlite3_stmt *stmt = sq_query(s, "SELECT 1 FROM msgid_map WHERE msgid = ?1", err, "t", msgid);
    if (stmt == NULL)
        return false;
    int r = sq_step(s, stmt, "read Message-ID map", err);
    sq_done(stmt);
    *mapped = r == 1;
    return r >= 0;
}

bool store_sqlite_msgid_digest_set(struct store *st, const char *msgid, const char *digest,
                                   struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (msgid == NULL || digest == NULL || *digest == '\0')
        return td_fail(err, TD_INVALID, "a Message-ID digest needs a Message-ID and a digest");
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    bool mapped = false;
    bool ok = sq_exec(s, "UPDATE msgid_map SET digest = ?2 WHERE msgid = ?1 AND digest IS NULL",
                      &changed, err, "tt", msgid, digest);
    if (ok && changed == 0 && (ok = msgid_mapped(s, msgid, &mapped, err)) && !mapped)
        ok = td_fail(err, TD_NOT_FOUND, "Message-ID %.180s is not mapped", msgid);
    return sq_end(s, ok, err);
}

bool store_sqlite_msgid_digest_get(struct store *st, const char *msgid, char **digest,
                                   struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    char *d = NULL;
    sqlite3_stmt *stmt = sq_query(s, "SELECT digest FROM msgid_map WHERE msgid = ?1", err, "t",
                                  msgid);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "read Message-ID map", err);
        if (r == 1)
            d = sq_col_str(stmt, 0);
        if (r >= 0 && d == NULL)
            td_fail(err, TD_NOT_FOUND, "no digest for Message-ID %.180s", msgid ? msgid : "");
        sq_done(stmt);
    }
    if (!sq_end(s, d != NULL, err)) {
        free(d);
        return false;
    }
    *digest = d;
    return true;
}

/* ---- taking over a dead holder's lease ------------------------------------ */

bool store_sqlite_lease_takeover(struct store *st, const char *mailbox, const char *dead_owner,
                                 const char *owner, td_time now, int64_t ttl_ms,
                                 struct td_err *err)
{
    if (owner == NULL || *owner == '\0' || dead_owner == NULL || *dead_owner == '\0')
        return td_fail(err, TD_INVALID, "a lease takeover needs both owners");
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    bool ok = sq_exec(s,
                      "UPDATE mailboxes SET lease_owner = ?3, lease_until = ?4 + ?5 "
                      "WHERE name = ?1 AND lease_owner = ?2",
                      &changed, err, "tttii", mailbox, dead_owner, owner, (int64_t)now,
                      (int64_t)ttl_ms);
    if (ok && changed == 0) {
        bool exists = false;
        sqlite3_stmt *stmt = sq_query(s, "SELECT 1 FROM mailboxes WHERE name = ?1", err, "t",
                                      mailbox);
        if (stmt == NULL) {
            ok = false;
        } else {
            int r = sq_step(s, stmt, "read mailbox", err);
            sq_done(stmt);
            exists = r == 1;
            ok = r >= 0;
        }
        if (ok)
            ok = exists ? td_fail(err, TD_CONFLICT, "the lease on mailbox %.100s is no longer "
                                                   "held by %.100s", mailbox, dead_owner)
                        : td_fail(err, TD_NOT_FOUND, "no mailbox %.100s", mailbox ? mailbox : "");
    }
    return sq_end(s, ok, err);
}
