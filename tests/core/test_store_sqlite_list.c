/* test_store_sqlite_list.c - what only the SQLite backend promises about
 * lists: every list filter is answered by an index (EXPLAIN QUERY PLAN
 * never walks the tickets table), and a database made before the search
 * index gets it filled on open; a restricted agent's list joins the
 * assignee and queue indexes (then sorts), or walks the status index in
 * order when a status is asked. The results themselves are the shared
 * contract (test_store_list.c). */
#include "tests/core/conformance.h"

#include "core/buf.h"
#include "core/store/sqlite/store_sqlite_int.h" /* sq_list_plan, sq_open_at_version */
#include "tests/support/harness.h"

static char *plan(struct store *st, const struct td_ticket_filter *f)
{
    struct td_err err;
    struct buf b = BUF_INIT;
    MUST(sq_list_plan(st, f, &b, &err));
    buf_putc(&b, '\0');
    return buf_steal(&b);
}

/* The plan must read the tickets table only by a key or through want
 * (an index name, or "" for the primary key alone), never "SCAN t". */
static void expect_indexed(struct store *st, const char *what, const struct td_ticket_filter *f,
                           const char *want)
{
    char *p = plan(st, f);
    bool scans = strstr(p, "SCAN t\n") != NULL || strstr(p, "SCAN t USING") != NULL ||
                 strstr(p, "SCAN g") != NULL || strstr(p, "SCAN d") != NULL;
    bool uses = want[0] == '\0' || strstr(p, want) != NULL;
    /* With a requester, its index (or the union's) drives: never another
     * filter's index walked for that person's few tickets. */
    if (f->requester_id != NULL && f->text == NULL && f->tag == NULL)
        uses = uses && strstr(p, "tickets_status") == NULL && strstr(p, "tickets_assignee") == NULL &&
               strstr(p, "tickets_queue") == NULL && strstr(p, "tickets_priority") == NULL;
    /* An equality filter's index is in list order: sorting what it
     * found would read every match, however many. */
    bool sorts = strstr(p, "TEMP B-TREE FOR ORDER BY") != NULL && f->text == NULL &&
                 f->updated_since == 0 && !f->or_participant;
    /* "Or participant" sorts the union of one person's tickets (as many
     * as that person has, whatever the table's size); a tag in the
     * console's updated order sorts the tag's tickets. */
    sorts = sorts && !(f->tag != NULL && f->by_updated);
    /* A restricted agent's list joins two index walks (their own tickets
     * by assignee, their groups' queues by queue) and sorts what they
     * found: it grows with their groups' tickets, not with the table. */
    if (f->in_groups_of != NULL && !f->by_status) {
        sorts = false;
        uses = uses && strstr(p, "tickets_assignee") != NULL &&
               strstr(p, "group_members_user") != NULL;
    }
    if (scans || !uses || sorts)
        fail_msg("the list by %s is not answered by %s:\n%s", what, want[0] ? want : "a key", p);
    free(p);
}

static void test_every_filter_uses_an_index(void **state)
{
    struct store *st = FX(state)->st;
    /* Some rows, so the plans are not those of an empty table. */
    for (int i = 0; i < 50; i++) {
        int64_t n = ticket_add(st, "Seeded ticket", 10 + i);
        comment_add(st, n, "a comment with words", i % 3 == 0, 100 + i);
    }
    char id[TD_ID_LEN + 1];
    new_id(id);
    struct {
        const char *what, *index;
        struct td_ticket_filter f;
    } cases[] = {
        { "nothing", "", { 0 } },
        { "status", "tickets_status", { .by_status = true, .status = STATUS_OPEN } },
        { "priority", "tickets_priority", { .by_priority = true, .priority = PRIORITY_HIGH } },
        { "assignee", "tickets_assignee", { .assignee_id = id } },
        { "no assignee", "tickets_assignee", { .assignee_id = "" } },
        { "requester (a customer's own list)", "tickets_requester", { .requester_id = id } },
        { "tag", "ticket_tags_tag", { .tag = "billing" } },
        { "tag, ascending, after", "ticket_tags_tag", { .tag = "billing", .ascending = true, .after = 7 } },
        { "tag and status", "ticket_tags_tag", { .tag = "billing", .by_status = true } },
        { "queue", "tickets_queue", { .queue = "first-line" } },
        { "updated since (the reconciler)", "tickets_updated",
          { .updated_since = 1000, .ascending = true, .after = 3 } },
        { "requester and updated since (the mail rate limit)", "tickets_requester",
          { .requester_id = id, .updated_since = 1000 } },
        { "text", "VIRTUAL TABLE", { .text = "printer" } },
        { "text with notes", "VIRTUAL TABLE", { .text = "printer fire", .text_internal = true } },
        { "status, ascending, after", "tickets_status",
          { .by_status = true, .status = STATUS_NEW, .ascending = true, .after = 5 } },
        { "requester and text", "", { .requester_id = id, .text = "printer" } },
        { "status and no assignee", "", { .by_status = true, .assignee_id = "" } },
        /* The web console: last updated first, with its keyset cursor. */
        { "updated order", "tickets_updated", { .by_updated = true } },
        { "updated order, after", "tickets_updated",
          { .by_updated = true, .after_updated = 5000, .after = 9 } },
        { "status, updated order", "tickets_status_updated",
          { .by_updated = true, .by_status = true, .status = STATUS_OPEN, .after_updated = 5000,
            .after = 9 } },
        { "assignee, updated order", "tickets_assignee_updated",
          { .by_updated = true, .assignee_id = id } },
        { "no assignee, updated order", "tickets_assignee_updated",
          { .by_updated = true, .assignee_id = "" } },
        { "requester, updated order", "tickets_requester_updated",
          { .by_updated = true, .requester_id = id } },
        { "queue, updated order", "tickets_queue_updated",
          { .by_updated = true, .queue = "first-line" } },
        /* A customer's own list: requested or taking part. */
        { "requester or participant", "ticket_participants_user",
          { .requester_id = id, .or_participant = true } },
        { "requester or participant, updated order", "ticket_participants_user",
          { .requester_id = id, .or_participant = true, .by_updated = true } },
        { "requester or participant, status", "ticket_participants_user",
          { .requester_id = id, .or_participant = true, .by_status = true } },
        { "requester and status", "tickets_requester",
          { .requester_id = id, .by_status = true, .status = STATUS_OPEN } },
        { "requester, status, updated order", "tickets_requester_updated",
          { .requester_id = id, .by_status = true, .by_updated = true } },
        /* A restricted agent: their own tickets and their groups' queues. */
        { "a restricted agent's tickets", "tickets_queue", { .in_groups_of = id } },
        { "a restricted agent's tickets, updated order", "tickets_queue",
          { .in_groups_of = id, .by_updated = true } },
        /* With a status, the status index in list order: the page fills
         * with the group's tickets as they come (no sort). */
        { "a restricted agent's tickets, status", "tickets_status",
          { .in_groups_of = id, .by_status = true, .status = STATUS_OPEN } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_indexed(st, cases[i].what, &cases[i].f, cases[i].index);
}

static void test_search_index_filled_on_migration(void **state)
{
    (void)state;
    char dir[256], path[300];
    assert_true(harness_tempdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/old.db", dir);
    struct td_err err;
    struct store *st = NULL;
    MUST(sq_open_at_version(path, 10, &st, &err)); /* before the search index (11) */
    int64_t t1 = ticket_add(st, "Kettle descaling", 10);
    int64_t t2 = ticket_add(st, "Other", 20);
    comment_add(st, t2, "the kettle again", false, 21);
    comment_add(st, t1, "private remark", true, 22);
    store_close(st);

    char uri[320];
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    MUST(store_open(uri, &st, &err));
    struct td_ticket_filter f = { .text = "kettle" };
    EXPECT_LIST(&f, t2, t1);
    f.text = "private";
    EXPECT_EMPTY(&f);
    f.text_internal = true;
    EXPECT_LIST(&f, t1);
    /* and the triggers run from now on */
    comment_add(st, t2, "newword", false, 30);
    f = (struct td_ticket_filter){ .text = "newword" };
    EXPECT_LIST(&f, t2);
    store_close(st);
    harness_rmtree(dir);
}

int main(void)
{
#define SQ(f) cmocka_unit_test_setup_teardown(f, store_fixture_setup_sqlite, store_fixture_teardown)
    const struct CMUnitTest tests[] = {
        SQ(test_every_filter_uses_an_index),
        cmocka_unit_test(test_search_index_filled_on_migration),
    };
    return cmocka_run_group_tests_name("store_sqlite_list", tests, NULL, NULL);
}
