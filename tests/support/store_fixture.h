/* store_fixture.h - a fresh, empty store per test, on every storage
 * backend a run covers (cmocka group + per-test fixtures).
 *
 * A test group runs once per backend:
 *
 *   const struct CMUnitTest tests[] = {
 *       cmocka_unit_test_setup_teardown(test_x, store_fixture_setup,
 *                                       store_fixture_teardown), ...
 *   };
 *   store_fixture_run_all("store", tests, n);
 *
 * sqlite: every test gets "sqlite:<fresh temp dir>/t.db".
 * mongodb: one test server per group (harness_mongo_start, or the real
 * server of TICKETD_TEST_MONGO_URI), and every test its own database,
 * named by rewriting the URI's path.
 *
 * TICKETD_TEST_BACKENDS ("sqlite", "mongodb", or both comma-separated;
 * default both) narrows a run while a backend is being developed. A
 * backend that cannot start (no server, no backend compiled in) fails
 * its group with one failed test that says why: never a silent skip. */
#ifndef TD_TEST_STORE_FIXTURE_H
#define TD_TEST_STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/store/store.h"

enum store_backend { STORE_BACKEND_SQLITE = 0, STORE_BACKEND_MONGODB };

/* What a test gets as *state. */
struct store_fixture {
    enum store_backend backend;
    struct store *st;  /* the fresh store, closed by the teardown */
    char uri[768];     /* what store_open was given: open it again for a
                          second handle on the same data */
    char dir[256];     /* sqlite: the temp dir, removed by the teardown */
};

int store_fixture_setup(void **state);
int store_fixture_teardown(void **state);
/* A fresh SQLite store whatever the group (for what only the SQLite
 * backend promises; run with cmocka_run_group_tests); the teardown is
 * store_fixture_teardown. */
int store_fixture_setup_sqlite(void **state);

/* Runs tests as one cmocka group per selected backend, named
 * "<name>/<backend>". Returns the number of failed tests (0 = all
 * passed), like cmocka_run_group_tests. */
int store_fixture_run_all(const char *name, const struct CMUnitTest *tests, size_t n);

/* True if TICKETD_TEST_BACKENDS selects backend b. */
bool store_fixture_wanted(enum store_backend b);
const char *store_fixture_backend_name(enum store_backend b);

#endif
