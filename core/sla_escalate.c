/* sla_escalate.c - see sla_escalate.h. */
#include "sla_escalate.h"
#include "group.h"
#include "log.h"
#include "mem.h"
#include "notify.h"
#include "sla.h"
#include "store/store.h"
#include "ticket.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define PAGE 100
#define MAX_PAGES 50 /* per run: a backlog is worked off over several runs */

void sla_time_format(td_time t, char out[32])
{
    time_t secs = (time_t)(t / 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)t);
}

/* What one escalation wrote, for its mails. */
struct escalated {
    const char *which;  /* "first_response" | "resolution" */
    char due[32];
    td_time at;         /* the event's time (part of the mail rows' ids) */
};

struct esc_state {
    td_time now;
    struct escalated done[2];
    size_t n;
    const struct sla_policy *policy; /* the ticket's when it escalated (before a raise) */
};

struct esc_arg {
    struct esc_state *st; /* mutable through the const arg of ticket_mutate */
};

static void escalate(struct td_ticket *t, struct ticket_change *ch, struct esc_state *st,
                     const char *which, td_time due, td_time *mark)
{
    *mark = due;
    struct escalated *e = &st->done[st->n++];
    e->which = which;
    sla_time_format(due, e->due);
    ticket_change_add(ch, NULL, t->number, EVENT_ESCALATED, e->due, which);
    e->at = ch->ev[ch->n - 1].at;
}

static bool apply_escalate(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                           struct ticket_change *ch, const void *arg, struct td_err *err)
{
    (void)actor;
    (void)err;
    struct esc_state *st = ((const struct esc_arg *)arg)->st;
    st->n = 0; /* a retry after a concurrent write starts over */
    st->policy = NULL;
    sla_refresh(t); /* from the stored facts, not a stale derived field */
    struct td_sla *s = &t->sla;
    if (s->next_escalation == 0 || s->next_escalation > st->now)
        return true; /* met, paused, moved, or escalated by someone else */
    if (s->first_responded == 0 && s->first_response_due != 0 &&
        s->first_response_due <= st->now && s->escalated_first_response != s->first_response_due)
        escalate(t, ch, st, "first_response", s->first_response_due,
                 &s->escalated_first_response);
    if (s->resolution_due != 0 && s->resolution_due <= st->now &&
        s->escalated_resolution != s->resolution_due)
        escalate(t, ch, st, "resolution", s->resolution_due, &s->escalated_resolution);
    const struct sla_policy *p = sla_policy_for(c->sla, t->priority, t->queue);
    st->policy = p;
    if (st->n > 0 && p != NULL && p->raise_priority && t->priority < PRIORITY_URGENT) {
        enum td_priority to = (enum td_priority)(t->priority + 1);
        ticket_change_add(ch, NULL, t->number, EVENT_PRIORITY, priority_name(t->priority),
                          priority_name(to));
        t->priority = to;
        ch->sla_keep_dues = true;
    }
    return true;
}

/* Every active agent and admin: escalate_to = group when the ticket's
 * group does not exist (or has no members). */
static bool all_staff(struct store *st, struct strv *out, struct td_err *err)
{
    for (int role = ROLE_AGENT; role <= ROLE_ADMIN; role++) {
        struct td_user_list l = { NULL, 0 };
        if (!st->ops->user_list(st, role, &l, err))
            return false;
        for (size_t i = 0; i < l.n; i++)
            if (!l.v[i].disabled)
                strv_push(out, l.v[i].id);
        user_list_clear(&l);
    }
    return true;
}

static bool mail(struct td_core *c, const struct td_ticket *t, const struct sla_policy *p,
                 const struct esc_state *st, struct td_err *err)
{
    if (p == NULL || p->escalate_to == NULL)
        return true; /* history only */
    struct strv members = STRV_INIT;
    const char *lead = NULL;
    bool ok = true;
    if (strcmp(p->escalate_to, "group") == 0) {
        const char *group = p->group ? p->group : t->queue;
        sla_members_fn fn = sla_members(c->sla);
        if (fn == NULL)
            fn = group_members_of; /* core/group.h; sla_set_members overrides it */
        bool found = false;
        if (group != NULL && group[0] != '\0')
            ok = fn(c->store, group, &members, &found, err);
        if (ok && members.n == 0)
            ok = all_staff(c->store, &members, err);
    } else {
        lead = p->escalate_to;
    }
    for (size_t i = 0; ok && i < st->n; i++) {
        struct td_event ev;
        memset(&ev, 0, sizeof ev);
        ev.ticket = t->number;
        ev.kind = EVENT_ESCALATED;
        ev.old_value = (char *)st->done[i].due;
        ev.new_value = (char *)st->done[i].which;
        ev.at = st->done[i].at;
        ok = notify_sla_escalated(c, t, &ev, p->name, &members, lead, NULL, err);
    }
    strv_clear(&members);
    return ok;
}

/* The escalation and its mails are one store batch where the store has
 * batches (SQLite): if the outbox cannot take the mails now, the
 * escalation is undone with them and the next run does both again, so
 * no escalation is written without its mail. MongoDB has no batches:
 * there the escalation stays written and a refused mail is logged (the
 * history and webhooks still have it). */
static bool escalate_one(struct td_core *c, int64_t number, td_time now, size_t *count,
                         struct td_err *err)
{
    struct esc_state st = { .now = now, .n = 0 };
    struct esc_arg arg = { &st };
    struct td_ticket t;
    memset(&t, 0, sizeof t);
    bool batch = store_batch_try(c->store);
    if (!ticket_mutate(c, NULL, number, 0, apply_escalate, &arg, &t, err)) {
        if (batch)
            (void)store_batch_end(c->store, false, NULL);
        return false;
    }
    struct td_err me;
    td_err_clear(&me);
    bool mailed = st.n == 0 || mail(c, &t, st.policy, &st, &me);
    if (batch && !mailed) {
        (void)store_batch_end(c->store, false, NULL);
        log_event(LOG_WARN, "sla_escalation_mail_failed", LF_I("ticket", number),
                  LF_S("error", me.msg), LF_S("then", "undone; the next run escalates again"));
        ticket_clear(&t);
        return true;
    }
    if (batch && !store_batch_end(c->store, true, err)) {
        ticket_clear(&t);
        return false;
    }
    if (!mailed)
        log_event(LOG_WARN, "sla_escalation_mail_failed", LF_I("ticket", number),
                  LF_S("error", me.msg), LF_S("then", "escalated without the mail"));
    *count += st.n;
    for (size_t i = 0; i < st.n; i++)
        log_event(LOG_INFO, "sla_escalated", LF_I("ticket", number),
                  LF_S("due", st.done[i].which), LF_S("due_at", st.done[i].due));
    ticket_clear(&t);
    return true;
}

bool sla_escalate_run(struct td_core *c, td_time now, size_t *escalated, struct td_err *err)
{
    size_t count = 0;
    bool ok = true;
    int64_t after = 0;
    /* In number order with a cursor: every due ticket is visited once per
     * run, also one that cannot be escalated now (another process holds
     * it, or it failed), and a backlog is bounded per run. */
    for (int page = 0; c->sla != NULL && ok && page < MAX_PAGES; page++) {
        struct td_ticket_filter f = { .escalation_due = now, .ascending = true, .after = after,
                                      .limit = PAGE };
        struct td_ticket_list due = { NULL, 0 };
        if (!c->store->ops->ticket_list(c->store, &f, &due, err)) {
            ok = false;
            break;
        }
        for (size_t i = 0; ok && i < due.n; i++) {
            ok = escalate_one(c, due.v[i].number, now, &count, err);
            if (!ok && err != NULL && err->code == TD_STALE) {
                /* Changed again and again meanwhile: the next run has it. */
                log_event(LOG_WARN, "sla_escalation_busy", LF_I("ticket", due.v[i].number));
                ok = true;
            }
            after = due.v[i].number;
        }
        size_t got = due.n;
        ticket_list_clear(&due);
        if (got < PAGE)
            break;
    }
    if (escalated)
        *escalated = count;
    return ok;
}

bool sla_escalate_due(struct td_core *c, td_time now, struct td_err *err)
{
    return sla_escalate_run(c, now, NULL, err);
}
