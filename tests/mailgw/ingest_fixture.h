/* ingest_fixture.h - what the ingest tests share: mailgw/ingest.c through core on a real store,
 * once per backend (SQLite and the MongoDB test server), and helpers to feed it mail and read
 * back tickets, comments and users. */
#ifndef TD_TEST_INGEST_FIXTURE_H
#define TD_TEST_INGEST_FIXTURE_H

#include "mail_fixture.h"

#include "core/comment.h"
#include "core/core.h"
#include "core/id.h"
#include "core/ticket.h"
#include "core/user.h"
#include "mailgw/ingest.h"
#include "tests/support/store_fixture.h"

/* ---- fixture ------------------------------------------------------------ */

struct ictx {
    struct store *st;
    struct td_core core;
    struct mailgw_settings set;
    struct ingest_ctx ic;
    struct td_user agent;
    uint32_t next_uid;
};

static struct ictx X;

static inline bool verify_token(void *ctx, const char *token, const char *sender, int64_t *ticket)
{
    int64_t *for_ticket = ctx;
    if (strcmp(token, "t0k3n") != 0 || strcmp(sender, "agent@example.com") != 0)
        return false;
    *ticket = *for_ticket;
    return true;
}

static int64_t token_ticket;

static inline int setup(void **state)
{
    if (store_fixture_setup(state) != 0)
        return -1;
    struct td_err err;
    if (!core_init(&err))
        return -1;
    memset(&X, 0, sizeof X);
    X.st = ((struct store_fixture *)*state)->st;
    core_defaults(&X.core, X.st);
    X.core.pw_cost = PASSWORD_COST_MIN;
    settings_defaults(&X.set);
    strv_push(&X.set.own, "support@example.com");
    X.set.loop_id = td_strdup("support@example.com");
    strv_push(&X.set.authserv_ids, "mx.example.com");
    X.set.verify = verify_token;
    X.set.verify_ctx = &token_ticket;
    X.ic = (struct ingest_ctx){ &X.core, &X.set };
    struct user_new in = { "agent@example.com", "Agent Smith", ROLE_AGENT, "a long enough password" };
    if (!user_create(&X.core, NULL, &in, &X.agent, &err))
        return -1;
    return 0;
}

static inline int teardown(void **state)
{
    settings_clear(&X.set);
    user_clear(&X.agent);
    return store_fixture_teardown(state);
}

/* ---- helpers --------------------------------------------------------------- */

static inline enum ingest_result ingest_raw(const char *raw, size_t len, struct ingest_outcome *o)
{
    struct ingest_src src = { .mailbox = "support", .queue = "helpdesk", .uidvalidity = 1,
                              .uid = ++X.next_uid };
    ingest_mail(&X.ic, &src, raw, len, o);
    return o->result;
}

static inline enum ingest_result ingest_file(const char *name, int64_t ticket, struct ingest_outcome *o)
{
    size_t len;
    char *raw = mail_read(name, ticket, &len);
    enum ingest_result r = ingest_raw(raw, len, o);
    free(raw);
    return r;
}

#define EXPECT(res, call)                                                                \
    do {                                                                                 \
        enum ingest_result r_ = (call);                                                  \
        if (r_ != (res))                                                                 \
            fail_msg("%s: %s (%s), expected %s", #call, ingest_result_name(r_), o.why,   \
                     ingest_result_name(res));                                           \
    } while (0)

static inline void comments_of(int64_t ticket, struct td_comment_list *l)
{
    struct td_err err;
    if (!X.st->ops->comment_list(X.st, ticket, true, l, &err))
        fail_msg("comment_list: %s", err.msg);
}

static inline void ticket_of(int64_t n, struct td_ticket *t)
{
    struct td_err err;
    if (!X.st->ops->ticket_get(X.st, n, t, &err))
        fail_msg("ticket_get #%lld: %s", (long long)n, err.msg);
}

static inline void user_of(const char *id, struct td_user *u)
{
    struct td_err err;
    if (!X.st->ops->user_get(X.st, id, u, &err))
        fail_msg("user_get %s: %s", id, err.msg);
}

static inline size_t count_tickets(void)
{
    struct td_ticket_filter f;
    memset(&f, 0, sizeof f);
    f.limit = 1000;
    struct td_ticket_list l = { NULL, 0 };
    struct td_err err;
    if (!X.st->ops->ticket_list(X.st, &f, &l, &err))
        fail_msg("ticket_list: %s", err.msg);
    size_t n = l.n;
    ticket_list_clear(&l);
    return n;
}

static inline int64_t anna_ticket(void)
{
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("gmail_new.eml", 0, &o));
    return o.ticket;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

#endif
