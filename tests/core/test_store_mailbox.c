/* test_store_mailbox.c - the store contract (conformance.h): the mail gateway's tables: the Message-ID map, the mailbox lease, the quarantine,
 * on every backend. */
#include "tests/core/conformance.h"

/* ---- Message-ID map ----------------------------------------------------------- */

static void test_msgid_map(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t n = 0;
    MUST(OP(msgid_put, "<in.1@example.org>", 5));
    MUST(OP(msgid_put, "<in.2@example.org>", 6));
    MUST(OP(msgid_get, "<in.1@example.org>", &n));
    assert_int_equal(n, 5);
    MUST(OP(msgid_get, "<in.2@example.org>", &n));
    assert_int_equal(n, 6);
    MUST_FAIL(TD_CONFLICT, OP(msgid_put, "<in.1@example.org>", 7));
    MUST_FAIL(TD_CONFLICT, OP(msgid_put, "<in.1@example.org>", 5)); /* even the same */
    MUST(OP(msgid_get, "<in.1@example.org>", &n));
    assert_int_equal(n, 5);
    n = -3;
    MUST_FAIL(TD_NOT_FOUND, OP(msgid_get, "<unknown@example.org>", &n));
    assert_int_equal(n, -3);
    /* The map and ticket threads are separate things. */
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<in.1@example.org>", &n));
}

/* ---- mailbox lease ------------------------------------------------------------ */

static void expect_mailbox(struct store *st, const char *name, uint32_t uidvalidity,
                           uint32_t last_uid, const char *owner, td_time until)
{
    struct td_err err;
    struct td_mailbox_state m = { 0 };
    MUST(st->ops->mailbox_get(st, name, &m, &err));
    assert_string_equal(m.name, name);
    assert_int_equal(m.uidvalidity, uidvalidity);
    assert_int_equal(m.last_uid, last_uid);
    assert_str(m.lease_owner, owner);
    if (owner != NULL)
        assert_int_equal(m.lease_until, until);
    mailbox_state_clear(&m);
}

static void test_lease(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_mailbox_state m = { 0 };
    MUST_FAIL(TD_NOT_FOUND, OP(mailbox_get, "INBOX", &m));
    assert_null(m.name);

    /* First acquire creates the row: uidvalidity = last_uid = 0. */
    MUST(OP(lease_acquire, "INBOX", "host-a", 1000, 500));
    expect_mailbox(st, "INBOX", 0, 0, "host-a", 1500);
    MUST_FAIL(TD_CONFLICT, OP(lease_acquire, "INBOX", "host-b", 1200, 500));
    expect_mailbox(st, "INBOX", 0, 0, "host-a", 1500);
    /* The owner renews. */
    MUST(OP(lease_acquire, "INBOX", "host-a", 1200, 500));
    expect_mailbox(st, "INBOX", 0, 0, "host-a", 1700);
    MUST(OP(mailbox_set_uid, "INBOX", "host-a", 1300, 77, 10));
    expect_mailbox(st, "INBOX", 77, 10, "host-a", 1700);
    MUST_FAIL(TD_CONFLICT, OP(mailbox_set_uid, "INBOX", "host-b", 1300, 77, 99));
    expect_mailbox(st, "INBOX", 77, 10, "host-a", 1700);
    /* Other mailboxes have their own lease. */
    MUST(OP(lease_acquire, "Support", "host-b", 1300, 500));
    expect_mailbox(st, "Support", 0, 0, "host-b", 1800);

    /* Expired: another owner takes over; the old one may not move the UID. */
    MUST_FAIL(TD_CONFLICT, OP(lease_acquire, "INBOX", "host-b", 1700, 500));
    MUST(OP(lease_acquire, "INBOX", "host-b", 1701, 1000));
    expect_mailbox(st, "INBOX", 77, 10, "host-b", 2701);
    MUST_FAIL(TD_CONFLICT, OP(mailbox_set_uid, "INBOX", "host-a", 1800, 77, 11));
    MUST(OP(mailbox_set_uid, "INBOX", "host-b", 1800, 77, 12));
    expect_mailbox(st, "INBOX", 77, 12, "host-b", 2701);
    /* Its own lease, once expired, does not let it write either. */
    MUST_FAIL(TD_CONFLICT, OP(mailbox_set_uid, "INBOX", "host-b", 2702, 77, 13));
    expect_mailbox(st, "INBOX", 77, 12, "host-b", 2701);
    MUST_FAIL(TD_CONFLICT, OP(mailbox_set_uid, "Nowhere", "host-b", 1800, 1, 1));

    /* Release: only by the holder; then anyone may take it. */
    MUST_FAIL(TD_CONFLICT, OP(lease_release, "INBOX", "host-a"));
    expect_mailbox(st, "INBOX", 77, 12, "host-b", 2701);
    MUST(OP(lease_release, "INBOX", "host-b"));
    expect_mailbox(st, "INBOX", 77, 12, NULL, 0);
    MUST(OP(lease_release, "INBOX", "host-b")); /* already free: no-op */
    MUST_FAIL(TD_CONFLICT, OP(mailbox_set_uid, "INBOX", "host-b", 1900, 77, 13));
    MUST(OP(lease_acquire, "INBOX", "host-a", 1900, 500));
    expect_mailbox(st, "INBOX", 77, 12, "host-a", 2400);
    MUST_FAIL(TD_NOT_FOUND, OP(lease_release, "Nowhere", "host-a"));
}

struct lease_arg {
    struct store *st;
    pthread_barrier_t *go;
    char owner[32];
    bool ok;
    struct td_err err;
};

static void *lease_thread(void *p)
{
    struct lease_arg *a = p;
    pthread_barrier_wait(a->go);
    a->ok = a->st->ops->lease_acquire(a->st, "INBOX", a->owner, 5000, 1000, &a->err);
    return NULL;
}

static void test_lease_race(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, 4), 0);
    struct lease_arg args[4];
    memset(args, 0, sizeof args);
    for (int i = 0; i < 4; i++) {
        args[i].st = i % 2 ? st2 : st;
        args[i].go = &go;
        snprintf(args[i].owner, sizeof args[i].owner, "poller-%d", i);
    }
    run_threads(4, lease_thread, args, sizeof args[0]);
    pthread_barrier_destroy(&go);
    store_close(st2);
    int winner = -1;
    for (int i = 0; i < 4; i++) {
        if (args[i].ok) {
            if (winner >= 0)
                fail_msg("%s and %s both hold the lease", args[winner].owner, args[i].owner);
            winner = i;
        } else if (args[i].err.code != TD_CONFLICT) {
            fail_msg("%s: %s (%s), expected conflict", args[i].owner,
                     td_code_name(args[i].err.code), args[i].err.msg);
        }
    }
    assert_true(winner >= 0);
    expect_mailbox(st, "INBOX", 0, 0, args[winner].owner, 6000);
}

/* ---- Mail gateway: quarantine --------------------------------------------------- */

static void quarantine_make(struct td_quarantine *q, const char *reason, td_time at,
                            const unsigned char *raw, size_t raw_len)
{
    memset(q, 0, sizeof *q);
    new_id(q->id);
    q->mailbox = td_strdup("support");
    q->uidvalidity = 7;
    q->uid = 42;
    q->msg_key = td_strdup("abc@example.com");
    q->reason = td_strdup(reason);
    q->sender = td_strdup("\"M\xc3\xbcller\" <m@example.com>");
    q->subject = td_strdup("Gr\xc3\xbc\xc3\x9f" "e");
    if (raw_len) {
        q->raw = td_malloc(raw_len);
        memcpy(q->raw, raw, raw_len);
    }
    q->raw_len = raw_len;
    q->created = q->updated = at;
}

static void test_quarantine_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    /* Raw mail is bytes, not text: NULs and 8-bit bytes survive. */
    unsigned char raw[300];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)(i * 7);
    struct td_quarantine q, got;
    quarantine_make(&q, "more than 500 MIME parts", 1000, raw, sizeof raw);
    q.raw_size = 5000; /* only the head was kept */
    MUST(OP(quarantine_put, &q));
    MUST(OP(quarantine_get, q.id, &got));
    assert_string_equal(got.id, q.id);
    assert_str(got.mailbox, "support");
    assert_int_equal(got.uidvalidity, 7);
    assert_int_equal(got.uid, 42);
    assert_str(got.msg_key, q.msg_key);
    assert_str(got.reason, q.reason);
    assert_str(got.sender, q.sender);
    assert_str(got.subject, q.subject);
    assert_int_equal(got.raw_len, sizeof raw);
    assert_memory_equal(got.raw, raw, sizeof raw);
    assert_int_equal(got.raw_size, 5000);
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.created, 1000);
    assert_int_equal(got.updated, 1000);
    quarantine_clear(&got);

    /* NULL sender/subject, no raw bytes, raw_size defaults to raw_len. */
    struct td_quarantine bare;
    quarantine_make(&bare, "no sender", 2000, NULL, 0);
    free(bare.sender);
    free(bare.subject);
    bare.sender = bare.subject = NULL;
    MUST(OP(quarantine_put, &bare));
    MUST(OP(quarantine_get, bare.id, &got));
    assert_null(got.sender);
    assert_null(got.subject);
    assert_int_equal(got.raw_len, 0);
    assert_int_equal(got.raw_size, 0);
    quarantine_clear(&got);

    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(quarantine_get, missing, &got));
    MUST_FAIL(TD_NOT_FOUND, OP(quarantine_delete, missing));
    MUST(OP(quarantine_delete, q.id));
    MUST_FAIL(TD_NOT_FOUND, OP(quarantine_get, q.id, &got));
    quarantine_clear(&q);
    quarantine_clear(&bare);
}

/* The same mail quarantined again: one entry, the new reason, one more
 * attempt, the first raw bytes and created time kept. */
static void test_quarantine_put_again(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_quarantine q, again, got;
    quarantine_make(&q, "rate limit", 1000, (const unsigned char *)"first", 5);
    MUST(OP(quarantine_put, &q));
    quarantine_make(&again, "still over the rate limit", 3000, (const unsigned char *)"second", 6);
    memcpy(again.id, q.id, sizeof again.id);
    again.uid = 99; /* found again at another UID (after UIDVALIDITY changed) */
    again.uidvalidity = 8;
    MUST(OP(quarantine_put, &again));
    MUST(OP(quarantine_get, q.id, &got));
    assert_str(got.reason, "still over the rate limit");
    assert_int_equal(got.attempts, 2);
    assert_int_equal(got.raw_len, 5);
    assert_memory_equal(got.raw, "first", 5);
    assert_int_equal(got.created, 1000);
    assert_int_equal(got.updated, 3000);
    assert_int_equal(got.uid, 99);
    assert_int_equal(got.uidvalidity, 8);
    quarantine_clear(&got);
    /* A put without a place (an admin's retry) keeps the old one. */
    free(again.mailbox);
    again.mailbox = td_strdup("");
    again.uid = 0;
    again.uidvalidity = 0;
    MUST(OP(quarantine_put, &again));
    MUST(OP(quarantine_get, q.id, &got));
    assert_str(got.mailbox, "support");
    assert_int_equal(got.uid, 99);
    assert_int_equal(got.attempts, 3);
    quarantine_clear(&got);

    struct td_quarantine_list l = { NULL, 0 };
    MUST(OP(quarantine_list, 0, &l));
    assert_int_equal(l.n, 1);
    quarantine_list_clear(&l);
    quarantine_clear(&q);
    quarantine_clear(&again);
}

static void test_quarantine_list(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char ids[5][TD_ID_LEN + 1];
    for (int i = 0; i < 5; i++) {
        struct td_quarantine q;
        char reason[32];
        snprintf(reason, sizeof reason, "reason %d", i);
        quarantine_make(&q, reason, 1000 + i * 10, (const unsigned char *)"raw", 3);
        MUST(OP(quarantine_put, &q));
        memcpy(ids[i], q.id, sizeof ids[i]);
        quarantine_clear(&q);
    }
    struct td_quarantine_list l = { NULL, 0 };
    MUST(OP(quarantine_list, 0, &l));
    assert_int_equal(l.n, 5);
    for (int i = 0; i < 5; i++) {
        /* newest first, without the raw bytes */
        assert_string_equal(l.v[i].id, ids[4 - i]);
        assert_null(l.v[i].raw);
        assert_int_equal(l.v[i].raw_len, 0);
        assert_int_equal(l.v[i].raw_size, 3);
        char reason[32];
        snprintf(reason, sizeof reason, "reason %d", 4 - i);
        assert_str(l.v[i].reason, reason);
    }
    quarantine_list_clear(&l);
    MUST(OP(quarantine_list, 2, &l));
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].id, ids[4]);
    quarantine_list_clear(&l);
}

static void test_quarantine_limits(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_quarantine q;
    quarantine_make(&q, "too big", 1000, NULL, 0);
    q.raw_len = STORE_QUARANTINE_MAX_RAW + 1;
    q.raw = td_calloc(1, q.raw_len);
    MUST_FAIL(TD_INVALID, OP(quarantine_put, &q));
    quarantine_clear(&q);
    /* The largest raw mail allowed goes in and comes back whole. */
    quarantine_make(&q, "big but allowed", 1000, NULL, 0);
    q.raw_len = STORE_QUARANTINE_MAX_RAW;
    q.raw = td_malloc(q.raw_len);
    for (size_t i = 0; i < q.raw_len; i += 4096)
        q.raw[i] = (unsigned char)(i >> 12);
    q.raw[q.raw_len - 1] = 0xAB;
    MUST(OP(quarantine_put, &q));
    struct td_quarantine got;
    MUST(OP(quarantine_get, q.id, &got));
    assert_int_equal(got.raw_len, q.raw_len);
    assert_int_equal(got.raw[q.raw_len - 1], 0xAB);
    assert_int_equal(got.raw[4096 * 5], 5);
    quarantine_clear(&got);
    quarantine_clear(&q);
}

#define QUARANTINE_RACERS 8

struct quarantine_race {
    struct store *st;
    const struct td_quarantine *q;
    pthread_barrier_t *go;
    bool ok;
};

static void *quarantine_race_thread(void *p)
{
    struct quarantine_race *a = p;
    struct td_err err;
    td_err_clear(&err);
    pthread_barrier_wait(a->go);
    a->ok = a->st->ops->quarantine_put(a->st, a->q, &err);
    return NULL;
}

/* Two pollers quarantining one mail at once: one entry, every put
 * counted. */
static void test_quarantine_race(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));
    struct td_quarantine q;
    quarantine_make(&q, "raced", 1000, (const unsigned char *)"raw", 3);
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, QUARANTINE_RACERS), 0);
    struct quarantine_race args[QUARANTINE_RACERS];
    for (int i = 0; i < QUARANTINE_RACERS; i++)
        args[i] = (struct quarantine_race){ i % 2 ? st2 : st, &q, &go, false };
    run_threads(QUARANTINE_RACERS, quarantine_race_thread, args, sizeof args[0]);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < QUARANTINE_RACERS; i++)
        assert_true(args[i].ok);
    struct td_quarantine got;
    MUST(OP(quarantine_get, q.id, &got));
    assert_int_equal(got.attempts, QUARANTINE_RACERS);
    quarantine_clear(&got);
    struct td_quarantine_list l = { NULL, 0 };
    MUST(OP(quarantine_list, 0, &l));
    assert_int_equal(l.n, 1);
    quarantine_list_clear(&l);
    quarantine_clear(&q);
    store_close(st2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_msgid_map),
        T(test_lease),
        T(test_lease_race),
        T(test_quarantine_roundtrip),
        T(test_quarantine_put_again),
        T(test_quarantine_list),
        T(test_quarantine_limits),
        T(test_quarantine_race),
    };
    return store_fixture_run_all("store_mailbox", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
