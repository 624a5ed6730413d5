/* store_groups.h - groups (RT's queues, Zammad's groups) in the storage
 * interface: the data and the operations struct store_ops gains for them
 * (store.h includes this header; the ops are spliced into the table by
 * STORE_GROUP_OPS so store.h stays one page of contract).
 *
 * A group is the tickets' `queue` string made first-class: its key is
 * exactly the queue a ticket carries, so tickets need no new field and a
 * ticket in a queue that has no group yet simply has no members to tell.
 * Members are agent user ids; the store does not check roles (core/group.c
 * does), only that each id is listed once. */
#ifndef TD_STORE_GROUPS_H
#define TD_STORE_GROUPS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/model.h"

struct td_group {
    char *key;            /* the queue string; unique (the database decides) */
    char *name;           /* display name */
    struct strv members;  /* user ids, in the order they were added */
    td_time created;
    td_time updated;
};

struct td_group_list { struct td_group *v; size_t n; };

void group_clear(struct td_group *g);           /* NULL-safe */
void group_list_clear(struct td_group_list *l); /* NULL-safe */

struct store;

/* The contract (tests/core/test_store_groups.c checks it on both stores):
 * insert: writes key, name, members, created, updated; TD_CONFLICT when
 *   the key is taken, TD_INVALID for an empty key.
 * get: TD_NOT_FOUND when unknown. list: every group, ordered by key.
 * update: name and updated of the group with g->key (members are left
 *   alone); TD_NOT_FOUND when unknown.
 * delete: the group and its membership; TD_NOT_FOUND when unknown.
 * member_add: adds user_id (idempotent: a member stays listed once) and
 *   sets updated = now; TD_NOT_FOUND when no such group.
 * member_remove: removes user_id and sets updated = now; TD_NOT_FOUND
 *   when no such group or user_id is no member of it. */
#define STORE_GROUP_OPS                                                                        \
    bool (*group_insert)(struct store *st, const struct td_group *g, struct td_err *err);     \
    bool (*group_get)(struct store *st, const char *key, struct td_group *out,                 \
                      struct td_err *err);                                                     \
    bool (*group_list)(struct store *st, struct td_group_list *out, struct td_err *err);      \
    bool (*group_update)(struct store *st, const struct td_group *g, struct td_err *err);     \
    bool (*group_delete)(struct store *st, const char *key, struct td_err *err);             \
    bool (*group_member_add)(struct store *st, const char *key, const char *user_id,          \
                             td_time now, struct td_err *err);                                \
    bool (*group_member_remove)(struct store *st, const char *key, const char *user_id,       \
                                td_time now, struct td_err *err);

#endif
