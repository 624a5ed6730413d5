/* store_fixture.c - see store_fixture.h.
 *
 * cmocka runs one group at a time and the tests of a group one after
 * another, so the running group lives in a file-level pointer instead of
 * going through cmocka's group state (whose hand-over to per-test
 * fixtures differs between cmocka versions). */
#include "store_fixture.h"
#include "harness.h"

#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct group {
    enum store_backend backend;
    bool up;
    char why[300];             /* why the backend is not up */
    struct harness_server mongo;
    unsigned next_db;          /* per-test database counter */
};

static struct group *current;

bool store_fixture_wanted(enum store_backend b)
{
    const char *want = getenv("TICKETD_TEST_BACKENDS");
    if (want == NULL || *want == '\0')
        return true;
    const char *name = store_fixture_backend_name(b);
    size_t n = strlen(name);
    /* Whole comma-separated words only; "mongo" is taken for "mongodb". */
    for (const char *p = want; *p;) {
        size_t w = strcspn(p, ", ");
        if ((w == n && strncmp(p, name, n) == 0) ||
            (b == STORE_BACKEND_MONGODB && w == 5 && strncmp(p, "mongo", 5) == 0))
            return true;
        p += w;
        p += strspn(p, ", ");
    }
    return false;
}

const char *store_fixture_backend_name(enum store_backend b)
{
    return b == STORE_BACKEND_SQLITE ? "sqlite" : "mongodb";
}

/* The database the harness chose (so runs against one real server stay
 * apart), or "tdconf"; at most 40 characters, leaving room for "_N"
 * within MongoDB's 63-byte limit. */
static void base_db(const char *uri, char *out, size_t len)
{
    const char *hosts = strstr(uri, "://");
    const char *p = hosts ? hosts + 3 + strcspn(hosts + 3, "/?") : NULL;
    size_t n = 0;
    if (p != NULL && *p == '/') {
        p++;
        n = strcspn(p, "?");
    }
    if (n == 0 || n > 40)
        snprintf(out, len, "tdconf%ld", (long)getpid());
    else
        snprintf(out, len, "%.*s", (int)n, p);
}

/* Starts what the group's backend needs; false (g->why says why) if it
 * cannot. */
static bool group_start(struct group *g)
{
    if (g->backend == STORE_BACKEND_SQLITE) {
        g->up = true;
        return true;
    }
    g->up = harness_mongo_start(&g->mongo);
    if (!g->up)
        snprintf(g->why, sizeof g->why,
                 "harness_mongo_start failed (its reason is on stderr above); set "
                 "TICKETD_TEST_BACKENDS=sqlite to run without MongoDB");
    return g->up;
}

static void group_stop(struct group *g)
{
    if (g->backend == STORE_BACKEND_MONGODB && g->up)
        harness_stop(&g->mongo);
    g->up = false;
}

/* Stands in for a whole group whose backend did not start: one failure
 * that says why, counted like any other, never a silent skip. */
static void test_backend_available(void **state)
{
    (void)state;
    fail_msg("%s backend is not available: %s", store_fixture_backend_name(current->backend),
             current->why);
}

int store_fixture_setup(void **state)
{
    struct group *g = current;
    if (g == NULL || !g->up) {
        print_error("%s backend is not available: %s\n",
                    g ? store_fixture_backend_name(g->backend) : "?", g ? g->why : "no group");
        return -1;
    }
    struct store_fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    fx->backend = g->backend;
    bool ok;
    if (g->backend == STORE_BACKEND_SQLITE) {
        ok = harness_tempdir(fx->dir, sizeof fx->dir);
        int n = ok ? snprintf(fx->uri, sizeof fx->uri, "sqlite:%s/t.db", fx->dir) : -1;
        ok = n >= 0 && (size_t)n < sizeof fx->uri;
    } else {
        char base[64], db[80];
        base_db(g->mongo.uri, base, sizeof base);
        snprintf(db, sizeof db, "%s_%u", base, ++g->next_db);
        ok = harness_mongo_uri_with_db(g->mongo.uri, db, fx->uri, sizeof fx->uri);
    }
    if (!ok) {
        print_error("could not prepare a fresh %s store\n", store_fixture_backend_name(g->backend));
        if (fx->dir[0])
            harness_rmtree(fx->dir);
        free(fx);
        return -1;
    }
    struct td_err err = { 0 };
    if (!store_open(fx->uri, &fx->st, &err)) {
        print_error("store_open(%s): %s: %s\n", fx->uri, td_code_name(err.code), err.msg);
        if (fx->dir[0])
            harness_rmtree(fx->dir);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

/* A real server keeps databases: drop the test's own. The mock forgets
 * everything when it stops. */
static void drop_database(const char *uri)
{
    mongoc_uri_t *u = mongoc_uri_new(uri);
    mongoc_client_t *cl = u ? mongoc_client_new_from_uri(u) : NULL;
    const char *db = u ? mongoc_uri_get_database(u) : NULL;
    if (cl != NULL && db != NULL) {
        mongoc_database_t *d = mongoc_client_get_database(cl, db);
        bson_error_t e;
        if (!mongoc_database_drop(d, &e))
            fprintf(stderr, "store_fixture: dropping %s: %s\n", db, e.message);
        mongoc_database_destroy(d);
    }
    mongoc_client_destroy(cl);
    mongoc_uri_destroy(u);
}

int store_fixture_setup_sqlite(void **state)
{
    struct store_fixture *fx = calloc(1, sizeof *fx);
    struct td_err err = { 0 };
    if (fx == NULL || !harness_tempdir(fx->dir, sizeof fx->dir)) {
        free(fx);
        return -1;
    }
    fx->backend = STORE_BACKEND_SQLITE;
    snprintf(fx->uri, sizeof fx->uri, "sqlite:%s/t.db", fx->dir);
    if (!store_open(fx->uri, &fx->st, &err)) {
        print_error("store_open %s: %s\n", fx->uri, err.msg);
        harness_rmtree(fx->dir);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

int store_fixture_teardown(void **state)
{
    struct store_fixture *fx = *state;
    if (fx == NULL)
        return 0;
    store_close(fx->st);
    if (fx->backend == STORE_BACKEND_SQLITE && fx->dir[0])
        harness_rmtree(fx->dir);
    if (fx->backend == STORE_BACKEND_MONGODB && current != NULL && current->mongo.external)
        drop_database(fx->uri);
    free(fx);
    *state = NULL;
    return 0;
}

int store_fixture_run_all(const char *name, const struct CMUnitTest *tests, size_t n)
{
    int failed = 0, groups = 0;
    for (int b = STORE_BACKEND_SQLITE; b <= STORE_BACKEND_MONGODB; b++) {
        if (!store_fixture_wanted((enum store_backend)b))
            continue;
        struct group g = { .backend = (enum store_backend)b };
        char gname[128];
        snprintf(gname, sizeof gname, "%s/%s", name, store_fixture_backend_name(g.backend));
        current = &g;
        /* cmocka does not print group names: say which backend runs. */
        print_message("[==========] group %s\n", gname);
        if (group_start(&g)) {
            failed += _cmocka_run_group_tests(gname, tests, n, NULL, NULL);
            group_stop(&g);
        } else {
            const struct CMUnitTest unavailable[] = { cmocka_unit_test(test_backend_available) };
            failed += _cmocka_run_group_tests(gname, unavailable, 1, NULL, NULL);
        }
        current = NULL;
        groups++;
    }
    if (groups == 0) {
        /* A typo in TICKETD_TEST_BACKENDS must not pass as "0 failed". */
        fprintf(stderr, "[  FAILED  ] 1 test(s): TICKETD_TEST_BACKENDS='%s' selects no "
                "backend (use sqlite, mongodb)\n", getenv("TICKETD_TEST_BACKENDS"));
        return 1;
    }
    return failed;
}
