/* group.h - groups: the tickets' queues made first-class (issue 14).
 *
 * A group's key is exactly the `queue` string its tickets carry (a
 * mailbox's `queue =` is its default group; routing rules, core/route.h,
 * pick another). Its members are agents (or admins): new-ticket notices
 * of the group go to them (core/notify_plan.c), and an agent an admin
 * restricted sees only their groups' tickets.
 *
 * Role rules: admins (and the system, actor NULL) create, rename and
 * delete groups and change membership; agents read them; customers get
 * TD_FORBIDDEN. Until the first group exists, queues are free text as
 * before; once any group exists, a ticket may only move to a group's key
 * (group_check_queue). */
#ifndef TD_GROUP_H
#define TD_GROUP_H

#include <stdbool.h>

#include "core.h"
#include "model.h"
#include "store/store.h"

#define GROUP_MAX_KEY 64   /* the longest queue string (core/ticket.c) */
#define GROUP_MAX_NAME 200

/* 1..GROUP_MAX_KEY of [A-Za-z0-9._-]: a key appears in URL paths. */
bool group_key_valid(const char *key);

/* Creates key with name (NULL or "": the key) and no members. out may be
 * NULL. TD_INVALID for a bad key or name, TD_CONFLICT when it exists. */
bool group_create(struct td_core *c, const struct td_user *actor, const char *key,
                  const char *name, struct td_group *out, struct td_err *err);
bool group_get(struct td_core *c, const struct td_user *actor, const char *key,
               struct td_group *out, struct td_err *err);
bool group_list(struct td_core *c, const struct td_user *actor, struct td_group_list *out,
                struct td_err *err);
bool group_rename(struct td_core *c, const struct td_user *actor, const char *key,
                  const char *name, struct td_group *out, struct td_err *err);
/* Tickets keep their queue string: they stay findable by it, and the
 * group may be made again. */
bool group_delete(struct td_core *c, const struct td_user *actor, const char *key,
                  struct td_err *err);
/* user_id must be an active agent or admin (TD_INVALID otherwise,
 * TD_NOT_FOUND when there is no such user). Adding a member twice is no
 * error. out (may be NULL) gets the group after the change. */
bool group_add_member(struct td_core *c, const struct td_user *actor, const char *key,
                      const char *user_id, struct td_group *out, struct td_err *err);
bool group_remove_member(struct td_core *c, const struct td_user *actor, const char *key,
                         const char *user_id, struct td_group *out, struct td_err *err);

/* For the rest of core (no role rule: the caller decided already). */
/* True when queue may be a ticket's queue: no group exists at all, or
 * queue is a group's key; else TD_INVALID whose message starts with
 * GROUP_UNKNOWN_MSG and names the known groups (the API answers it 422). */
#define GROUP_UNKNOWN_MSG "queue: no group"
bool group_check_queue(struct store *st, const char *queue, struct td_err *err);
/* The members of the group keyed queue into *out (appended); *found says
 * whether the group exists. */
bool group_members_of(struct store *st, const char *queue, struct strv *out, bool *found,
                      struct td_err *err);
/* The keys of the groups user_id is a member of (appended to *out). */
bool group_keys_of(struct store *st, const char *user_id, struct strv *out, struct td_err *err);

#endif
