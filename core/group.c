/* group.c - see group.h. Groups are few (tens), so the helpers for the
 * rest of core read the whole list rather than asking the store for more
 * kinds of lookup. */
#include "group.h"
#include "buf.h"
#include "id.h"
#include "mem.h"
#include "policy.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

void group_clear(struct td_group *g)
{
    if (g == NULL)
        return;
    free(g->key);
    free(g->name);
    strv_clear(&g->members);
    memset(g, 0, sizeof *g);
}

void group_list_clear(struct td_group_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        group_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

bool group_key_valid(const char *key)
{
    if (key == NULL)
        return false;
    size_t n = strlen(key);
    if (n == 0 || n > GROUP_MAX_KEY)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = key[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

static bool may_manage(const struct td_user *actor, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (actor == NULL || actor->role == ROLE_ADMIN)
        return true;
    return td_fail(err, TD_FORBIDDEN, "only admins manage groups");
}

static bool may_read(const struct td_user *actor, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (policy_is_staff(actor))
        return true;
    return td_fail(err, TD_FORBIDDEN, "only staff see groups");
}

static bool key_check(const char *key, struct td_err *err)
{
    if (!group_key_valid(key))
        return td_fail(err, TD_INVALID,
                       "key: a group key is 1 to %d of the characters A-Z a-z 0-9 . _ -",
                       GROUP_MAX_KEY);
    return true;
}

bool group_create(struct td_core *c, const struct td_user *actor, const char *key,
                  const char *name, struct td_group *out, struct td_err *err)
{
    if (!may_manage(actor, err) || !key_check(key, err))
        return false;
    struct td_group g;
    memset(&g, 0, sizeof g);
    if (!text_line(name && name[0] ? name : key, "name", GROUP_MAX_NAME, false, &g.name, err))
        return false;
    g.key = td_strdup(key);
    g.created = g.updated = td_now();
    bool ok = c->store->ops->group_insert(c->store, &g, err);
    if (ok && out)
        *out = g;
    else
        group_clear(&g);
    return ok;
}

bool group_get(struct td_core *c, const struct td_user *actor, const char *key,
               struct td_group *out, struct td_err *err)
{
    if (!may_read(actor, err))
        return false;
    if (!group_key_valid(key))
        return td_fail(err, TD_NOT_FOUND, "no such group");
    return c->store->ops->group_get(c->store, key, out, err);
}

bool group_list(struct td_core *c, const struct td_user *actor, struct td_group_list *out,
                struct td_err *err)
{
    if (!may_read(actor, err))
        return false;
    return c->store->ops->group_list(c->store, out, err);
}

/* After a change: the group as it is now, into out when wanted. */
static bool reread(struct td_core *c, const char *key, struct td_group *out, struct td_err *err)
{
    return out == NULL || c->store->ops->group_get(c->store, key, out, err);
}

bool group_rename(struct td_core *c, const struct td_user *actor, const char *key,
                  const char *name, struct td_group *out, struct td_err *err)
{
    if (!may_manage(actor, err))
        return false;
    if (!group_key_valid(key))
        return td_fail(err, TD_NOT_FOUND, "no such group");
    struct td_group g;
    memset(&g, 0, sizeof g);
    if (!text_line(name, "name", GROUP_MAX_NAME, false, &g.name, err))
        return false;
    g.key = td_strdup(key);
    g.updated = td_now();
    bool ok = c->store->ops->group_update(c->store, &g, err);
    group_clear(&g);
    return ok && reread(c, key, out, err);
}

bool group_delete(struct td_core *c, const struct td_user *actor, const char *key,
                  struct td_err *err)
{
    if (!may_manage(actor, err))
        return false;
    if (!group_key_valid(key))
        return td_fail(err, TD_NOT_FOUND, "no such group");
    return c->store->ops->group_delete(c->store, key, err);
}

bool group_add_member(struct td_core *c, const struct td_user *actor, const char *key,
                      const char *user_id, struct td_group *out, struct td_err *err)
{
    if (!may_manage(actor, err))
        return false;
    if (!group_key_valid(key))
        return td_fail(err, TD_NOT_FOUND, "no such group");
    if (user_id == NULL || !id_valid(user_id))
        return td_fail(err, TD_NOT_FOUND, "no such user");
    struct td_user u;
    if (!c->store->ops->user_get(c->store, user_id, &u, err))
        return false;
    bool staff = u.role != ROLE_CUSTOMER && !u.disabled;
    user_clear(&u);
    if (!staff)
        return td_fail(err, TD_INVALID, "user_id: only active agents and admins join groups");
    return c->store->ops->group_member_add(c->store, key, user_id, td_now(), err) &&
           reread(c, key, out, err);
}

bool group_remove_member(struct td_core *c, const struct td_user *actor, const char *key,
                         const char *user_id, struct td_group *out, struct td_err *err)
{
    if (!may_manage(actor, err))
        return false;
    if (!group_key_valid(key))
        return td_fail(err, TD_NOT_FOUND, "no such group");
    if (user_id == NULL || !id_valid(user_id))
        return td_fail(err, TD_NOT_FOUND, "no such member");
    return c->store->ops->group_member_remove(c->store, key, user_id, td_now(), err) &&
           reread(c, key, out, err);
}

bool group_check_queue(struct store *st, const char *queue, struct td_err *err)
{
    struct td_group_list l = { NULL, 0 };
    if (!st->ops->group_list(st, &l, err))
        return false;
    bool ok = l.n == 0;
    for (size_t i = 0; !ok && i < l.n; i++)
        ok = strcmp(l.v[i].key, queue ? queue : "") == 0;
    if (!ok) {
        struct buf known = BUF_INIT;
        for (size_t i = 0; i < l.n && known.len < 160; i++)
            buf_printf(&known, "%s%s", i ? ", " : "", l.v[i].key);
        td_fail(err, TD_INVALID, GROUP_UNKNOWN_MSG " \"%.64s\" (groups: %.170s)", queue ? queue : "",
                known.data ? known.data : "");
        buf_free(&known);
    }
    group_list_clear(&l);
    return ok;
}

bool group_members_of(struct store *st, const char *queue, struct strv *out, bool *found,
                      struct td_err *err)
{
    *found = false;
    if (!group_key_valid(queue))
        return true;
    struct td_group g;
    struct td_err e;
    td_err_clear(&e);
    if (!st->ops->group_get(st, queue, &g, &e)) {
        if (e.code == TD_NOT_FOUND)
            return true;
        if (err)
            *err = e;
        return false;
    }
    *found = true;
    for (size_t i = 0; i < g.members.n; i++)
        strv_push(out, g.members.v[i]);
    group_clear(&g);
    return true;
}

bool group_keys_of(struct store *st, const char *user_id, struct strv *out, struct td_err *err)
{
    struct td_group_list l = { NULL, 0 };
    if (!st->ops->group_list(st, &l, err))
        return false;
    for (size_t i = 0; i < l.n; i++)
        if (strv_contains(&l.v[i].members, user_id))
            strv_push(out, l.v[i].key);
    group_list_clear(&l);
    return true;
}
