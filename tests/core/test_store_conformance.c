/* test_store_conformance.c - the contract of core/store.h, checked
 * against every backend.
 *
 * Written only against store.h (plus model helpers), so the same tests
 * run unchanged on SQLite and MongoDB (store_fixture runs the group once
 * per backend, each test on a fresh, empty store). Every sentence of
 * store.h that promises something has a test here; when a backend bug is
 * found, the test that would have caught it goes here too.
 *
 * Times are small fixed numbers, not the clock: the store must not care
 * what "now" is except where the caller passes it (leases, claims). */
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
static void new_id(char out[TD_ID_LEN + 1])
{
    static atomic_ullong counter;
    unsigned long long n = atomic_fetch_add(&counter, 1) + 1;
    snprintf(out, TD_ID_LEN + 1, "%08x%016llx", (unsigned)getpid(), n);
}

static void user_new(struct td_user *u, const char *email, const char *name, enum td_role role)
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

static void assert_user_eq(const struct td_user *a, const struct td_user *b)
{
    assert_string_equal(a->id, b->id);
    assert_str(a->email, b->email);
    assert_str(a->name, b->name);
    assert_int_equal(a->role, b->role);
    assert_str(a->pw_hash, b->pw_hash);
    assert_int_equal(a->disabled, b->disabled);
    assert_int_equal(a->token_version, b->token_version);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->updated, b->updated);
}

static struct td_event ev_make(int64_t ticket, const char *actor, enum td_event_kind kind,
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
static void ticket_new(struct store *st, struct td_ticket *t, const char *subject, td_time at)
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

static void ticket_put(struct store *st, const struct td_ticket *t)
{
    struct td_err err;
    struct td_event ev = ev_make(t->number, t->requester_id, EVENT_CREATED, NULL,
                                 status_name(t->status), t->created);
    MUST(st->ops->ticket_insert(st, t, &ev, &err));
}

static int64_t ticket_add(struct store *st, const char *subject, td_time at)
{
    struct td_ticket t;
    ticket_new(st, &t, subject, at);
    ticket_put(st, &t);
    int64_t n = t.number;
    ticket_clear(&t);
    return n;
}

static void assert_strv_eq(const struct strv *a, const char *const *want, size_t n)
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

static void assert_ticket_eq(const struct td_ticket *a, const struct td_ticket *b)
{
    assert_int_equal(a->number, b->number);
    assert_str(a->subject, b->subject);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->priority, b->priority);
    assert_string_equal(a->requester_id, b->requester_id);
    assert_string_equal(a->assignee_id, b->assignee_id);
    assert_str(a->queue, b->queue);
    assert_strv_eq(&a->tags, (const char *const *)b->tags.v, b->tags.n);
    assert_strv_eq(&a->message_ids, (const char *const *)b->message_ids.v, b->message_ids.n);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->updated, b->updated);
    assert_int_equal(a->version, b->version);
}

static void comment_new(struct td_comment *c, int64_t ticket, const char *body, bool internal,
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

static void comment_attach(struct td_comment *c, const char *name, const char *type, size_t size)
{
    c->attachments = td_realloc(c->attachments, (c->n_attachments + 1) * sizeof *c->attachments);
    struct td_attachment_ref *r = &c->attachments[c->n_attachments++];
    memset(r, 0, sizeof *r);
    new_id(r->id);
    r->name = td_strdup(name);
    r->content_type = td_strdup(type);
    r->size = size;
}

static struct td_event comment_event(const struct td_comment *c)
{
    return ev_make(c->ticket, c->author_id, EVENT_COMMENT, c->internal ? "internal" : "public",
                   c->id, c->created);
}

static void comment_add(struct store *st, int64_t ticket, const char *body, bool internal,
                        td_time at)
{
    struct td_err err;
    struct td_comment c;
    comment_new(&c, ticket, body, internal, NULL, at);
    struct td_event ev = comment_event(&c);
    MUST(st->ops->comment_insert(st, &c, &ev, &err));
    comment_clear(&c);
}

static void assert_comment_eq(const struct td_comment *a, const struct td_comment *b)
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

static size_t history_len(struct store *st, int64_t ticket)
{
    struct td_err err;
    struct td_event_list h = { 0 };
    MUST(st->ops->history_list(st, ticket, &h, &err));
    size_t n = h.n;
    event_list_clear(&h);
    return n;
}

/* Lists with f and checks the numbers, in order. */
static void expect_list(struct store *st, const struct td_ticket_filter *f, const int64_t *want,
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
static void run_threads(int n, void *(*fn)(void *), void *args, size_t arg_size)
{
    pthread_t th[16];
    assert_true(n <= 16);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, fn, (char *)args + (size_t)i * arg_size), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ---- ping, reopen ------------------------------------------------------ */

static void test_ping_and_reopen(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    MUST(st->ops->ping(st, &err));
    assert_non_null(st->ops->name);

    struct td_user u;
    user_new(&u, "reopen@example.org", "Re Open", ROLE_AGENT);
    MUST(OP(user_insert, &u));
    /* Opening an existing store (schema/indexes already there) keeps the
     * data, and a second handle sees the first one's writes. */
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));
    struct td_user got = { 0 };
    MUST(st2->ops->user_get(st2, u.id, &got, &err));
    assert_user_eq(&got, &u);
    store_close(st2);
    user_clear(&got);
    user_clear(&u);
}

/* ---- users ------------------------------------------------------------- */

static void test_user_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_user a, b, got = { 0 };
    user_new(&a, "alice@example.org", "Alice Admin", ROLE_ADMIN);
    a.disabled = true;
    a.token_version = 7;
    user_new(&b, "zoe@example.org", "Zoë Ünïcode 日本", ROLE_CUSTOMER);
    free(b.pw_hash);
    b.pw_hash = NULL; /* mail-created: no password */
    MUST(OP(user_insert, &a));
    MUST(OP(user_insert, &b));

    MUST(OP(user_get, a.id, &got));
    assert_user_eq(&got, &a);
    user_clear(&got);
    MUST(OP(user_get_by_email, "alice@example.org", &got));
    assert_user_eq(&got, &a);
    user_clear(&got);
    MUST(OP(user_get, b.id, &got));
    assert_user_eq(&got, &b);
    assert_null(got.pw_hash);
    user_clear(&got);
    MUST(OP(user_get_by_email, "zoe@example.org", &got));
    assert_user_eq(&got, &b);
    user_clear(&got);
    user_clear(&a);
    user_clear(&b);
}

static void test_user_conflict_and_not_found(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_user a, dup, got = { 0 };
    user_new(&a, "taken@example.org", "First", ROLE_CUSTOMER);
    user_new(&dup, "taken@example.org", "Second", ROLE_AGENT);
    MUST(OP(user_insert, &a));
    MUST_FAIL(TD_CONFLICT, OP(user_insert, &dup));
    /* Nothing of the loser was written. */
    MUST(OP(user_get_by_email, "taken@example.org", &got));
    assert_string_equal(got.id, a.id);
    assert_string_equal(got.name, "First");
    user_clear(&got);
    MUST_FAIL(TD_NOT_FOUND, OP(user_get, dup.id, &got));

    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(user_get, missing, &got));
    MUST_FAIL(TD_NOT_FOUND, OP(user_get_by_email, "nobody@example.org", &got));
    /* Out structs are filled only on success. */
    assert_null(got.email);
    assert_string_equal(got.id, "");
    MUST_FAIL(TD_NOT_FOUND, OP(user_update, &dup));
    user_clear(&a);
    user_clear(&dup);
}

static void test_user_update(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_user a, b, got = { 0 };
    user_new(&a, "a@example.org", "A", ROLE_CUSTOMER);
    user_new(&b, "b@example.org", "B", ROLE_CUSTOMER);
    MUST(OP(user_insert, &a));
    MUST(OP(user_insert, &b));

    /* Every field changes. */
    free(a.email);
    a.email = td_strdup("a.new@example.org");
    free(a.name);
    a.name = td_strdup("A Renamed");
    a.role = ROLE_AGENT;
    free(a.pw_hash);
    a.pw_hash = NULL;
    a.disabled = true;
    a.token_version++;
    a.created = 1500;
    a.updated = 9000;
    MUST(OP(user_update, &a));
    MUST(OP(user_get, a.id, &got));
    assert_user_eq(&got, &a);
    user_clear(&got);
    MUST(OP(user_get_by_email, "a.new@example.org", &got));
    assert_string_equal(got.id, a.id);
    user_clear(&got);
    MUST_FAIL(TD_NOT_FOUND, OP(user_get_by_email, "a@example.org", &got));

    /* Taking b's email is a conflict and changes nothing. */
    struct td_user clash;
    memset(&clash, 0, sizeof clash);
    user_copy(&clash, &a);
    free(clash.email);
    clash.email = td_strdup("b@example.org");
    free(clash.name);
    clash.name = td_strdup("Clash");
    MUST_FAIL(TD_CONFLICT, OP(user_update, &clash));
    MUST(OP(user_get, a.id, &got));
    assert_user_eq(&got, &a);
    user_clear(&got);
    MUST(OP(user_get_by_email, "b@example.org", &got));
    assert_user_eq(&got, &b);
    user_clear(&got);
    user_clear(&clash);
    user_clear(&a);
    user_clear(&b);
}

static void test_user_list(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_user_list l = { 0 };
    MUST(OP(user_list, -1, &l));
    assert_int_equal(l.n, 0);
    user_list_clear(&l);

    /* Inserted out of order: the list is ordered by email. */
    static const struct {
        const char *email;
        enum td_role role;
    } users[] = {
        { "mia@example.org", ROLE_AGENT },     { "bob@example.org", ROLE_CUSTOMER },
        { "zed@example.org", ROLE_ADMIN },     { "amy@example.org", ROLE_AGENT },
        { "kim@example.org", ROLE_CUSTOMER },
    };
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        struct td_user u;
        user_new(&u, users[i].email, "U", users[i].role);
        MUST(OP(user_insert, &u));
        user_clear(&u);
    }
    MUST(OP(user_list, -1, &l));
    assert_int_equal(l.n, 5);
    const char *all[] = { "amy@example.org", "bob@example.org", "kim@example.org",
                          "mia@example.org", "zed@example.org" };
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(l.v[i].email, all[i]);
    user_list_clear(&l);

    MUST(OP(user_list, ROLE_AGENT, &l));
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].email, "amy@example.org");
    assert_string_equal(l.v[1].email, "mia@example.org");
    assert_int_equal(l.v[0].role, ROLE_AGENT);
    user_list_clear(&l);

    MUST(OP(user_list, ROLE_CUSTOMER, &l));
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].email, "bob@example.org");
    assert_string_equal(l.v[1].email, "kim@example.org");
    user_list_clear(&l);

    MUST(OP(user_list, ROLE_ADMIN, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].email, "zed@example.org");
    user_list_clear(&l);
}

/* ---- ticket numbers ------------------------------------------------------ */

static void test_ticket_next_number(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t prev = 0;
    for (int i = 0; i < 20; i++) {
        int64_t n = 0;
        MUST(OP(ticket_next_number, &n));
        assert_true(n > prev);
        assert_true(n > 0);
        prev = n;
    }
}

#define NUM_PER_THREAD 50

struct num_arg {
    struct store *st;
    int64_t got[NUM_PER_THREAD];
    int failures;
    char why[256];
};

static void *num_thread(void *p)
{
    struct num_arg *a = p;
    for (int i = 0; i < NUM_PER_THREAD; i++) {
        struct td_err err = { 0 };
        if (!a->st->ops->ticket_next_number(a->st, &a->got[i], &err)) {
            a->failures++;
            snprintf(a->why, sizeof a->why, "%s: %.200s", td_code_name(err.code), err.msg);
            a->got[i] = -1 - i; /* stays unique, flagged by failures */
        }
    }
    return NULL;
}

/* 4 threads x 50 on one handle, then 2 handles x 2 threads x 50 on the
 * same data: every number once, each thread's numbers increasing. */
static void test_ticket_next_number_concurrent(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));

    struct num_arg args[8];
    memset(args, 0, sizeof args);
    for (int i = 0; i < 4; i++)
        args[i].st = st;
    run_threads(4, num_thread, args, sizeof args[0]);
    for (int i = 4; i < 8; i++)
        args[i].st = (i % 2) ? st2 : st;
    run_threads(4, num_thread, args + 4, sizeof args[0]);
    store_close(st2);

    int64_t all[8 * NUM_PER_THREAD];
    size_t n = 0;
    for (int t = 0; t < 8; t++) {
        if (args[t].failures)
            fail_msg("thread %d: %d allocations failed, last: %s", t, args[t].failures,
                     args[t].why);
        for (int i = 0; i < NUM_PER_THREAD; i++) {
            if (i > 0)
                assert_true(args[t].got[i] > args[t].got[i - 1]);
            all[n++] = args[t].got[i];
        }
    }
    qsort(all, n, sizeof all[0], cmp_i64);
    for (size_t i = 1; i < n; i++)
        if (all[i] == all[i - 1])
            fail_msg("ticket number %lld was handed out twice", (long long)all[i]);
}

/* ---- tickets ------------------------------------------------------------- */

static void test_ticket_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, u, got = { 0 };
    ticket_new(st, &t, "Drucker kaputt — ünïcödé ✓ 日本語 \"quotes\" 'and' \\ back", 1111);
    t.status = STATUS_PENDING;
    t.priority = PRIORITY_URGENT;
    free(t.queue);
    t.queue = td_strdup("billing");
    strv_push(&t.tags, "vip");
    strv_push(&t.tags, "printer");
    strv_push(&t.tags, "b-tag");
    strv_push(&t.message_ids, "<first.1@mail.example.org>");
    strv_push(&t.message_ids, "<second.2@mail.example.org>");
    t.updated = 2222;
    ticket_put(st, &t);

    MUST(OP(ticket_get, t.number, &got));
    assert_ticket_eq(&got, &t);
    assert_string_equal(got.assignee_id, ""); /* unassigned stays "" */
    ticket_clear(&got);

    /* Assigned, no tags, no Message-IDs, default queue. */
    ticket_new(st, &u, "plain", 3333);
    new_id(u.assignee_id);
    u.status = STATUS_OPEN;
    u.priority = PRIORITY_LOW;
    ticket_put(st, &u);
    MUST(OP(ticket_get, u.number, &got));
    assert_ticket_eq(&got, &u);
    assert_int_equal(got.tags.n, 0);
    assert_int_equal(got.message_ids.n, 0);
    ticket_clear(&got);

    /* The created event went in with it, as seq 1. */
    struct td_event_list h = { 0 };
    MUST(OP(history_list, t.number, &h));
    assert_int_equal(h.n, 1);
    assert_int_equal(h.v[0].seq, 1);
    assert_int_equal(h.v[0].ticket, t.number);
    assert_int_equal(h.v[0].kind, EVENT_CREATED);
    assert_string_equal(h.v[0].actor_id, t.requester_id);
    assert_null(h.v[0].old_value);
    assert_str(h.v[0].new_value, "pending");
    assert_int_equal(h.v[0].at, 1111);
    event_list_clear(&h);
    ticket_clear(&t);
    ticket_clear(&u);
}

static void test_ticket_insert_conflicts(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, dup, got = { 0 };
    ticket_new(st, &t, "original", 100);
    strv_push(&t.message_ids, "<owned@example.org>");
    ticket_put(st, &t);

    /* Same number: conflict, original untouched, no second created event. */
    ticket_new(st, &dup, "impostor", 200);
    int64_t spare = dup.number;
    dup.number = t.number;
    struct td_event ev = ev_make(dup.number, "", EVENT_CREATED, NULL, "new", 200);
    MUST_FAIL(TD_CONFLICT, OP(ticket_insert, &dup, &ev));
    MUST(OP(ticket_get, t.number, &got));
    assert_ticket_eq(&got, &t);
    ticket_clear(&got);
    assert_int_equal(history_len(st, t.number), 1);

    /* A Message-ID that is another ticket's: conflict, nothing written. */
    dup.number = spare;
    strv_push(&dup.message_ids, "<fresh@example.org>");
    strv_push(&dup.message_ids, "<owned@example.org>");
    ev.ticket = spare;
    MUST_FAIL(TD_CONFLICT, OP(ticket_insert, &dup, &ev));
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_get, spare, &got));
    int64_t owner = 0;
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<fresh@example.org>", &owner));
    MUST(OP(ticket_find_by_msgid, "<owned@example.org>", &owner));
    assert_int_equal(owner, t.number);

    /* "version must be 1". */
    strv_clear(&dup.message_ids);
    dup.version = 2;
    MUST_FAIL(TD_INVALID, OP(ticket_insert, &dup, &ev));
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_get, spare, &got));

    MUST_FAIL(TD_NOT_FOUND, OP(ticket_get, 987654321, &got));
    assert_null(got.subject);
    ticket_clear(&t);
    ticket_clear(&dup);
}

static void test_ticket_update_cas(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, want, got = { 0 };
    ticket_new(st, &t, "before", 100);
    strv_push(&t.tags, "old");
    strv_push(&t.message_ids, "<thread@example.org>");
    ticket_put(st, &t);

    memset(&want, 0, sizeof want);
    ticket_copy(&want, &t);
    free(want.subject);
    want.subject = td_strdup("after ✓");
    want.status = STATUS_OPEN;
    want.priority = PRIORITY_HIGH;
    new_id(want.assignee_id);
    free(want.queue);
    want.queue = td_strdup("support");
    strv_clear(&want.tags);
    strv_push(&want.tags, "new");
    strv_push(&want.tags, "shiny");
    want.updated = 500;
    /* message_ids is ignored by ticket_update. */
    strv_push(&want.message_ids, "<ignored@example.org>");
    struct td_event evs[2] = {
        ev_make(t.number, "", EVENT_STATUS, "new", "open", 500),
        ev_make(t.number, want.assignee_id, EVENT_CLAIM, NULL, want.assignee_id, 500),
    };
    MUST(OP(ticket_update, &want, 1, evs, 2));

    MUST(OP(ticket_get, t.number, &got));
    want.version = 2;
    strv_clear(&want.message_ids);
    strv_push(&want.message_ids, "<thread@example.org>");
    assert_ticket_eq(&got, &want);
    ticket_clear(&got);
    int64_t owner = 0;
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<ignored@example.org>", &owner));
    assert_int_equal(history_len(st, t.number), 3);

    /* Stale: expected 1, stored 2. Nothing changes, no events. */
    struct td_ticket stale;
    memset(&stale, 0, sizeof stale);
    ticket_copy(&stale, &t);
    free(stale.subject);
    stale.subject = td_strdup("lost update");
    strv_push(&stale.tags, "lost");
    stale.updated = 600;
    struct td_event lost = ev_make(t.number, "", EVENT_SUBJECT, "before", "lost update", 600);
    MUST_FAIL(TD_STALE, OP(ticket_update, &stale, 1, &lost, 1));
    MUST(OP(ticket_get, t.number, &got));
    assert_ticket_eq(&got, &want);
    ticket_clear(&got);
    assert_int_equal(history_len(st, t.number), 3);

    /* No such ticket. */
    stale.number = 987654321;
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_update, &stale, 1, &lost, 1));

    /* Zero events is fine; the version still moves. */
    want.priority = PRIORITY_LOW;
    MUST(OP(ticket_update, &want, 2, NULL, 0));
    MUST(OP(ticket_get, t.number, &got));
    assert_int_equal(got.version, 3);
    assert_int_equal(got.priority, PRIORITY_LOW);
    ticket_clear(&got);
    assert_int_equal(history_len(st, t.number), 3);
    ticket_clear(&stale);
    ticket_clear(&want);
    ticket_clear(&t);
}

struct race_arg {
    struct store *st;
    pthread_barrier_t *go;
    struct td_ticket t;
    int64_t expected;
    bool ok;
    struct td_err err;
};

static void *race_thread(void *p)
{
    struct race_arg *a = p;
    struct td_event ev = ev_make(a->t.number, "", EVENT_SUBJECT, "x", a->t.subject, 42);
    pthread_barrier_wait(a->go);
    a->ok = a->st->ops->ticket_update(a->st, &a->t, a->expected, &ev, 1, &a->err);
    return NULL;
}

/* Two writers, one expected version: exactly one wins, the other is
 * told TD_STALE, and only the winner's event is in the history. */
static void test_ticket_update_race(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, got = { 0 };
    ticket_new(st, &t, "race", 1);
    ticket_put(st, &t);
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
    for (int round = 0; round < 20; round++) {
        struct race_arg args[2];
        memset(args, 0, sizeof args);
        for (int i = 0; i < 2; i++) {
            args[i].st = st;
            args[i].go = &go;
            ticket_copy(&args[i].t, &t);
            free(args[i].t.subject);
            char subj[64];
            snprintf(subj, sizeof subj, "round %d writer %d", round, i);
            args[i].t.subject = td_strdup(subj);
            args[i].expected = t.version;
        }
        run_threads(2, race_thread, args, sizeof args[0]);
        int winners = args[0].ok + args[1].ok;
        if (winners != 1)
            fail_msg("round %d: %d writers won (errors: %s / %s)", round, winners,
                     args[0].err.msg, args[1].err.msg);
        struct race_arg *loser = args[0].ok ? &args[1] : &args[0];
        struct race_arg *winner = args[0].ok ? &args[0] : &args[1];
        if (loser->err.code != TD_STALE)
            fail_msg("round %d: loser got %s (%s), expected stale", round,
                     td_code_name(loser->err.code), loser->err.msg);
        MUST(OP(ticket_get, t.number, &got));
        assert_string_equal(got.subject, winner->t.subject);
        assert_int_equal(got.version, t.version + 1);
        assert_int_equal(history_len(st, t.number), (size_t)round + 2);
        ticket_clear(&t);
        t = got;
        memset(&got, 0, sizeof got);
        for (int i = 0; i < 2; i++)
            ticket_clear(&args[i].t);
    }
    pthread_barrier_destroy(&go);
    ticket_clear(&t);
}

/* ---- ticket_list ----------------------------------------------------------- */

static void test_ticket_list_filters(void **state)
{
    struct store *st = FX(state)->st;
    char agent1[TD_ID_LEN + 1], agent2[TD_ID_LEN + 1], req1[TD_ID_LEN + 1],
        req2[TD_ID_LEN + 1];
    new_id(agent1);
    new_id(agent2);
    new_id(req1);
    new_id(req2);
    struct {
        enum td_status status;
        enum td_priority prio;
        const char *assignee, *requester, *queue, *tags[2];
        td_time updated;
        int64_t number;
    } spec[] = {
        { STATUS_OPEN, PRIORITY_HIGH, agent1, req1, "q1", { "x", NULL }, 1000, 0 },
        { STATUS_PENDING, PRIORITY_LOW, "", req2, "", { "y", "x" }, 2000, 0 },
        { STATUS_OPEN, PRIORITY_NORMAL, agent2, req1, "q1", { NULL, NULL }, 3000, 0 },
        { STATUS_CLOSED, PRIORITY_HIGH, agent1, req2, "q2", { "z", NULL }, 4000, 0 },
    };
    for (size_t i = 0; i < 4; i++) {
        struct td_ticket t;
        ticket_new(st, &t, "filter me", 500);
        t.status = spec[i].status;
        t.priority = spec[i].prio;
        snprintf(t.assignee_id, sizeof t.assignee_id, "%s", spec[i].assignee);
        snprintf(t.requester_id, sizeof t.requester_id, "%s", spec[i].requester);
        free(t.queue);
        t.queue = td_strdup(spec[i].queue);
        for (int k = 0; k < 2 && spec[i].tags[k]; k++)
            strv_push(&t.tags, spec[i].tags[k]);
        t.updated = spec[i].updated;
        ticket_put(st, &t);
        spec[i].number = t.number;
        ticket_clear(&t);
    }
    int64_t a = spec[0].number, b = spec[1].number, c = spec[2].number, d = spec[3].number;

    struct td_ticket_filter f = { 0 };
    EXPECT_LIST(&f, d, c, b, a); /* zero filter: all, newest first */
    EXPECT_LIST(NULL, d, c, b, a);

    f = (struct td_ticket_filter){ .by_status = true, .status = STATUS_OPEN };
    EXPECT_LIST(&f, c, a);
    f = (struct td_ticket_filter){ .by_status = true, .status = STATUS_RESOLVED };
    EXPECT_EMPTY(&f);
    f = (struct td_ticket_filter){ .by_status = true, .status = STATUS_NEW };
    EXPECT_EMPTY(&f); /* by_status with the zero status is still a filter */
    f = (struct td_ticket_filter){ .by_priority = true, .priority = PRIORITY_HIGH };
    EXPECT_LIST(&f, d, a);
    f = (struct td_ticket_filter){ .by_priority = true, .priority = PRIORITY_LOW };
    EXPECT_LIST(&f, b);
    f = (struct td_ticket_filter){ .assignee_id = agent1 };
    EXPECT_LIST(&f, d, a);
    f = (struct td_ticket_filter){ .assignee_id = "" };
    EXPECT_LIST(&f, b);
    f = (struct td_ticket_filter){ .requester_id = req1 };
    EXPECT_LIST(&f, c, a);
    f = (struct td_ticket_filter){ .tag = "x" };
    EXPECT_LIST(&f, b, a);
    f = (struct td_ticket_filter){ .tag = "nope" };
    EXPECT_EMPTY(&f);
    f = (struct td_ticket_filter){ .queue = "q1" };
    EXPECT_LIST(&f, c, a);
    f = (struct td_ticket_filter){ .queue = "" };
    EXPECT_LIST(&f, b);
    f = (struct td_ticket_filter){ .updated_since = 2000 };
    EXPECT_LIST(&f, d, c, b);
    f = (struct td_ticket_filter){ .updated_since = 4001 };
    EXPECT_EMPTY(&f);
    f = (struct td_ticket_filter){ .by_status = true, .status = STATUS_OPEN, .queue = "q1",
                                   .tag = "x", .requester_id = req1, .assignee_id = agent1,
                                   .by_priority = true, .priority = PRIORITY_HIGH,
                                   .updated_since = 1000, .ascending = true };
    EXPECT_LIST(&f, a);
    f = (struct td_ticket_filter){ .requester_id = req2, .ascending = true };
    EXPECT_LIST(&f, b, d);

    /* Listed tickets come complete. */
    struct td_err err;
    struct td_ticket_list l = { 0 };
    f = (struct td_ticket_filter){ .tag = "y" };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 1);
    const char *tags[] = { "y", "x" };
    assert_strv_eq(&l.v[0].tags, tags, 2);
    assert_string_equal(l.v[0].requester_id, req2);
    assert_int_equal(l.v[0].status, STATUS_PENDING);
    assert_int_equal(l.v[0].updated, 2000);
    assert_int_equal(l.v[0].version, 1);
    ticket_list_clear(&l);
}

static void test_ticket_list_text(void **state)
{
    struct store *st = FX(state)->st;
    int64_t t1 = ticket_add(st, "Printer on FIRE", 10);
    int64_t t2 = ticket_add(st, "Invoice question", 20);
    comment_add(st, t2, "Also, the PrInTeR is smoking.", false, 21);
    int64_t t3 = ticket_add(st, "Other thing", 30);
    comment_add(st, t3, "internal: printer secret", true, 31);
    int64_t t4 = ticket_add(st, "100% sure a_b", 40);
    int64_t t5 = ticket_add(st, "1000 sure axb", 50);
    int64_t t6 = ticket_add(st, "Café crème", 60);
    int64_t t7 = ticket_add(st, "path C:\\temp\\x", 70);
    int64_t t8 = ticket_add(st, "regex chars (a+b)*[c]? ^$ |.{2}", 80);

    struct td_ticket_filter f = { .text = "printer" };
    EXPECT_LIST(&f, t2, t1); /* subject, public comment; not the note */
    f.text = "PRINTER";
    EXPECT_LIST(&f, t2, t1);
    f.text_internal = true;
    EXPECT_LIST(&f, t3, t2, t1);
    f = (struct td_ticket_filter){ .text = "secret" };
    EXPECT_EMPTY(&f);
    f.text_internal = true;
    EXPECT_LIST(&f, t3);
    /* Literal: LIKE / regex metacharacters are plain characters. */
    f = (struct td_ticket_filter){ .text = "100%" };
    EXPECT_LIST(&f, t4);
    f.text = "a_b";
    EXPECT_LIST(&f, t4);
    f.text = "%";
    EXPECT_LIST(&f, t4);
    f.text = "_";
    EXPECT_LIST(&f, t4);
    f.text = "c:\\TEMP\\";
    EXPECT_LIST(&f, t7);
    f.text = "\\";
    EXPECT_LIST(&f, t7);
    f.text = "(a+b)*[c]? ^$ |.{2}";
    EXPECT_LIST(&f, t8);
    f.text = ".";
    EXPECT_LIST(&f, t8, t2);
    f.text = "1000";
    EXPECT_LIST(&f, t5);
    f.text = "café";
    EXPECT_LIST(&f, t6);
    f.text = "no such words";
    EXPECT_EMPTY(&f);
    /* Text combines with the other filters. */
    f = (struct td_ticket_filter){ .text = "printer", .ascending = true, .limit = 1 };
    EXPECT_LIST(&f, t1);
    f.after = t1;
    EXPECT_LIST(&f, t2);
}

/* Pages through every ticket with limit; returns how many it saw. */
static size_t page_all(struct store *st, bool asc, size_t limit, int64_t *seen, size_t cap)
{
    struct td_err err;
    struct td_ticket_filter f = { .ascending = asc, .limit = limit };
    size_t n = 0;
    for (int pages = 0;; pages++) {
        assert_true((size_t)pages <= cap / limit + 2); /* a cursor that never ends */
        struct td_ticket_list l = { 0 };
        MUST(OP(ticket_list, &f, &l));
        assert_true(l.n <= limit);
        for (size_t i = 0; i < l.n; i++) {
            assert_true(n < cap);
            seen[n++] = l.v[i].number;
        }
        size_t got = l.n;
        if (got)
            f.after = l.v[got - 1].number;
        ticket_list_clear(&l);
        if (got == 0)
            break;
    }
    return n;
}

static void test_ticket_list_pagination(void **state)
{
    struct store *st = FX(state)->st;
    int64_t all[23];
    for (size_t i = 0; i < 23; i++)
        all[i] = ticket_add(st, "page", (td_time)i);
    int64_t seen[64];
    for (int asc = 0; asc <= 1; asc++) {
        for (size_t limit = 1; limit <= 24; limit += 5) {
            size_t n = page_all(st, asc, limit, seen, 64);
            assert_int_equal(n, 23);
            for (size_t i = 0; i < 23; i++)
                assert_int_equal(seen[i], asc ? all[i] : all[22 - i]);
        }
    }
    /* The cursor is strictly after, in either order. */
    struct td_ticket_filter f = { .ascending = true, .after = all[20] };
    EXPECT_LIST(&f, all[21], all[22]);
    f = (struct td_ticket_filter){ .after = all[2] };
    EXPECT_LIST(&f, all[1], all[0]);
    f = (struct td_ticket_filter){ .after = all[0] };
    EXPECT_EMPTY(&f);
}

static void test_ticket_list_limits(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    enum { N = STORE_LIST_MAX + 5 };
    /* Numbers chosen here, not allocated: ticket_insert takes any. */
    for (int64_t i = 1; i <= N; i++) {
        struct td_ticket t;
        memset(&t, 0, sizeof t);
        t.number = i;
        t.subject = td_strdup("bulk");
        new_id(t.requester_id);
        t.queue = td_strdup("");
        t.created = t.updated = i;
        t.version = 1;
        ticket_put(st, &t);
        ticket_clear(&t);
    }
    struct td_ticket_list l = { 0 };
    struct td_ticket_filter f = { 0 };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, STORE_LIST_DEFAULT);
    assert_int_equal(l.v[0].number, N);
    assert_int_equal(l.v[STORE_LIST_DEFAULT - 1].number, N - STORE_LIST_DEFAULT + 1);
    ticket_list_clear(&l);

    f.limit = 100000;
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, STORE_LIST_MAX);
    assert_int_equal(l.v[STORE_LIST_MAX - 1].number, N - STORE_LIST_MAX + 1);
    ticket_list_clear(&l);

    f = (struct td_ticket_filter){ .ascending = true, .limit = STORE_LIST_MAX };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, STORE_LIST_MAX);
    assert_int_equal(l.v[0].number, 1);
    assert_int_equal(l.v[STORE_LIST_MAX - 1].number, STORE_LIST_MAX);
    ticket_list_clear(&l);

    f.after = STORE_LIST_MAX;
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 5);
    ticket_list_clear(&l);
}

/* ---- ticket threads ------------------------------------------------------- */

static void test_ticket_msgid(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t1, got = { 0 };
    ticket_new(st, &t1, "thread", 1);
    strv_push(&t1.message_ids, "<m1@example.org>");
    ticket_put(st, &t1);
    int64_t t2 = ticket_add(st, "other thread", 2);

    int64_t n = 0;
    MUST(OP(ticket_find_by_msgid, "<m1@example.org>", &n));
    assert_int_equal(n, t1.number);
    MUST(OP(ticket_add_msgid, t1.number, "<m2@example.org>"));
    MUST(OP(ticket_add_msgid, t1.number, "<m2@example.org>")); /* idempotent */
    MUST(OP(ticket_add_msgid, t1.number, "<m1@example.org>"));
    MUST(OP(ticket_get, t1.number, &got));
    const char *ids[] = { "<m1@example.org>", "<m2@example.org>" };
    assert_strv_eq(&got.message_ids, ids, 2);
    ticket_clear(&got);
    n = 0;
    MUST(OP(ticket_find_by_msgid, "<m2@example.org>", &n));
    assert_int_equal(n, t1.number);

    /* One Message-ID, one thread. */
    MUST_FAIL(TD_CONFLICT, OP(ticket_add_msgid, t2, "<m2@example.org>"));
    MUST(OP(ticket_find_by_msgid, "<m2@example.org>", &n));
    assert_int_equal(n, t1.number);
    MUST(OP(ticket_get, t2, &got));
    assert_int_equal(got.message_ids.n, 0);
    ticket_clear(&got);

    MUST_FAIL(TD_NOT_FOUND, OP(ticket_add_msgid, 987654321, "<m9@example.org>"));
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<m9@example.org>", &n));
    n = -7;
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<never@example.org>", &n));
    assert_int_equal(n, -7); /* untouched on failure */
    ticket_clear(&t1);
}

/* ---- comments ----------------------------------------------------------- */

static void test_comment_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, got = { 0 };
    ticket_new(st, &t, "comments", 1000);
    ticket_put(st, &t);

    struct td_comment c1, c2, c3, found = { 0 };
    comment_new(&c1, t.number, "Hello\nworld ✓ <b>not html</b>", false,
                "<c1.123@mail.example.org>", 2000);
    comment_attach(&c1, "report.pdf", "application/pdf", 12345);
    comment_attach(&c1, "Grüße.txt", "text/plain; charset=utf-8", 0);
    comment_new(&c2, t.number, "internal note", true, NULL, 3000);
    comment_new(&c3, t.number, "second public", false, NULL, 4000);
    struct td_comment *cs[] = { &c1, &c2, &c3 };
    for (int i = 0; i < 3; i++) {
        struct td_event ev = comment_event(cs[i]);
        MUST(OP(comment_insert, cs[i], &ev));
    }

    /* The ticket moved with each comment and holds c1's Message-ID. */
    MUST(OP(ticket_get, t.number, &got));
    assert_int_equal(got.version, 4);
    assert_int_equal(got.updated, 4000);
    const char *ids[] = { "<c1.123@mail.example.org>" };
    assert_strv_eq(&got.message_ids, ids, 1);
    ticket_clear(&got);
    int64_t n = 0;
    MUST(OP(ticket_find_by_msgid, "<c1.123@mail.example.org>", &n));
    assert_int_equal(n, t.number);

    struct td_comment_list l = { 0 };
    MUST(OP(comment_list, t.number, true, &l));
    assert_int_equal(l.n, 3);
    for (int i = 0; i < 3; i++)
        assert_comment_eq(&l.v[i], cs[i]);
    comment_list_clear(&l);
    MUST(OP(comment_list, t.number, false, &l));
    assert_int_equal(l.n, 2);
    assert_comment_eq(&l.v[0], &c1);
    assert_comment_eq(&l.v[1], &c3);
    comment_list_clear(&l);
    MUST(OP(comment_list, 987654321, true, &l));
    assert_int_equal(l.n, 0);
    comment_list_clear(&l);

    MUST(OP(comment_find_by_msgid, "<c1.123@mail.example.org>", &found));
    assert_comment_eq(&found, &c1);
    comment_clear(&found);
    MUST_FAIL(TD_NOT_FOUND, OP(comment_find_by_msgid, "<none@example.org>", &found));
    assert_null(found.body);

    struct td_event_list h = { 0 };
    MUST(OP(history_list, t.number, &h));
    assert_int_equal(h.n, 4);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h.v[i + 1].kind, EVENT_COMMENT);
        assert_string_equal(h.v[i + 1].new_value, cs[i]->id);
        assert_string_equal(h.v[i + 1].old_value, cs[i]->internal ? "internal" : "public");
        assert_string_equal(h.v[i + 1].actor_id, cs[i]->author_id);
    }
    event_list_clear(&h);
    comment_clear(&c1);
    comment_clear(&c2);
    comment_clear(&c3);
    ticket_clear(&t);
}

/* Same-millisecond comments keep their insertion order. */
static void test_comment_order_same_time(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t t = ticket_add(st, "burst", 1);
    char bodies[12][32];
    for (int i = 0; i < 12; i++) {
        snprintf(bodies[i], sizeof bodies[i], "burst %02d", i);
        comment_add(st, t, bodies[i], i % 3 == 0, 5000);
    }
    struct td_comment_list l = { 0 };
    MUST(OP(comment_list, t, true, &l));
    assert_int_equal(l.n, 12);
    for (int i = 0; i < 12; i++)
        assert_string_equal(l.v[i].body, bodies[i]);
    comment_list_clear(&l);
}

static void test_comment_conflicts(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, got = { 0 };
    ticket_new(st, &t, "dupes", 100);
    strv_push(&t.message_ids, "<opening@example.org>");
    ticket_put(st, &t);

    /* The opening mail's comment carries the ticket's own Message-ID:
     * already in this thread, so that is not a conflict. */
    struct td_comment first, again, lost;
    comment_new(&first, t.number, "opening mail", false, "<opening@example.org>", 100);
    struct td_event ev = comment_event(&first);
    MUST(OP(comment_insert, &first, &ev));
    MUST(OP(ticket_get, t.number, &got));
    const char *ids[] = { "<opening@example.org>" };
    assert_strv_eq(&got.message_ids, ids, 1);
    assert_int_equal(got.version, 2);
    ticket_clear(&got);

    /* The same mail delivered twice: conflict, and no trace of it. */
    comment_new(&again, t.number, "opening mail (again)", false, "<opening@example.org>", 200);
    comment_attach(&again, "again.bin", "application/octet-stream", 3);
    ev = comment_event(&again);
    MUST_FAIL(TD_CONFLICT, OP(comment_insert, &again, &ev));
    MUST(OP(ticket_get, t.number, &got));
    assert_int_equal(got.version, 2);
    assert_int_equal(got.updated, 100);
    ticket_clear(&got);
    struct td_comment_list l = { 0 };
    MUST(OP(comment_list, t.number, true, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, first.id);
    comment_list_clear(&l);
    assert_int_equal(history_len(st, t.number), 2);

    /* No such ticket: not found, nothing written. */
    comment_new(&lost, 987654321, "into the void", false, "<void@example.org>", 300);
    ev = comment_event(&lost);
    MUST_FAIL(TD_NOT_FOUND, OP(comment_insert, &lost, &ev));
    struct td_comment found = { 0 };
    MUST_FAIL(TD_NOT_FOUND, OP(comment_find_by_msgid, "<void@example.org>", &found));
    int64_t n = 0;
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<void@example.org>", &n));
    comment_clear(&first);
    comment_clear(&again);
    comment_clear(&lost);
    ticket_clear(&t);
}

/* ---- history --------------------------------------------------------------- */

static void test_history_order(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char actor[TD_ID_LEN + 1];
    new_id(actor);
    struct td_ticket a, b;
    ticket_new(st, &a, "history a", 10);
    ticket_put(st, &a);
    ticket_new(st, &b, "history b", 11);
    ticket_put(st, &b);

    /* Interleaved writes to two tickets: each has its own 1, 2, 3... */
    struct td_event ea[3] = {
        ev_make(a.number, actor, EVENT_STATUS, "new", "open", 20),
        ev_make(a.number, actor, EVENT_PRIORITY, "normal", "urgent", 20),
        ev_make(a.number, "", EVENT_TAG, NULL, "x,y", 20),
    };
    MUST(OP(ticket_update, &a, 1, ea, 3));
    struct td_event eb = ev_make(b.number, actor, EVENT_ASSIGNEE, NULL, actor, 21);
    MUST(OP(ticket_update, &b, 1, &eb, 1));
    comment_add(st, a.number, "note", true, 30);
    struct td_event ea2 = ev_make(a.number, actor, EVENT_SUBJECT, "history a", "renamed", 40);
    MUST(OP(ticket_update, &a, 3, &ea2, 1));

    struct td_event_list h = { 0 };
    MUST(OP(history_list, a.number, &h));
    const enum td_event_kind kinds[] = { EVENT_CREATED, EVENT_STATUS, EVENT_PRIORITY,
                                         EVENT_TAG, EVENT_COMMENT, EVENT_SUBJECT };
    const td_time ats[] = { 10, 20, 20, 20, 30, 40 };
    assert_int_equal(h.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(h.v[i].seq, (int64_t)i + 1);
        assert_int_equal(h.v[i].ticket, a.number);
        assert_int_equal(h.v[i].kind, kinds[i]);
        assert_int_equal(h.v[i].at, ats[i]);
    }
    assert_string_equal(h.v[1].actor_id, actor);
    assert_str(h.v[1].old_value, "new");
    assert_str(h.v[1].new_value, "open");
    assert_string_equal(h.v[3].actor_id, ""); /* the system */
    assert_null(h.v[3].old_value);
    assert_str(h.v[3].new_value, "x,y");
    assert_str(h.v[5].old_value, "history a");
    assert_str(h.v[5].new_value, "renamed");
    event_list_clear(&h);

    MUST(OP(history_list, b.number, &h));
    assert_int_equal(h.n, 2);
    assert_int_equal(h.v[0].seq, 1);
    assert_int_equal(h.v[1].seq, 2);
    assert_int_equal(h.v[1].kind, EVENT_ASSIGNEE);
    assert_null(h.v[1].old_value);
    event_list_clear(&h);
    ticket_clear(&a);
    ticket_clear(&b);
}

/* ---- attachments ----------------------------------------------------------- */

static void test_attachments(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    static const unsigned char small[] = { 'a', 0, 'b', 0, 0, 'c', 0xff };
    struct td_attachment a = { .name = (char *)"nul.bin",
                               .content_type = (char *)"application/octet-stream",
                               .size = sizeof small, .data = (unsigned char *)small };
    new_id(a.id);
    size_t big_n = 1024 * 1024;
    unsigned char *big = td_malloc(big_n);
    uint32_t x = 2463534242u; /* xorshift: every byte value, zeros included */
    for (size_t i = 0; i < big_n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big[i] = (unsigned char)(i % 4096 == 0 ? 0 : x);
    }
    struct td_attachment b = { .name = (char *)"Grüße ✓.png", .content_type = (char *)"image/png",
                               .size = big_n, .data = big };
    new_id(b.id);
    MUST(OP(attachment_put, &a));
    MUST(OP(attachment_put, &b));

    struct td_attachment got = { 0 };
    MUST(OP(attachment_get, a.id, &got));
    assert_string_equal(got.id, a.id);
    assert_string_equal(got.name, a.name);
    assert_string_equal(got.content_type, a.content_type);
    assert_int_equal(got.size, sizeof small);
    assert_memory_equal(got.data, small, sizeof small);
    attachment_clear(&got);
    MUST(OP(attachment_get, b.id, &got));
    assert_string_equal(got.name, b.name);
    assert_string_equal(got.content_type, "image/png");
    assert_int_equal(got.size, big_n);
    assert_memory_equal(got.data, big, big_n);
    attachment_clear(&got);

    /* Same id again: conflict, the first bytes stay. */
    struct td_attachment dup = a;
    dup.data = big;
    dup.size = 16;
    MUST_FAIL(TD_CONFLICT, OP(attachment_put, &dup));
    MUST(OP(attachment_get, a.id, &got));
    assert_int_equal(got.size, sizeof small);
    assert_memory_equal(got.data, small, sizeof small);
    attachment_clear(&got);

    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(attachment_get, missing, &got));
    assert_null(got.data);
    free(big);
}

/* ---- Message-ID map ----------------------------------------------------------- */

static void test_msgid_map(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t n = 0;
    MUST(OP(msgid_put, "<in.1@example.org>", 5));
    MUST(OP(msgid_put, "<in.2@example.org>", 6));
    MUST(OP(msgid_get, "<in.1@example.org>", &n));
    assert_int_equal(n, 5);
    MUST(OP(msgid_get, "<in.2@example.org>", &n));
    assert_int_equal(n, 6);
    MUST_FAIL(TD_CONFLICT, OP(msgid_put, "<in.1@example.org>", 7));
    MUST_FAIL(TD_CONFLICT, OP(msgid_put, "<in.1@example.org>", 5)); /* even the same */
    MUST(OP(msgid_get, "<in.1@example.org>", &n));
    assert_int_equal(n, 5);
    n = -3;
    MUST_FAIL(TD_NOT_FOUND, OP(msgid_get, "<unknown@example.org>", &n));
    assert_int_equal(n, -3);
    /* The map and ticket threads are separate things. */
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<in.1@example.org>", &n));
}

/* ---- mailbox lease ------------------------------------------------------------ */

static void expect_mailbox(struct store *st, const char *name, uint32_t uidvalidity,
                           uint32_t last_uid, const char *owner, td_time until)
{
    struct td_err err;
    struct td_mailbox_state m = { 0 };
    MUST(st->ops->mailbox_get(st, name, &m, &err));
    assert_string_equal(m.name, name);
    assert_int_equal(m.uidvalidity, uidvalidity);
    assert_int_equal(m.last_uid, last_uid);
    assert_str(m.lease_owner, owner);
    if (owner != NULL)
        assert_int_equal(m.lease_until, until);
    mailbox_state_clear(&m);
}

static void test_lease(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_mailbox_state m = { 0 };
    MUST_FAIL(TD_NOT_FOUND, OP(mailbox_get, "INBOX", &m));
    assert_null(m.name);

    /* First acquire creates the row: uidvalidity = last_uid = 0. */
    MUST(OP(lease_acquire, "INBOX", "host-a", 1000, 500));
    expect_mailbox(st, "INBOX", 0, 0, "host-a", 1500);
    MUST_FAIL(TD_CONFLICT, OP(lease_acquire, "INBOX", "host-b", 1200, 500));
    expect_mailbox(st, "INBOX", 0, 0, "host-a", 1500);
    /* The owner renews. */
    MUST(OP(lease_acquire, "INBOX", "host-a", 1200, 500));
    expect_mailbox(st, "INBOX", 0, 0, "host-a", 1700);
    MUST(OP(mailbox_set_uid, "INBOX", "host-a", 1300, 77, 10));
    expect_mailbox(st, "INBOX", 77, 10, "host-a", 1700);
    MUST_FAIL(TD_CONFLICT, OP(mailbox_set_uid, "INBOX", "host-b", 1300, 77, 99));
    expect_mailbox(st, "INBOX", 77, 10, "host-a", 1700);
    /* Other mailboxes have their own lease. */
    MUST(OP(lease_acquire, "Support", "host-b", 1300, 500));
    expect_mailbox(st, "Support", 0, 0, "host-b", 1800);

    /* Expired: another owner takes over; the old one may not move the UID. */
    MUST_FAIL(TD_CONFLICT, OP(lease_acquire, "INBOX", "host-b", 1700, 500));
    MUST(OP(lease_acquire, "INBOX", "host-b", 1701, 1000));
    expect_mailbox(st, "INBOX", 77, 10, "host-b", 2701);
    MUST_FAIL(TD_CONFLICT, OP(mailbox_set_uid, "INBOX", "host-a", 1800, 77, 11));
    MUST(OP(mailbox_set_uid, "INBOX", "host-b", 1800, 77, 12));
    expect_mailbox(st, "INBOX", 77, 12, "host-b", 2701);
    /* Its own lease, once expired, does not let it write either. */
    MUST_FAIL(TD_CONFLICT, OP(mailbox_set_uid, "INBOX", "host-b", 2702, 77, 13));
    expect_mailbox(st, "INBOX", 77, 12, "host-b", 2701);
    MUST_FAIL(TD_CONFLICT, OP(mailbox_set_uid, "Nowhere", "host-b", 1800, 1, 1));

    /* Release: only by the holder; then anyone may take it. */
    MUST_FAIL(TD_CONFLICT, OP(lease_release, "INBOX", "host-a"));
    expect_mailbox(st, "INBOX", 77, 12, "host-b", 2701);
    MUST(OP(lease_release, "INBOX", "host-b"));
    expect_mailbox(st, "INBOX", 77, 12, NULL, 0);
    MUST(OP(lease_release, "INBOX", "host-b")); /* already free: no-op */
    MUST_FAIL(TD_CONFLICT, OP(mailbox_set_uid, "INBOX", "host-b", 1900, 77, 13));
    MUST(OP(lease_acquire, "INBOX", "host-a", 1900, 500));
    expect_mailbox(st, "INBOX", 77, 12, "host-a", 2400);
    MUST_FAIL(TD_NOT_FOUND, OP(lease_release, "Nowhere", "host-a"));
}

struct lease_arg {
    struct store *st;
    pthread_barrier_t *go;
    char owner[32];
    bool ok;
    struct td_err err;
};

static void *lease_thread(void *p)
{
    struct lease_arg *a = p;
    pthread_barrier_wait(a->go);
    a->ok = a->st->ops->lease_acquire(a->st, "INBOX", a->owner, 5000, 1000, &a->err);
    return NULL;
}

static void test_lease_race(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, 4), 0);
    struct lease_arg args[4];
    memset(args, 0, sizeof args);
    for (int i = 0; i < 4; i++) {
        args[i].st = i % 2 ? st2 : st;
        args[i].go = &go;
        snprintf(args[i].owner, sizeof args[i].owner, "poller-%d", i);
    }
    run_threads(4, lease_thread, args, sizeof args[0]);
    pthread_barrier_destroy(&go);
    store_close(st2);
    int winner = -1;
    for (int i = 0; i < 4; i++) {
        if (args[i].ok) {
            if (winner >= 0)
                fail_msg("%s and %s both hold the lease", args[winner].owner, args[i].owner);
            winner = i;
        } else if (args[i].err.code != TD_CONFLICT) {
            fail_msg("%s: %s (%s), expected conflict", args[i].owner,
                     td_code_name(args[i].err.code), args[i].err.msg);
        }
    }
    assert_true(winner >= 0);
    expect_mailbox(st, "INBOX", 0, 0, args[winner].owner, 6000);
}

/* ---- outbox -------------------------------------------------------------------- */

static void outbox_new(struct td_outbox *o, int64_t ticket, td_time created, td_time next)
{
    memset(o, 0, sizeof *o);
    new_id(o->id);
    o->kind = td_strdup("ticket_reply");
    o->ticket = ticket;
    o->recipient = td_strdup("customer@example.org");
    o->payload = td_strdup("{\"subject\":\"Re: [#7] Grüße\",\"n\":1}");
    o->state = OUTBOX_PENDING;
    o->next_attempt = next;
    o->created = created;
}

static void outbox_add(struct store *st, td_time created, td_time next, char id[TD_ID_LEN + 1])
{
    struct td_err err;
    struct td_outbox o;
    outbox_new(&o, 7, created, next);
    MUST(st->ops->outbox_insert(st, &o, &err));
    memcpy(id, o.id, TD_ID_LEN + 1);
    outbox_clear(&o);
}

/* Claims at now and checks it got row id. */
static void expect_claim(struct store *st, const char *owner, td_time now, int64_t lease,
                         const char *id, int attempts)
{
    struct td_err err;
    struct td_outbox o = { 0 };
    MUST(st->ops->outbox_claim(st, owner, now, lease, &o, &err));
    assert_string_equal(o.id, id);
    assert_int_equal(o.state, OUTBOX_SENDING);
    assert_str(o.owner, owner);
    assert_int_equal(o.lease_until, now + lease);
    assert_int_equal(o.attempts, attempts);
    outbox_clear(&o);
}

static void test_outbox_claim_order(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_outbox o1, o2, o3, later, sent, got = { 0 };
    outbox_new(&o1, 1, 10, 300);
    outbox_new(&o2, 2, 20, 100);
    outbox_new(&o3, 3, 30, 200);
    outbox_new(&later, 4, 40, 10000);
    outbox_new(&sent, 5, 5, 0);
    sent.state = OUTBOX_SENT;
    free(sent.last_error);
    sent.last_error = td_strdup("old trouble");
    struct td_outbox *all[] = { &o1, &o2, &o3, &later, &sent };
    for (int i = 0; i < 5; i++)
        MUST(OP(outbox_insert, all[i]));

    /* Due rows by oldest next_attempt; each field comes back. */
    MUST(OP(outbox_claim, "sender-1", 500, 60000, &got));
    assert_string_equal(got.id, o2.id);
    assert_string_equal(got.kind, "ticket_reply");
    assert_int_equal(got.ticket, 2);
    assert_string_equal(got.recipient, "customer@example.org");
    assert_string_equal(got.payload, o2.payload);
    assert_int_equal(got.state, OUTBOX_SENDING);
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.next_attempt, 100);
    assert_str(got.owner, "sender-1");
    assert_int_equal(got.lease_until, 60500);
    assert_null(got.last_error);
    assert_int_equal(got.created, 20);
    outbox_clear(&got);
    expect_claim(st, "sender-1", 500, 60000, o3.id, 1);
    expect_claim(st, "sender-2", 500, 60000, o1.id, 1);
    /* Not yet due, or not pending: nothing. */
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-1", 500, 60000, &got));
    assert_null(got.kind);
    expect_claim(st, "sender-1", 10000, 60000, later.id, 1);

    struct td_outbox_list l = { 0 };
    MUST(OP(outbox_list, OUTBOX_SENDING, 0, &l));
    assert_int_equal(l.n, 4);
    outbox_list_clear(&l);
    MUST(OP(outbox_list, OUTBOX_SENT, 0, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, sent.id);
    assert_int_equal(l.v[0].attempts, 0);
    assert_str(l.v[0].last_error, "old trouble");
    outbox_list_clear(&l);
    for (int i = 0; i < 5; i++)
        outbox_clear(all[i]);
}

static void test_outbox_lease_expiry(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char id[TD_ID_LEN + 1];
    outbox_add(st, 1, 900, id);
    struct td_outbox got = { 0 };

    expect_claim(st, "sender-a", 1000, 100, id, 1);
    /* Held until 1100 inclusive. */
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-b", 1050, 100, &got));
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-b", 1100, 100, &got));
    /* sender-a died: the lease ran out, sender-b takes the row over. */
    expect_claim(st, "sender-b", 1101, 100, id, 2);
    MUST_FAIL(TD_CONFLICT, OP(outbox_finish, id, "sender-a", OUTBOX_SENT, NULL, 0));
    MUST(OP(outbox_finish, id, "sender-b", OUTBOX_SENT, NULL, 0));
    /* Finished: no claim left to finish again. */
    MUST_FAIL(TD_CONFLICT, OP(outbox_finish, id, "sender-b", OUTBOX_SENT, NULL, 0));
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-a", 999999, 100, &got));

    struct td_outbox_list l = { 0 };
    MUST(OP(outbox_list, OUTBOX_SENT, 0, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, id);
    assert_int_equal(l.v[0].state, OUTBOX_SENT);
    assert_int_equal(l.v[0].attempts, 2);
    outbox_list_clear(&l);

    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_finish, missing, "sender-b", OUTBOX_SENT, NULL, 0));
}

static void test_outbox_finish_retry(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char id[TD_ID_LEN + 1];
    outbox_add(st, 1, 0, id);
    struct td_outbox got = { 0 };
    struct td_outbox_list l = { 0 };

    expect_claim(st, "sender-a", 1000, 60000, id, 1);
    MUST(OP(outbox_finish, id, "sender-a", OUTBOX_PENDING, "421 try again later", 5000));
    MUST(OP(outbox_list, OUTBOX_PENDING, 0, &l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].next_attempt, 5000);
    assert_str(l.v[0].last_error, "421 try again later");
    assert_int_equal(l.v[0].attempts, 1);
    outbox_list_clear(&l);

    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-a", 4999, 60000, &got));
    expect_claim(st, "sender-b", 5000, 60000, id, 2);
    MUST(OP(outbox_finish, id, "sender-b", OUTBOX_FAILED, "550 no such user", 0));
    MUST(OP(outbox_list, OUTBOX_FAILED, 0, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, id);
    assert_str(l.v[0].last_error, "550 no such user");
    assert_int_equal(l.v[0].attempts, 2);
    outbox_list_clear(&l);
    /* Failed is final. */
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-a", 999999999, 60000, &got));
    MUST(OP(outbox_list, OUTBOX_PENDING, 0, &l));
    assert_int_equal(l.n, 0);
    outbox_list_clear(&l);
}

static void test_outbox_list(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    /* Inserted out of creation order; listed oldest first. */
    const td_time created[] = { 30, 10, 50, 20, 40 };
    char ids[5][TD_ID_LEN + 1];
    for (int i = 0; i < 5; i++)
        outbox_add(st, created[i], 100000 + created[i], ids[i]);
    expect_claim(st, "s", 100010, 10, ids[1], 1); /* created 10: the one due */
    MUST(OP(outbox_finish, ids[1], "s", OUTBOX_SENT, NULL, 0));

    struct td_outbox_list l = { 0 };
    MUST(OP(outbox_list, -1, 0, &l));
    assert_int_equal(l.n, 5);
    const int order[] = { 1, 3, 0, 4, 2 };
    for (int i = 0; i < 5; i++) {
        assert_string_equal(l.v[i].id, ids[order[i]]);
        assert_int_equal(l.v[i].created, created[order[i]]);
    }
    outbox_list_clear(&l);
    MUST(OP(outbox_list, -1, 2, &l));
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].id, ids[1]);
    assert_string_equal(l.v[1].id, ids[3]);
    outbox_list_clear(&l);
    MUST(OP(outbox_list, OUTBOX_PENDING, 0, &l));
    assert_int_equal(l.n, 4);
    assert_string_equal(l.v[0].id, ids[3]);
    assert_string_equal(l.v[1].id, ids[0]);
    assert_string_equal(l.v[2].id, ids[4]);
    assert_string_equal(l.v[3].id, ids[2]);
    outbox_list_clear(&l);
    MUST(OP(outbox_list, OUTBOX_SENT, 0, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, ids[1]);
    outbox_list_clear(&l);
    MUST(OP(outbox_list, OUTBOX_SENDING, 0, &l));
    assert_int_equal(l.n, 0);
    outbox_list_clear(&l);
}

#define OUTBOX_ROWS 100

struct claim_arg {
    struct store *st;
    pthread_barrier_t *go;
    char owner[32];
    char ids[OUTBOX_ROWS][TD_ID_LEN + 1];
    int n;
    int failures;
    char why[256];
};

static void *claim_thread(void *p)
{
    struct claim_arg *a = p;
    pthread_barrier_wait(a->go);
    for (;;) {
        struct td_err err = { 0 };
        struct td_outbox o = { 0 };
        if (!a->st->ops->outbox_claim(a->st, a->owner, 5000, 60000, &o, &err)) {
            if (err.code != TD_NOT_FOUND) {
                a->failures++;
                snprintf(a->why, sizeof a->why, "claim: %s: %.200s", td_code_name(err.code),
                         err.msg);
            }
            break;
        }
        if (a->n < OUTBOX_ROWS)
            memcpy(a->ids[a->n], o.id, TD_ID_LEN + 1);
        a->n++;
        if (!a->st->ops->outbox_finish(a->st, o.id, a->owner, OUTBOX_SENT, NULL, 0, &err)) {
            a->failures++;
            snprintf(a->why, sizeof a->why, "finish: %s: %.200s", td_code_name(err.code), err.msg);
        }
        outbox_clear(&o);
    }
    return NULL;
}

/* 4 claimers (two handles) drain 100 rows: each row exactly once. */
static void test_outbox_concurrent_claim(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char all[OUTBOX_ROWS][TD_ID_LEN + 1];
    for (int i = 0; i < OUTBOX_ROWS; i++)
        outbox_add(st, i, i % 7, all[i]);
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, 4), 0);
    struct claim_arg *args = td_calloc(4, sizeof *args);
    for (int i = 0; i < 4; i++) {
        args[i].st = i % 2 ? st2 : st;
        args[i].go = &go;
        snprintf(args[i].owner, sizeof args[i].owner, "claimer-%d", i);
    }
    run_threads(4, claim_thread, args, sizeof args[0]);
    pthread_barrier_destroy(&go);
    store_close(st2);

    int total = 0;
    for (int i = 0; i < 4; i++) {
        if (args[i].failures)
            fail_msg("%s: %d failures, last: %s", args[i].owner, args[i].failures, args[i].why);
        total += args[i].n;
    }
    if (total != OUTBOX_ROWS)
        fail_msg("%d claims for %d rows: a row was claimed twice or never", total, OUTBOX_ROWS);
    for (int r = 0; r < OUTBOX_ROWS; r++) {
        int seen = 0;
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < args[i].n; k++)
                seen += strcmp(args[i].ids[k], all[r]) == 0;
        if (seen != 1)
            fail_msg("row %s claimed %d times", all[r], seen);
    }
    free(args);
    struct td_outbox_list l = { 0 };
    MUST(OP(outbox_list, OUTBOX_SENT, 0, &l));
    assert_int_equal(l.n, OUTBOX_ROWS);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(l.v[i].attempts, 1);
    outbox_list_clear(&l);
}

/* The notification loop guard's counter (store.h allows a backend to
 * leave it NULL; both of ours have it, so NULL is a failure here). */
static void test_outbox_count_recent(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    if (st->ops->outbox_count_recent == NULL)
        fail_msg("%s has no outbox_count_recent", st->ops->name);
    struct td_outbox o;
    const struct {
        const char *to;
        td_time created;
    } rows[] = { { "r1@example.org", 100 }, { "r1@example.org", 200 },
                 { "r1@example.org", 300 }, { "r1@example.org", 400 },
                 { "r1@example.org", 500 }, { "r2@example.org", 250 } };
    char ids[6][TD_ID_LEN + 1];
    for (int i = 0; i < 6; i++) {
        outbox_new(&o, 1, rows[i].created, rows[i].created);
        free(o.recipient);
        o.recipient = td_strdup(rows[i].to);
        MUST(OP(outbox_insert, &o));
        memcpy(ids[i], o.id, sizeof ids[i]);
        outbox_clear(&o);
    }
    /* 100 is sent, 200 failed, 300 sending, 400 and 500 pending. */
    expect_claim(st, "s", 1000, 60000, ids[0], 1);
    MUST(OP(outbox_finish, ids[0], "s", OUTBOX_SENT, NULL, 0));
    expect_claim(st, "s", 1000, 60000, ids[1], 1);
    MUST(OP(outbox_finish, ids[1], "s", OUTBOX_FAILED, "550", 0));
    expect_claim(st, "s", 1000, 60000, ids[5], 1); /* r2's, created 250 */
    expect_claim(st, "s", 1000, 60000, ids[2], 1);

    int64_t n = -1;
    MUST(OP(outbox_count_recent, "r1@example.org", 0, &n));
    assert_int_equal(n, 4); /* all but the failed one */
    MUST(OP(outbox_count_recent, "r1@example.org", 300, &n));
    assert_int_equal(n, 3); /* created at or after */
    MUST(OP(outbox_count_recent, "r1@example.org", 501, &n));
    assert_int_equal(n, 0);
    MUST(OP(outbox_count_recent, "r2@example.org", 0, &n));
    assert_int_equal(n, 1);
    MUST(OP(outbox_count_recent, "R1@example.org", 0, &n));
    assert_int_equal(n, 0); /* the exact string */
    MUST(OP(outbox_count_recent, "nobody@example.org", 0, &n));
    assert_int_equal(n, 0);
}

/* ---- REST API: refresh tokens, attachment owner ------------------------------- */

static void token_make(struct td_refresh_token *t, const char *family, const char *user,
                       td_time expires)
{
    static atomic_uint counter;
    memset(t, 0, sizeof *t);
    snprintf(t->hash, sizeof t->hash, "%08x%056x", (unsigned)getpid(),
             atomic_fetch_add(&counter, 1) + 1);
    snprintf(t->family, sizeof t->family, "%s", family);
    snprintf(t->user_id, sizeof t->user_id, "%s", user);
    t->token_version = 7;
    t->created = 1000;
    t->expires = expires;
}

static void assert_token_eq(const struct td_refresh_token *a, const struct td_refresh_token *b)
{
    assert_string_equal(a->hash, b->hash);
    assert_string_equal(a->family, b->family);
    assert_string_equal(a->user_id, b->user_id);
    assert_int_equal(a->token_version, b->token_version);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->expires, b->expires);
    assert_int_equal(a->used_at, b->used_at);
    assert_int_equal(a->revoked, b->revoked);
}

static void test_token_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char fam[TD_ID_LEN + 1], user[TD_ID_LEN + 1];
    new_id(fam);
    new_id(user);
    struct td_refresh_token t, got;
    token_make(&t, fam, user, 99000);
    MUST(OP(token_insert, &t));
    MUST(OP(token_get, t.hash, &got));
    assert_token_eq(&got, &t);
    MUST_FAIL(TD_CONFLICT, OP(token_insert, &t));
    struct td_refresh_token other;
    token_make(&other, fam, user, 1);
    MUST_FAIL(TD_NOT_FOUND, OP(token_get, other.hash, &got));
}

static void test_token_rotation_and_revocation(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char fam[TD_ID_LEN + 1], fam2[TD_ID_LEN + 1], user[TD_ID_LEN + 1];
    new_id(fam);
    new_id(fam2);
    new_id(user);
    struct td_refresh_token a, b, c, got;
    token_make(&a, fam, user, 99000);
    token_make(&b, fam, user, 99000);
    token_make(&c, fam2, user, 99000);
    MUST(OP(token_insert, &a));
    MUST(OP(token_insert, &b));
    MUST(OP(token_insert, &c));

    /* First use succeeds and says when; every later one is a replay. */
    MUST(OP(token_mark_used_if_unused, a.hash, 5000, &got));
    a.used_at = 5000;
    assert_token_eq(&got, &a);
    MUST_FAIL(TD_CONFLICT, OP(token_mark_used_if_unused, a.hash, 6000, &got));
    MUST(OP(token_get, a.hash, &got));
    assert_int_equal(got.used_at, 5000);
    struct td_refresh_token unknown;
    token_make(&unknown, fam, user, 1);
    MUST_FAIL(TD_NOT_FOUND, OP(token_mark_used_if_unused, unknown.hash, 6000, &got));

    /* Revoking a family ends its unused tokens too; other families stay. */
    MUST(OP(token_revoke_family, fam));
    MUST(OP(token_get, b.hash, &got));
    assert_true(got.revoked);
    assert_int_equal(got.used_at, 0);
    MUST_FAIL(TD_CONFLICT, OP(token_mark_used_if_unused, b.hash, 7000, &got));
    MUST(OP(token_get, c.hash, &got));
    assert_false(got.revoked);
    MUST(OP(token_revoke_family, fam)); /* idempotent */
    char nofam[TD_ID_LEN + 1];
    new_id(nofam);
    MUST(OP(token_revoke_family, nofam));
    MUST(OP(token_mark_used_if_unused, c.hash, 8000, &got));
}

#define TOKEN_RACERS 8

struct token_race {
    struct store *st;
    const char *hash;
    pthread_barrier_t *go;
    int won, conflicts, other;
};

static void *token_race_thread(void *p)
{
    struct token_race *a = p;
    struct td_err err;
    struct td_refresh_token got;
    pthread_barrier_wait(a->go);
    td_err_clear(&err);
    if (a->st->ops->token_mark_used_if_unused(a->st, a->hash, 1234, &got, &err))
        a->won++;
    else if (err.code == TD_CONFLICT)
        a->conflicts++;
    else
        a->other++;
    return NULL;
}

/* Two refreshes with one token at once: exactly one wins, on every
 * round, across two handles. */
static void test_token_rotation_race(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));
    char fam[TD_ID_LEN + 1], user[TD_ID_LEN + 1];
    new_id(fam);
    new_id(user);
    for (int round = 0; round < 5; round++) {
        struct td_refresh_token t;
        token_make(&t, fam, user, 99000);
        MUST(OP(token_insert, &t));
        pthread_barrier_t go;
        assert_int_equal(pthread_barrier_init(&go, NULL, TOKEN_RACERS), 0);
        struct token_race args[TOKEN_RACERS];
        memset(args, 0, sizeof args);
        for (int i = 0; i < TOKEN_RACERS; i++) {
            args[i].st = i % 2 ? st2 : st;
            args[i].hash = t.hash;
            args[i].go = &go;
        }
        run_threads(TOKEN_RACERS, token_race_thread, args, sizeof args[0]);
        pthread_barrier_destroy(&go);
        int won = 0, conflicts = 0, other = 0;
        for (int i = 0; i < TOKEN_RACERS; i++) {
            won += args[i].won;
            conflicts += args[i].conflicts;
            other += args[i].other;
        }
        if (won != 1 || conflicts != TOKEN_RACERS - 1 || other != 0)
            fail_msg("round %d: %d won, %d conflicts, %d other errors", round, won, conflicts,
                     other);
    }
    store_close(st2);
}

static void test_token_purge(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char fam[TD_ID_LEN + 1], user[TD_ID_LEN + 1];
    new_id(fam);
    new_id(user);
    struct td_refresh_token t[3], got;
    for (int i = 0; i < 3; i++) {
        token_make(&t[i], fam, user, 100 * (i + 1));
        MUST(OP(token_insert, &t[i]));
    }
    int64_t n = -1;
    MUST(OP(token_purge, 250, &n));
    assert_int_equal(n, 2);
    MUST_FAIL(TD_NOT_FOUND, OP(token_get, t[0].hash, &got));
    MUST_FAIL(TD_NOT_FOUND, OP(token_get, t[1].hash, &got));
    MUST(OP(token_get, t[2].hash, &got));
    MUST(OP(token_purge, 250, NULL));
}

static void test_attachment_owner(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t t1 = ticket_add(st, "owner 1", 1000);
    int64_t t2 = ticket_add(st, "owner 2", 1000);
    struct td_comment pub, note;
    comment_new(&pub, t1, "see attached", false, NULL, 2000);
    comment_attach(&pub, "a.txt", "text/plain", 3);
    comment_attach(&pub, "b.txt", "text/plain", 3);
    comment_new(&note, t2, "internal attachment", true, NULL, 3000);
    comment_attach(&note, "secret.txt", "text/plain", 3);
    struct td_event ev = comment_event(&pub);
    MUST(OP(comment_insert, &pub, &ev));
    ev = comment_event(&note);
    MUST(OP(comment_insert, &note, &ev));

    int64_t ticket = 0;
    bool internal = true;
    MUST(OP(attachment_owner, pub.attachments[1].id, &ticket, &internal));
    assert_int_equal(ticket, t1);
    assert_false(internal);
    MUST(OP(attachment_owner, note.attachments[0].id, &ticket, &internal));
    assert_int_equal(ticket, t2);
    assert_true(internal);
    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(attachment_owner, missing, &ticket, &internal));
    comment_clear(&pub);
    comment_clear(&note);
}

/* ---- Mail gateway: quarantine --------------------------------------------------- */

static void quarantine_make(struct td_quarantine *q, const char *reason, td_time at,
                            const unsigned char *raw, size_t raw_len)
{
    memset(q, 0, sizeof *q);
    new_id(q->id);
    q->mailbox = td_strdup("support");
    q->uidvalidity = 7;
    q->uid = 42;
    q->msg_key = td_strdup("abc@example.com");
    q->reason = td_strdup(reason);
    q->sender = td_strdup("\"M\xc3\xbcller\" <m@example.com>");
    q->subject = td_strdup("Gr\xc3\xbc\xc3\x9f" "e");
    if (raw_len) {
        q->raw = td_malloc(raw_len);
        memcpy(q->raw, raw, raw_len);
    }
    q->raw_len = raw_len;
    q->created = q->updated = at;
}

static void test_quarantine_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    /* Raw mail is bytes, not text: NULs and 8-bit bytes survive. */
    unsigned char raw[300];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)(i * 7);
    struct td_quarantine q, got;
    quarantine_make(&q, "more than 500 MIME parts", 1000, raw, sizeof raw);
    q.raw_size = 5000; /* only the head was kept */
    MUST(OP(quarantine_put, &q));
    MUST(OP(quarantine_get, q.id, &got));
    assert_string_equal(got.id, q.id);
    assert_str(got.mailbox, "support");
    assert_int_equal(got.uidvalidity, 7);
    assert_int_equal(got.uid, 42);
    assert_str(got.msg_key, q.msg_key);
    assert_str(got.reason, q.reason);
    assert_str(got.sender, q.sender);
    assert_str(got.subject, q.subject);
    assert_int_equal(got.raw_len, sizeof raw);
    assert_memory_equal(got.raw, raw, sizeof raw);
    assert_int_equal(got.raw_size, 5000);
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.created, 1000);
    assert_int_equal(got.updated, 1000);
    quarantine_clear(&got);

    /* NULL sender/subject, no raw bytes, raw_size defaults to raw_len. */
    struct td_quarantine bare;
    quarantine_make(&bare, "no sender", 2000, NULL, 0);
    free(bare.sender);
    free(bare.subject);
    bare.sender = bare.subject = NULL;
    MUST(OP(quarantine_put, &bare));
    MUST(OP(quarantine_get, bare.id, &got));
    assert_null(got.sender);
    assert_null(got.subject);
    assert_int_equal(got.raw_len, 0);
    assert_int_equal(got.raw_size, 0);
    quarantine_clear(&got);

    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(quarantine_get, missing, &got));
    MUST_FAIL(TD_NOT_FOUND, OP(quarantine_delete, missing));
    MUST(OP(quarantine_delete, q.id));
    MUST_FAIL(TD_NOT_FOUND, OP(quarantine_get, q.id, &got));
    quarantine_clear(&q);
    quarantine_clear(&bare);
}

/* The same mail quarantined again: one entry, the new reason, one more
 * attempt, the first raw bytes and created time kept. */
static void test_quarantine_put_again(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_quarantine q, again, got;
    quarantine_make(&q, "rate limit", 1000, (const unsigned char *)"first", 5);
    MUST(OP(quarantine_put, &q));
    quarantine_make(&again, "still over the rate limit", 3000, (const unsigned char *)"second", 6);
    memcpy(again.id, q.id, sizeof again.id);
    again.uid = 99; /* found again at another UID (after UIDVALIDITY changed) */
    again.uidvalidity = 8;
    MUST(OP(quarantine_put, &again));
    MUST(OP(quarantine_get, q.id, &got));
    assert_str(got.reason, "still over the rate limit");
    assert_int_equal(got.attempts, 2);
    assert_int_equal(got.raw_len, 5);
    assert_memory_equal(got.raw, "first", 5);
    assert_int_equal(got.created, 1000);
    assert_int_equal(got.updated, 3000);
    assert_int_equal(got.uid, 99);
    assert_int_equal(got.uidvalidity, 8);
    quarantine_clear(&got);
    /* A put without a place (an admin's retry) keeps the old one. */
    free(again.mailbox);
    again.mailbox = td_strdup("");
    again.uid = 0;
    again.uidvalidity = 0;
    MUST(OP(quarantine_put, &again));
    MUST(OP(quarantine_get, q.id, &got));
    assert_str(got.mailbox, "support");
    assert_int_equal(got.uid, 99);
    assert_int_equal(got.attempts, 3);
    quarantine_clear(&got);

    struct td_quarantine_list l = { NULL, 0 };
    MUST(OP(quarantine_list, 0, &l));
    assert_int_equal(l.n, 1);
    quarantine_list_clear(&l);
    quarantine_clear(&q);
    quarantine_clear(&again);
}

static void test_quarantine_list(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char ids[5][TD_ID_LEN + 1];
    for (int i = 0; i < 5; i++) {
        struct td_quarantine q;
        char reason[32];
        snprintf(reason, sizeof reason, "reason %d", i);
        quarantine_make(&q, reason, 1000 + i * 10, (const unsigned char *)"raw", 3);
        MUST(OP(quarantine_put, &q));
        memcpy(ids[i], q.id, sizeof ids[i]);
        quarantine_clear(&q);
    }
    struct td_quarantine_list l = { NULL, 0 };
    MUST(OP(quarantine_list, 0, &l));
    assert_int_equal(l.n, 5);
    for (int i = 0; i < 5; i++) {
        /* newest first, without the raw bytes */
        assert_string_equal(l.v[i].id, ids[4 - i]);
        assert_null(l.v[i].raw);
        assert_int_equal(l.v[i].raw_len, 0);
        assert_int_equal(l.v[i].raw_size, 3);
        char reason[32];
        snprintf(reason, sizeof reason, "reason %d", 4 - i);
        assert_str(l.v[i].reason, reason);
    }
    quarantine_list_clear(&l);
    MUST(OP(quarantine_list, 2, &l));
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].id, ids[4]);
    quarantine_list_clear(&l);
}

static void test_quarantine_limits(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_quarantine q;
    quarantine_make(&q, "too big", 1000, NULL, 0);
    q.raw_len = STORE_QUARANTINE_MAX_RAW + 1;
    q.raw = td_calloc(1, q.raw_len);
    MUST_FAIL(TD_INVALID, OP(quarantine_put, &q));
    quarantine_clear(&q);
    /* The largest raw mail allowed goes in and comes back whole. */
    quarantine_make(&q, "big but allowed", 1000, NULL, 0);
    q.raw_len = STORE_QUARANTINE_MAX_RAW;
    q.raw = td_malloc(q.raw_len);
    for (size_t i = 0; i < q.raw_len; i += 4096)
        q.raw[i] = (unsigned char)(i >> 12);
    q.raw[q.raw_len - 1] = 0xAB;
    MUST(OP(quarantine_put, &q));
    struct td_quarantine got;
    MUST(OP(quarantine_get, q.id, &got));
    assert_int_equal(got.raw_len, q.raw_len);
    assert_int_equal(got.raw[q.raw_len - 1], 0xAB);
    assert_int_equal(got.raw[4096 * 5], 5);
    quarantine_clear(&got);
    quarantine_clear(&q);
}

#define QUARANTINE_RACERS 8

struct quarantine_race {
    struct store *st;
    const struct td_quarantine *q;
    pthread_barrier_t *go;
    bool ok;
};

static void *quarantine_race_thread(void *p)
{
    struct quarantine_race *a = p;
    struct td_err err;
    td_err_clear(&err);
    pthread_barrier_wait(a->go);
    a->ok = a->st->ops->quarantine_put(a->st, a->q, &err);
    return NULL;
}

/* Two pollers quarantining one mail at once: one entry, every put
 * counted. */
static void test_quarantine_race(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));
    struct td_quarantine q;
    quarantine_make(&q, "raced", 1000, (const unsigned char *)"raw", 3);
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, QUARANTINE_RACERS), 0);
    struct quarantine_race args[QUARANTINE_RACERS];
    for (int i = 0; i < QUARANTINE_RACERS; i++)
        args[i] = (struct quarantine_race){ i % 2 ? st2 : st, &q, &go, false };
    run_threads(QUARANTINE_RACERS, quarantine_race_thread, args, sizeof args[0]);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < QUARANTINE_RACERS; i++)
        assert_true(args[i].ok);
    struct td_quarantine got;
    MUST(OP(quarantine_get, q.id, &got));
    assert_int_equal(got.attempts, QUARANTINE_RACERS);
    quarantine_clear(&got);
    struct td_quarantine_list l = { NULL, 0 };
    MUST(OP(quarantine_list, 0, &l));
    assert_int_equal(l.n, 1);
    quarantine_list_clear(&l);
    quarantine_clear(&q);
    store_close(st2);
}

/* ---- main ---------------------------------------------------------------------- */

#define T(f) cmocka_unit_test_setup_teardown(f, store_fixture_setup, store_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ping_and_reopen),
        T(test_user_roundtrip),
        T(test_user_conflict_and_not_found),
        T(test_user_update),
        T(test_user_list),
        T(test_ticket_next_number),
        T(test_ticket_next_number_concurrent),
        T(test_ticket_roundtrip),
        T(test_ticket_insert_conflicts),
        T(test_ticket_update_cas),
        T(test_ticket_update_race),
        T(test_ticket_list_filters),
        T(test_ticket_list_text),
        T(test_ticket_list_pagination),
        T(test_ticket_list_limits),
        T(test_ticket_msgid),
        T(test_comment_roundtrip),
        T(test_comment_order_same_time),
        T(test_comment_conflicts),
        T(test_history_order),
        T(test_attachments),
        T(test_msgid_map),
        T(test_lease),
        T(test_lease_race),
        T(test_outbox_claim_order),
        T(test_outbox_lease_expiry),
        T(test_outbox_finish_retry),
        T(test_outbox_list),
        T(test_outbox_concurrent_claim),
        T(test_outbox_count_recent),
        T(test_token_roundtrip),
        T(test_token_rotation_and_revocation),
        T(test_token_rotation_race),
        T(test_token_purge),
        T(test_attachment_owner),
        T(test_quarantine_roundtrip),
        T(test_quarantine_put_again),
        T(test_quarantine_list),
        T(test_quarantine_limits),
        T(test_quarantine_race),
    };
    return store_fixture_run_all("store_conformance", tests, sizeof tests / sizeof tests[0]) ? 1
                                                                                            : 0;
}
