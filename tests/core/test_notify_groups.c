/* test_notify_groups.c - the planner's group and follower rules (issue
 * 14), on SQLite and on MongoDB:
 *   - a new ticket in a group with members is announced to its members
 *     only; a group without members, or a queue that is no group, to
 *     every agent as before;
 *   - a customer's reply on an unassigned ticket goes to the group's
 *     members the same way;
 *   - internal notes go to the assignee and to the agents who follow the
 *     ticket (followers: core/follower.h), never to the author;
 *   - a restricted agent hears only of their groups' and their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/follower.h"
#include "core/group.h"
#include "core/scope.h"
#include "notify_fixture.h"

#define AGENTS_NEW "ticket_created_agents"
#define TO_AGENTS "reply_to_agents"
#define NOTE "internal_note"

static int64_t open_in(struct nfx *f, const char *queue, const char *subject)
{
    struct ticket_new in = { .subject = subject, .body = "b", .queue = queue };
    struct td_ticket t;
    struct td_err err;
    if (!ticket_open(&f->core, &f->cust1, &in, &t, &err))
        fail_msg("ticket_open: %s", err.msg);
    int64_t n = t.number;
    ticket_clear(&t);
    return n;
}

static void new_tickets_go_to_the_group(void **state)
{
    struct nfx *f = *state;
    struct td_err err;
    assert_true(group_create(&f->core, NULL, "billing", "Billing", NULL, &err));
    assert_true(group_add_member(&f->core, NULL, "billing", f->agent2.id, NULL, &err));
    assert_true(group_create(&f->core, NULL, "empty", NULL, NULL, &err));

    int64_t n = open_in(f, "billing", "Invoice wrong");
    assert_int_equal(nfx_count(f, AGENTS_NEW, NULL, n, -1), 1);
    assert_int_equal(nfx_count(f, AGENTS_NEW, "agent2@example.com", n, -1), 1);

    /* A group without members, and a queue that is no group: everyone. */
    int64_t m = open_in(f, "empty", "Nobody's");
    assert_int_equal(nfx_count(f, AGENTS_NEW, NULL, m, -1), 3);
    int64_t k = open_in(f, "", "No queue");
    assert_int_equal(nfx_count(f, AGENTS_NEW, NULL, k, -1), 3);

    /* The customer answers while nobody has it: the group again. */
    nfx_comment(f, &f->cust1, n, "Any news?", false);
    assert_int_equal(nfx_count(f, TO_AGENTS, NULL, n, -1), 1);
    assert_int_equal(nfx_count(f, TO_AGENTS, "agent2@example.com", n, -1), 1);

    /* An admin as member counts too; a disabled member hears nothing. */
    assert_true(group_add_member(&f->core, NULL, "billing", f->admin.id, NULL, &err));
    assert_true(user_set_disabled(&f->core, NULL, f->agent2.id, true, &err));
    int64_t j = open_in(f, "billing", "Second invoice");
    assert_int_equal(nfx_count(f, AGENTS_NEW, NULL, j, -1), 1);
    assert_int_equal(nfx_count(f, AGENTS_NEW, "admin@example.com", j, -1), 1);
}

static void followers_get_the_notes(void **state)
{
    struct nfx *f = *state;
    struct td_err err;
    int64_t n = open_in(f, "", "Follow this");
    assert_true(follower_add(&f->core, &f->agent2, n, f->agent2.id, NULL, &err));
    /* Unassigned: the follower hears of a colleague's note. */
    nfx_comment(f, &f->agent1, n, "first look", true);
    assert_int_equal(nfx_count(f, NOTE, NULL, n, -1), 1);
    assert_int_equal(nfx_count(f, NOTE, "agent2@example.com", n, -1), 1);
    /* Assigned: the assignee and the follower; the author never. */
    assert_true(ticket_assign(&f->core, &f->admin, n, f->agent1.id, NULL, &err));
    nfx_comment(f, &f->admin, n, "escalate?", true);
    assert_int_equal(nfx_count(f, NOTE, "agent1@example.com", n, -1), 1);
    assert_int_equal(nfx_count(f, NOTE, "agent2@example.com", n, -1), 2);
    nfx_comment(f, &f->agent2, n, "my own note", true);
    assert_int_equal(nfx_count(f, NOTE, "agent2@example.com", n, -1), 2);
    assert_int_equal(nfx_count(f, NOTE, "agent1@example.com", n, -1), 2);
    /* The customer's reply: assignee and follower. */
    nfx_comment(f, &f->cust1, n, "hello?", false);
    assert_int_equal(nfx_count(f, TO_AGENTS, "agent1@example.com", n, -1), 1);
    assert_int_equal(nfx_count(f, TO_AGENTS, "agent2@example.com", n, -1), 1);
    assert_int_equal(nfx_count(f, TO_AGENTS, NULL, n, -1), 2);
    /* Unfollowed: no more notes. */
    assert_true(follower_remove(&f->core, &f->agent2, n, f->agent2.id, NULL, &err));
    nfx_comment(f, &f->admin, n, "after", true);
    assert_int_equal(nfx_count(f, NOTE, "agent2@example.com", n, -1), 2);
    /* Customers cannot follow; customers cannot be followers. */
    assert_false(follower_add(&f->core, &f->cust1, n, f->cust1.id, NULL, &err));
    assert_int_equal(err.code, TD_FORBIDDEN);
    assert_false(follower_add(&f->core, &f->agent1, n, f->cust2.id, NULL, &err));
    assert_int_equal(err.code, TD_INVALID);
}

/* A restricted agent (core/scope.h) hears only of their groups' tickets
 * and those assigned to them. */
static void restricted_agents_hear_less(void **state)
{
    struct nfx *f = *state;
    struct td_err err;
    assert_true(group_create(&f->core, NULL, "billing", NULL, NULL, &err));
    assert_true(group_create(&f->core, NULL, "sales", NULL, NULL, &err));
    assert_true(group_add_member(&f->core, NULL, "sales", f->agent1.id, NULL, &err));
    assert_true(scope_set_restricted(&f->core, NULL, f->agent1.id, true, &err));
    /* billing has no members: everyone but the restricted agent. */
    int64_t n = open_in(f, "billing", "Not theirs");
    assert_int_equal(nfx_count(f, AGENTS_NEW, NULL, n, -1), 2);
    assert_int_equal(nfx_count(f, AGENTS_NEW, "agent1@example.com", n, -1), 0);
    /* Their group's ticket: they are its only member. */
    int64_t m = open_in(f, "sales", "Theirs");
    assert_int_equal(nfx_count(f, AGENTS_NEW, "agent1@example.com", m, -1), 1);
    /* Assigned to them, they hear of it whatever its group. */
    assert_true(ticket_assign(&f->core, &f->admin, n, f->agent1.id, NULL, &err));
    assert_int_equal(nfx_count(f, "assigned", "agent1@example.com", n, -1), 1);
    nfx_comment(f, &f->cust1, n, "any news?", false);
    assert_int_equal(nfx_count(f, TO_AGENTS, "agent1@example.com", n, -1), 1);
    /* Only agents can be restricted. */
    assert_false(scope_set_restricted(&f->core, NULL, f->admin.id, true, &err));
    assert_int_equal(err.code, TD_INVALID);
    assert_false(scope_set_restricted(&f->core, &f->agent2, f->agent1.id, false, &err));
    assert_int_equal(err.code, TD_FORBIDDEN);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
#define T(f) cmocka_unit_test_setup_teardown(f, nfx_setup, nfx_teardown)
    const struct CMUnitTest tests[] = {
        T(new_tickets_go_to_the_group),
        T(followers_get_the_notes),
        T(restricted_agents_hear_less),
    };
    return store_fixture_run_all("notify_groups", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
