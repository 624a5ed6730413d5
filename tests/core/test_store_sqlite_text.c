/* test_store_sqlite_text.c - the search index's write queue on SQLite
 * (core/store/sqlite/store_sqlite_text.c): texts written by concurrent
 * operations, which share commits, are all in the index at the commit
 * and none is left queued; an operation that fails leaves none of its
 * text behind; a store made before the queue (schema 14) keeps its index
 * and is kept up to date through the queue after the upgrade. What a
 * search returns is the shared contract (test_store_list.c). */
#include "tests/core/conformance.h"

#include <sqlite3.h>

#include "core/store/sqlite/store_sqlite_int.h" /* sq_open_at_version */
#include "tests/support/harness.h"

#define THREADS 8
#define PER_THREAD 25

struct fx {
    char dir[256];
    char path[300];
    struct store *st;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    struct td_err err;
    if (fx == NULL || !harness_tempdir(fx->dir, sizeof fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/t.db", fx->dir);
    char uri[320];
    snprintf(uri, sizeof uri, "sqlite:%s", fx->path);
    if (!store_open(uri, &fx->st, &err)) {
        harness_rmtree(fx->dir);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    store_close(fx->st);
    harness_rmtree(fx->dir);
    free(fx);
    return 0;
}

/* One number from the file, through a connection of our own. */
static int64_t query_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

/* FTS5's own check of its index against itself: 0 when sound. */
static int integrity(const char *path)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "INSERT INTO ticket_text(ticket_text, rank) VALUES ('integrity-check', 0)",
                          NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

struct writer {
    struct store *st;
    int k;
    int64_t ticket;
    atomic_int *wrong;
};

/* PER_THREAD comments, each with a word of its own ("wordKxI"); every
 * fifth also tries a Message-ID already taken, which must fail alone and
 * take its text ("lostKxI") with it. */
static void *writer(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char body[64], msgid[64];
        snprintf(body, sizeof body, "reply word%dx%d", w->k, i);
        snprintf(msgid, sizeof msgid, "m%d.%d@example.org", w->k, i);
        struct td_comment c;
        comment_new(&c, w->ticket, body, false, msgid, 1000 + i);
        struct td_event ev = comment_event(&c);
        struct td_err err;
        if (!w->st->ops->comment_insert(w->st, &c, &ev, &err))
            atomic_fetch_add(w->wrong, 1);
        comment_clear(&c);
        if (i % 5 == 4) {
            snprintf(body, sizeof body, "dup lost%dx%d", w->k, i);
            comment_new(&c, w->ticket, body, false, msgid, 2000 + i); /* the same Message-ID */
            ev = comment_event(&c);
            if (w->st->ops->comment_insert(w->st, &c, &ev, &err) || err.code != TD_CONFLICT)
                atomic_fetch_add(w->wrong, 1);
            comment_clear(&c);
        }
    }
    return NULL;
}

static void concurrent_texts_are_indexed_at_their_commit(void **state)
{
    struct fx *fx = *state;
    struct store *st = fx->st;
    atomic_int wrong;
    atomic_init(&wrong, 0);
    struct writer w[THREADS];
    for (int k = 0; k < THREADS; k++)
        w[k] = (struct writer){ st, k, ticket_add(st, "Group search", 10 + k), &wrong };
    run_threads(THREADS, writer, w, sizeof w[0]);
    assert_int_equal(atomic_load(&wrong), 0);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM text_queue"), 0);
    assert_int_equal(integrity(fx->path), SQLITE_OK);
    for (int k = 0; k < THREADS; k++) {
        for (int i = 0; i < PER_THREAD; i++) {
            char word[32];
            snprintf(word, sizeof word, "word%dx%d", k, i);
            struct td_ticket_filter f = { .text = word };
            EXPECT_LIST(&f, w[k].ticket);
            if (i % 5 == 4) {
                snprintf(word, sizeof word, "lost%dx%d", k, i);
                f.text = word;
                EXPECT_EMPTY(&f);
            }
        }
    }
    struct td_ticket_filter f = { .text = "group" }; /* the subjects, queued by the tickets' insert */
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM ticket_docs WHERE comment_id IS NULL"),
                     THREADS);
    struct td_ticket_list l;
    struct td_err err;
    MUST(st->ops->ticket_list(st, &f, &l, &err));
    assert_int_equal(l.n, THREADS);
    ticket_list_clear(&l);
}

/* Schema 14 wrote the index from its triggers; after the upgrade the
 * old texts are still found, and changing one through the queue removes
 * exactly the text the index holds (a contentless FTS5 table corrupts
 * itself when told the wrong one: integrity-check would say so). */
static void a_schema_14_store_keeps_its_index(void **state)
{
    (void)state;
    char dir[256], path[300], uri[320];
    assert_true(harness_tempdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/old.db", dir);
    struct td_err err;
    struct store *st = NULL;
    MUST(sq_open_at_version(path, 14, &st, &err));
    int64_t t1 = ticket_add(st, "Espresso machine", 10);
    struct td_comment c;
    comment_new(&c, t1, "the grinder jams", false, NULL, 11);
    snprintf(c.author_id, sizeof c.author_id, "%s", "aaaaaaaaaaaaaaaaaaaaaaaa");
    struct td_event ev = comment_event(&c);
    MUST(st->ops->comment_insert(st, &c, &ev, &err));
    comment_clear(&c);
    store_close(st);

    snprintf(uri, sizeof uri, "sqlite:%s", path);
    MUST(store_open(uri, &st, &err));
    struct td_ticket_filter f = { .text = "grinder" };
    EXPECT_LIST(&f, t1);
    f.text = "espresso";
    EXPECT_LIST(&f, t1);
    struct td_erasure gone;
    memset(&gone, 0, sizeof gone);
    MUST(st->ops->erase_comments(st, "aaaaaaaaaaaaaaaaaaaaaaaa", "[erased]", &gone, &err));
    erasure_clear(&gone);
    f.text = "grinder";
    EXPECT_EMPTY(&f);
    f.text = "erased";
    EXPECT_LIST(&f, t1);
    comment_add(st, t1, "descaling helped", false, 12);
    f.text = "descaling";
    EXPECT_LIST(&f, t1);
    store_close(st);
    assert_int_equal(query_int(path, "SELECT count(*) FROM text_queue"), 0);
    assert_int_equal(integrity(path), SQLITE_OK);
    harness_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(concurrent_texts_are_indexed_at_their_commit, setup, teardown),
        cmocka_unit_test(a_schema_14_store_keeps_its_index),
    };
    return cmocka_run_group_tests_name("store_sqlite_text", tests, NULL, NULL);
}
