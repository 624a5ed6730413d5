/* merge.c - see merge.h. */
#include "merge.h"
#include "mem.h"
#include "participant.h"
#include "policy.h"
#include "ticket.h"

#include <stdio.h>
#include <string.h>

static bool apply_mark_source(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                              struct ticket_change *ch, const void *arg, struct td_err *err)
{
    (void)c;
    int64_t target = *(const int64_t *)arg;
    if (t->merged_into == target)
        return true; /* step 1 done before: resume */
    if (t->merged_into > 0)
        return td_fail(err, TD_CONFLICT, "ticket #%lld was already merged into #%lld",
                       (long long)t->number, (long long)t->merged_into);
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)target);
    ticket_change_add(ch, actor, t->number, EVENT_MERGED_INTO, NULL, num);
    t->merged_into = target;
    t->status = STATUS_CLOSED;
    return true;
}

struct take_over {
    const struct td_ticket *source;
    bool recorded; /* the target's history already has this merge */
};

static bool apply_take_over(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                            struct ticket_change *ch, const void *arg, struct td_err *err)
{
    (void)c;
    const struct take_over *a = arg;
    if (t->merged_into > 0)
        return td_fail(err, TD_CONFLICT, "ticket #%lld was itself merged into #%lld",
                       (long long)t->number, (long long)t->merged_into);
    const struct td_ticket *s = a->source;
    size_t n = s->participants.n + 1;
    for (size_t i = 0; i < n; i++) {
        const char *id = i == 0 ? s->requester_id : s->participants.v[i - 1];
        if (id[0] == '\0' || strcmp(id, t->requester_id) == 0 || strv_contains(&t->participants, id))
            continue;
        if (t->participants.n >= PARTICIPANT_MAX || ch->n + 2 > TICKET_MAX_EVENTS)
            break; /* the rest can still be added by hand */
        strv_push(&t->participants, id);
        ticket_change_add(ch, actor, t->number, EVENT_PARTICIPANT_ADDED, NULL, id);
    }
    if (!a->recorded) {
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)s->number);
        ticket_change_add(ch, actor, t->number, EVENT_MERGED_FROM, num, NULL);
    }
    return true;
}

static bool merge_recorded(struct td_core *c, int64_t target, int64_t source, bool *out,
                           struct td_err *err)
{
    struct td_event_list h = { NULL, 0 };
    if (!c->store->ops->history_list(c->store, target, &h, err))
        return false;
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)source);
    *out = false;
    for (size_t i = 0; i < h.n && !*out; i++)
        *out = h.v[i].kind == EVENT_MERGED_FROM && h.v[i].old_value &&
               strcmp(h.v[i].old_value, num) == 0;
    event_list_clear(&h);
    return true;
}

bool ticket_merge(struct td_core *c, const struct td_user *actor, int64_t source, int64_t target,
                  struct td_ticket *out, struct td_err *err)
{
    if (!policy_merge(actor, err))
        return false;
    if (source == target)
        return td_fail(err, TD_INVALID, "a ticket cannot be merged into itself");
    struct td_ticket tt;
    if (!ticket_get(c, actor, target, &tt, err))
        return false;
    int64_t beyond = tt.merged_into;
    ticket_clear(&tt);
    if (beyond > 0)
        return td_fail(err, TD_CONFLICT, "ticket #%lld was itself merged into #%lld; merge into "
                       "that one", (long long)target, (long long)beyond);
    struct td_ticket src;
    memset(&src, 0, sizeof src);
    if (!ticket_mutate(c, actor, source, 0, apply_mark_source, &target, &src, err))
        return false;
    bool recorded = false;
    bool ok = c->store->ops->comment_move(c->store, source, target, err) &&
              merge_recorded(c, target, source, &recorded, err);
    if (ok) {
        struct take_over a = { &src, recorded };
        ok = ticket_mutate(c, actor, target, 0, apply_take_over, &a, out, err);
    }
    ticket_clear(&src);
    return ok;
}

bool ticket_follow_merges(struct td_core *c, int64_t number, int64_t *out, struct td_err *err)
{
    int64_t n = number;
    for (int hop = 0; hop <= MERGE_MAX_CHAIN; hop++) {
        struct td_ticket t;
        if (!c->store->ops->ticket_get(c->store, n, &t, err))
            return false;
        int64_t next = t.merged_into;
        ticket_clear(&t);
        if (next <= 0 || next == n) {
            *out = n;
            return true;
        }
        n = next;
    }
    return td_fail(err, TD_CONFLICT, "ticket #%lld: merged_into goes round in circles",
                   (long long)number);
}
