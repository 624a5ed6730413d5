/* test_api_writes.c - writes run off the request threads (api/write_pool.h).
 *
 * The pool alone: order, draining at stop, each item run once. Then a
 * real ticketd (SQLite) with one request thread: the test holds the
 * database's write lock, so a POST comment waits for it in the write
 * pool; a GET must still be answered meanwhile (before the pool, the one
 * request thread waited with the write and the GET came only after the
 * store's 5 s busy timeout), and /metrics counts the write waiting. The
 * same parked write survives a SIGTERM:
 * the drain waits for it, it is answered 201 and ticketd exits cleanly. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/write_pool.h"
#include "tests/api/api_fixture.h"
#include "tests/api/http_fixture.h"

/* ---- the pool ---------------------------------------------------------- */

struct order_log {
    pthread_mutex_t lock;
    int seen[256];
    int n;
    atomic_bool release; /* the first item waits for it */
};
static struct order_log olog;

static void log_item(void *item)
{
    int v = (int)(intptr_t)item;
    if (v == 0) /* the first: hold the one thread while more are queued */
        for (int i = 0; i < 5000 && !atomic_load(&olog.release); i++)
            usleep(1000);
    pthread_mutex_lock(&olog.lock);
    olog.seen[olog.n++] = v;
    pthread_mutex_unlock(&olog.lock);
}

static void test_pool_order_and_drain(void **state)
{
    (void)state;
    memset(&olog, 0, sizeof olog);
    pthread_mutex_init(&olog.lock, NULL);
    struct td_err err;
    td_err_clear(&err);
    struct write_pool *p = write_pool_start(1, log_item, &err);
    assert_non_null(p);
    /* More than the ring's first size, so it grows with items queued. */
    for (int i = 0; i < 200; i++)
        assert_true(write_pool_submit(p, (void *)(intptr_t)i));
    assert_true(write_pool_pending(p) >= 199);
    atomic_store(&olog.release, true);
    write_pool_stop(p); /* runs all that is queued before it returns */
    assert_int_equal(olog.n, 200);
    assert_false(write_pool_submit(p, (void *)(intptr_t)999)); /* stopped: refused */
    assert_int_equal(write_pool_pending(p), 0);
    write_pool_free(p);
    for (int i = 0; i < 200; i++)
        assert_int_equal(olog.seen[i], i);
    pthread_mutex_destroy(&olog.lock);
}

#define MANY 20000
static atomic_int runs[MANY];

static void count_item(void *item)
{
    atomic_fetch_add(&runs[(intptr_t)item], 1);
}

static void test_pool_runs_each_once(void **state)
{
    (void)state;
    struct td_err err;
    td_err_clear(&err);
    assert_null(write_pool_start(0, count_item, &err));
    assert_int_equal(err.code, TD_INVALID);
    struct write_pool *p = write_pool_start(4, count_item, &err);
    assert_non_null(p);
    for (intptr_t i = 0; i < MANY; i++)
        assert_true(write_pool_submit(p, (void *)i));
    write_pool_free(p); /* stops it first */
    for (int i = 0; i < MANY; i++)
        assert_int_equal(atomic_load(&runs[i]), 1);
}

/* ---- a real ticketd --------------------------------------------------- */

struct post_arg {
    struct tdsrv *s;
    int64_t ticket;
    long status;
    atomic_bool done;
};

static void *post_comment(void *arg)
{
    struct post_arg *a = arg;
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)a->ticket);
    struct http h;
    a->status = http_json(a->s, "POST", path, a->s->agent1.access, &h,
                          "{\"body\":\"written while the store was locked\"}");
    http_clear(&h);
    atomic_store(&a->done, true);
    return NULL;
}

/* Takes the database's write lock from outside ticketd. */
static sqlite3 *lock_store(const struct tdsrv *s)
{
    assert_true(strncmp(s->store_uri, "sqlite:", 7) == 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(s->store_uri + 7, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void unlock_store(sqlite3 *db)
{
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The POST is sent and waiting on the lock: it cannot finish before. */
static void start_parked_post(struct post_arg *a, pthread_t *th)
{
    assert_int_equal(pthread_create(th, NULL, post_comment, a), 0);
    usleep(400 * 1000);
    assert_false(atomic_load(&a->done));
}

/* A ticketd on SQLite with conf as its [api] keys, and a ticket opened
 * by agent1 (its number). */
static int64_t start_with_ticket(struct tdsrv *s, const char *conf, const char *subject)
{
    memset(s, 0, sizeof *s);
    assert_true(tdsrv_start(s, STORE_BACKEND_SQLITE, conf));
    return open_ticket(s, &s->agent1, subject);
}

static void test_read_while_a_write_waits(void **state)
{
    (void)state;
    struct tdsrv s;
    int64_t n = start_with_ticket(&s, "[api]\nthreads = 1\nwrite_threads = 2\n", "Locked store");
    sqlite3 *db = lock_store(&s);
    struct post_arg a = { .s = &s, .ticket = n };
    pthread_t th;
    start_parked_post(&a, &th);

    char path[64];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    long long t0 = api_now_ms();
    struct http h;
    long st = http_get(&s, path, s.agent1.access, &h);
    long long took = api_now_ms() - t0;
    http_clear(&h);
    /* /metrics says one write waits (it is answered meanwhile too). */
    long mst = http_get(&s, "/metrics", NULL, &h);
    bool one_waiting = h.body.data && strstr(h.body.data, "\nticketd_http_writes_waiting 1\n");
    http_clear(&h);
    bool still_waiting = !atomic_load(&a.done);
    unlock_store(db);
    pthread_join(th, NULL);
    assert_int_equal(mst, 200);
    assert_true(one_waiting);

    assert_int_equal(st, 200);
    /* Answered while the write still waited, not after its busy timeout. */
    assert_true(still_waiting);
    if (took >= 2500)
        fail_msg("the GET took %lld ms behind a waiting write", took);
    assert_int_equal(a.status, 201);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_get(&s, path, s.agent1.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_non_null(strstr(h.body.data, "written while the store was locked"));
    http_clear(&h);
    http_get(&s, "/metrics", NULL, &h);
    EXPECT_STATUS(&h, 200);
    assert_non_null(strstr(h.body.data, "\nticketd_http_writes_waiting 0\n"));
    http_clear(&h);
    assert_true(tdsrv_stop(&s));
}

struct unlock_later {
    sqlite3 *db;
};

static void *unlock_after_a_while(void *arg)
{
    usleep(500 * 1000);
    unlock_store(((struct unlock_later *)arg)->db);
    return NULL;
}

static void test_sigterm_waits_for_a_parked_write(void **state)
{
    (void)state;
    struct tdsrv s;
    int64_t n =
        start_with_ticket(&s, "[api]\nthreads = 1\nwrite_threads = 1\n", "Stopped while writing");
    struct unlock_later u = { lock_store(&s) };
    struct post_arg a = { .s = &s, .ticket = n };
    pthread_t th, ut;
    start_parked_post(&a, &th);
    assert_int_equal(pthread_create(&ut, NULL, unlock_after_a_while, &u), 0);
    /* SIGTERM now: the drain waits for the parked write (bounded). */
    bool clean = tdsrv_stop(&s);
    pthread_join(ut, NULL);
    pthread_join(th, NULL);
    assert_true(clean);
    assert_int_equal(a.status, 201);
}

/* write_threads = 0: writes on the request threads, as before the pool. */
static void test_writes_on_request_threads(void **state)
{
    (void)state;
    struct tdsrv s;
    int64_t n = start_with_ticket(&s, "[api]\nthreads = 2\nwrite_threads = 0\n", "No pool");
    struct post_arg a = { .s = &s, .ticket = n };
    post_comment(&a);
    assert_int_equal(a.status, 201);
    assert_true(tdsrv_stop(&s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_order_and_drain),
        cmocka_unit_test(test_pool_runs_each_once),
        cmocka_unit_test(test_read_while_a_write_waits),
        cmocka_unit_test(test_sigterm_waits_for_a_parked_write),
        cmocka_unit_test(test_writes_on_request_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
