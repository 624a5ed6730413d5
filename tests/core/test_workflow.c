/* test_workflow.c - the status workflow (core/workflow.c) against an
 * independent statement of the rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/workflow.h"

/* Expected: rows = from, columns = to (new open pending resolved closed). */
static const int expected[5][5] = {
    /* new      */ { 0, 1, 1, 1, 1 },
    /* open     */ { 0, 0, 1, 1, 1 },
    /* pending  */ { 0, 1, 0, 1, 1 },
    /* resolved */ { 0, 1, 0, 0, 1 },
    /* closed   */ { 0, 1, 0, 0, 0 },
};

static void transition_matrix(void **state)
{
    (void)state;
    for (int from = 0; from < 5; from++)
        for (int to = 0; to < 5; to++) {
            struct td_err err = { TD_OK, "" };
            bool ok = workflow_check((enum td_status)from, (enum td_status)to, &err);
            assert_int_equal(ok, expected[from][to]);
            if (!ok) {
                assert_int_equal(err.code, TD_INVALID);
                assert_non_null(strstr(err.msg, status_name((enum td_status)to)));
            }
        }
    assert_false(workflow_allowed((enum td_status)7, STATUS_OPEN));
}

static void replies_move_status(void **state)
{
    (void)state;
    assert_int_equal(workflow_after_reply(STATUS_NEW, true), STATUS_OPEN);
    assert_int_equal(workflow_after_reply(STATUS_PENDING, true), STATUS_PENDING);
    assert_int_equal(workflow_after_reply(STATUS_PENDING, false), STATUS_OPEN);
    assert_int_equal(workflow_after_reply(STATUS_RESOLVED, false), STATUS_OPEN);
    assert_int_equal(workflow_after_reply(STATUS_CLOSED, false), STATUS_OPEN);
    assert_int_equal(workflow_after_reply(STATUS_NEW, false), STATUS_NEW);
}

static void names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < 5; s++) {
        enum td_status back;
        assert_true(status_parse(status_name((enum td_status)s), &back));
        assert_int_equal(back, s);
    }
    enum td_status st;
    assert_false(status_parse("Open", &st));
    assert_false(status_parse("", &st));
    assert_false(status_parse(NULL, &st));
    enum td_priority p;
    assert_true(priority_parse("urgent", &p));
    assert_int_equal(p, PRIORITY_URGENT);
    enum td_role r;
    assert_false(role_parse("root", &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transition_matrix),
        cmocka_unit_test(replies_move_status),
        cmocka_unit_test(names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
