/* core_fixture.h - a fresh core over a fresh SQLite store per test, with
 * an admin, two agents and two customers. Header-only so each test binary
 * stays self-contained. */
#ifndef TD_TEST_CORE_FIXTURE_H
#define TD_TEST_CORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/user.h"
#include "tests/support/harness.h"

struct fx {
    char dir[256];
    struct store *st;
    struct td_core core;
    struct td_user admin, agent1, agent2, cust1, cust2;
};

static inline void fx_user(struct fx *f, const char *email, enum td_role role, struct td_user *out)
{
    struct user_new in = { email, NULL, role, "a long enough password" };
    struct td_err err;
    if (!user_create(&f->core, NULL, &in, out, &err)) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        abort();
    }
}

static inline int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct td_err err;
    if (!harness_tempdir(f->dir, sizeof f->dir))
        return -1;
    char uri[300];
    snprintf(uri, sizeof uri, "sqlite:%s/t.db", f->dir);
    if (!core_init(&err) || !store_open(uri, &f->st, &err)) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        return -1;
    }
    core_defaults(&f->core, f->st);
    f->core.pw_cost = PASSWORD_COST_MIN;
    fx_user(f, "admin@example.com", ROLE_ADMIN, &f->admin);
    fx_user(f, "agent1@example.com", ROLE_AGENT, &f->agent1);
    fx_user(f, "agent2@example.com", ROLE_AGENT, &f->agent2);
    fx_user(f, "cust1@example.org", ROLE_CUSTOMER, &f->cust1);
    fx_user(f, "cust2@example.org", ROLE_CUSTOMER, &f->cust2);
    *state = f;
    return 0;
}

static inline int fx_teardown(void **state)
{
    struct fx *f = *state;
    user_clear(&f->admin);
    user_clear(&f->agent1);
    user_clear(&f->agent2);
    user_clear(&f->cust1);
    user_clear(&f->cust2);
    store_close(f->st);
    harness_rmtree(f->dir);
    free(f);
    return 0;
}

#endif
