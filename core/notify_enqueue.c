/* notify_enqueue.c - planned rows into the outbox under the per-recipient
 * loop guard, and the replay that plans recent history again so that a
 * crash between a change and its rows loses no mail. */
#include "notify_int.h"
#include "notify_planned.h"
#include "log.h"
#include "ticket.h"

#include <stdio.h>
#include <string.h>

#define RECONCILE_PAGE 200

/* ---- Enqueueing ---- */

bool notify_enqueue(const struct notify_config *nc, struct store *st,
                    const struct td_outbox_list *rows, td_time now, size_t *inserted,
                    struct td_err *err)
{
    size_t n_new = 0;
    bool ok = true;
    for (size_t i = 0; i < rows->n; i++) {
        struct td_outbox o = rows->v[i]; /* shallow: only scalars change */
        o.created = now;
        o.next_attempt = now;
        o.attempts = 0;
        char reason[200] = "";
        enum notify_kind kind = NK_CREATED_ACK;
        (void)notify_kind_parse(o.kind, &kind);
        int64_t cap = notify_kind_staff_only(kind) ? nc->max_per_staff_hour : nc->max_per_hour;
        if (cap > 0 && st->ops->outbox_count_recent != NULL) {
            int64_t recent = 0;
            struct td_err e;
            td_err_clear(&e);
            if (!st->ops->outbox_count_recent(st, o.recipient, now - HOUR_MS, &recent, &e)) {
                ok = td_fail(err, e.code, "%s", e.msg);
                continue;
            }
            if (recent >= cap)
                snprintf(reason, sizeof reason,
                         "loop guard: %lld mails to this address within the last hour (limit %lld); not sent",
                         (long long)recent, (long long)cap);
        }
        if (reason[0]) {
            o.state = OUTBOX_FAILED;
            o.last_error = reason;
        }
        struct td_err e;
        td_err_clear(&e);
        if (st->ops->outbox_insert(st, &o, &e)) {
            if (reason[0])
                log_event(LOG_WARN, "notify_suppressed", LF_S("id", o.id), LF_I("ticket", o.ticket),
                          LF_S("kind", o.kind), LF_S("reason", reason));
            else
                n_new++;
        } else if (e.code != TD_CONFLICT) {
            ok = td_fail(err, e.code, "%s", e.msg);
        }
    }
    if (inserted)
        *inserted = n_new;
    return ok;
}

/* ---- Replay ---- */

static bool reconcile_ticket(const struct notify_config *nc, struct store *st,
                             struct notify_planned *planned, const struct td_ticket *t,
                             td_time since, td_time now, size_t *inserted, struct td_err *err)
{
    struct td_event_list h = { NULL, 0 };
    if (!st->ops->history_list(st, t->number, &h, err))
        return false;
    if (notify_planned_covers(planned, h.v, h.n, since)) { /* the hook did */
        event_list_clear(&h);
        return true;
    }
    struct td_outbox_list rows = { NULL, 0 };
    size_t n = 0;
    bool ok = notify_plan(nc, st, t, h.v, h.n, "", since, &rows, err) &&
              notify_enqueue(nc, st, &rows, now, &n, err);
    if (ok)
        notify_planned_note(planned, h.v, h.n, since);
    *inserted += n;
    outbox_list_clear(&rows);
    event_list_clear(&h);
    return ok;
}

bool notify_reconcile(const struct notify_config *nc, struct store *st,
                      struct notify_planned *planned, td_time since, td_time now,
                      size_t *inserted, struct td_err *err)
{
    size_t total = 0;
    int64_t after = 0;
    bool ok = true;
    if (nc->support_address[0] == '\0')
        goto done;
    for (;;) {
        struct td_ticket_filter f = { .updated_since = since, .ascending = true, .after = after,
                                      .limit = RECONCILE_PAGE };
        struct td_ticket_list l = { NULL, 0 };
        if (!st->ops->ticket_list(st, &f, &l, err)) {
            ok = false;
            break;
        }
        for (size_t i = 0; ok && i < l.n; i++) {
            ok = reconcile_ticket(nc, st, planned, &l.v[i], since, now, &total, err);
            after = l.v[i].number;
        }
        size_t got = l.n;
        ticket_list_clear(&l);
        if (!ok || got < RECONCILE_PAGE)
            break;
    }
done:
    if (inserted)
        *inserted = total;
    return ok;
}

