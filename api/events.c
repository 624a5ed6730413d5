/* events.c - GET /api/v1/events: a Server-Sent Events stream of ticket
 * changes, for the web console and for integrations.
 *
 * Shape: one event per change of a ticket,
 *     id: <the ticket's updated time, ms since the epoch>
 *     event: ticket
 *     data: {"number":7,"version":4,"status":"open","updated":"..."}
 * and a comment line (":") every KEEPALIVE_MS so proxies and the idle
 * timeout keep the connection. The data says which ticket changed, not
 * how: the client reads the ticket, its comments and history through the
 * API, where core's role rules apply as always.
 *
 * Who sees what: staff every ticket; a customer only the tickets they
 * requested (the same narrowing core applies to their lists). Events for
 * internal notes reach the customer only as "ticket 7 changed" with no
 * content; the ticket's ETag shows as much already.
 *
 * Where events come from: one hub thread per process reads the tickets
 * updated since its last look from the store once a second while any
 * stream is open (ticket_list with updated_since, as the system) and
 * appends each new (number, version) to a ring of EV_RING entries. The store is the truth, so
 * changes made by other ticketd processes or the mail gateway show up
 * too; nothing else has to call into this file.
 *
 * Connections: an MHD callback response per stream. When a stream has
 * nothing to send it is suspended (MHD_suspend_connection: no thread is
 * held) and the hub resumes every suspended stream after each look that
 * found something, and every KEEPALIVE_MS. Memory per connection is
 * bounded: a stream only holds what it has not yet handed to MHD, at most
 * FORMAT_MAX events or one catch-up (CATCHUP_MAX events), and its
 * socket's send buffer is capped (SNDBUF_BYTES). A client that
 * falls more than EV_RING events behind is dropped (the stream ends with
 * an error) and reconnects with Last-Event-ID.
 *
 * Resuming: Last-Event-ID (or ?since=, the same number) replays, from the
 * store and through core's role filter, the tickets updated since then
 * (minus OVERLAP_MS, since clocks and commits are not perfectly ordered).
 * Delivery is at least once: clients deduplicate by (number, version).
 *
 * Auth: the Authorization header like every endpoint. Browsers'
 * EventSource cannot send it; the console reads the stream with fetch(). */
#include "api_int.h"

#include "core/id.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/scope.h"
#include "core/ticket.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A client that keeps reading is not dropped by one busy second. */
#define EV_RING 4096
#define FORMAT_MAX 128 /* events formatted per read: the bound of pending */
#define POLL_MS 1000
#define KEEPALIVE_MS 10000
#define OVERLAP_MS 2000
#define CATCHUP_MAX 200
#define POLL_PAGES 8   /* at most 8 x STORE_LIST_MAX changes per look */
#define SNDBUF_BYTES (32 * 1024)

struct ev_entry {
    uint64_t seq;
    int64_t number;
    int64_t version;
    td_time updated;
    enum td_status status;
    char requester_id[TD_ID_LEN + 1];
    char assignee_id[TD_ID_LEN + 1];
    char queue[65];          /* for restricted agents (core/scope.h) */
};

struct ev_conn {
    struct api *api;
    struct MHD_Connection *conn;
    char user_id[TD_ID_LEN + 1];
    bool staff;
    bool restricted;         /* an agent who sees only their groups' tickets */
    struct strv groups;      /* their groups' keys, as of connecting */
    uint64_t last_seq;       /* ring entries up to this one are handled */
    struct buf pending;      /* formatted, not yet handed to MHD */
    size_t off;
    int64_t last_write_ms;
    bool suspended;
    struct ev_conn *next;    /* every open stream of the hub */
};

struct events {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t thread;
    bool started, stopping;
    struct ev_entry ring[EV_RING];
    uint64_t seq;            /* the last entry appended (0: none yet) */
    td_time mark;            /* the newest updated time seen */
    struct ev_conn *conns;
    size_t n_conns;
};

static bool in_ring(const struct events *ev, int64_t number, int64_t version)
{
    uint64_t oldest = ev->seq >= EV_RING ? ev->seq - EV_RING + 1 : 1;
    for (uint64_t s = oldest; s <= ev->seq && s > 0; s++) {
        const struct ev_entry *e = &ev->ring[s % EV_RING];
        if (e->number == number && e->version == version)
            return true;
    }
    return false;
}

static int by_updated(const void *a, const void *b)
{
    const struct td_ticket *x = a, *y = b;
    return x->updated < y->updated ? -1 : x->updated > y->updated ? 1 : 0;
}

/* One look at the store; true if something was appended. */
static bool hub_poll(struct api *api)
{
    struct events *ev = api->events;
    struct td_ticket_filter f;
    memset(&f, 0, sizeof f);
    pthread_mutex_lock(&ev->mu);
    f.updated_since = ev->mark > OVERLAP_MS ? ev->mark - OVERLAP_MS : 1;
    pthread_mutex_unlock(&ev->mu);
    /* Newest first in pages, so a burst of more than one page since the
     * last look is read whole (up to POLL_PAGES pages). */
    f.by_updated = true;
    f.limit = STORE_LIST_MAX;
    struct td_ticket_list l = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    for (int page = 0; page < POLL_PAGES; page++) {
        struct td_ticket_list part = { NULL, 0 };
        if (!ticket_list(api->core, NULL, &f, &part, &err)) {
            log_event(LOG_WARN, "events_poll_failed", LF_S("error", err.msg));
            ticket_list_clear(&l);
            return false;
        }
        if (part.n > 0) { /* move the tickets over; their strings go along */
            l.v = td_realloc(l.v, (l.n + part.n) * sizeof *l.v);
            memcpy(l.v + l.n, part.v, part.n * sizeof *part.v);
            l.n += part.n;
            f.after_updated = part.v[part.n - 1].updated;
            f.after = part.v[part.n - 1].number;
        }
        bool full = part.n == STORE_LIST_MAX;
        free(part.v);
        if (!full)
            break;
    }
    if (l.n > 1) /* qsort wants a non-null array even for nothing */
        qsort(l.v, l.n, sizeof l.v[0], by_updated);
    bool added = false;
    pthread_mutex_lock(&ev->mu);
    for (size_t i = 0; i < l.n; i++) {
        const struct td_ticket *t = &l.v[i];
        if (in_ring(ev, t->number, t->version))
            continue;
        struct ev_entry *e = &ev->ring[++ev->seq % EV_RING];
        e->seq = ev->seq;
        e->number = t->number;
        e->version = t->version;
        e->updated = t->updated;
        e->status = t->status;
        snprintf(e->requester_id, sizeof e->requester_id, "%s", t->requester_id);
        snprintf(e->assignee_id, sizeof e->assignee_id, "%s", t->assignee_id);
        snprintf(e->queue, sizeof e->queue, "%s", t->queue ? t->queue : "");
        if (t->updated > ev->mark)
            ev->mark = t->updated;
        added = true;
    }
    pthread_mutex_unlock(&ev->mu);
    ticket_list_clear(&l);
    return added;
}

/* Staff see every ticket's events - but a restricted agent only those of
 * their groups' tickets and their own (core/scope.h; the groups as of
 * connecting) - and a customer their own tickets'. */
static bool may_see(const struct ev_conn *c, const struct ev_entry *e)
{
    if (!c->staff)
        return strcmp(e->requester_id, c->user_id) == 0;
    return !c->restricted || strcmp(e->assignee_id, c->user_id) == 0 ||
           strv_contains(&c->groups, e->queue);
}

/* Resumes every suspended stream (they look for work themselves). */
static void hub_wake_streams(struct events *ev)
{
    for (struct ev_conn *c = ev->conns; c; c = c->next) {
        if (c->suspended) {
            c->suspended = false;
            server_resume(c->conn);
        }
    }
}

static void *hub_main(void *arg)
{
    struct api *api = arg;
    struct events *ev = api->events;
    int64_t last_wake = mono_ms();
    for (;;) {
        pthread_mutex_lock(&ev->mu);
        if (!ev->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)POLL_MS * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&ev->wake, &ev->mu, &until);
        }
        bool stop = ev->stopping;
        bool idle = ev->n_conns == 0;
        pthread_mutex_unlock(&ev->mu);
        if (stop)
            break;
        /* With no stream open the store is not read at all: the mark
         * moves on, and a stream that connects later catches up from the
         * store itself (Last-Event-ID). */
        if (idle) {
            pthread_mutex_lock(&ev->mu);
            ev->mark = td_now();
            pthread_mutex_unlock(&ev->mu);
            continue;
        }
        bool added = hub_poll(api);
        int64_t now = mono_ms();
        if (!idle && (added || now - last_wake >= KEEPALIVE_MS)) {
            pthread_mutex_lock(&ev->mu);
            hub_wake_streams(ev);
            pthread_mutex_unlock(&ev->mu);
            last_wake = now;
        }
    }
    return NULL;
}

bool events_start(struct api *api, struct td_err *err)
{
    struct events *ev = td_calloc(1, sizeof *ev);
    pthread_mutex_init(&ev->mu, NULL);
    pthread_cond_init(&ev->wake, NULL);
    ev->mark = td_now();
    api->events = ev;
    if (pthread_create(&ev->thread, NULL, hub_main, api) != 0)
        return td_fail(err, TD_INTERNAL, "cannot start the event hub thread");
    (void)pthread_setname_np(ev->thread, "td-events");
    ev->started = true;
    return true;
}

void events_end_streams(struct api *api)
{
    struct events *ev = api->events;
    if (ev == NULL)
        return;
    pthread_mutex_lock(&ev->mu);
    ev->stopping = true;
    hub_wake_streams(ev); /* each ends at its next read */
    pthread_cond_broadcast(&ev->wake);
    pthread_mutex_unlock(&ev->mu);
}

void events_free(struct api *api)
{
    struct events *ev = api->events;
    if (ev == NULL)
        return;
    events_end_streams(api);
    if (ev->started)
        pthread_join(ev->thread, NULL);
    pthread_cond_destroy(&ev->wake);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
    api->events = NULL;
}

static void put_event(struct buf *b, int64_t number, int64_t version, enum td_status status,
                      td_time updated)
{
    json_t *t = json_time(updated);
    buf_printf(b, "id: %lld\nevent: ticket\ndata: {\"number\":%lld,\"version\":%lld,"
               "\"status\":\"%s\",\"updated\":\"%s\"}\n\n", (long long)updated, (long long)number,
               (long long)version, status_name(status), json_string_value(t));
    json_decref(t);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct ev_conn *c = cls;
    struct events *ev = c->api->events;
    pthread_mutex_lock(&ev->mu);
    if (ev->stopping) {
        pthread_mutex_unlock(&ev->mu);
        return API_STREAM_END;
    }
    if (c->off == c->pending.len) {
        c->pending.len = c->off = 0;
        uint64_t oldest = ev->seq >= EV_RING ? ev->seq - EV_RING + 1 : 1;
        if (c->last_seq + 1 < oldest) { /* too slow: the ring moved on */
            pthread_mutex_unlock(&ev->mu);
            log_event(LOG_INFO, "events_client_dropped", LF_S("user", c->user_id));
            return API_STREAM_ERROR;
        }
        uint64_t s = c->last_seq + 1;
        for (int k = 0; s <= ev->seq && k < FORMAT_MAX; s++) {
            const struct ev_entry *e = &ev->ring[s % EV_RING];
            if (may_see(c, e)) {
                put_event(&c->pending, e->number, e->version, e->status, e->updated);
                k++;
            }
        }
        c->last_seq = s - 1;
        if (c->pending.len == 0 && mono_ms() - c->last_write_ms >= KEEPALIVE_MS)
            buf_puts(&c->pending, ":\n\n");
        if (c->pending.len == 0) {
            /* Under the hub's lock, so the hub's resume comes after this. */
            c->suspended = true;
            server_suspend(c->conn);
            pthread_mutex_unlock(&ev->mu);
            return 0;
        }
    }
    size_t n = c->pending.len - c->off;
    if (n > max)
        n = max;
    memcpy(out, c->pending.data + c->off, n);
    c->off += n;
    c->last_write_ms = mono_ms();
    pthread_mutex_unlock(&ev->mu);
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct ev_conn *c = cls;
    struct events *ev = c->api->events;
    pthread_mutex_lock(&ev->mu);
    for (struct ev_conn **p = &ev->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            ev->n_conns--;
            break;
        }
    }
    pthread_mutex_unlock(&ev->mu);
    buf_free(&c->pending);
    strv_clear(&c->groups);
    free(c);
}

/* Last-Event-ID or ?since: a number of ms; false if malformed. */
static bool resume_point(struct api_req *r, td_time *since, struct api_resp *out)
{
    static const char *const args[] = { "since", NULL };
    struct field_errors fe = { .n = 0 };
    *since = 0;
    const char *v = req_header(r, "Last-Event-ID");
    if (query_check(r, args, &fe) && v == NULL)
        v = req_query(r, "since");
    int64_t n = 0;
    if (fe.n == 0 && v != NULL && !parse_number(v, &n))
        field_error(&fe, "Last-Event-ID", "must be the id of an event of this stream");
    if (fe.n > 0) {
        problem_fields(out, "bad resume point", &fe);
        return false;
    }
    *since = n;
    return true;
}

void h_events(struct api_req *r, struct api_resp *out)
{
    td_time since;
    if (!resume_point(r, &since, out))
        return;
    struct events *ev = r->api->events;
    if (ev == NULL) {
        problem(out, 503, "unavailable", "the event stream is not running", NULL);
        return;
    }
    /* The kernel would otherwise grow a stream's socket buffer to
     * megabytes for a client that does not read: keep it small, so a
     * slow client falls behind the ring and is dropped instead. */
    server_limit_send_buffer(r->conn, SNDBUF_BYTES);
    struct ev_conn *c = td_calloc(1, sizeof *c);
    c->api = r->api;
    c->conn = r->conn;
    snprintf(c->user_id, sizeof c->user_id, "%s", r->user.id);
    c->staff = r->user.role != ROLE_CUSTOMER;
    c->restricted = scope_restricted(&r->user);
    struct td_err gerr;
    if (c->restricted && !scope_groups(r->api->core->store, r->user.id, &c->groups, &gerr)) {
        buf_free(&c->pending);
        free(c);
        problem_from_err(out, &gerr);
        return;
    }
    c->last_write_ms = mono_ms();
    /* "retry" tells EventSource-like clients how soon to reconnect. */
    buf_puts(&c->pending, "retry: 3000\n\n");
    if (since > 0) {
        /* Catch up from the store, through core's role filter. */
        struct td_ticket_filter f;
        memset(&f, 0, sizeof f);
        f.updated_since = since > OVERLAP_MS ? since - OVERLAP_MS : 1;
        f.ascending = true;
        f.limit = CATCHUP_MAX;
        struct td_ticket_list l = { NULL, 0 };
        struct td_err err;
        td_err_clear(&err);
        if (!ticket_list(r->api->core, &r->user, &f, &l, &err)) {
            buf_free(&c->pending);
            strv_clear(&c->groups);
            free(c);
            problem_from_err(out, &err);
            return;
        }
        if (l.n > 1)
            qsort(l.v, l.n, sizeof l.v[0], by_updated);
        for (size_t i = 0; i < l.n; i++)
            put_event(&c->pending, l.v[i].number, l.v[i].version, l.v[i].status, l.v[i].updated);
        ticket_list_clear(&l);
    }
    pthread_mutex_lock(&ev->mu);
    c->last_seq = ev->seq; /* live from here on */
    c->next = ev->conns;
    ev->conns = c;
    ev->n_conns++;
    pthread_mutex_unlock(&ev->mu);
    out->status = 200;
    out->content_type = "text/event-stream; charset=utf-8";
    out->stream = stream_read;
    out->stream_cls = c;
    out->stream_free = stream_free;
    resp_header(out, "X-Accel-Buffering", "no"); /* nginx: do not buffer the stream */
}
