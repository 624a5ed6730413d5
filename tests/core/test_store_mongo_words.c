/* test_store_mongo_words.c - what only the MongoDB backend promises about
 * text search: tickets written before the search words existed (no
 * wsub/wpub/wint fields) get them when a store is opened, so they are
 * found like any other. (On SQLite the same is migration 5, checked in
 * test_store_sqlite_list.c.) */
#include "tests/core/conformance.h"

#include <mongoc/mongoc.h>

/* Removes the search words of every ticket, as an older ticketd wrote them. */
static void strip_words(const char *uri)
{
    bson_error_t e;
    mongoc_uri_t *u = mongoc_uri_new_with_error(uri, &e);
    assert_non_null(u);
    mongoc_client_t *client = mongoc_client_new_from_uri(u);
    assert_non_null(client);
    const char *db = mongoc_uri_get_database(u);
    mongoc_collection_t *c = mongoc_client_get_collection(client, db ? db : "ticketd", "tickets");
    bson_t *filter = bson_new();
    bson_t *update = BCON_NEW("$unset", "{", "wsub", BCON_UTF8(""), "wpub", BCON_UTF8(""), "wint",
                              BCON_UTF8(""), "}");
    if (!mongoc_collection_update_many(c, filter, update, NULL, NULL, &e))
        fail_msg("unset: %s", e.message);
    bson_destroy(update);
    bson_destroy(filter);
    mongoc_collection_destroy(c);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(u);
}

static void test_words_filled_on_open(void **state)
{
    struct store_fixture *fx = FX(state);
    if (fx->backend != STORE_BACKEND_MONGODB)
        return; /* SQLite: test_store_sqlite_list.c */
    struct store *st = fx->st;
    int64_t t1 = ticket_add(st, "Kettle descaling", 10);
    int64_t t2 = ticket_add(st, "Other", 20);
    comment_add(st, t2, "the kettle again", false, 21);
    comment_add(st, t1, "private remark", true, 22);
    strip_words(fx->uri);
    struct td_ticket_filter f = { .text = "kettle" };
    EXPECT_EMPTY(&f); /* as an older ticketd left them */

    struct td_err err;
    struct store *again = NULL;
    MUST(store_open(fx->uri, &again, &err));
    st = again;
    EXPECT_LIST(&f, t2, t1);
    f.text = "private";
    EXPECT_EMPTY(&f);
    f.text_internal = true;
    EXPECT_LIST(&f, t1);
    store_close(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_words_filled_on_open, store_fixture_setup,
                                        store_fixture_teardown),
    };
    return store_fixture_run_all("store_mongo_words", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
