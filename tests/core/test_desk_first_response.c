/* test_desk_first_response.c - ticketd_first_response_seconds is
 * observed once per ticket, for the first public reply by staff who is
 * not the requester, and a later staff reply answers from the ticket's
 * SLA state instead of reading the whole history inside its write
 * transaction - on SQLite and on MongoDB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "core/desk_metrics.h"
#include "core/stats.h"
#include "notify_fixture.h"

static const struct store_ops *real_ops;
static int history_calls;

static bool counting_history(struct store *st, int64_t ticket, struct td_event_list *out,
                             struct td_err *err)
{
    history_calls++;
    return real_ops->history_list(st, ticket, out, err);
}

/* The first response count of the default queue (0 before any). */
static long first_responses(void)
{
    struct buf b = BUF_INIT;
    metrics_render(stats_registry(), &b);
    buf_putc(&b, '\0');
    const char *key = "ticketd_first_response_seconds_count{queue=\"\"} ";
    const char *at = strstr(b.data, key);
    long n = at ? strtol(at + strlen(key), NULL, 10) : 0;
    buf_free(&b);
    return n;
}

/* A comment by actor with history_list counted. */
static int comment_counted(struct nfx *f, const struct td_user *actor, int64_t n,
                           const char *body)
{
    real_ops = f->st->ops;
    struct store_ops ops = *real_ops;
    ops.history_list = counting_history;
    history_calls = 0;
    f->st->ops = &ops;
    nfx_comment(f, actor, n, body, false);
    f->st->ops = real_ops;
    return history_calls;
}

/* Milliseconds pass between replies, as between real requests: the SLA
 * time of one reply is before the next comment's. */
static void next_ms(void)
{
    struct timespec ts = { 0, 3 * 1000 * 1000 };
    nanosleep(&ts, NULL);
}

static void later_replies_skip_the_history(void **state)
{
    struct nfx *f = *state;
    f->core.observe = desk_metrics_observe;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Printer", "It jams");
    for (int i = 0; i < 4; i++)
        nfx_comment(f, &f->cust1, n, "more detail", false);
    long base = first_responses();
    next_ms();
    (void)comment_counted(f, &f->agent1, n, "On it.");
    assert_int_equal(first_responses(), base + 1);
    next_ms();
    assert_int_equal(comment_counted(f, &f->agent2, n, "Me too."), 0);
    next_ms();
    assert_int_equal(comment_counted(f, &f->agent1, n, "Fixed?"), 0);
    assert_int_equal(first_responses(), base + 1);
}

/* An agent's own ticket: their replies are no response, and the SLA
 * state (met by them) must not hide the first reply of another agent. */
static void staff_requester_reads_the_history(void **state)
{
    struct nfx *f = *state;
    f->core.observe = desk_metrics_observe;
    int64_t n = nfx_open(f, &f->agent1, f->agent1.id, "My laptop", "Broken");
    long base = first_responses();
    next_ms();
    nfx_comment(f, &f->agent1, n, "Still broken", false);
    assert_int_equal(first_responses(), base);
    next_ms();
    assert_int_equal(comment_counted(f, &f->agent2, n, "Looking."), 1);
    assert_int_equal(first_responses(), base + 1);
    next_ms();
    nfx_comment(f, &f->admin, n, "Any news?", false);
    assert_int_equal(first_responses(), base + 1);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
#define T(f) cmocka_unit_test_setup_teardown(f, nfx_setup, nfx_teardown)
    const struct CMUnitTest tests[] = {
        T(later_replies_skip_the_history),
        T(staff_requester_reads_the_history),
    };
    return store_fixture_run_all("desk_first_response", tests, sizeof tests / sizeof tests[0])
               ? 1
               : 0;
}
