/* notify_fixture.h - a fresh store (on every backend the run covers, via
 * store_fixture.h), a core over it with the notification planner
 * attached, and an admin, two agents and two customers. Header-only;
 * tests/core/test_notify_plan.c and tests/notify/ use it.
 *
 *   cmocka_unit_test_setup_teardown(test_x, nfx_setup, nfx_teardown)
 *   ... store_fixture_run_all("notify", tests, n);
 *
 * The planner's config is NFX_BASE_CONFIG plus whatever the test put in
 * nfx_extra_config before the setup ran (reset after each test). */
#ifndef TD_TEST_NOTIFY_FIXTURE_H
#define TD_TEST_NOTIFY_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/comment.h"
#include "core/config.h"
#include "core/core.h"
#include "core/notify.h"
#include "core/ticket.h"
#include "core/user.h"
#include "tests/support/store_fixture.h"

#define NFX_SUPPORT "support@example.com"
#define NFX_SECRET "a test reply secret of some length"
#define NFX_BASE_CONFIG                                                       \
    "[notify]\n"                                                              \
    "support_address = " NFX_SUPPORT "\n"                                     \
    "ticket_url = https://help.example.com/t/\n"                              \
    "reply_secret = " NFX_SECRET "\n"

struct nfx {
    struct store_fixture *sf;
    struct store *st;
    struct td_core core;
    struct td_config *cfg;
    struct td_user admin, agent1, agent2, cust1, cust2;
};

/* Extra config lines for the next setup (static storage, the test's). */
static const char *nfx_extra_config = "";

static inline void nfx_user(struct nfx *f, const char *email, const char *name, enum td_role role,
                            struct td_user *out)
{
    struct user_new in = { email, name, role, NULL };
    struct td_err err;
    if (!user_create(&f->core, NULL, &in, out, &err)) {
        fprintf(stderr, "fixture: %s: %s\n", email, err.msg);
        abort();
    }
}

static inline int nfx_setup(void **state)
{
    if (store_fixture_setup(state) != 0)
        return -1;
    struct nfx *f = calloc(1, sizeof *f);
    f->sf = *state;
    f->st = f->sf->st;
    struct td_err err;
    struct buf conf = BUF_INIT;
    buf_printf(&conf, "%s%s", NFX_BASE_CONFIG, nfx_extra_config);
    bool ok = config_load_string(conf.data, &f->cfg, &err);
    buf_free(&conf);
    core_defaults(&f->core, f->st);
    f->core.pw_cost = PASSWORD_COST_MIN;
    if (!ok || !notify_attach(f->cfg, &f->core, &err)) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        return -1;
    }
    nfx_user(f, "admin@example.com", "Ada Admin", ROLE_ADMIN, &f->admin);
    nfx_user(f, "agent1@example.com", "Al Agent", ROLE_AGENT, &f->agent1);
    nfx_user(f, "agent2@example.com", "Bo Agent", ROLE_AGENT, &f->agent2);
    nfx_user(f, "cust1@example.org", "Cy Customer", ROLE_CUSTOMER, &f->cust1);
    nfx_user(f, "cust2@example.org", NULL, ROLE_CUSTOMER, &f->cust2);
    *state = f;
    return 0;
}

static inline int nfx_teardown(void **state)
{
    struct nfx *f = *state;
    notify_detach(&f->core);
    config_free(f->cfg);
    user_clear(&f->admin);
    user_clear(&f->agent1);
    user_clear(&f->agent2);
    user_clear(&f->cust1);
    user_clear(&f->cust2);
    *state = f->sf;
    free(f);
    nfx_extra_config = "";
    return store_fixture_teardown(state);
}

/* ---- helpers ---- */

static inline int64_t nfx_open(struct nfx *f, const struct td_user *actor, const char *requester_id,
                               const char *subject, const char *body)
{
    struct ticket_new in = { .subject = subject, .body = body, .requester_id = requester_id };
    struct td_ticket t;
    struct td_err err;
    if (!ticket_open(&f->core, actor, &in, &t, &err))
        fail_msg("ticket_open: %s", err.msg);
    int64_t n = t.number;
    ticket_clear(&t);
    return n;
}

static inline void nfx_comment(struct nfx *f, const struct td_user *actor, int64_t n,
                               const char *body, bool internal)
{
    struct comment_new in = { .body = body, .internal = internal };
    struct td_err err;
    if (!comment_add(&f->core, actor, n, &in, NULL, &err))
        fail_msg("comment_add: %s", err.msg);
}

static inline void nfx_status(struct nfx *f, const struct td_user *actor, int64_t n,
                              enum td_status s)
{
    struct ticket_patch p = { .has_status = true, .status = s };
    struct td_err err;
    if (!ticket_update(&f->core, actor, n, &p, 0, NULL, &err))
        fail_msg("ticket_update: %s", err.msg);
}

/* Every outbox row (oldest first). */
static inline void nfx_rows(struct nfx *f, struct td_outbox_list *out)
{
    struct td_err err;
    if (!f->st->ops->outbox_list(f->st, -1, 0, out, &err))
        fail_msg("outbox_list: %s", err.msg);
}

/* Rows of one kind to one recipient (NULL = any) on ticket (0 = any), in
 * state (-1 = any). */
static inline size_t nfx_count(struct nfx *f, const char *kind, const char *to, int64_t ticket,
                               int state)
{
    struct td_outbox_list l = { NULL, 0 };
    nfx_rows(f, &l);
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if ((kind == NULL || strcmp(l.v[i].kind, kind) == 0) &&
            (to == NULL || strcmp(l.v[i].recipient, to) == 0) &&
            (ticket == 0 || l.v[i].ticket == ticket) && (state < 0 || (int)l.v[i].state == state))
            n++;
    outbox_list_clear(&l);
    return n;
}

#endif
