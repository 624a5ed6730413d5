/* sqlite_raw.h - a test's own look at an SQLite store file, outside the
 * store: the EXPLAIN QUERY PLAN of a statement (for the tests that check
 * the backend answers from its indexes: no scan, no sort) and statements
 * run as they are (rows as an older schema held them). Header-only, like
 * the other fixtures. */
#ifndef TD_TEST_SQLITE_RAW_H
#define TD_TEST_SQLITE_RAW_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/support/harness.h"

/* Every detail line of the plan of sql on db, joined by '\n' (caller
 * frees). Fails the test when sql does not prepare. */
static inline char *sqlite_plan_of(sqlite3 *db, const char *sql)
{
    char q[1024];
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    size_t cap = 4096, len = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        len += (size_t)snprintf(out + len, cap - len, "%s\n", d ? d : "");
        assert_true(len < cap);
    }
    sqlite3_finalize(st);
    return out;
}

/* The same, on the database file at path (opened read-only). */
static inline char *sqlite_plan_of_file(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char *p = sqlite_plan_of(db, sql);
    sqlite3_close(db);
    return p;
}

/* Runs sql (one or more statements) on the file at path; fails the test
 * with SQLite's message when it fails. */
/* sql on an open connection; fails the test with SQLite's message. */
static inline void sqlite_raw_exec_on(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static inline void sqlite_raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite_raw_exec_on(db, sql);
    sqlite3_close(db);
}

/* A fresh directory for one test's database file: its path and the
 * store URI of it (harness_rmtree(dir) when done). */
struct dbdir {
    char dir[256], path[300], uri[320];
};

static inline void dbdir_make(struct dbdir *d)
{
    assert_true(harness_tempdir(d->dir, sizeof d->dir));
    snprintf(d->path, sizeof d->path, "%s/t.db", d->dir);
    snprintf(d->uri, sizeof d->uri, "sqlite:%s", d->path);
}

#endif
