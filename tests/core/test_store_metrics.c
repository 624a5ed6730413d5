/* test_store_metrics.c - the timing decorator of the store
 * (core/store_metrics.c): forwards every operation unchanged, times it,
 * counts failures by code, and restores the backend's table on close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/stats.h"
#include "core/store/store_metrics.h"
#include "core/ticket.h"
#include "tests/core/core_fixture.h"

static bool has_line(const char *line)
{
    struct buf b = BUF_INIT;
    stats_render(&b);
    bool found = strstr(b.data, line) != NULL;
    if (!found)
        fprintf(stderr, "no line '%s' in:\n%s", line, b.data);
    buf_free(&b);
    return found;
}

static void every_operation_is_timed(void **state)
{
    (void)state;
    /* Fails when an operation was added to struct store_ops without a
     * line in STORE_METRICS_OPS: it would run untimed. */
    assert_true(store_metrics_complete());
}

static void forwards_and_times(void **state)
{
    struct fx *f = *state;
    const struct store_ops *orig = f->st->ops;
    store_metrics_wrap(f->st);
    store_metrics_wrap(f->st); /* idempotent */
    assert_true(store_metrics_wrapped(f->st));
    assert_ptr_not_equal(f->st->ops, orig);
    assert_string_equal(f->st->ops->name, "sqlite");
    /* optional operations stay as the backend has them */
    assert_true((f->st->ops->outbox_count_recent == NULL) == (orig->outbox_count_recent == NULL));

    int64_t pings = metric_value(stats_store_op_series("ping"));
    int64_t inserts = metric_value(stats_store_op_series("ticket_insert"));
    struct td_err err;
    td_err_clear(&err);
    assert_true(f->st->ops->ping(f->st, &err));
    assert_int_equal(metric_value(stats_store_op_series("ping")), pings + 1);

    /* core on top of the wrapped store behaves as before */
    struct ticket_new in = { .subject = "Printer on fire", .body = "Help", .source = SOURCE_API };
    struct td_ticket t;
    memset(&t, 0, sizeof t);
    assert_true(ticket_open(&f->core, &f->cust1, &in, &t, &err));
    assert_int_equal(metric_value(stats_store_op_series("ticket_insert")), inserts + 1);
    struct td_ticket got;
    memset(&got, 0, sizeof got);
    assert_true(ticket_get(&f->core, &f->agent1, t.number, &got, &err));
    assert_string_equal(got.subject, "Printer on fire");
    ticket_clear(&got);

    /* a failure keeps its code and is counted by it */
    struct td_user u;
    memset(&u, 0, sizeof u);
    assert_false(f->st->ops->user_get(f->st, "000000000000000000000000", &u, &err));
    assert_int_equal(err.code, TD_NOT_FOUND);
    assert_true(has_line("ticketd_store_errors_total{op=\"user_get\",code=\"not_found\"} 1\n"));
    assert_true(has_line("ticketd_store_operation_duration_seconds_count{op=\"ticket_insert\"} "));
    ticket_clear(&t);
    /* fx_teardown closes through the wrapper: ASan sees the table freed */
}

static void null_is_safe(void **state)
{
    (void)state;
    store_metrics_wrap(NULL);
    assert_false(store_metrics_wrapped(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_operation_is_timed),
        cmocka_unit_test_setup_teardown(forwards_and_times, fx_setup, fx_teardown),
        cmocka_unit_test(null_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
