/* participant.c - see participant.h. */
#include "participant.h"
#include "id.h"
#include "mem.h"
#include "policy.h"
#include "text.h"
#include "ticket.h"
#include "user.h"

#include <stdio.h>
#include <string.h>

struct add_arg {
    const struct strv *ids;
};

static bool apply_add(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                      struct ticket_change *ch, const void *arg, struct td_err *err)
{
    (void)c;
    const struct add_arg *a = arg;
    if (!policy_manage_participants(actor, t, err))
        return false;
    if (t->merged_into > 0)
        return td_fail(err, TD_CONFLICT, "ticket #%lld was merged into #%lld",
                       (long long)t->number, (long long)t->merged_into);
    for (size_t i = 0; i < a->ids->n; i++) {
        const char *id = a->ids->v[i];
        if (strcmp(id, t->requester_id) == 0 || strv_contains(&t->participants, id))
            continue;
        if (t->participants.n >= PARTICIPANT_MAX)
            return td_fail(err, TD_INVALID, "a ticket can have at most %d participants",
                           PARTICIPANT_MAX);
        strv_push(&t->participants, id);
        ticket_change_add(ch, actor, t->number, EVENT_PARTICIPANT_ADDED, NULL, id);
    }
    return true;
}

bool participant_add(struct td_core *c, const struct td_user *actor, int64_t number,
                     const struct strv *user_ids, struct td_ticket *out, struct td_err *err)
{
    if (user_ids->n > PARTICIPANT_MAX_ADD)
        return td_fail(err, TD_INVALID, "at most %d participants at once", PARTICIPANT_MAX_ADD);
    for (size_t i = 0; i < user_ids->n; i++) {
        struct td_user u;
        if (!id_valid(user_ids->v[i]) || !c->store->ops->user_get(c->store, user_ids->v[i], &u, NULL))
            return td_fail(err, TD_INVALID, "participant %.40s is not a user", user_ids->v[i]);
        bool disabled = u.disabled;
        user_clear(&u);
        if (disabled)
            return td_fail(err, TD_INVALID, "participant %s is disabled", user_ids->v[i]);
    }
    struct add_arg a = { user_ids };
    return ticket_mutate(c, actor, number, 0, apply_add, &a, out, err);
}

bool participant_add_emails(struct td_core *c, const struct td_user *actor, int64_t number,
                            const struct strv *emails, struct td_ticket *out,
                            struct td_err *err)
{
    if (emails->n > PARTICIPANT_MAX_ADD)
        return td_fail(err, TD_INVALID, "at most %d participants at once", PARTICIPANT_MAX_ADD);
    /* The ticket first: a customer who may not change it must not be able
     * to create accounts for arbitrary addresses either. */
    struct td_ticket t;
    if (!ticket_get(c, actor, number, &t, err))
        return false;
    bool ok = policy_manage_participants(actor, &t, err);
    ticket_clear(&t);
    if (!ok)
        return false;
    struct strv ids = STRV_INIT;
    for (size_t i = 0; ok && i < emails->n; i++) {
        char *norm = NULL;
        struct td_user u;
        ok = email_normalize(emails->v[i], "cc", &norm, err) &&
             user_ensure_customer(c, norm, NULL, &u, err);
        if (ok) {
            strv_push(&ids, u.id);
            user_clear(&u);
        }
        free(norm);
    }
    ok = ok && participant_add(c, actor, number, &ids, out, err);
    strv_clear(&ids);
    return ok;
}

static bool apply_remove(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                         struct ticket_change *ch, const void *arg, struct td_err *err)
{
    (void)c;
    const char *id = arg;
    /* Anyone in the conversation may leave it; others need the right. */
    bool self = actor != NULL && strcmp(actor->id, id) == 0;
    if (self ? !policy_view_ticket(actor, t, err) : !policy_manage_participants(actor, t, err))
        return false;
    if (!strv_remove(&t->participants, id))
        return td_fail(err, TD_NOT_FOUND, "%.40s is not a participant of ticket #%lld", id,
                       (long long)t->number);
    ticket_change_add(ch, actor, t->number, EVENT_PARTICIPANT_REMOVED, id, NULL);
    return true;
}

bool participant_remove(struct td_core *c, const struct td_user *actor, int64_t number,
                        const char *user_id, struct td_ticket *out, struct td_err *err)
{
    if (user_id == NULL || !id_valid(user_id))
        return td_fail(err, TD_NOT_FOUND, "no such participant");
    return ticket_mutate(c, actor, number, 0, apply_remove, user_id, out, err);
}

bool participant_list(struct td_core *c, const struct td_user *actor, int64_t number,
                      struct td_user_list *out, struct td_err *err)
{
    struct td_ticket t;
    if (!ticket_get(c, actor, number, &t, err))
        return false;
    struct td_user_list l = { td_calloc(t.participants.n + 1, sizeof *l.v), 0 };
    bool ok = true;
    for (size_t i = 0; ok && i < t.participants.n; i++) {
        struct td_err e;
        td_err_clear(&e);
        if (c->store->ops->user_get(c->store, t.participants.v[i], &l.v[l.n], &e))
            l.n++;
        else if (e.code != TD_NOT_FOUND)
            ok = (err ? (*err = e, false) : false);
    }
    ticket_clear(&t);
    if (!ok) {
        user_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

struct related {
    int64_t related;
    const char *sender;
};

static bool apply_related(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                          struct ticket_change *ch, const void *arg, struct td_err *err)
{
    (void)c;
    (void)err;
    const struct related *r = arg;
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)r->related);
    ticket_change_add(ch, actor, t->number, EVENT_RELATED_MAIL, r->sender, num);
    return true;
}

bool participant_note_related(struct td_core *c, int64_t number, int64_t related,
                              const char *sender, struct td_err *err)
{
    struct related r = { related, sender };
    return ticket_mutate(c, NULL, number, 0, apply_related, &r, NULL, err);
}
