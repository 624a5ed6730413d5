/* desk_metrics.c - see desk_metrics.h. The families live on the
 * process registry of stats.h, registered once on first use. */
#include "desk_metrics.h"
#include "stats.h"
#include "store/store.h"
#include "user.h"

#include <pthread.h>
#include <string.h>

/* 1 min .. 30 days: a desk answers in minutes to days. */
#define MIN_US ((uint64_t)60 * 1000000)
static const uint64_t desk_bounds_us[] = {
    1 * MIN_US,     5 * MIN_US,      15 * MIN_US,     30 * MIN_US,      60 * MIN_US,
    120 * MIN_US,   240 * MIN_US,    480 * MIN_US,    1440 * MIN_US,    2880 * MIN_US,
    4320 * MIN_US,  10080 * MIN_US,  20160 * MIN_US,  43200 * MIN_US,
};
#define N_DESK_BOUNDS (sizeof desk_bounds_us / sizeof desk_bounds_us[0])

#define MAX_TRACKED 256 /* the registry's series cap per family */

static struct {
    struct metric_family *tickets, *first_response, *resolution, *automation;
    struct metric *overdue, *oldest_age, *refreshed;
    /* The ticket series set at the last refresh, to zero the ones that
     * are gone (a queue emptied of new tickets). */
    struct metric *set_last[MAX_TRACKED];
    size_t n_set_last;
} D;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t stale_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic td_time last_refresh; /* 0 = never */

static void desk_init(void)
{
    struct metrics *m = stats_registry();
    D.tickets = metrics_gauge(m, "ticketd_tickets",
                              "Tickets that are not closed, by status and queue (read by the "
                              "scheduler every tick).",
                              METRIC_LABELS("status", "queue"));
    D.overdue = metric_at(metrics_gauge(m, "ticketd_tickets_overdue",
                                        "Open tickets past a due time.", METRIC_NO_LABELS),
                          NULL);
    D.oldest_age = metric_at(metrics_gauge(m, "ticketd_oldest_open_ticket_age_seconds",
                                           "Age of the oldest ticket still new, open or pending.",
                                           METRIC_NO_LABELS),
                             NULL);
    D.refreshed = metric_at(metrics_gauge(m, "ticketd_desk_refreshed_timestamp_seconds",
                                          "When the desk gauges were last read from the store.",
                                          METRIC_NO_LABELS),
                            NULL);
    D.first_response = metrics_histogram(m, "ticketd_first_response_seconds",
                                         "From a ticket's creation to the first public reply "
                                         "by staff.",
                                         METRIC_LABELS("queue"), desk_bounds_us, N_DESK_BOUNDS);
    D.resolution = metrics_histogram(m, "ticketd_resolution_seconds",
                                     "From a ticket's creation to its resolution.",
                                     METRIC_LABELS("queue"), desk_bounds_us, N_DESK_BOUNDS);
    D.automation = metrics_counter(m, "ticketd_automation_actions_total",
                                   "Changes the automations made (reminders sent, tickets "
                                   "closed).",
                                   METRIC_LABELS("automation"));
}

static void init(void)
{
    pthread_once(&once, desk_init);
}

static struct metric *ticket_series(enum td_status s, const char *queue)
{
    return METRIC_AT(D.tickets, status_name(s), queue ? queue : "");
}

/* Open tickets past an SLA due time (the list's due_before filter, from
 * the partial index on next_due), counted a page at a time up to
 * OVERDUE_COUNT_MAX: beyond that the desk has a bigger problem than the
 * exact figure, and a tick stays bounded. */
#define OVERDUE_COUNT_MAX 10000

static bool count_overdue(struct store *st, td_time now, int64_t *n, struct td_err *err)
{
    *n = 0;
    struct td_ticket_filter f = { .due_before = now, .ascending = true, .limit = 1000 };
    for (;;) {
        struct td_ticket_list l = { NULL, 0 };
        if (!st->ops->ticket_list(st, &f, &l, err))
            return false;
        *n += (int64_t)l.n;
        size_t got = l.n;
        if (got > 0)
            f.after = l.v[got - 1].number;
        ticket_list_clear(&l);
        if (got < f.limit || *n >= OVERDUE_COUNT_MAX)
            return true;
    }
}

bool desk_metrics_refresh(struct td_core *c, td_time now, struct td_err *err)
{
    init();
    struct store *st = c->store;
    if (st->ops->desk == NULL)
        return td_fail(err, TD_INTERNAL, "desk metrics: the %s store has no desk counts",
                       st->ops->name);
    struct td_desk_counts dc = { NULL, 0, 0 };
    int64_t overdue = 0;
    if (!count_overdue(st, now, &overdue, err))
        return false; /* the gauges keep their last values; refreshed says how old */
    desk_metrics_set_overdue(overdue);
    if (!st->ops->desk->desk_counts(st, &dc, err))
        return false;
    struct metric *set_now[MAX_TRACKED];
    size_t n_now = 0;
    pthread_mutex_lock(&refresh_lock);
    /* Every status but closed, even at 0, so a board shows the series. */
    static const enum td_status counted[] = { STATUS_NEW, STATUS_OPEN, STATUS_PENDING,
                                              STATUS_RESOLVED };
    for (size_t i = 0; i < 4 && n_now < MAX_TRACKED; i++) {
        int64_t total = 0;
        for (size_t k = 0; k < dc.n; k++)
            if (dc.v[k].status == counted[i] && dc.v[k].queue[0] == '\0')
                total += dc.v[k].n;
        struct metric *s = ticket_series(counted[i], "");
        metric_set(s, total);
        set_now[n_now++] = s;
    }
    for (size_t k = 0; k < dc.n && n_now < MAX_TRACKED; k++) {
        if (dc.v[k].queue[0] == '\0')
            continue;
        struct metric *s = ticket_series(dc.v[k].status, dc.v[k].queue);
        metric_set(s, dc.v[k].n);
        set_now[n_now++] = s;
    }
    for (size_t i = 0; i < D.n_set_last; i++) {
        bool still = false;
        for (size_t k = 0; k < n_now && !still; k++)
            still = set_now[k] == D.set_last[i];
        if (!still)
            metric_set(D.set_last[i], 0);
    }
    memcpy(D.set_last, set_now, n_now * sizeof set_now[0]);
    D.n_set_last = n_now;
    metric_set(D.oldest_age, dc.oldest_open > 0 && now > dc.oldest_open
                                 ? (now - dc.oldest_open) / 1000 : 0);
    metric_set(D.refreshed, now / 1000);
    last_refresh = now;
    pthread_mutex_unlock(&refresh_lock);
    desk_counts_clear(&dc);
    return true;
}

bool desk_metrics_refresh_if_older(struct td_core *c, td_time now, td_time max_age_ms,
                                   struct td_err *err)
{
    td_time last = last_refresh;
    if (last != 0 && now - last < max_age_ms)
        return true;
    if (pthread_mutex_trylock(&stale_lock) != 0)
        return true; /* another scrape is reading them */
    bool ok = desk_metrics_refresh(c, now, err);
    pthread_mutex_unlock(&stale_lock);
    return ok;
}

static bool is_staff_role(enum td_role r)
{
    return r == ROLE_AGENT || r == ROLE_ADMIN;
}

/* Whether the ticket's SLA state already says that staff answered
 * before ev, without reading its history: every public reply by staff
 * meets the first response (sla_first_reply, written with the reply), so
 * a first_responded strictly before this comment is an earlier staff
 * reply - unless the requester is staff (their own replies set it too
 * but are no response), so that case, and a ticket without it (replies
 * from before ticketd kept it, or a failed status move), read the
 * history. A staff reply to a long ticket is mostly not its first: this
 * spares each one a read of the whole history inside the comment's write
 * transaction. */
static bool sla_says_replied(struct store *st, const struct td_ticket *t,
                             const struct td_event *ev)
{
    if (t->sla.first_responded == 0 || t->sla.first_responded >= ev->at)
        return false;
    struct td_user req;
    memset(&req, 0, sizeof req);
    struct td_err err;
    bool customer = st->ops->user_get(st, t->requester_id, &req, &err) &&
                    !is_staff_role(req.role);
    user_clear(&req);
    return customer;
}

/* Whether any public comment before events[upto] in the ticket's history
 * was written by staff. A store failure counts as "yes": better a missed
 * observation than a second "first" response. */
static bool staff_replied_before(struct td_core *c, const struct td_ticket *t,
                                 const struct td_event *ev)
{
    struct store *st = c->store;
    if (sla_says_replied(st, t, ev))
        return true;
    struct td_event_list h = { NULL, 0 };
    struct td_err err;
    if (!st->ops->history_list(st, t->number, &h, &err))
        return true;
    bool found = false;
    for (size_t i = 0; i < h.n && !found; i++) {
        const struct td_event *e = &h.v[i];
        if (e->seq >= ev->seq && ev->seq > 0)
            break;
        if (e->kind != EVENT_COMMENT || e->old_value == NULL ||
            strcmp(e->old_value, "public") != 0 || e->actor_id[0] == '\0' ||
            strcmp(e->actor_id, t->requester_id) == 0)
            continue;
        if (ev->new_value && e->new_value && strcmp(e->new_value, ev->new_value) == 0)
            break; /* this very comment (its seq is not known to the caller) */
        struct td_user u;
        memset(&u, 0, sizeof u);
        if (!st->ops->user_get(st, e->actor_id, &u, &err))
            found = err.code != TD_NOT_FOUND;
        else
            found = is_staff_role(u.role);
        user_clear(&u);
    }
    event_list_clear(&h);
    return found;
}

static uint64_t since_created_us(const struct td_ticket *t, const struct td_event *e)
{
    return e->at > t->created ? (uint64_t)(e->at - t->created) * 1000 : 0;
}

void desk_metrics_observe(struct td_core *c, const struct td_user *actor,
                          const struct td_ticket *t, const struct td_event *events, size_t n)
{
    init();
    const char *queue = t->queue ? t->queue : "";
    for (size_t i = 0; i < n; i++) {
        const struct td_event *e = &events[i];
        bool description = i > 0 && events[i - 1].kind == EVENT_CREATED;
        if (e->kind == EVENT_COMMENT && !description && e->old_value && strcmp(e->old_value, "public") == 0 &&
            actor != NULL && is_staff_role(actor->role) && strcmp(actor->id, e->actor_id) == 0 &&
            strcmp(actor->id, t->requester_id) != 0 && !staff_replied_before(c, t, e))
            metric_observe_us(METRIC_AT(D.first_response, queue), since_created_us(t, e));
        else if (e->kind == EVENT_STATUS && e->new_value &&
                 (strcmp(e->new_value, "resolved") == 0 ||
                  (strcmp(e->new_value, "closed") == 0 &&
                   (e->old_value == NULL || strcmp(e->old_value, "resolved") != 0))))
            metric_observe_us(METRIC_AT(D.resolution, queue), since_created_us(t, e));
    }
}

void desk_metrics_set_overdue(int64_t n)
{
    init();
    metric_set(D.overdue, n);
}

void desk_metrics_automation(const char *job, int64_t n)
{
    init();
    if (n > 0)
        metric_add(METRIC_AT(D.automation, job), n);
}

int64_t desk_metrics_tickets(enum td_status s, const char *queue)
{
    init();
    return metric_value(ticket_series(s, queue));
}

int64_t desk_metrics_oldest_age_s(void)
{
    init();
    return metric_value(D.oldest_age);
}
