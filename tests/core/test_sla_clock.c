/* test_sla_clock.c - a ticket's SLA clock through core (core/sla.c via
 * ticket.c and comment.c), on every store: due times set on open and
 * recomputed on a change of priority or queue, the first public staff
 * reply meeting the first response (a customer's reply or an internal
 * note does not), pending stopping the clock and leaving it pushing the
 * due times by the time spent pending, resolving meeting the resolution. */
#include "tests/core/notify_fixture.h"

#include "core/sla.h"

#define H (3600 * 1000LL)
#define M (60 * 1000LL)

/* Round the clock (no calendar): due times are plain arithmetic. */
#define POLICIES                                                              \
    "[sla normal]\npriority = normal\nfirst_response = 1h\nresolution = 1d\n" \
    "[sla urgent]\npriority = urgent\nfirst_response = 10m\nresolution = 4h\n" \
    "[sla billing]\npriority = normal\ngroup = billing\nfirst_response = 2h\n"

static struct sla_table *attach(struct nfx *f, const char *text)
{
    struct sla_table *tab = NULL;
    struct td_err err;
    if (!sla_config_load_string(text, &tab, &err))
        fail_msg("%s", err.msg);
    f->core.sla = tab;
    return tab;
}

static struct td_ticket get(struct nfx *f, int64_t n)
{
    struct td_ticket t;
    struct td_err err;
    if (!ticket_get(&f->core, NULL, n, &t, &err))
        fail_msg("ticket_get: %s", err.msg);
    return t;
}

static void patch(struct nfx *f, int64_t n, const struct ticket_patch *p)
{
    struct td_err err;
    if (!ticket_update(&f->core, &f->agent1, n, p, 0, NULL, &err))
        fail_msg("ticket_update: %s", err.msg);
}

static void due_on_open_and_recomputed(void **state)
{
    struct nfx *f = *state;
    struct sla_table *tab = attach(f, POLICIES);
    int64_t n = nfx_open(f, &f->cust1, NULL, "Printer", "It is on fire");
    struct td_ticket t = get(f, n);
    assert_int_equal(t.sla.first_response_due, t.created + 1 * H);
    assert_int_equal(t.sla.resolution_due, t.created + 24 * H);
    assert_int_equal(t.sla.next_due, t.created + 1 * H);
    assert_int_equal(t.sla.next_escalation, t.created + 1 * H);
    td_time created = t.created;
    ticket_clear(&t);

    /* Urgent: the urgent policy, from the creation time. */
    struct ticket_patch p = { .has_priority = true, .priority = PRIORITY_URGENT };
    patch(f, n, &p);
    t = get(f, n);
    assert_int_equal(t.sla.first_response_due, created + 10 * M);
    assert_int_equal(t.sla.resolution_due, created + 4 * H);
    ticket_clear(&t);

    /* Normal in billing: the group's policy wins; it has no resolution. */
    struct ticket_patch q = { .has_priority = true, .priority = PRIORITY_NORMAL,
                              .queue = "billing" };
    patch(f, n, &q);
    t = get(f, n);
    assert_int_equal(t.sla.first_response_due, created + 2 * H);
    assert_int_equal(t.sla.resolution_due, 0);
    ticket_clear(&t);

    /* Low has no policy: no due times, nothing overdue. */
    struct ticket_patch r = { .has_priority = true, .priority = PRIORITY_LOW };
    patch(f, n, &r);
    t = get(f, n);
    assert_int_equal(t.sla.first_response_due, 0);
    assert_int_equal(t.sla.next_due, 0);
    ticket_clear(&t);

    /* Without SLAs configured nothing is due. */
    f->core.sla = NULL;
    int64_t n2 = nfx_open(f, &f->cust1, NULL, "Later", "no hurry");
    t = get(f, n2);
    assert_int_equal(t.sla.first_response_due, 0);
    assert_int_equal(t.sla.resolution_due, 0);
    ticket_clear(&t);
    sla_table_free(tab);
}

static void first_response_and_resolution(void **state)
{
    struct nfx *f = *state;
    struct sla_table *tab = attach(f, POLICIES);
    int64_t n = nfx_open(f, &f->cust1, NULL, "VPN", "It drops");
    nfx_comment(f, &f->cust1, n, "Still dropping", false);
    nfx_comment(f, &f->agent1, n, "Looking at it", true); /* internal: not a response */
    struct td_ticket t = get(f, n);
    assert_int_equal(t.sla.first_responded, 0);
    assert_int_equal(t.sla.next_due, t.sla.first_response_due);
    ticket_clear(&t);

    nfx_comment(f, &f->agent1, n, "Please restart the client", false);
    t = get(f, n);
    assert_true(t.sla.first_responded >= t.created);
    /* Met: only the resolution is still due. */
    assert_int_equal(t.sla.next_due, t.sla.resolution_due);
    td_time first = t.sla.first_responded;
    ticket_clear(&t);
    nfx_comment(f, &f->agent2, n, "Any news?", false);
    t = get(f, n);
    assert_int_equal(t.sla.first_responded, first); /* once */
    ticket_clear(&t);

    nfx_status(f, &f->agent1, n, STATUS_RESOLVED);
    t = get(f, n);
    assert_true(t.sla.resolved > 0);
    assert_int_equal(t.sla.next_due, 0);
    assert_int_equal(t.sla.next_escalation, 0);
    ticket_clear(&t);
    /* Reopened: the resolution is due again. */
    nfx_status(f, &f->agent1, n, STATUS_OPEN);
    t = get(f, n);
    assert_int_equal(t.sla.resolved, 0);
    assert_int_equal(t.sla.next_due, t.sla.resolution_due);
    ticket_clear(&t);
    sla_table_free(tab);
}

static void pending_pauses_the_clock(void **state)
{
    struct nfx *f = *state;
    struct sla_table *tab = attach(f, POLICIES);
    struct td_err err;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Invoice", "Wrong amount");
    struct td_ticket t = get(f, n);
    td_time fr = t.sla.first_response_due, res = t.sla.resolution_due;
    ticket_clear(&t);

    nfx_status(f, &f->agent1, n, STATUS_PENDING);
    t = get(f, n);
    assert_true(t.sla.paused_since > 0);
    assert_int_equal(t.sla.next_due, 0); /* waiting for the customer: never overdue */
    assert_int_equal(t.sla.next_escalation, 0);
    /* As if it had been pending for three hours already. */
    t.sla.paused_since -= 3 * H;
    assert_true(f->st->ops->ticket_update(f->st, &t, t.version, NULL, 0, &err));
    ticket_clear(&t);

    /* The customer answers: the clock runs again, both due times later by
     * the time spent pending (three hours and the test's milliseconds). */
    nfx_comment(f, &f->cust1, n, "Here is the invoice", false);
    t = get(f, n);
    assert_int_equal(t.status, STATUS_OPEN);
    assert_int_equal(t.sla.paused_since, 0);
    assert_true(t.sla.paused_ms >= 3 * H && t.sla.paused_ms < 3 * H + 60 * 1000);
    assert_int_equal(t.sla.first_response_due, fr + t.sla.paused_ms);
    assert_int_equal(t.sla.resolution_due, res + t.sla.paused_ms);
    assert_int_equal(t.sla.next_due, t.sla.first_response_due);
    ticket_clear(&t);
    sla_table_free(tab);
}

static void pending_counts_business_time(void **state)
{
    struct nfx *f = *state;
    /* Business hours on no day but a Sunday in 2001: the time spent pending
     * now is no business time, so leaving pending moves nothing. */
    struct sla_table *tab = attach(f, "[calendar never]\ntimezone = UTC\nsun = 00:00-00:01\n"
                                      "holidays = 2026-12-06, 2026-12-13, 2026-12-20\n"
                                      "[sla normal]\npriority = normal\nresolution = 1m\n"
                                      "calendar = never\n");
    int64_t n = nfx_open(f, &f->cust1, NULL, "Weekend", "hi");
    struct td_ticket t = get(f, n);
    td_time res = t.sla.resolution_due;
    assert_true(res > t.created);
    ticket_clear(&t);
    nfx_status(f, &f->agent1, n, STATUS_PENDING);
    nfx_status(f, &f->agent1, n, STATUS_OPEN);
    t = get(f, n);
    assert_int_equal(t.sla.paused_ms, 0);
    assert_int_equal(t.sla.resolution_due, res);
    ticket_clear(&t);
    sla_table_free(tab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(due_on_open_and_recomputed, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(first_response_and_resolution, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(pending_pauses_the_clock, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(pending_counts_business_time, nfx_setup, nfx_teardown),
    };
    return store_fixture_run_all("sla_clock", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
