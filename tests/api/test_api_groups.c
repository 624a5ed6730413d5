/* test_api_groups.c - groups and followers over HTTP, on a real ticketd
 * against each store backend:
 *   - admins create, rename, delete groups and change membership; agents
 *     read them; customers get 403; bad keys 400, a taken key 409;
 *   - only active agents and admins join (a customer is 400);
 *   - before any group exists a queue is free text; once one exists a
 *     move to an unknown group is 422 and a move to a group is recorded
 *     in the history (kind "queue"); opening a ticket in an unknown group
 *     is 422 too (mail is never refused for it);
 *   - agents follow and unfollow a ticket (user id or "me"); followers are
 *     its staff participants; customers cannot follow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/api/api_fixture.h"

static struct tdsrv *srv(void **state)
{
    return *state;
}

static json_t *items(const struct http *h)
{
    return json_object_get(h->json, "items");
}

static int64_t open_ticket(struct tdsrv *s, const struct tduser *u, const char *subject)
{
    struct http h;
    assert_int_equal(http_json(s, "POST", "/api/v1/tickets", u->access, &h,
                               "{\"subject\":\"%s\",\"body\":\"b\"}", subject), 201);
    int64_t n = jint(&h, "number");
    http_clear(&h);
    return n;
}

static void groups_crud(void **state)
{
    struct tdsrv *s = srv(state);
    struct http h;
    char path[160];
    /* Free text while no group exists. */
    int64_t n = open_ticket(s, &s->cust1, "before groups");
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    assert_int_equal(http_json(s, "PATCH", path, s->agent1.access, &h, "{\"queue\":\"anything\"}"), 200);
    http_clear(&h);

    assert_int_equal(http_json(s, "POST", "/api/v1/groups", s->agent1.access, &h,
                               "{\"key\":\"billing\"}"), 403);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", "/api/v1/groups", s->admin.access, &h,
                               "{\"key\":\"bad key\"}"), 400);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", "/api/v1/groups", s->admin.access, &h,
                               "{\"key\":\"billing\",\"name\":\"Billing\"}"), 201);
    assert_string_equal(jstr(&h, "key"), "billing");
    assert_string_equal(jstr(&h, "name"), "Billing");
    assert_int_equal(json_array_size(json_object_get(h.json, "members")), 0);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", "/api/v1/groups", s->admin.access, &h,
                               "{\"key\":\"billing\"}"), 409);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", "/api/v1/groups", s->admin.access, &h,
                               "{\"key\":\"hardware\"}"), 201);
    assert_string_equal(jstr(&h, "name"), "hardware"); /* the key when no name */
    http_clear(&h);

    assert_int_equal(http_get(s, "/api/v1/groups", s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(items(&h)), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items(&h), 0), "key")),
                        "billing");
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/groups", s->cust1.access, &h), 403);
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/groups/nope", s->agent1.access, &h), 404);
    http_clear(&h);

    assert_int_equal(http_json(s, "PATCH", "/api/v1/groups/hardware", s->agent1.access, &h,
                               "{\"name\":\"HW\"}"), 403);
    http_clear(&h);
    assert_int_equal(http_json(s, "PATCH", "/api/v1/groups/hardware", s->admin.access, &h,
                               "{\"name\":\"Hardware\"}"), 200);
    assert_string_equal(jstr(&h, "name"), "Hardware");
    http_clear(&h);

    /* Membership. */
    snprintf(path, sizeof path, "/api/v1/groups/billing/members/%s", s->agent1.u.id);
    assert_int_equal(http_json(s, "POST", path, s->agent2.access, &h, NULL), 403);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", path, s->admin.access, &h, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "members")), 1);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", path, s->admin.access, &h, NULL), 200); /* again */
    assert_int_equal(json_array_size(json_object_get(h.json, "members")), 1);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/groups/billing/members/%s", s->cust1.u.id);
    assert_int_equal(http_json(s, "POST", path, s->admin.access, &h, NULL), 400);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/groups/nope/members/%s", s->agent2.u.id);
    assert_int_equal(http_json(s, "POST", path, s->admin.access, &h, NULL), 404);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/groups/billing/members/%s", s->agent2.u.id);
    assert_int_equal(http_req(s, "DELETE", path, s->admin.access, NULL, NULL, 0, NULL, &h), 404);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/groups/billing/members/%s", s->agent1.u.id);
    assert_int_equal(http_req(s, "DELETE", path, s->admin.access, NULL, NULL, 0, NULL, &h), 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "members")), 0);
    http_clear(&h);

    /* Groups exist now: a move is to a group or 422. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    assert_int_equal(http_json(s, "PATCH", path, s->agent1.access, &h, "{\"queue\":\"nowhere\"}"), 422);
    assert_non_null(strstr(jstr(&h, "detail"), "no group"));
    assert_non_null(strstr(jstr(&h, "detail"), "billing"));
    http_clear(&h);
    assert_int_equal(http_json(s, "PATCH", path, s->agent1.access, &h, "{\"queue\":\"billing\"}"), 200);
    assert_string_equal(jstr(&h, "queue"), "billing");
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", (long long)n);
    assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
    json_t *last = json_array_get(items(&h), json_array_size(items(&h)) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "kind")), "queue");
    assert_string_equal(json_string_value(json_object_get(last, "old")), "anything");
    assert_string_equal(json_string_value(json_object_get(last, "new")), "billing");
    http_clear(&h);

    /* Opening a ticket in a queue is the same once groups exist; without
     * a queue it is fine. */
    assert_int_equal(http_json(s, "POST", "/api/v1/tickets", s->agent1.access, &h,
                               "{\"subject\":\"s\",\"body\":\"b\",\"requester_id\":\"%s\","
                               "\"queue\":\"nowhere\"}", s->cust1.u.id), 422);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", "/api/v1/tickets", s->agent1.access, &h,
                               "{\"subject\":\"s\",\"body\":\"b\",\"requester_id\":\"%s\","
                               "\"queue\":\"hardware\"}", s->cust1.u.id), 201);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h,
                               "{\"subject\":\"s\",\"body\":\"b\"}"), 201);
    http_clear(&h);

    /* Delete: the ticket keeps its queue string. */
    assert_int_equal(http_req(s, "DELETE", "/api/v1/groups/hardware", s->agent1.access, NULL, NULL, 0,
                              NULL, &h), 403);
    http_clear(&h);
    assert_int_equal(http_req(s, "DELETE", "/api/v1/groups/hardware", s->admin.access, NULL, NULL, 0,
                              NULL, &h), 204);
    http_clear(&h);
    assert_int_equal(http_req(s, "DELETE", "/api/v1/groups/billing", s->admin.access, NULL, NULL, 0,
                              NULL, &h), 204);
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/tickets?queue=billing", s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(items(&h)), 1);
    http_clear(&h);
}

static void followers(void **state)
{
    struct tdsrv *s = srv(state);
    struct http h;
    char path[160];
    int64_t n = open_ticket(s, &s->cust1, "follow me");
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/followers/me", (long long)n);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h, NULL), 200);
    assert_int_equal(json_array_size(items(&h)), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items(&h), 0), "id")),
                        s->agent1.u.id);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h, NULL), 200); /* again */
    assert_int_equal(json_array_size(items(&h)), 1);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", path, s->cust1.access, &h, NULL), 403);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/followers/%s", (long long)n, s->cust2.u.id);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h, NULL), 400);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/followers/%s", (long long)n, s->agent2.u.id);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h, NULL), 200);
    assert_int_equal(json_array_size(items(&h)), 2);
    http_clear(&h);
    /* They are the ticket's staff participants. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/participants", (long long)n);
    assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(items(&h)), 2);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/followers/me", (long long)n);
    assert_int_equal(http_req(s, "DELETE", path, s->agent1.access, NULL, NULL, 0, NULL, &h), 204);
    http_clear(&h);
    assert_int_equal(http_req(s, "DELETE", path, s->agent1.access, NULL, NULL, 0, NULL, &h), 404);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", "/api/v1/tickets/99999/followers/me", s->agent1.access, &h,
                               NULL), 404);
    http_clear(&h);
}

static int setup(void **state, enum store_backend b)
{
    if (!store_fixture_wanted(b))
        return 0;
    struct tdsrv *s = calloc(1, sizeof *s);
    if (s == NULL || !tdsrv_start(s, b, NULL) || !tdsrv_login(s, &s->admin) ||
        !tdsrv_login(s, &s->agent1) || !tdsrv_login(s, &s->agent2) || !tdsrv_login(s, &s->cust1) ||
        !tdsrv_login(s, &s->cust2))
        return -1;
    *state = s;
    return 0;
}

static int setup_sqlite(void **state) { return setup(state, STORE_BACKEND_SQLITE); }
static int setup_mongodb(void **state) { return setup(state, STORE_BACKEND_MONGODB); }

static int teardown(void **state)
{
    struct tdsrv *s = *state;
    if (s == NULL)
        return 0;
    bool clean = tdsrv_stop(s);
    free(s);
    return clean ? 0 : -1;
}

#define SKIP_UNLESS_UP(state)                                                                     \
    do {                                                                                          \
        if (*(state) == NULL)                                                                     \
            skip();                                                                               \
    } while (0)

static void t_groups(void **state) { SKIP_UNLESS_UP(state); groups_crud(state); }
static void t_followers(void **state) { SKIP_UNLESS_UP(state); followers(state); }

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_groups),
        cmocka_unit_test(t_followers),
    };
    int rc = cmocka_run_group_tests_name("groups_api_sqlite", tests, setup_sqlite, teardown);
    rc |= cmocka_run_group_tests_name("groups_api_mongodb", tests, setup_mongodb, teardown);
    curl_global_cleanup();
    return rc;
}
