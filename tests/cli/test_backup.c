/* test_backup.c - `ticketd backup` under write load and `ticketd
 * restore` (issue 14), on a real `ticketd api` with the SQLite store:
 * - two clients open tickets as fast as the server answers while
 *   `ticketd backup FILE` runs; restored into a fresh database, the
 *   backup holds every ticket whose 201 came back before the backup
 *   began, intact (restore checks quick_check and the schema version);
 * - restore is refused (exit 1, one line) while ticketd has the
 *   database open, and replaces an existing database once it is not;
 * - a file that is not a ticketd database is refused (exit 2);
 * - a MongoDB store points at mongodump/mongorestore (exit 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "core/store/store.h"
#include "core/ticket.h"
#include "tests/api/api_fixture.h"
#include "tests/support/cli_run.h"

#define MAX_ACKS 20000

struct load {
    struct tdsrv *s;
    const struct tduser *u;
    atomic_bool stop;
    pthread_mutex_t lock;
    int64_t numbers[MAX_ACKS];
    long long acked_at[MAX_ACKS]; /* now_ns() when the 201 was read */
    size_t n;
    int failures;
};

/* Nanoseconds: an ack and the start of the backup must never compare
 * equal (milliseconds did, and then which came first is unknown). */
static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *writer(void *arg)
{
    struct load *l = arg;
    while (!atomic_load(&l->stop)) {
        struct http h;
        long st = http_json(l->s, "POST", "/api/v1/tickets", l->u->access, &h,
                            "{\"subject\":\"load\",\"body\":\"written during a backup\"}");
        long long now = now_ns();
        pthread_mutex_lock(&l->lock);
        if (st == 201 && l->n < MAX_ACKS) {
            l->numbers[l->n] = jint(&h, "number");
            l->acked_at[l->n++] = now;
        } else if (st != 201) {
            l->failures++;
        }
        pthread_mutex_unlock(&l->lock);
        http_clear(&h);
    }
    return NULL;
}

static void write_conf(const char *path, const char *uri)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "[store]\nuri = %s\n", uri);
    fclose(f);
}

static void backup_under_load_then_restore(void **state)
{
    (void)state;
    char bin[PATH_MAX], dir[256];
    assert_true(cli_ticketd_path(bin, sizeof bin));
    assert_true(harness_tempdir(dir, sizeof dir));
    struct tdsrv s;
    if (!tdsrv_start(&s, STORE_BACKEND_SQLITE, NULL))
        fail_msg("ticketd did not start");

    struct load *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->s = &s;
    l->u = &s.cust1;
    pthread_mutex_init(&l->lock, NULL);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer, l), 0);
    /* let the load build up, then back up in the middle of it */
    long long until = api_now_ms() + 10000;
    for (;;) {
        pthread_mutex_lock(&l->lock);
        size_t n = l->n;
        pthread_mutex_unlock(&l->lock);
        if (n >= 30 || api_now_ms() > until)
            break;
        usleep(10 * 1000);
    }
    char backup[400];
    snprintf(backup, sizeof backup, "%s/backup.db", dir);
    long long began = now_ns(); /* after the >= 30 acks counted above */
    struct cli_result r;
    cli_run(bin, dir, NULL, (const char *const[]){ "--config", s.conf, "backup", backup, NULL }, NULL,
            30000, &r);
    if (r.status != 0)
        fail_msg("backup: exit %d: %s", r.status, r.err.data);
    cli_result_clear(&r);
    usleep(200 * 1000); /* the load goes on after the backup too */

    /* restore while ticketd has the database open: refused, nothing changed */
    cli_run(bin, dir, NULL, (const char *const[]){ "--config", s.conf, "restore", backup, NULL }, NULL,
            30000, &r);
    if (r.status != 1 || cli_lines(r.err.data) != 1 || strstr(r.err.data, "in use") == NULL ||
        strstr(r.err.data, "restore: restore:") != NULL)
        fail_msg("restore under a running ticketd: exit %d: %s", r.status, r.err.data);
    cli_result_clear(&r);

    atomic_store(&l->stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(l->failures, 0);
    size_t before = 0;
    for (size_t i = 0; i < l->n; i++)
        before += l->acked_at[i] < began;
    fprintf(stderr, "acknowledged: %zu tickets, %zu before the backup began\n", l->n, before);
    assert_true(before >= 30);
    assert_true(l->n > before); /* the backup really ran under load */

    /* an existing database elsewhere, replaced by the backup */
    char target[400], uri[420], conf[400];
    snprintf(target, sizeof target, "%s/restored.db", dir);
    snprintf(uri, sizeof uri, "sqlite:%s", target);
    snprintf(conf, sizeof conf, "%s/restored.conf", dir);
    write_conf(conf, uri);
    struct td_err err;
    struct store *st = NULL;
    assert_true(store_open(uri, &st, &err));
    store_close(st);
    cli_run(bin, dir, NULL, (const char *const[]){ "--config", conf, "restore", backup, NULL }, NULL,
            30000, &r);
    if (r.status != 0)
        fail_msg("restore: exit %d: %s", r.status, r.err.data);
    cli_result_clear(&r);

    assert_true(store_open(uri, &st, &err));
    struct td_core core;
    core_defaults(&core, st);
    size_t found = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->acked_at[i] >= began)
            continue;
        struct td_ticket t;
        memset(&t, 0, sizeof t);
        if (st->ops->ticket_get(st, l->numbers[i], &t, &err)) {
            found++;
            ticket_clear(&t);
        } else {
            fprintf(stderr, "ticket %lld, acknowledged before the backup, is not in it: %s\n",
                    (long long)l->numbers[i], err.msg);
        }
    }
    store_close(st);
    assert_int_equal(found, before);
    pthread_mutex_destroy(&l->lock);
    free(l);
    assert_true(tdsrv_stop(&s));
    harness_rmtree(dir);
}

static void restore_refuses_what_is_not_a_backup(void **state)
{
    (void)state;
    char bin[PATH_MAX], dir[256], conf[300], junk[300], uri[300];
    assert_true(cli_ticketd_path(bin, sizeof bin));
    assert_true(harness_tempdir(dir, sizeof dir));
    snprintf(conf, sizeof conf, "%s/t.conf", dir);
    snprintf(junk, sizeof junk, "%s/junk.db", dir);
    snprintf(uri, sizeof uri, "sqlite:%s/t.db", dir);
    write_conf(conf, uri);
    FILE *f = fopen(junk, "w");
    assert_non_null(f);
    fputs("not a database at all, but long enough to look at ...............................\n", f);
    fclose(f);
    struct cli_result r;
    cli_run(bin, dir, NULL, (const char *const[]){ "--config", conf, "restore", junk, NULL }, NULL, 30000, &r);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err.data, "not an intact SQLite database"));
    cli_result_clear(&r);
    write_conf(conf, "mongodb://127.0.0.1:1/ticketd");
    cli_run(bin, dir, NULL, (const char *const[]){ "--config", conf, "backup", junk, NULL }, NULL, 30000, &r);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err.data, "mongodump"));
    cli_result_clear(&r);
    harness_rmtree(dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backup_under_load_then_restore),
        cmocka_unit_test(restore_refuses_what_is_not_a_backup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
