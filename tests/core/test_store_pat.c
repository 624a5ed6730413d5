/* test_store_pat.c - the store contract (conformance.h) for personal
 * access tokens (struct td_pat), on every backend. */
#include "tests/core/conformance.h"

static void pat_make(struct td_pat *t, const char *user, const char *name, td_time created)
{
    static atomic_uint counter;
    memset(t, 0, sizeof *t);
    new_id(t->id);
    snprintf(t->hash, sizeof t->hash, "%08x%056x", (unsigned)getpid(),
             atomic_fetch_add(&counter, 1) + 1);
    snprintf(t->user_id, sizeof t->user_id, "%s", user);
    t->name = (char *)name; /* borrowed: the store only reads */
    t->scopes = TD_PAT_READ | TD_PAT_WRITE;
    t->token_version = 4;
    t->created = created;
    t->expires = created + 5000;
}

static void assert_pat_eq(const struct td_pat *a, const struct td_pat *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->hash, b->hash);
    assert_string_equal(a->user_id, b->user_id);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->scopes, b->scopes);
    assert_int_equal(a->token_version, b->token_version);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->expires, b->expires);
    assert_int_equal(a->last_used, b->last_used);
    assert_string_equal(a->last_addr, b->last_addr);
    assert_int_equal(a->revoked, b->revoked);
}

static void test_pat_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char user[TD_ID_LEN + 1];
    new_id(user);
    struct td_pat t, got;
    pat_make(&t, user, "deploy bot ü", 1000);
    MUST(OP(pat_insert, &t));
    MUST(OP(pat_get_by_hash, t.hash, &got));
    assert_pat_eq(&got, &t);
    pat_clear(&got);

    /* The same secret (hash) or id twice is a conflict. */
    struct td_pat dup;
    pat_make(&dup, user, "other", 1000);
    memcpy(dup.hash, t.hash, sizeof dup.hash);
    MUST_FAIL(TD_CONFLICT, OP(pat_insert, &dup));
    pat_make(&dup, user, "other", 1000);
    memcpy(dup.id, t.id, sizeof dup.id);
    MUST_FAIL(TD_CONFLICT, OP(pat_insert, &dup));

    struct td_pat unknown;
    pat_make(&unknown, user, "x", 1);
    MUST_FAIL(TD_NOT_FOUND, OP(pat_get_by_hash, unknown.hash, &got));
}

static void test_pat_list_revoke_touch(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char u1[TD_ID_LEN + 1], u2[TD_ID_LEN + 1];
    new_id(u1);
    new_id(u2);
    struct td_pat a, b, c, got;
    pat_make(&a, u1, "a", 1000);
    pat_make(&b, u1, "b", 3000);
    pat_make(&c, u2, "c", 2000);
    MUST(OP(pat_insert, &a));
    MUST(OP(pat_insert, &b));
    MUST(OP(pat_insert, &c));

    struct td_pat_list l = { NULL, 0 };
    MUST(OP(pat_list, u1, &l));
    assert_int_equal(l.n, 2); /* one owner's, newest first */
    assert_string_equal(l.v[0].id, b.id);
    assert_string_equal(l.v[1].id, a.id);
    pat_list_clear(&l);
    MUST(OP(pat_list, NULL, &l));
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].id, b.id);
    assert_string_equal(l.v[1].id, c.id);
    assert_string_equal(l.v[2].id, a.id);
    pat_list_clear(&l);

    /* Revoking: only the owner's when an owner is named; twice is fine. */
    MUST_FAIL(TD_NOT_FOUND, OP(pat_revoke, a.id, u2));
    MUST(OP(pat_get_by_hash, a.hash, &got));
    assert_false(got.revoked);
    pat_clear(&got);
    MUST(OP(pat_revoke, a.id, u1));
    MUST(OP(pat_revoke, a.id, NULL));
    MUST(OP(pat_get_by_hash, a.hash, &got));
    assert_true(got.revoked);
    pat_clear(&got);
    MUST(OP(pat_revoke, c.id, NULL));
    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(pat_revoke, missing, NULL));
    MUST(OP(pat_list, u1, &l)); /* revoked ones stay listed */
    assert_int_equal(l.n, 2);
    pat_list_clear(&l);

    /* A use: time and address; without an address the last one stays. */
    MUST(OP(pat_touch, b.id, 7000, "192.0.2.7"));
    MUST(OP(pat_touch, b.id, 8000, NULL));
    MUST(OP(pat_get_by_hash, b.hash, &got));
    assert_int_equal(got.last_used, 8000);
    assert_string_equal(got.last_addr, "192.0.2.7");
    assert_false(got.revoked);
    pat_clear(&got);
    MUST_FAIL(TD_NOT_FOUND, OP(pat_touch, missing, 1, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_pat_roundtrip),
        T(test_pat_list_revoke_touch),
    };
    return store_fixture_run_all("store_pat", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
