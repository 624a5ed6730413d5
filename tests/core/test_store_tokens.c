/* test_store_tokens.c - the store contract (conformance.h): the REST API's rows: refresh tokens and attachment owners,
 * on every backend. */
#include "tests/core/conformance.h"

/* ---- REST API: refresh tokens, attachment owner ------------------------------- */

static void token_make(struct td_refresh_token *t, const char *family, const char *user,
                       td_time expires)
{
    static atomic_uint counter;
    memset(t, 0, sizeof *t);
    snprintf(t->hash, sizeof t->hash, "%08x%056x", (unsigned)getpid(),
             atomic_fetch_add(&counter, 1) + 1);
    snprintf(t->family, sizeof t->family, "%s", family);
    snprintf(t->user_id, sizeof t->user_id, "%s", user);
    t->token_version = 7;
    t->created = 1000;
    t->expires = expires;
}

static void assert_token_eq(const struct td_refresh_token *a, const struct td_refresh_token *b)
{
    assert_string_equal(a->hash, b->hash);
    assert_string_equal(a->family, b->family);
    assert_string_equal(a->user_id, b->user_id);
    assert_int_equal(a->token_version, b->token_version);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->expires, b->expires);
    assert_int_equal(a->used_at, b->used_at);
    assert_int_equal(a->revoked, b->revoked);
}

static void test_token_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char fam[TD_ID_LEN + 1], user[TD_ID_LEN + 1];
    new_id(fam);
    new_id(user);
    struct td_refresh_token t, got;
    token_make(&t, fam, user, 99000);
    MUST(OP(token_insert, &t));
    MUST(OP(token_get, t.hash, &got));
    assert_token_eq(&got, &t);
    MUST_FAIL(TD_CONFLICT, OP(token_insert, &t));
    struct td_refresh_token other;
    token_make(&other, fam, user, 1);
    MUST_FAIL(TD_NOT_FOUND, OP(token_get, other.hash, &got));
}

static void test_token_rotation_and_revocation(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char fam[TD_ID_LEN + 1], fam2[TD_ID_LEN + 1], user[TD_ID_LEN + 1];
    new_id(fam);
    new_id(fam2);
    new_id(user);
    struct td_refresh_token a, b, c, got;
    token_make(&a, fam, user, 99000);
    token_make(&b, fam, user, 99000);
    token_make(&c, fam2, user, 99000);
    MUST(OP(token_insert, &a));
    MUST(OP(token_insert, &b));
    MUST(OP(token_insert, &c));

    /* First use succeeds and says when; every later one is a replay. */
    MUST(OP(token_mark_used_if_unused, a.hash, 5000, &got));
    a.used_at = 5000;
    assert_token_eq(&got, &a);
    MUST_FAIL(TD_CONFLICT, OP(token_mark_used_if_unused, a.hash, 6000, &got));
    MUST(OP(token_get, a.hash, &got));
    assert_int_equal(got.used_at, 5000);
    struct td_refresh_token unknown;
    token_make(&unknown, fam, user, 1);
    MUST_FAIL(TD_NOT_FOUND, OP(token_mark_used_if_unused, unknown.hash, 6000, &got));

    /* Revoking a family ends its unused tokens too; other families stay. */
    MUST(OP(token_revoke_family, fam));
    MUST(OP(token_get, b.hash, &got));
    assert_true(got.revoked);
    assert_int_equal(got.used_at, 0);
    MUST_FAIL(TD_CONFLICT, OP(token_mark_used_if_unused, b.hash, 7000, &got));
    MUST(OP(token_get, c.hash, &got));
    assert_false(got.revoked);
    MUST(OP(token_revoke_family, fam)); /* idempotent */
    char nofam[TD_ID_LEN + 1];
    new_id(nofam);
    MUST(OP(token_revoke_family, nofam));
    MUST(OP(token_mark_used_if_unused, c.hash, 8000, &got));
}

#define TOKEN_RACERS 8

struct token_race {
    struct store *st;
    const char *hash;
    pthread_barrier_t *go;
    int won, conflicts, other;
};

static void *token_race_thread(void *p)
{
    struct token_race *a = p;
    struct td_err err;
    struct td_refresh_token got;
    pthread_barrier_wait(a->go);
    td_err_clear(&err);
    if (a->st->ops->token_mark_used_if_unused(a->st, a->hash, 1234, &got, &err))
        a->won++;
    else if (err.code == TD_CONFLICT)
        a->conflicts++;
    else
        a->other++;
    return NULL;
}

/* Two refreshes with one token at once: exactly one wins, on every
 * round, across two handles. */
static void test_token_rotation_race(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));
    char fam[TD_ID_LEN + 1], user[TD_ID_LEN + 1];
    new_id(fam);
    new_id(user);
    for (int round = 0; round < 5; round++) {
        struct td_refresh_token t;
        token_make(&t, fam, user, 99000);
        MUST(OP(token_insert, &t));
        pthread_barrier_t go;
        assert_int_equal(pthread_barrier_init(&go, NULL, TOKEN_RACERS), 0);
        struct token_race args[TOKEN_RACERS];
        memset(args, 0, sizeof args);
        for (int i = 0; i < TOKEN_RACERS; i++) {
            args[i].st = i % 2 ? st2 : st;
            args[i].hash = t.hash;
            args[i].go = &go;
        }
        run_threads(TOKEN_RACERS, token_race_thread, args, sizeof args[0]);
        pthread_barrier_destroy(&go);
        int won = 0, conflicts = 0, other = 0;
        for (int i = 0; i < TOKEN_RACERS; i++) {
            won += args[i].won;
            conflicts += args[i].conflicts;
            other += args[i].other;
        }
        if (won != 1 || conflicts != TOKEN_RACERS - 1 || other != 0)
            fail_msg("round %d: %d won, %d conflicts, %d other errors", round, won, conflicts,
                     other);
    }
    store_close(st2);
}

static void test_token_purge(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char fam[TD_ID_LEN + 1], user[TD_ID_LEN + 1];
    new_id(fam);
    new_id(user);
    struct td_refresh_token t[3], got;
    for (int i = 0; i < 3; i++) {
        token_make(&t[i], fam, user, 100 * (i + 1));
        MUST(OP(token_insert, &t[i]));
    }
    int64_t n = -1;
    MUST(OP(token_purge, 250, &n));
    assert_int_equal(n, 2);
    MUST_FAIL(TD_NOT_FOUND, OP(token_get, t[0].hash, &got));
    MUST_FAIL(TD_NOT_FOUND, OP(token_get, t[1].hash, &got));
    MUST(OP(token_get, t[2].hash, &got));
    MUST(OP(token_purge, 250, NULL));
}

static void test_attachment_owner(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t t1 = ticket_add(st, "owner 1", 1000);
    int64_t t2 = ticket_add(st, "owner 2", 1000);
    struct td_comment pub, note;
    comment_new(&pub, t1, "see attached", false, NULL, 2000);
    comment_attach(&pub, "a.txt", "text/plain", 3);
    comment_attach(&pub, "b.txt", "text/plain", 3);
    comment_new(&note, t2, "internal attachment", true, NULL, 3000);
    comment_attach(&note, "secret.txt", "text/plain", 3);
    struct td_event ev = comment_event(&pub);
    MUST(OP(comment_insert, &pub, &ev));
    ev = comment_event(&note);
    MUST(OP(comment_insert, &note, &ev));

    int64_t ticket = 0;
    bool internal = true;
    MUST(OP(attachment_owner, pub.attachments[1].id, &ticket, &internal));
    assert_int_equal(ticket, t1);
    assert_false(internal);
    MUST(OP(attachment_owner, note.attachments[0].id, &ticket, &internal));
    assert_int_equal(ticket, t2);
    assert_true(internal);
    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(attachment_owner, missing, &ticket, &internal));
    comment_clear(&pub);
    comment_clear(&note);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_token_roundtrip),
        T(test_token_rotation_and_revocation),
        T(test_token_rotation_race),
        T(test_token_purge),
        T(test_attachment_owner),
    };
    return store_fixture_run_all("store_tokens", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
