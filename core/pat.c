/* pat.c - personal access tokens: see pat.h. */
#include "pat.h"
#include "id.h"
#include "log.h"
#include "mem.h"
#include "policy.h"
#include "text.h"
#include "user.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void pat_clear(struct td_pat *t)
{
    if (t == NULL)
        return;
    free(t->name);
    memset(t, 0, sizeof *t);
}

void pat_list_clear(struct td_pat_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        pat_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static const struct {
    const char *name;
    unsigned bit;
} scope_names[] = { { "read", TD_PAT_READ }, { "write", TD_PAT_WRITE }, { "admin", TD_PAT_ADMIN } };

bool pat_scopes_parse(const char *csv, unsigned *out)
{
    unsigned bits = 0;
    const char *p = csv;
    if (p == NULL || *p == '\0')
        return false;
    while (*p) {
        size_t n = strcspn(p, ",");
        bool known = false;
        for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++)
            if (strlen(scope_names[i].name) == n && strncmp(p, scope_names[i].name, n) == 0) {
                bits |= scope_names[i].bit;
                known = true;
            }
        if (!known)
            return false;
        p += n;
        if (*p == ',')
            p++;
    }
    *out = bits;
    return bits != 0;
}

void pat_scopes_format(unsigned scopes, char *out, size_t len)
{
    size_t used = 0;
    if (len)
        out[0] = '\0';
    for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++) {
        if (!(scopes & scope_names[i].bit))
            continue;
        int w = snprintf(out + used, len - used, "%s%s", used ? "," : "", scope_names[i].name);
        if (w < 0 || (size_t)w >= len - used)
            return;
        used += (size_t)w;
    }
}

unsigned pat_scopes_closure(unsigned scopes)
{
    if (scopes & TD_PAT_ADMIN)
        scopes |= TD_PAT_WRITE;
    if (scopes & TD_PAT_WRITE)
        scopes |= TD_PAT_READ;
    return scopes;
}

bool pat_looks_like(const char *token)
{
    if (token == NULL || strncmp(token, PAT_PREFIX, strlen(PAT_PREFIX)) != 0 ||
        strlen(token) != PAT_SECRET_LEN)
        return false;
    for (const char *p = token + strlen(PAT_PREFIX); *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

/* hex SHA-256 over "ticketd-pat\0" + secret: a domain of its own. */
static void pat_hash(const char *secret, char out[TD_TOKEN_HASH_LEN + 1])
{
    static const char domain[] = "ticketd-pat";
    crypto_hash_sha256_state h;
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)domain, sizeof domain);
    crypto_hash_sha256_update(&h, (const unsigned char *)secret, strlen(secret));
    crypto_hash_sha256_final(&h, d);
    sodium_bin2hex(out, TD_TOKEN_HASH_LEN + 1, d, sizeof d);
}

static bool is_admin(const struct td_user *actor)
{
    return actor == NULL || actor->role == ROLE_ADMIN;
}

bool pat_create(struct td_core *c, const struct td_user *actor, const struct pat_new *in,
                char secret[PAT_SECRET_LEN + 1], struct td_pat *out, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    const char *uid = in->user_id ? in->user_id : actor ? actor->id : NULL;
    if (uid == NULL || !id_valid(uid))
        return td_fail(err, TD_INVALID, "user_id: a user id is 24 lower-case hex characters");
    char *name = NULL;
    if (!text_line(in->name ? in->name : "", "name", PAT_MAX_NAME, false, &name, err))
        return false;
    td_time now = td_now();
    struct td_user owner;
    memset(&owner, 0, sizeof owner);
    bool ok = true;
    if (in->scopes == 0 || (in->scopes & ~(TD_PAT_READ | TD_PAT_WRITE | TD_PAT_ADMIN)))
        ok = td_fail(err, TD_INVALID, "scopes: one or more of read, write, admin");
    else if (in->expires != 0 && in->expires <= now)
        ok = td_fail(err, TD_INVALID, "expires_at: must be in the future");
    else
        ok = user_get(c, uid, &owner, err);
    if (!ok) {
        free(name);
        return false;
    }
    bool own = actor != NULL && strcmp(actor->id, owner.id) == 0;
    if (!own && !(is_admin(actor) && (actor == NULL || owner.pw_hash == NULL)))
        ok = td_fail(err, TD_FORBIDDEN,
                     "tokens are issued to oneself, or by an admin to a service account "
                     "(a user without a password)");
    else if (owner.disabled)
        ok = td_fail(err, TD_CONFLICT, "the account is disabled");
    else if ((in->scopes & TD_PAT_ADMIN) && owner.role != ROLE_ADMIN)
        ok = td_fail(err, TD_INVALID, "scopes: only an admin's token can have the admin scope");
    struct td_pat_list mine = { NULL, 0 };
    if (ok && (ok = c->store->ops->pat_list(c->store, owner.id, &mine, err))) {
        size_t live = 0;
        for (size_t i = 0; i < mine.n; i++)
            live += !mine.v[i].revoked && (mine.v[i].expires == 0 || mine.v[i].expires > now);
        if (live >= PAT_MAX_PER_USER)
            ok = td_fail(err, TD_CONFLICT, "at most %d live tokens per user; revoke one first",
                         PAT_MAX_PER_USER);
    }
    pat_list_clear(&mine);
    struct td_pat t;
    memset(&t, 0, sizeof t);
    if (ok) {
        unsigned char raw[32];
        char b64[44];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(raw, sizeof raw);
        snprintf(secret, PAT_SECRET_LEN + 1, "%s%s", PAT_PREFIX, b64);
        sodium_memzero(b64, sizeof b64);
        id_new(t.id);
        pat_hash(secret, t.hash);
        memcpy(t.user_id, owner.id, sizeof t.user_id);
        t.name = name; /* trimmed by text_line */
        name = NULL;
        t.scopes = in->scopes;
        t.token_version = owner.token_version;
        t.created = now;
        t.expires = in->expires;
        ok = c->store->ops->pat_insert(c->store, &t, err);
        if (!ok) {
            sodium_memzero(secret, PAT_SECRET_LEN + 1);
            pat_clear(&t);
        }
    }
    if (ok) {
        log_event(LOG_INFO, "token_created", LF_S("token", t.id), LF_S("user", t.user_id),
                  LF_S("actor", actor ? actor->id : "system"));
        *out = t;
    }
    free(name);
    user_clear(&owner);
    return ok;
}

bool pat_list_tokens(struct td_core *c, const struct td_user *actor, const char *user_id,
                     bool all, struct td_pat_list *out, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (all) {
        if (!is_admin(actor))
            return td_fail(err, TD_FORBIDDEN, "only admins list every token");
        return c->store->ops->pat_list(c->store, NULL, out, err);
    }
    const char *uid = user_id ? user_id : actor ? actor->id : NULL;
    if (uid == NULL)
        return td_fail(err, TD_INVALID, "whose tokens? give a user");
    if ((actor == NULL || strcmp(actor->id, uid) != 0) && !is_admin(actor))
        return td_fail(err, TD_FORBIDDEN, "only admins list other users' tokens");
    return c->store->ops->pat_list(c->store, uid, out, err);
}

bool pat_revoke(struct td_core *c, const struct td_user *actor, const char *id,
                struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (id == NULL || !id_valid(id))
        return td_fail(err, TD_NOT_FOUND, "no such access token");
    if (!c->store->ops->pat_revoke(c->store, id, is_admin(actor) ? NULL : actor->id, err))
        return false;
    log_event(LOG_INFO, "token_revoked", LF_S("token", id),
              LF_S("actor", actor ? actor->id : "system"));
    return true;
}

static bool store_user(void *ctx, const char *id, struct td_user *out, struct td_err *err)
{
    struct td_core *c = ctx;
    return c->store->ops->user_get(c->store, id, out, err);
}

bool pat_authenticate(struct td_core *c, const char *secret, const char *addr,
                      struct td_user *user, struct td_pat *pat, struct td_err *err)
{
    return pat_authenticate_via(c, secret, addr, store_user, c, user, pat, err);
}

bool pat_authenticate_via(struct td_core *c, const char *secret, const char *addr,
                          pat_user_fn get_user, void *ctx, struct td_user *user,
                          struct td_pat *pat, struct td_err *err)
{
    if (!pat_looks_like(secret))
        return td_fail(err, TD_UNAUTHORIZED, "malformed access token");
    char hash[TD_TOKEN_HASH_LEN + 1];
    pat_hash(secret, hash);
    struct td_pat t;
    struct td_err e;
    td_err_clear(&e);
    if (!c->store->ops->pat_get_by_hash(c->store, hash, &t, &e)) {
        if (e.code == TD_NOT_FOUND)
            return td_fail(err, TD_UNAUTHORIZED, "unknown access token");
        if (err)
            *err = e;
        return false;
    }
    td_time now = td_now();
    struct td_user u;
    memset(&u, 0, sizeof u);
    bool ok = true;
    if (t.revoked)
        ok = td_fail(err, TD_UNAUTHORIZED, "access token revoked");
    else if (t.expires != 0 && t.expires <= now)
        ok = td_fail(err, TD_UNAUTHORIZED, "access token expired");
    else if (!get_user(ctx, t.user_id, &u, &e))
        ok = e.code == TD_NOT_FOUND
                 ? td_fail(err, TD_UNAUTHORIZED, "the account of this token no longer exists")
                 : td_fail(err, e.code, "%s", e.msg);
    else if (u.disabled)
        ok = td_fail(err, TD_UNAUTHORIZED, "this account is disabled");
    else if (u.token_version != t.token_version)
        ok = td_fail(err, TD_UNAUTHORIZED,
                     "token revoked: the account's password, role or status changed after it was issued");
    if (ok && (now - t.last_used >= PAT_TOUCH_INTERVAL_MS ||
               (addr != NULL && strcmp(addr, t.last_addr) != 0))) {
        td_err_clear(&e);
        if (c->store->ops->pat_touch(c->store, t.id, now, addr, &e)) {
            t.last_used = now;
            if (addr)
                snprintf(t.last_addr, sizeof t.last_addr, "%s", addr);
        } else { /* bookkeeping only: the request goes on */
            log_event(LOG_WARN, "token_touch_failed", LF_S("token", t.id), LF_S("error", e.msg));
        }
    }
    if (ok && !(pat_scopes_closure(t.scopes) & TD_PAT_ADMIN) && u.role == ROLE_ADMIN)
        u.role = ROLE_AGENT; /* narrowed: an admin's token without the admin scope */
    if (!ok) {
        user_clear(&u);
        pat_clear(&t);
        return false;
    }
    *user = u;
    *pat = t;
    return true;
}
