/* test_notify_plan_reads.c - what the notification planner reads while
 * it plans a comment: it runs inside the comment's write transaction
 * (the SQLite writer is held), so it reads the one comment it mails
 * about (store comment_get), not every comment of the ticket - on
 * SQLite and on MongoDB. A store without comment_get still gets the
 * same mail, from the ticket's list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "notify_fixture.h"

#define TO_REQ "reply_to_requester"

/* The backend's table, and what went through the counting one. */
static const struct store_ops *real_ops;
static int list_calls, get_calls;

static bool counting_list(struct store *st, int64_t ticket, bool include_internal,
                          struct td_comment_list *out, struct td_err *err)
{
    list_calls++;
    return real_ops->comment_list(st, ticket, include_internal, out, err);
}

static bool counting_get(struct store *st, const char *id, struct td_comment *out,
                         struct td_err *err)
{
    get_calls++;
    return real_ops->comment_get(st, id, out, err);
}

/* The body of the newest reply_to_requester row to `to`. */
static char *last_body(struct nfx *f, const char *to)
{
    struct td_outbox_list l = { NULL, 0 };
    nfx_rows(f, &l);
    char *v = NULL;
    for (size_t i = 0; i < l.n; i++) {
        if (strcmp(l.v[i].kind, TO_REQ) != 0 || strcmp(l.v[i].recipient, to) != 0)
            continue;
        json_t *root = json_loads(l.v[i].payload, 0, NULL);
        assert_non_null(root);
        const char *s = json_string_value(json_object_get(json_object_get(root, "vars"), "body"));
        free(v);
        v = strdup(s ? s : "(missing)");
        json_decref(root);
    }
    outbox_list_clear(&l);
    if (v == NULL)
        fail_msg("no %s row to %s", TO_REQ, to);
    return v;
}

/* Replies an agent writes on a ticket with earlier comments, through a
 * table whose comment reads count (with_get: the backend's comment_get
 * stays available). */
static void reply_counted(struct nfx *f, bool with_get)
{
    int64_t n = nfx_open(f, &f->cust1, NULL, "Long ticket", "First words");
    char text[64];
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "earlier comment %d", i);
        nfx_comment(f, i % 2 ? &f->agent1 : &f->cust1, n, text, i == 3);
    }
    real_ops = f->st->ops;
    struct store_ops ops = *real_ops;
    ops.comment_list = counting_list;
    ops.comment_get = with_get ? counting_get : NULL;
    list_calls = get_calls = 0;
    f->st->ops = &ops;
    nfx_comment(f, &f->agent2, n, "The answer.", false);
    f->st->ops = real_ops;
    if (with_get) {
        assert_int_equal(list_calls, 0);
        assert_int_equal(get_calls, 1);
    } else {
        assert_int_equal(list_calls, 1);
    }
    char *body = last_body(f, "cust1@example.org");
    assert_string_equal(body, "The answer.");
    free(body);
}

static void reply_reads_one_comment(void **state)
{
    struct nfx *f = *state;
    assert_non_null(f->st->ops->comment_get);
    reply_counted(f, true);
}

static void without_comment_get_reads_the_list(void **state)
{
    reply_counted(*state, false);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
#define T(f) cmocka_unit_test_setup_teardown(f, nfx_setup, nfx_teardown)
    const struct CMUnitTest tests[] = {
        T(reply_reads_one_comment),
        T(without_comment_get_reads_the_list),
    };
    return store_fixture_run_all("notify_plan_reads", tests, sizeof tests / sizeof tests[0]) ? 1
                                                                                             : 0;
}
