/* erase.c - see erase.h. */
#include "erase.h"
#include "id.h"
#include "log.h"
#include "mem.h"
#include "policy.h"
#include "ticket.h"
#include "user.h"

#include <stdio.h>
#include <string.h>

#define PAGE 200

void erasure_clear(struct td_erasure *e)
{
    if (e == NULL)
        return;
    free(e->tickets);
    strv_clear(&e->attachments);
    memset(e, 0, sizeof *e);
}

static void add_ticket(struct td_erasure *e, int64_t n)
{
    for (size_t i = 0; i < e->n_tickets; i++)
        if (e->tickets[i] == n)
            return;
    e->tickets = td_realloc(e->tickets, (e->n_tickets + 1) * sizeof *e->tickets);
    e->tickets[e->n_tickets++] = n;
}

static bool record_event(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                         struct ticket_change *ch, const void *arg, struct td_err *err)
{
    (void)c;
    (void)err;
    ticket_change_add(ch, actor, t->number, EVENT_ERASED, NULL, arg);
    return true;
}

bool user_erase(struct td_core *c, const struct td_user *actor, const char *user_id,
                struct erase_report *out, struct td_err *err)
{
    if (!policy_manage_users(actor, err))
        return false;
    struct td_user u;
    if (!user_get(c, user_id, &u, err))
        return false;
    struct store *st = c->store;
    struct td_erasure e;
    memset(&e, 0, sizeof e);
    struct erase_report rep;
    memset(&rep, 0, sizeof rep);
    char erased_email[TD_ID_LEN + 40];
    snprintf(erased_email, sizeof erased_email, "erased-%s@erased.invalid", u.id);
    bool ok = true;
    if (u.role != ROLE_CUSTOMER)
        ok = td_fail(err, TD_INVALID, "only customers are erased; disable staff accounts instead");
    /* 1. what they wrote, and its attachments */
    ok = ok && st->ops->erase_comments(st, u.id, ERASED_BODY, &e, err);
    for (size_t i = 0; ok && i < e.attachments.n; i++)
        ok = st->ops->attachment_delete(st, e.attachments.v[i], err);
    rep.comments = e.comments;
    rep.attachments = (int64_t)e.attachments.n;
    /* 2. mail to them */
    if (ok && strcmp(u.email, erased_email) != 0)
        ok = st->ops->outbox_erase_recipient(st, u.email, erased_email, &rep.outbox_rows, err);
    /* 3. the tickets they requested, for the record */
    int64_t after = 0;
    while (ok) {
        struct td_ticket_filter f = { .requester_id = u.id, .ascending = true, .after = after,
                                      .limit = PAGE };
        struct td_ticket_list l = { NULL, 0 };
        if (!(ok = st->ops->ticket_list(st, &f, &l, err)))
            break;
        for (size_t i = 0; i < l.n; i++) {
            add_ticket(&e, l.v[i].number);
            after = l.v[i].number;
        }
        size_t got = l.n;
        ticket_list_clear(&l);
        if (got < PAGE)
            break;
    }
    for (size_t i = 0; ok && i < e.n_tickets; i++)
        ok = ticket_mutate(c, actor, e.tickets[i], 0, record_event, u.id, NULL, err);
    rep.tickets = (int64_t)e.n_tickets;
    /* 4. the account, last */
    if (ok) {
        free(u.email);
        u.email = td_strdup(erased_email);
        free(u.name);
        u.name = td_strdup(ERASED_NAME);
        free(u.pw_hash);
        u.pw_hash = NULL;
        u.disabled = true;
        u.token_version++;
        u.updated = td_now();
        ok = st->ops->user_update(st, &u, err);
        if (ok)
            user_generation_bump(); /* cached copies (api/user_cache.c) go */
    }
    if (ok) {
        log_event(LOG_WARN, "user_erased", LF_S("user", u.id),
                  LF_S("actor", actor ? actor->id : "system"), LF_I("comments", rep.comments),
                  LF_I("attachments", rep.attachments), LF_I("outbox_rows", rep.outbox_rows),
                  LF_I("tickets", rep.tickets));
        if (out)
            *out = rep;
    }
    erasure_clear(&e);
    user_clear(&u);
    return ok;
}
