/* test_policy.c - core/policy.c's status rule as a table: every role x
 * every from x every to, on the actor's own ticket, someone else's, and
 * for a disabled actor, against an independent statement of the rules
 * (customers only close, or reopen a resolved/closed ticket). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/policy.h"

#define N_STATUS 5
#define N_ROLE 3

/* expected[role][from][to]; roles customer, agent, admin; statuses new,
 * open, pending, resolved, closed. */
static const int expected[N_ROLE][N_STATUS][N_STATUS] = {
    /* customer */
    {
        /* new      */ { 0, 0, 0, 0, 1 },
        /* open     */ { 0, 0, 0, 0, 1 },
        /* pending  */ { 0, 0, 0, 0, 1 },
        /* resolved */ { 0, 1, 0, 0, 1 },
        /* closed   */ { 0, 1, 0, 0, 0 },
    },
    /* agent */
    {
        { 0, 1, 1, 1, 1 }, { 1, 0, 1, 1, 1 }, { 1, 1, 0, 1, 1 }, { 1, 1, 1, 0, 1 }, { 1, 1, 1, 1, 0 },
    },
    /* admin */
    {
        { 0, 1, 1, 1, 1 }, { 1, 0, 1, 1, 1 }, { 1, 1, 0, 1, 1 }, { 1, 1, 1, 0, 1 }, { 1, 1, 1, 1, 0 },
    },
};

static void status_table(void **state)
{
    (void)state;
    const enum td_role roles[N_ROLE] = { ROLE_CUSTOMER, ROLE_AGENT, ROLE_ADMIN };
    struct td_user actor, other;
    memset(&actor, 0, sizeof actor);
    memset(&other, 0, sizeof other);
    snprintf(actor.id, sizeof actor.id, "%s", "aaaaaaaaaaaaaaaaaaaaaaaa");
    snprintf(other.id, sizeof other.id, "%s", "bbbbbbbbbbbbbbbbbbbbbbbb");
    struct td_ticket t;
    memset(&t, 0, sizeof t);
    t.number = 7;
    for (int r = 0; r < N_ROLE; r++)
        for (int from = 0; from < N_STATUS; from++)
            for (int to = 0; to < N_STATUS; to++) {
                actor.role = roles[r];
                actor.disabled = false;
                t.status = (enum td_status)from;
                /* own ticket */
                snprintf(t.requester_id, sizeof t.requester_id, "%s", actor.id);
                struct td_err err = { TD_OK, "" };
                int want = expected[r][from][to];
                bool rule = policy_status_allowed(roles[r], (enum td_status)from, (enum td_status)to);
                if (rule != (bool)want)
                    fail_msg("policy_status_allowed(%s, %s -> %s) = %d, want %d",
                             role_name(roles[r]), status_name((enum td_status)from),
                             status_name((enum td_status)to), rule, want);
                if (from == to)
                    continue; /* not a transition: ticket.c never asks */
                bool ok = policy_set_status(&actor, &t, (enum td_status)to, &err);
                if (ok != (bool)want)
                    fail_msg("policy_set_status(%s, own, %s -> %s) = %d, want %d (%s)",
                             role_name(roles[r]), status_name((enum td_status)from),
                             status_name((enum td_status)to), ok, want, err.msg);
                if (!ok)
                    assert_int_equal(err.code, TD_FORBIDDEN);
                /* someone else's ticket: staff as before, a customer does
                 * not even learn it exists */
                snprintf(t.requester_id, sizeof t.requester_id, "%s", other.id);
                td_err_clear(&err);
                ok = policy_set_status(&actor, &t, (enum td_status)to, &err);
                if (roles[r] == ROLE_CUSTOMER) {
                    assert_false(ok);
                    assert_int_equal(err.code, TD_NOT_FOUND);
                } else {
                    assert_int_equal(ok, want);
                }
                /* disabled: nothing */
                actor.disabled = true;
                td_err_clear(&err);
                assert_false(policy_set_status(&actor, &t, (enum td_status)to, &err));
                assert_int_equal(err.code, TD_UNAUTHORIZED);
            }
    /* The system (NULL actor) may do anything the workflow allows. */
    t.status = STATUS_NEW;
    struct td_err err = { TD_OK, "" };
    assert_true(policy_set_status(NULL, &t, STATUS_OPEN, &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_table),
    };
    return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
