/* conformance.h - what the store conformance tests share: assertions
 * and test data, written only against core/store/store.h.
 *
 * The contract of core/store/store.h is checked against every backend by
 * tests/core/test_store_*.c, one file per concept (users and tickets,
 * ticket_list, comments, the mail gateway's tables, the outbox, the REST
 * API's tokens). Each runs unchanged on SQLite and MongoDB
 * (store_fixture runs the group once per backend, each test on a fresh,
 * empty store). Every sentence of store.h that promises something has a
 * test there; when a backend bug is found, the test that would have
 * caught it goes there too.
 *
 * Times are small fixed numbers, not the clock: the store must not care
 * what "now" is except where the caller passes it (leases, claims).
 * Helpers are static inline so each test file takes what it uses. */
#ifndef TD_TEST_CONFORMANCE_H
#define TD_TEST_CONFORMANCE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/store/store.h"
#include "tests/support/store_fixture.h"

/* ---- assertions ------------------------------------------------------- */

/* call must succeed; it reports into the test's local `err`. */
#define MUST(call)                                                             \
    do {                                                                       \
        td_err_clear(&err);                                                    \
        if (!(call))                                                           \
            fail_msg("%s failed: %s: %s", #call, td_code_name(err.code),       \
                     err.msg);                                                 \
    } while (0)

/* call must fail with code. */
#define MUST_FAIL(want, call)                                                  \
    do {                                                                       \
        td_err_clear(&err);                                                    \
        if (call)                                                              \
            fail_msg("%s succeeded; expected %s", #call, td_code_name(want));  \
        if (err.code != (want))                                                \
            fail_msg("%s: got %s (%s); expected %s", #call,                    \
                     td_code_name(err.code), err.msg, td_code_name(want));     \
    } while (0)

/* Strings that may be NULL: both NULL, or equal. */
#define assert_str(a, b)                                                       \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (a_ == NULL || b_ == NULL) {                                        \
            if (a_ != b_)                                                      \
                fail_msg("%s is %s%s%s, expected %s%s%s", #a, a_ ? "'" : "",   \
                         a_ ? a_ : "NULL", a_ ? "'" : "", b_ ? "'" : "",       \
                         b_ ? b_ : "NULL", b_ ? "'" : "");                     \
        } else {                                                               \
            assert_string_equal(a_, b_);                                       \
        }                                                                      \
    } while (0)

#define OP(name, ...) st->ops->name(st, __VA_ARGS__, &err)

#define FX(state) ((struct store_fixture *)*(state))

/* ---- test data -------------------------------------------------------- */

/* Distinct ids without libsodium: pid + counter, 24 lower-case hex. */
static inline void new_id(char out[TD_ID_LEN + 1])
{
    static atomic_ullong counter;
    unsigned long long n = atomic_fetch_add(&counter, 1) + 1;
    snprintf(out, TD_ID_LEN + 1, "%08x%016llx", (unsigned)getpid(), n);
}

static inline void user_new(struct td_user *u, const char *email, const char *name, enum td_role role)
{
    memset(u, 0, sizeof *u);
    new_id(u->id);
    u->email = td_strdup(email);
    u->name = td_strdup(name);
    u->role = role;
    u->pw_hash = td_strdup("$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo");
    u->token_version = 3;
    u->created = 1000;
    u->updated = 2000;
}

static inline void assert_user_eq(const struct td_user *a, const struct td_user *b)
{
    assert_string_equal(a->id, b->id);
    assert_str(a->email, b->email);
    assert_str(a->name, b->name);
    assert_int_equal(a->role, b->role);
    assert_str(a->pw_hash, b->pw_hash);
    assert_int_equal(a->disabled, b->disabled);
    assert_int_equal(a->restricted, b->restricted);
    assert_int_equal(a->token_version, b->token_version);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->updated, b->updated);
}

static inline struct td_event ev_make(int64_t ticket, const char *actor, enum td_event_kind kind,
                               const char *old_value, const char *new_value, td_time at)
{
    struct td_event e;
    memset(&e, 0, sizeof e);
    e.ticket = ticket;
    snprintf(e.actor_id, sizeof e.actor_id, "%s", actor ? actor : "");
    e.kind = kind;
    e.old_value = (char *)old_value; /* borrowed: the store only reads */
    e.new_value = (char *)new_value;
    e.at = at;
    return e;
}

/* A ticket with a number from the store, not yet inserted. */
static inline void ticket_new(struct store *st, struct td_ticket *t, const char *subject, td_time at)
{
    struct td_err err;
    memset(t, 0, sizeof *t);
    MUST(st->ops->ticket_next_number(st, &t->number, &err));
    t->subject = td_strdup(subject);
    t->status = STATUS_NEW;
    t->priority = PRIORITY_NORMAL;
    new_id(t->requester_id);
    t->queue = td_strdup("");
    t->created = at;
    t->updated = at;
    t->version = 1;
}

static inline void ticket_put(struct store *st, const struct td_ticket *t)
{
    struct td_err err;
    struct td_event ev = ev_make(t->number, t->requester_id, EVENT_CREATED, NULL,
                                 status_name(t->status), t->created);
    MUST(st->ops->ticket_insert(st, t, &ev, &err));
}

static inline int64_t ticket_add(struct store *st, const char *subject, td_time at)
{
    struct td_ticket t;
    ticket_new(st, &t, subject, at);
    ticket_put(st, &t);
    int64_t n = t.number;
    ticket_clear(&t);
    return n;
}

static inline void assert_strv_eq(const struct strv *a, const char *const *want, size_t n)
{
    if (a->n != n) {
        char *got = strv_join(a, ", ");
        print_error("got [%s], expected %zu items\n", got, n);
        free(got);
        fail_msg("strv has %zu items, expected %zu", a->n, n);
    }
    for (size_t i = 0; i < n; i++)
        assert_string_equal(a->v[i], want[i]);
}

static inline void assert_ticket_eq(const struct td_ticket *a, const struct td_ticket *b)
{
    assert_int_equal(a->number, b->number);
    assert_str(a->subject, b->subject);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->priority, b->priority);
    assert_string_equal(a->requester_id, b->requester_id);
    assert_string_equal(a->assignee_id, b->assignee_id);
    assert_str(a->queue, b->queue);
    assert_strv_eq(&a->tags, (const char *const *)b->tags.v, b->tags.n);
    /* Reads leave the thread out (store.h): assert_thread_eq reads it. */
    assert_int_equal(a->message_ids.n, 0);
    assert_strv_eq(&a->participants, (const char *const *)b->participants.v, b->participants.n);
    assert_int_equal(a->merged_into, b->merged_into);
    assert_memory_equal(&a->sla, &b->sla, sizeof a->sla);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->updated, b->updated);
    assert_int_equal(a->version, b->version);
}

/* The whole thread of ticket number (ticket_thread_ids with room for
 * it all) is want, in order. */
static inline void assert_thread_eq(struct store *st, int64_t number, const char *const *want,
                                    size_t n)
{
    struct strv got = STRV_INIT;
    struct td_err err;
    td_err_clear(&err);
    if (!st->ops->ticket_thread_ids(st, number, 1000, &got, &err))
        fail_msg("ticket_thread_ids #%lld: %s", (long long)number, err.msg);
    assert_strv_eq(&got, want, n);
    strv_clear(&got);
}

static inline void comment_new(struct td_comment *c, int64_t ticket, const char *body, bool internal,
                        const char *msgid, td_time at)
{
    memset(c, 0, sizeof *c);
    new_id(c->id);
    c->ticket = ticket;
    new_id(c->author_id);
    c->internal = internal;
    c->source = msgid ? SOURCE_EMAIL : SOURCE_API;
    c->body = td_strdup(body);
    c->message_id = td_strdup(msgid);
    c->created = at;
}

static inline void comment_attach(struct td_comment *c, const char *name, const char *type, size_t size)
{
    c->attachments = td_realloc(c->attachments, (c->n_attachments + 1) * sizeof *c->attachments);
    struct td_attachment_ref *r = &c->attachments[c->n_attachments++];
    memset(r, 0, sizeof *r);
    new_id(r->id);
    r->name = td_strdup(name);
    r->content_type = td_strdup(type);
    r->size = size;
}

static inline struct td_event comment_event(const struct td_comment *c)
{
    return ev_make(c->ticket, c->author_id, EVENT_COMMENT, c->internal ? "internal" : "public",
                   c->id, c->created);
}

static inline void comment_add(struct store *st, int64_t ticket, const char *body, bool internal,
                        td_time at)
{
    struct td_err err;
    struct td_comment c;
    comment_new(&c, ticket, body, internal, NULL, at);
    struct td_event ev = comment_event(&c);
    MUST(st->ops->comment_insert(st, &c, &ev, &err));
    comment_clear(&c);
}

static inline void assert_comment_eq(const struct td_comment *a, const struct td_comment *b)
{
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->ticket, b->ticket);
    assert_string_equal(a->author_id, b->author_id);
    assert_int_equal(a->internal, b->internal);
    assert_int_equal(a->source, b->source);
    assert_str(a->body, b->body);
    assert_str(a->message_id, b->message_id);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->n_attachments, b->n_attachments);
    for (size_t i = 0; i < a->n_attachments; i++) {
        assert_string_equal(a->attachments[i].id, b->attachments[i].id);
        assert_str(a->attachments[i].name, b->attachments[i].name);
        assert_str(a->attachments[i].content_type, b->attachments[i].content_type);
        assert_int_equal(a->attachments[i].size, b->attachments[i].size);
    }
}

static inline size_t history_len(struct store *st, int64_t ticket)
{
    struct td_err err;
    struct td_event_list h = { 0 };
    MUST(st->ops->history_list(st, ticket, &h, &err));
    size_t n = h.n;
    event_list_clear(&h);
    return n;
}

/* Lists with f and checks the numbers, in order. */
static inline void expect_list(struct store *st, const struct td_ticket_filter *f, const int64_t *want,
                        size_t n, int line)
{
    struct td_err err;
    struct td_ticket_list l = { 0 };
    MUST(st->ops->ticket_list(st, f, &l, &err));
    bool same = l.n == n;
    for (size_t i = 0; same && i < n; i++)
        same = l.v[i].number == want[i];
    if (!same) {
        print_error("line %d: ticket_list returned", line);
        for (size_t i = 0; i < l.n; i++)
            print_error(" %lld", (long long)l.v[i].number);
        print_error("; expected");
        for (size_t i = 0; i < n; i++)
            print_error(" %lld", (long long)want[i]);
        print_error("\n");
        ticket_list_clear(&l);
        fail_msg("ticket_list mismatch (line %d)", line);
    }
    ticket_list_clear(&l);
}

#define EXPECT_LIST(f, ...)                                                    \
    expect_list(st, (f), (const int64_t[]){ __VA_ARGS__ },                     \
                sizeof((const int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t), __LINE__)
#define EXPECT_EMPTY(f) expect_list(st, (f), NULL, 0, __LINE__)

/* Runs fn on n threads that start together; joins them. */
static inline void run_threads(int n, void *(*fn)(void *), void *args, size_t arg_size)
{
    pthread_t th[16];
    assert_true(n <= 16);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, fn, (char *)args + (size_t)i * arg_size), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
}

static inline int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}


#define T(f) cmocka_unit_test_setup_teardown(f, store_fixture_setup, store_fixture_teardown)

#endif
