/* test_store_sqlite_ckpt.c - WAL checkpoints of the SQLite store run on
 * its checkpoint thread, not inside a commit
 * (core/store/sqlite/store_sqlite_ckpt.c): after more than
 * SQ_CKPT_FRAMES pages of commits the thread has checkpointed, no commit
 * did, the WAL starts over instead of growing, and every row is there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/id.h"
#include "core/stats.h"
#include "core/store/store.h"
#include "tests/support/harness.h"
#include "tests/support/store_commits.h"

#define USERS 1500  /* each with a ~3 kB name: a page or so each */
#define PER_BATCH 100
#define CKPT_FAMILY "ticketd_store_checkpoints_total"
#define BACKGROUND CKPT_FAMILY "{where=\"background\"}"
#define INLINE CKPT_FAMILY "{where=\"inline\"}"

static bool insert_user(struct store *st, int i, const char *name, struct td_err *err)
{
    struct td_user u;
    memset(&u, 0, sizeof u);
    id_new(u.id);
    char email[64];
    snprintf(email, sizeof email, "ckpt-%d@example.org", i);
    u.email = email; /* borrowed: the store only reads */
    u.name = (char *)name;
    u.role = ROLE_CUSTOMER;
    u.token_version = 1;
    u.created = u.updated = td_now();
    return st->ops->user_insert(st, &u, err);
}

/* Pages in the WAL now: mxFrame of the wal-index header, the u32 at
 * offset 16 of the -shm file in native byte order (sqlite.org/walformat
 * 2.1). Read without a connection, which could checkpoint itself. */
static int wal_frames(const char *path)
{
    char shm[320];
    snprintf(shm, sizeof shm, "%s-shm", path);
    int fd = open(shm, O_RDONLY);
    uint32_t mx = 0;
    ssize_t n = fd >= 0 ? pread(fd, &mx, sizeof mx, 16) : -1;
    if (fd >= 0)
        close(fd);
    return n == (ssize_t)sizeof mx ? (int)mx : -1;
}

static void test_checkpoints_leave_the_writer(void **state)
{
    (void)state;
    char dir[256], path[300], uri[320];
    assert_true(harness_tempdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    struct store *st = NULL;
    struct td_err err;
    assert_true(store_open(uri, &st, &err));
    char *name = malloc(3001);
    memset(name, 'n', 3000);
    name[3000] = '\0';

    int64_t bg0 = metric_sample(CKPT_FAMILY, BACKGROUND);
    int64_t in0 = metric_sample(CKPT_FAMILY, INLINE);
    assert_true(bg0 >= 0 && in0 >= 0);
    for (int i = 0; i < USERS; i += PER_BATCH) {
        assert_true(st->ops->batch_begin(st, &err));
        for (int k = i; k < i + PER_BATCH; k++)
            if (!insert_user(st, k, name, &err))
                fail_msg("user %d: %s", k, err.msg);
        assert_true(st->ops->batch_end(st, true, &err));
    }
    /* The thread was woken past SQ_CKPT_FRAMES; give it up to 10 s. */
    int64_t bg = bg0;
    for (int i = 0; i < 1000 && bg == bg0; i++) {
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        nanosleep(&pause, NULL);
        bg = metric_sample(CKPT_FAMILY, BACKGROUND);
    }
    assert_true(bg > bg0);
    assert_int_equal(metric_sample(CKPT_FAMILY, INLINE), in0);

    /* Once the thread has caught up, the next commit starts the WAL over:
     * it does not keep growing. Each commit while it is still long wakes
     * the thread again; within 5 s of small commits it is short. */
    int frames = -1, extra = 0;
    for (; extra < 500; extra++) {
        assert_true(insert_user(st, USERS + extra, "after", &err));
        frames = wal_frames(path);
        if (frames >= 0 && frames < 1000)
            break;
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    if (frames < 0 || frames >= 1000)
        fail_msg("the WAL still holds %d pages after %d more commits", frames, extra);
    extra++;

    struct td_user_list all = { 0 };
    assert_true(st->ops->user_list(st, -1, &all, &err));
    assert_int_equal(all.n, USERS + extra);
    user_list_clear(&all);
    free(name);
    store_close(st);
    harness_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoints_leave_the_writer),
    };
    return cmocka_run_group_tests_name("store_sqlite_ckpt", tests, NULL, NULL);
}
