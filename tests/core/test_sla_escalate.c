/* test_sla_escalate.c - sla_escalate_due (core/sla_escalate.c) called
 * with chosen instants, on every store: nothing before a due time; once
 * past it one 'escalated' event, the priority raised one step (due times
 * kept), sla_escalated mails to the group (every active agent and admin
 * without groups, the members when a group lookup is plugged in) or to a
 * lead's address; exactly once when run again, and when two processes
 * (two store handles, two threads) run it at the same moment; never for
 * a ticket waiting for its customer. The desk's overdue gauge
 * (desk_metrics_refresh) counts the tickets past a running due time. A
 * mail the outbox cannot take undoes its escalation where the store has
 * batches, so the next run escalates and mails again. */
#include "tests/core/notify_fixture.h"

#include <pthread.h>

#include "core/buf.h"
#include "core/desk_metrics.h"
#include "core/metrics.h"
#include "core/group.h"
#include "core/sla.h"
#include "core/stats.h"
#include "core/sla_escalate.h"

#define H (3600 * 1000LL)
#define M (60 * 1000LL)

#define POLICIES                                                              \
    "[sla normal]\npriority = normal\nfirst_response = 1h\nresolution = 1d\n" \
    "escalate_to = group\nraise_priority = true\n"                            \
    "[sla high]\npriority = high\nfirst_response = 10m\nresolution = 4h\n"    \
    "escalate_to = lead@example.com\n"

static struct sla_table *attach(struct nfx *f)
{
    struct sla_table *tab = NULL;
    struct td_err err;
    if (!sla_config_load_string(POLICIES, &tab, &err))
        fail_msg("%s", err.msg);
    f->core.sla = tab;
    return tab;
}

static size_t run(struct td_core *c, td_time now)
{
    struct td_err err;
    size_t n = 0;
    if (!sla_escalate_run(c, now, &n, &err))
        fail_msg("sla_escalate_run: %s", err.msg);
    return n;
}

static struct td_ticket get(struct nfx *f, int64_t n)
{
    struct td_ticket t;
    struct td_err err;
    if (!ticket_get(&f->core, NULL, n, &t, &err))
        fail_msg("ticket_get: %s", err.msg);
    return t;
}

/* The escalated events of ticket n, "first_response,resolution,...". */
static void escalations(struct nfx *f, int64_t n, char *out, size_t size)
{
    struct td_event_list h = { 0 };
    struct td_err err;
    if (!f->st->ops->history_list(f->st, n, &h, &err))
        fail_msg("history: %s", err.msg);
    out[0] = '\0';
    for (size_t i = 0; i < h.n; i++)
        if (h.v[i].kind == EVENT_ESCALATED) {
            size_t len = strlen(out);
            snprintf(out + len, size - len, "%s%s", len ? "," : "", h.v[i].new_value);
        }
    event_list_clear(&h);
}

/* The recipients of sla_escalated rows, sorted, comma-joined. */
static void escalation_mails(struct nfx *f, char *out, size_t size)
{
    struct td_outbox_list l = { 0 };
    nfx_rows(f, &l);
    struct strv to = STRV_INIT;
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.v[i].kind, "sla_escalated") == 0)
            strv_push(&to, l.v[i].recipient);
    for (size_t i = 0; i < to.n; i++) /* a few items: insertion sort */
        for (size_t j = i; j > 0 && strcmp(to.v[j - 1], to.v[j]) > 0; j--) {
            char *x = to.v[j];
            to.v[j] = to.v[j - 1];
            to.v[j - 1] = x;
        }
    char *s = strv_join(&to, ",");
    snprintf(out, size, "%s", s);
    free(s);
    strv_clear(&to);
    outbox_list_clear(&l);
}

static void escalates_once_when_due(void **state)
{
    struct nfx *f = *state;
    struct sla_table *tab = attach(f);
    int64_t n = nfx_open(f, &f->cust1, NULL, "Server down", "Nothing works");
    struct td_ticket t = get(f, n);
    td_time created = t.created, fr = t.sla.first_response_due, res = t.sla.resolution_due;
    ticket_clear(&t);
    char got[512];

    assert_int_equal(run(&f->core, created + 30 * M), 0);
    assert_int_equal(run(&f->core, fr - 1), 0);
    assert_int_equal(run(&f->core, fr), 1);
    escalations(f, n, got, sizeof got);
    assert_string_equal(got, "first_response");
    t = get(f, n);
    assert_int_equal(t.priority, PRIORITY_HIGH); /* raised one step... */
    assert_int_equal(t.sla.first_response_due, fr); /* ...keeping its due times */
    assert_int_equal(t.sla.resolution_due, res);
    assert_int_equal(t.sla.escalated_first_response, fr);
    ticket_clear(&t);
    /* escalate_to = group, no groups known: every active agent and admin. */
    escalation_mails(f, got, sizeof got);
    assert_string_equal(got, "admin@example.com,agent1@example.com,agent2@example.com");

    /* Again, and later: nothing more until the resolution is due. */
    assert_int_equal(run(&f->core, fr), 0);
    assert_int_equal(run(&f->core, res - 1), 0);
    escalation_mails(f, got, sizeof got);
    assert_string_equal(got, "admin@example.com,agent1@example.com,agent2@example.com");

    /* The resolution passes: escalated under the policy the ticket has now
     * (high: to the lead, no raise). */
    assert_int_equal(run(&f->core, res + 1), 1);
    assert_int_equal(run(&f->core, res + 2 * H), 0);
    escalations(f, n, got, sizeof got);
    assert_string_equal(got, "first_response,resolution");
    escalation_mails(f, got, sizeof got);
    assert_string_equal(got, "admin@example.com,agent1@example.com,agent2@example.com,"
                             "lead@example.com");
    t = get(f, n);
    assert_int_equal(t.priority, PRIORITY_HIGH);
    assert_int_equal(t.sla.next_escalation, 0);
    assert_int_equal(t.sla.next_due, fr); /* still overdue (both), escalated */
    ticket_clear(&t);
    sla_table_free(tab);
}

static void met_or_waiting_is_not_escalated(void **state)
{
    struct nfx *f = *state;
    struct sla_table *tab = attach(f);
    int64_t answered = nfx_open(f, &f->cust1, NULL, "Answered", "q");
    int64_t waiting = nfx_open(f, &f->cust1, NULL, "Waiting", "q");
    int64_t solved = nfx_open(f, &f->cust1, NULL, "Solved", "q");
    nfx_comment(f, &f->agent1, answered, "Here you go", false);
    nfx_status(f, &f->agent1, waiting, STATUS_PENDING);
    nfx_status(f, &f->agent1, solved, STATUS_RESOLVED);
    struct td_ticket t = get(f, answered);
    td_time created = t.created;
    ticket_clear(&t);
    /* Past the first response of all three: nothing to do. */
    assert_int_equal(run(&f->core, created + 2 * H), 0);
    /* Past the resolution: only the answered ticket (met its first
     * response, not its resolution). */
    assert_int_equal(run(&f->core, created + 25 * H), 1);
    char got[256];
    escalations(f, answered, got, sizeof got);
    assert_string_equal(got, "resolution");
    escalations(f, waiting, got, sizeof got);
    assert_string_equal(got, "");
    escalations(f, solved, got, sizeof got);
    assert_string_equal(got, "");
    sla_table_free(tab);
}

static bool only_agent2(struct store *st, const char *queue, struct strv *out, bool *found,
                        struct td_err *err)
{
    (void)err;
    struct td_user u;
    *found = strcmp(queue, "ops") == 0;
    if (*found && st->ops->user_get_by_email(st, "agent2@example.com", &u, NULL)) {
        strv_push(out, u.id);
        user_clear(&u);
    }
    return true;
}

/* A customer's new ticket in the queue "ops"; *first_response its due. */
static int64_t open_in_ops(struct nfx *f, const char *subject, td_time *first_response)
{
    struct ticket_new in = { .subject = subject, .body = "help", .queue = "ops" };
    struct td_ticket t;
    struct td_err err;
    if (!ticket_open(&f->core, &f->cust1, &in, &t, &err))
        fail_msg("ticket_open: %s", err.msg);
    *first_response = t.sla.first_response_due;
    int64_t n = t.number;
    ticket_clear(&t);
    return n;
}

static void group_members_get_the_mail(void **state)
{
    struct nfx *f = *state;
    struct sla_table *tab = attach(f);
    sla_set_members(tab, only_agent2);
    td_time fr;
    int64_t n = open_in_ops(f, "Disk full", &fr);
    assert_int_equal(run(&f->core, fr), 1);
    char got[256];
    escalation_mails(f, got, sizeof got);
    assert_string_equal(got, "agent2@example.com");
    (void)n;
    sla_table_free(tab);
}

/* The groups of core/group.h: the members of the ticket's group; every
 * staff user for a ticket whose group has no members. */
static void real_group_members_get_the_mail(void **state)
{
    struct nfx *f = *state;
    struct sla_table *tab = attach(f);
    struct td_err err;
    assert_true(group_create(&f->core, &f->admin, "ops", "Operations", NULL, &err));
    assert_true(group_create(&f->core, &f->admin, "empty", NULL, NULL, &err));
    assert_true(group_add_member(&f->core, &f->admin, "ops", f->agent1.id, NULL, &err));
    struct ticket_new in = { .subject = "Backup failed", .body = "twice", .queue = "ops" };
    struct td_ticket t;
    assert_true(ticket_open(&f->core, &f->cust1, &in, &t, &err));
    td_time fr = t.sla.first_response_due;
    ticket_clear(&t);
    assert_int_equal(run(&f->core, fr), 1);
    char got[256];
    escalation_mails(f, got, sizeof got);
    assert_string_equal(got, "agent1@example.com");

    in.queue = "empty";
    assert_true(ticket_open(&f->core, &f->cust1, &in, &t, &err));
    fr = t.sla.first_response_due;
    ticket_clear(&t);
    assert_int_equal(run(&f->core, fr), 1);
    escalation_mails(f, got, sizeof got);
    assert_string_equal(got, "admin@example.com,agent1@example.com,agent1@example.com,"
                             "agent2@example.com");
    sla_table_free(tab);
}

static bool members_unavailable(struct store *st, const char *queue, struct strv *out,
                                bool *found, struct td_err *err)
{
    (void)st;
    (void)queue;
    (void)out;
    *found = false;
    return td_fail(err, TD_UNAVAILABLE, "group members: store away (test)");
}

/* An escalation whose mail cannot be planned now: on a store with
 * batches nothing of it is written and the next run escalates and mails;
 * without batches (MongoDB) it is escalated without the mail. */
static void refused_mail_is_escalated_again(void **state)
{
    struct nfx *f = *state;
    struct sla_table *tab = attach(f);
    sla_set_members(tab, members_unavailable);
    td_time fr;
    int64_t n = open_in_ops(f, "Queue stuck", &fr);
    struct td_ticket t;
    bool batches = f->st->ops->batch_begin != NULL;
    char got[256];
    assert_int_equal(run(&f->core, fr), batches ? 0 : 1);
    escalations(f, n, got, sizeof got);
    assert_string_equal(got, batches ? "" : "first_response");
    escalation_mails(f, got, sizeof got);
    assert_string_equal(got, "");
    t = get(f, n);
    assert_int_equal(t.priority, batches ? PRIORITY_NORMAL : PRIORITY_HIGH);
    ticket_clear(&t);

    sla_set_members(tab, only_agent2);
    assert_int_equal(run(&f->core, fr + M), batches ? 1 : 0);
    escalations(f, n, got, sizeof got);
    assert_string_equal(got, "first_response");
    escalation_mails(f, got, sizeof got);
    assert_string_equal(got, batches ? "agent2@example.com" : "");
    sla_table_free(tab);
}

struct racer {
    struct td_core core;
    td_time now;
    size_t n;
    bool ok;
    pthread_barrier_t *go;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct td_err err;
    pthread_barrier_wait(r->go);
    r->ok = sla_escalate_run(&r->core, r->now, &r->n, &err);
    return NULL;
}

static void two_processes_escalate_once(void **state)
{
    struct nfx *f = *state;
    struct sla_table *tab = attach(f);
    enum { TICKETS = 6 };
    int64_t n[TICKETS];
    for (int i = 0; i < TICKETS; i++)
        n[i] = nfx_open(f, &f->cust1, NULL, "Race", "who escalates?");
    struct td_ticket t = get(f, n[TICKETS - 1]);
    td_time now = t.sla.first_response_due;
    ticket_clear(&t);

    /* A second "process": its own store handle on the same data. */
    struct store *other = NULL;
    struct td_err err;
    assert_true(store_open(f->sf->uri, &other, &err));
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    struct racer a = { .core = f->core, .now = now, .go = &go };
    struct racer b = { .core = f->core, .now = now, .go = &go };
    b.core.store = other;
    b.core.on_events = NULL; /* that process plans its own notifications */
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race, &a);
    pthread_create(&tb, NULL, race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&go);
    assert_true(a.ok && b.ok);
    assert_int_equal(a.n + b.n, TICKETS);
    for (int i = 0; i < TICKETS; i++) {
        char got[256];
        escalations(f, n[i], got, sizeof got);
        assert_string_equal(got, "first_response");
        t = get(f, n[i]);
        assert_int_equal(t.priority, PRIORITY_HIGH); /* one step, not two */
        ticket_clear(&t);
    }
    store_close(other);
    sla_table_free(tab);
}

/* ticketd_tickets_overdue after a refresh at now, as /metrics shows it. */
static long long overdue_gauge(struct nfx *f, td_time now)
{
    struct td_err err;
    if (!desk_metrics_refresh(&f->core, now, &err))
        fail_msg("desk_metrics_refresh: %s", err.msg);
    struct buf out = BUF_INIT;
    metrics_render(stats_registry(), &out);
    char *text = buf_steal(&out);
    const char *line = strstr(text, "\nticketd_tickets_overdue ");
    assert_non_null(line);
    long long v = strtoll(line + strlen("\nticketd_tickets_overdue "), NULL, 10);
    free(text);
    return v;
}

static void overdue_gauge_counts_running_dues(void **state)
{
    struct nfx *f = *state;
    struct sla_table *tab = attach(f);
    int64_t ignored = nfx_open(f, &f->cust1, NULL, "Ignored", "q");
    int64_t answered = nfx_open(f, &f->cust1, NULL, "Answered", "q");
    int64_t waiting = nfx_open(f, &f->cust1, NULL, "Waiting", "q");
    int64_t solved = nfx_open(f, &f->cust1, NULL, "Solved", "q");
    nfx_comment(f, &f->agent1, answered, "Here you go", false);
    nfx_status(f, &f->agent1, waiting, STATUS_PENDING);
    nfx_status(f, &f->agent1, solved, STATUS_RESOLVED);
    struct td_ticket t = get(f, ignored);
    td_time created = t.created;
    ticket_clear(&t);
    assert_int_equal(overdue_gauge(f, created + 30 * M), 0);
    /* the first response of the ignored one has passed; the answered one
     * runs to its resolution, the waiting one is paused, the solved done */
    assert_int_equal(overdue_gauge(f, created + 2 * H), 1);
    assert_int_equal(overdue_gauge(f, created + 25 * H), 2);
    (void)waiting;
    (void)solved;
    sla_table_free(tab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(escalates_once_when_due, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(met_or_waiting_is_not_escalated, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(group_members_get_the_mail, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(real_group_members_get_the_mail, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(two_processes_escalate_once, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(refused_mail_is_escalated_again, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(overdue_gauge_counts_running_dues, nfx_setup, nfx_teardown),
    };
    return store_fixture_run_all("sla_escalate", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
