/* test_sender_wake.c - how a queued mail reaches the sending threads,
 * on SQLite and on MongoDB (sender_fixture.h): a wake sends at once and
 * stops promptly, it wakes one thread rather than all, and mails queued
 * one after another share a claim. */
#include <stdatomic.h>
#include "tests/notify/sender_fixture.h"

static void a_wake_sends_at_once(void **state)
{
    struct nfx *f = *state;
    struct sender *s = make_sender(f, NULL, sink.uri, "[notify]\nthreads = 1\npoll_ms = 30000\n");
    struct td_err err;
    assert_true(sender_start(s, &err));
    notify_set_wake(notify_of(&f->core), sender_wake, s);
    msleep(100); /* the thread has polled once and sleeps for 30 s */
    nfx_open(f, &f->cust1, NULL, "Quick", "x");
    long long deadline = mono_ms() + 5000;
    while (rows_in(f, OUTBOX_SENT) < 1 && mono_ms() < deadline)
        msleep(20);
    assert_int_equal(rows_in(f, OUTBOX_SENT), 1);
    notify_set_wake(notify_of(&f->core), NULL, NULL);
    long long t0 = mono_ms();
    sender_free(s); /* stopping does not wait for the poll */
    assert_true(mono_ms() - t0 < 2000);
}

/* Claims through a copy of the store's table that counts the ones that
 * found nothing due (the test swaps it in and out; nothing else runs). */
static const struct store_ops *real_ops;
static atomic_int empty_claims;

static bool counting_claim(struct store *st, const char *owner, td_time now, int64_t lease_ms,
                           struct td_outbox *out, struct td_err *err)
{
    bool ok = real_ops->outbox_claim(st, owner, now, lease_ms, out, err);
    if (!ok && err != NULL && err->code == TD_NOT_FOUND)
        atomic_fetch_add(&empty_claims, 1);
    return ok;
}

/* A started sender whose threads have polled once and sleep for 30 s,
 * on a store whose claims are counted, and whose queued mails wake it. */
static struct sender *counted_sender(struct nfx *f, struct store_ops *counting, const char *conf)
{
    struct sender *s = make_sender(f, NULL, sink.uri, conf);
    struct td_err err;
    assert_true(sender_start(s, &err));
    msleep(150);
    real_ops = f->st->ops;
    *counting = *real_ops;
    counting->outbox_claim = counting_claim;
    atomic_store(&empty_claims, 0);
    f->st->ops = counting;
    notify_set_wake(notify_of(&f->core), sender_wake, s);
    return s;
}

/* Stops it; the claims that found nothing due. */
static int counted_sender_stop(struct nfx *f, struct sender *s)
{
    notify_set_wake(notify_of(&f->core), NULL, NULL);
    sender_free(s);
    f->st->ops = real_ops;
    return atomic_load(&empty_claims);
}

/* A queued mail wakes one sending thread, not all of them: with four
 * threads each woken one took the writer to find nothing (about 5 empty
 * claims a mail; now 2: the woken thread's look after its row and after
 * its send). */
static void a_wake_wakes_one_thread(void **state)
{
    struct nfx *f = *state;
    struct store_ops counting;
    struct sender *s = counted_sender(f, &counting, "[notify]\nthreads = 4\npoll_ms = 30000\n");
    enum { MAILS = 10 };
    for (int i = 0; i < MAILS; i++) {
        nfx_open(f, &f->cust1, NULL, "One at a time", "x");
        long long deadline = mono_ms() + 5000;
        while (rows_in(f, OUTBOX_SENT) < (size_t)i + 1 && mono_ms() < deadline)
            msleep(5);
        assert_int_equal(rows_in(f, OUTBOX_SENT), i + 1);
        msleep(30); /* the thread has looked again and sleeps */
    }
    int empty = counted_sender_stop(f, s);
    print_message("%d mails, %d empty claims\n", MAILS, empty);
    assert_true(empty <= MAILS * 5 / 2);
}

/* Mails queued one after another, each with its wake, share claims: a
 * thread that found the queue empty or emptied it waits a moment
 * (GATHER_MS) before it claims again. One thread, a mail every ~2 ms:
 * claimed as they came, each was a claim of its own and a look that
 * found nothing after it (~2 empty claims a mail). */
static void queued_mails_share_a_claim(void **state)
{
    struct nfx *f = *state;
    struct store_ops counting;
    struct sender *s = counted_sender(f, &counting, "[notify]\nthreads = 1\npoll_ms = 30000\n");
    enum { MAILS = 20 };
    for (int i = 0; i < MAILS; i++) {
        nfx_open(f, &f->cust1, NULL, "A burst", "x");
        msleep(2);
    }
    long long deadline = mono_ms() + 5000;
    while (rows_in(f, OUTBOX_SENT) < MAILS && mono_ms() < deadline)
        msleep(5);
    assert_int_equal(rows_in(f, OUTBOX_SENT), MAILS);
    int empty = counted_sender_stop(f, s);
    print_message("%d mails, %d claim batches\n", MAILS, empty);
    /* With GATHER_MS 0: 33-38 on either store; with it, 6 on SQLite and
     * 10-13 on MongoDB, whose slower writes spread the burst out. */
    assert_true(empty <= MAILS * 3 / 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TN(a_wake_sends_at_once),
        TN(a_wake_wakes_one_thread),
        TN(queued_mails_share_a_claim),
    };
    return sender_run("sender_wake", tests, sizeof tests / sizeof tests[0]);
}
