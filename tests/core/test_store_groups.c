/* test_store_groups.c - the store contract (conformance.h) for groups
 * (core/store/store_groups.h): keys unique, lists ordered by key,
 * update leaves members alone, membership listed once and in the order
 * added, removals and unknown keys TD_NOT_FOUND, delete takes the
 * members along - on every backend. */
#include "tests/core/conformance.h"

static void group_make(struct td_group *g, const char *key, const char *name, td_time at)
{
    memset(g, 0, sizeof *g);
    g->key = td_strdup(key);
    g->name = td_strdup(name);
    g->created = g->updated = at;
}

static void test_group_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_group g, got = { 0 };
    char a[TD_ID_LEN + 1], b[TD_ID_LEN + 1];
    new_id(a);
    new_id(b);
    group_make(&g, "billing", "Billing", 100);
    strv_push(&g.members, b);
    strv_push(&g.members, a);
    strv_push(&g.members, b); /* listed once */
    MUST(OP(group_insert, &g));
    MUST(OP(group_get, "billing", &got));
    assert_string_equal(got.key, "billing");
    assert_string_equal(got.name, "Billing");
    assert_int_equal(got.members.n, 2);
    assert_string_equal(got.members.v[0], b);
    assert_string_equal(got.members.v[1], a);
    assert_int_equal(got.created, 100);
    assert_int_equal(got.updated, 100);
    group_clear(&got);

    /* The key is unique; an empty key is refused. */
    MUST_FAIL(TD_CONFLICT, OP(group_insert, &g));
    struct td_group empty;
    group_make(&empty, "", "none", 1);
    MUST_FAIL(TD_INVALID, OP(group_insert, &empty));
    group_clear(&empty);

    /* update: the name and updated, not the members. */
    free(g.name);
    g.name = td_strdup("Billing and invoices");
    g.updated = 300;
    strv_clear(&g.members);
    MUST(OP(group_update, &g));
    MUST(OP(group_get, "billing", &got));
    assert_string_equal(got.name, "Billing and invoices");
    assert_int_equal(got.updated, 300);
    assert_int_equal(got.created, 100);
    assert_int_equal(got.members.n, 2);
    group_clear(&got);

    MUST_FAIL(TD_NOT_FOUND, OP(group_get, "nope", &got));
    free(g.key);
    g.key = td_strdup("nope");
    MUST_FAIL(TD_NOT_FOUND, OP(group_update, &g));
    group_clear(&g);
}

static void test_group_members(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_group g, got = { 0 };
    char a[TD_ID_LEN + 1], b[TD_ID_LEN + 1];
    new_id(a);
    new_id(b);
    group_make(&g, "sales", "Sales", 10);
    MUST(OP(group_insert, &g));
    MUST(OP(group_member_add, "sales", a, 20));
    MUST(OP(group_member_add, "sales", b, 30));
    MUST(OP(group_member_add, "sales", a, 40)); /* idempotent */
    MUST(OP(group_get, "sales", &got));
    assert_int_equal(got.members.n, 2);
    assert_string_equal(got.members.v[0], a);
    assert_string_equal(got.members.v[1], b);
    assert_int_equal(got.updated, 40);
    group_clear(&got);

    MUST(OP(group_member_remove, "sales", a, 50));
    MUST_FAIL(TD_NOT_FOUND, OP(group_member_remove, "sales", a, 60));
    MUST_FAIL(TD_NOT_FOUND, OP(group_member_add, "nope", a, 60));
    MUST_FAIL(TD_NOT_FOUND, OP(group_member_remove, "nope", b, 60));
    MUST(OP(group_get, "sales", &got));
    assert_int_equal(got.members.n, 1);
    assert_string_equal(got.members.v[0], b);
    assert_int_equal(got.updated, 50); /* the failed calls changed nothing */
    group_clear(&got);

    /* delete takes the members along: made again, the group is empty. */
    MUST(OP(group_delete, "sales"));
    MUST_FAIL(TD_NOT_FOUND, OP(group_delete, "sales"));
    MUST_FAIL(TD_NOT_FOUND, OP(group_get, "sales", &got));
    MUST(OP(group_insert, &g));
    MUST(OP(group_get, "sales", &got));
    assert_int_equal(got.members.n, 0);
    group_clear(&got);
    group_clear(&g);
}

static void test_group_list(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_group_list l = { 0 };
    MUST(OP(group_list, &l));
    assert_int_equal(l.n, 0);
    const char *keys[] = { "support", "billing", "Zeta", "sales" };
    char a[TD_ID_LEN + 1];
    new_id(a);
    for (size_t i = 0; i < 4; i++) {
        struct td_group g;
        group_make(&g, keys[i], keys[i], (td_time)i);
        if (i % 2)
            strv_push(&g.members, a);
        MUST(OP(group_insert, &g));
        group_clear(&g);
    }
    MUST(OP(group_list, &l));
    assert_int_equal(l.n, 4);
    /* by key, byte order */
    assert_string_equal(l.v[0].key, "Zeta");
    assert_string_equal(l.v[1].key, "billing");
    assert_string_equal(l.v[2].key, "sales");
    assert_string_equal(l.v[3].key, "support");
    assert_int_equal(l.v[1].members.n, 1);
    assert_string_equal(l.v[1].members.v[0], a);
    assert_int_equal(l.v[3].members.n, 0);
    group_list_clear(&l);
}

/* users.restricted (migration 12) is written and read like any field. */
static void test_user_restricted(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_user u, got = { 0 };
    user_new(&u, "agent@example.com", "Agent", ROLE_AGENT);
    MUST(OP(user_insert, &u));
    MUST(OP(user_get, u.id, &got));
    assert_false(got.restricted);
    user_clear(&got);
    u.restricted = true;
    MUST(OP(user_update, &u));
    MUST(OP(user_get, u.id, &got));
    assert_user_eq(&got, &u);
    user_clear(&got);
    struct td_user_list l = { 0 };
    MUST(OP(user_list, ROLE_AGENT, &l));
    assert_int_equal(l.n, 1);
    assert_true(l.v[0].restricted);
    user_list_clear(&l);
    user_clear(&u);
}

/* ticket_list's in_groups_of: the tickets of the user's groups and those
 * assigned to them, with other filters, the text search and both orders. */
static void test_list_in_groups_of(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char me[TD_ID_LEN + 1];
    new_id(me);
    struct td_group g;
    group_make(&g, "billing", "Billing", 1);
    strv_push(&g.members, me);
    MUST(OP(group_insert, &g));
    group_clear(&g);
    group_make(&g, "sales", "Sales", 1); /* not mine */
    MUST(OP(group_insert, &g));
    group_clear(&g);
    const char *queues[] = { "billing", "sales", "", "billing", "sales" };
    int64_t n[5];
    for (int i = 0; i < 5; i++) {
        struct td_ticket t;
        ticket_new(st, &t, i == 3 ? "printer invoice" : "invoice", 100 + i);
        free(t.queue);
        t.queue = td_strdup(queues[i]);
        if (i == 4)
            memcpy(t.assignee_id, me, sizeof t.assignee_id);
        ticket_put(st, &t);
        n[i] = t.number;
        ticket_clear(&t);
    }
    struct td_ticket_filter f = { 0 };
    f.in_groups_of = me;
    struct td_ticket_list l = { 0 };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 3); /* newest first: 4 (assigned), 3, 0 */
    assert_int_equal(l.v[0].number, n[4]);
    assert_int_equal(l.v[1].number, n[3]);
    assert_int_equal(l.v[2].number, n[0]);
    ticket_list_clear(&l);
    f.by_updated = true;
    f.limit = 2;
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[0].number, n[4]);
    f.after_updated = l.v[1].updated;
    f.after = l.v[1].number;
    ticket_list_clear(&l);
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].number, n[0]);
    ticket_list_clear(&l);
    /* With a queue filter, and with the text search. */
    struct td_ticket_filter q = { 0 };
    q.in_groups_of = me;
    q.queue = "sales";
    MUST(OP(ticket_list, &q, &l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].number, n[4]);
    ticket_list_clear(&l);
    struct td_ticket_filter t = { 0 };
    t.in_groups_of = me;
    t.text = "printer";
    MUST(OP(ticket_list, &t, &l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].number, n[3]);
    ticket_list_clear(&l);
    /* Someone in no group: only what is assigned to them (nothing). */
    char other[TD_ID_LEN + 1];
    new_id(other);
    t.in_groups_of = other;
    t.text = NULL;
    MUST(OP(ticket_list, &t, &l));
    assert_int_equal(l.n, 0);
    ticket_list_clear(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_group_roundtrip),
        T(test_group_members),
        T(test_group_list),
        T(test_user_restricted),
        T(test_list_in_groups_of),
    };
    return store_fixture_run_all("store_groups", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
