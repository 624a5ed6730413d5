/* test_api_http.c - the REST API over real HTTP against a real ticketd process, once per
 * storage backend: the full happy flow with its history, the role table (every endpoint x
 * every role x own/other ticket), registration vs a mail-created account, ETag/If-Match,
 * filters, attachments and their visibility (http_fixture.h). */
#include "tests/api/http_fixture.h"

/* ---- the happy flow -------------------------------------------------------- */

static void test_happy_flow(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    /* A customer registers... */
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"Happy.Customer@Example.org\",\"password\":\"correct horse battery\","
              "\"name\":\"Happy Customer\"}");
    EXPECT_STATUS(&h, 201);
    json_t *user = json_object_get(h.json, "user");
    assert_string_equal(json_string_value(json_object_get(user, "email")), "happy.customer@example.org");
    assert_string_equal(json_string_value(json_object_get(user, "role")), "customer");
    struct tduser c;
    memset(&c, 0, sizeof c);
    snprintf(c.access, sizeof c.access, "%s", jstr(&h, "access_token"));
    char cid[TD_ID_LEN + 1];
    snprintf(cid, sizeof cid, "%s", json_string_value(json_object_get(user, "id")));
    http_clear(&h);
    http_get(s, "/api/v1/me", c.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_string_equal(jstr(&h, "id"), cid);
    http_clear(&h);

    /* ... opens a ticket, ... */
    int64_t n = open_ticket(s, &c, "The printer is on fire");
    char path[128];
    /* ... an agent claims it ... */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/claim", (long long)n);
    http_req(s, "POST", path, s->agent1.access, NULL, NULL, 0, NULL, &h);
    EXPECT_STATUS(&h, 200);
    assert_string_equal(jstr(&h, "assignee_id"), s->agent1.u.id);
    assert_string_equal(jstr(&h, "status"), "open");
    http_clear(&h);
    /* ... and answers, ... */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"body\":\"Unplug it, we are on our way.\"}");
    EXPECT_STATUS(&h, 201);
    http_clear(&h);
    /* (and sets it pending, waiting for the customer) */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    http_json(s, "PATCH", path, s->agent1.access, &h, "{\"status\":\"pending\"}");
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    /* ... the customer replies (which reopens it) ... */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_json(s, "POST", path, c.access, &h, "{\"body\":\"Done, thanks! ✓\"}");
    EXPECT_STATUS(&h, 201);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    http_get(s, path, c.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_string_equal(jstr(&h, "status"), "open");
    http_clear(&h);
    /* ... and closes it. */
    http_json(s, "PATCH", path, c.access, &h, "{\"status\":\"closed\"}");
    EXPECT_STATUS(&h, 200);
    assert_string_equal(jstr(&h, "status"), "closed");
    http_clear(&h);

    /* The history shows each step, in order, with its actor. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", (long long)n);
    http_get(s, path, c.access, &h);
    EXPECT_STATUS(&h, 200);
    struct {
        const char *kind, *actor, *new_value;
    } want[] = {
        { "created", cid, "The printer is on fire" },
        { "comment", cid, NULL },
        { "claim", s->agent1.u.id, s->agent1.u.id },
        { "status", s->agent1.u.id, "open" },
        { "comment", s->agent1.u.id, NULL },
        { "status", s->agent1.u.id, "pending" },
        { "comment", cid, NULL },
        { "status", cid, "open" },
        { "status", cid, "closed" },
    };
    json_t *items = json_object_get(h.json, "items");
    if (json_array_size(items) != sizeof want / sizeof want[0])
        fail_msg("history has %zu events, expected %zu: %s", json_array_size(items),
                 sizeof want / sizeof want[0], h.body.data);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *e = json_array_get(items, i);
        assert_string_equal(json_string_value(json_object_get(e, "kind")), want[i].kind);
        assert_string_equal(json_string_value(json_object_get(e, "actor_id")), want[i].actor);
        assert_int_equal(json_integer_value(json_object_get(e, "seq")), (long long)i + 1);
        if (want[i].new_value)
            assert_string_equal(json_string_value(json_object_get(e, "new")), want[i].new_value);
    }
    http_clear(&h);

    /* The conversation, as the customer sees it. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_get(s, path, c.access, &h);
    EXPECT_STATUS(&h, 200);
    items = json_object_get(h.json, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 2), "body")),
                        "Done, thanks! ✓");
    http_clear(&h);
}

/* ---- the role table ----------------------------------------------------------- */

enum who { ANON, CUST_OWN, CUST_OTHER, AGENT, ADMIN, N_WHO };
static const char *const who_name[] = { "anonymous", "customer/own", "customer/other", "agent",
                                        "admin" };

struct role_row {
    const char *method;
    const char *path; /* {t} ticket, {a} public / {ai} internal attachment, {v} victim user */
    const char *body; /* {agent} agent1's id, {n} a unique number */
    bool fresh;       /* changes the ticket: a new one per cell */
    long expect[N_WHO];
};

static const struct role_row role_rows[] = {
    { "GET", "/healthz", NULL, false, { 200, 200, 200, 200, 200 } },
    { "GET", "/api/v1/openapi.json", NULL, false, { 200, 200, 200, 200, 200 } },
    { "POST", "/api/v1/auth/logout", "{\"refresh_token\":\"not-a-token\"}", false,
      { 204, 204, 204, 204, 204 } },
    { "GET", "/api/v1/me", NULL, false, { 401, 200, 200, 200, 200 } },
    { "GET", "/api/v1/tickets", NULL, false, { 401, 200, 200, 200, 200 } },
    { "POST", "/api/v1/tickets", "{\"subject\":\"role table\",\"body\":\"b\"}", false,
      { 401, 201, 201, 201, 201 } },
    { "GET", "/api/v1/tickets/{t}", NULL, false, { 401, 200, 404, 200, 200 } },
    { "PATCH", "/api/v1/tickets/{t}", "{\"priority\":\"high\"}", true, { 401, 403, 404, 200, 200 } },
    { "PATCH", "/api/v1/tickets/{t}", "{\"tags\":[\"vip\"]}", true, { 401, 403, 404, 200, 200 } },
    { "PATCH", "/api/v1/tickets/{t}", "{\"status\":\"pending\"}", true, { 401, 403, 404, 200, 200 } },
    { "PATCH", "/api/v1/tickets/{t}", "{\"status\":\"closed\"}", true, { 401, 200, 404, 200, 200 } },
    { "POST", "/api/v1/tickets/{t}/claim", NULL, true, { 401, 403, 404, 200, 200 } },
    { "POST", "/api/v1/tickets/{t}/assign", "{\"assignee_id\":\"{agent}\"}", true,
      { 401, 403, 404, 200, 200 } },
    { "GET", "/api/v1/tickets/{t}/history", NULL, false, { 401, 200, 404, 200, 200 } },
    { "GET", "/api/v1/tickets/{t}/comments", NULL, false, { 401, 200, 404, 200, 200 } },
    { "POST", "/api/v1/tickets/{t}/comments", "{\"body\":\"public reply\"}", false,
      { 401, 201, 404, 201, 201 } },
    { "POST", "/api/v1/tickets/{t}/comments", "{\"body\":\"note\",\"internal\":true}", false,
      { 401, 403, 404, 201, 201 } },
    { "GET", "/api/v1/attachments/{a}", NULL, false, { 401, 200, 404, 200, 200 } },
    { "GET", "/api/v1/attachments/{ai}", NULL, false, { 401, 404, 404, 200, 200 } },
    { "GET", "/api/v1/users", NULL, false, { 401, 403, 403, 200, 200 } },
    { "GET", "/api/v1/users?role=customer", NULL, false, { 401, 403, 403, 403, 200 } },
    { "POST", "/api/v1/users", "{\"email\":\"made{n}@example.org\",\"role\":\"agent\"}", false,
      { 401, 403, 403, 403, 201 } },
    { "GET", "/api/v1/users/{v}", NULL, false, { 401, 404, 404, 200, 200 } },
    { "PATCH", "/api/v1/users/{v}", "{\"role\":\"customer\"}", false, { 401, 403, 403, 403, 200 } },
    { "PATCH", "/api/v1/users/{v}", "{\"disabled\":false}", false, { 401, 403, 403, 403, 200 } },
};

struct role_target {
    int64_t ticket;
    char att[TD_ID_LEN + 1], att_internal[TD_ID_LEN + 1];
};

/* A ticket of owner with a public attachment (by the owner) and an
 * internal note's attachment (by agent2). */
static void make_target(struct tdsrv *s, const struct tduser *owner, struct role_target *t)
{
    t->ticket = open_ticket(s, owner, "role target");
    upload(s, owner, t->ticket, false, "public.txt", "public", 6, t->att);
    upload(s, &s->agent2, t->ticket, true, "internal.txt", "secret", 6, t->att_internal);
}

static void subst(char *out, size_t len, const char *tmpl, const struct role_target *t,
                  const char *victim, const char *agent, int n)
{
    struct buf b = BUF_INIT;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{t}", 3) == 0) {
            buf_printf(&b, "%lld", (long long)t->ticket);
            p += 3;
        } else if (strncmp(p, "{a}", 3) == 0) {
            buf_puts(&b, t->att);
            p += 3;
        } else if (strncmp(p, "{ai}", 4) == 0) {
            buf_puts(&b, t->att_internal);
            p += 4;
        } else if (strncmp(p, "{v}", 3) == 0) {
            buf_puts(&b, victim);
            p += 3;
        } else if (strncmp(p, "{agent}", 7) == 0) {
            buf_puts(&b, agent);
            p += 7;
        } else if (strncmp(p, "{n}", 3) == 0) {
            buf_printf(&b, "%d", n);
            p += 3;
        } else {
            buf_putc(&b, *p++);
        }
    }
    snprintf(out, len, "%s", b.data ? b.data : "");
    buf_free(&b);
}

static void test_role_table(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    /* A user for the user-management rows, so no fixture user changes. */
    http_json(s, "POST", "/api/v1/users", s->admin.access, &h,
              "{\"email\":\"victim@example.org\",\"role\":\"customer\"}");
    EXPECT_STATUS(&h, 201);
    char victim[TD_ID_LEN + 1];
    snprintf(victim, sizeof victim, "%s", jstr(&h, "id"));
    http_clear(&h);

    struct role_target own, other;
    make_target(s, &s->cust1, &own);
    make_target(s, &s->cust2, &other);
    const struct tduser *actor[N_WHO] = { NULL, &s->cust1, &s->cust1, &s->agent1, &s->admin };
    int failures = 0, cells = 0, n = 0;
    for (size_t r = 0; r < sizeof role_rows / sizeof role_rows[0]; r++) {
        const struct role_row *row = &role_rows[r];
        for (int w = 0; w < N_WHO; w++) {
            struct role_target fresh;
            const struct role_target *t = w == CUST_OTHER ? &other : &own;
            if (row->fresh && strstr(row->path, "{t}")) {
                fresh.ticket = open_ticket(s, w == CUST_OTHER ? &s->cust2 : &s->cust1, "fresh");
                fresh.att[0] = fresh.att_internal[0] = '\0';
                t = &fresh;
            }
            char path[256], body[256];
            subst(path, sizeof path, row->path, t, victim, s->agent1.u.id, n);
            subst(body, sizeof body, row->body ? row->body : "", t, victim, s->agent1.u.id, n++);
            http_req(s, row->method, path, actor[w] ? actor[w]->access : NULL,
                     row->body ? "application/json" : NULL, row->body ? body : NULL,
                     strlen(body), NULL, &h);
            cells++;
            if (h.status != row->expect[w]) {
                print_error("%s %s as %s: HTTP %ld, expected %ld: %.*s\n", row->method, row->path,
                            who_name[w], h.status, row->expect[w], (int)h.body.len,
                            h.body.data ? h.body.data : "");
                failures++;
            } else if (h.status >= 400 &&
                       (jint(&h, "status") != h.status ||
                        strncmp(h.content_type, "application/problem+json", 24) != 0)) {
                print_error("%s %s as %s: error is not problem+json\n", row->method, row->path,
                            who_name[w]);
                failures++;
            }
            http_clear(&h);
        }
    }
    if (failures)
        fail_msg("%d of %d role table cells wrong", failures, cells);

    /* A customer's list holds only their own tickets, whatever they ask. */
    char q[160];
    snprintf(q, sizeof q, "/api/v1/tickets?limit=100&requester=%s", s->cust2.u.id);
    http_get(s, q, s->cust1.access, &h);
    EXPECT_STATUS(&h, 200);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(h.json, "items"), i, t)
        assert_string_equal(json_string_value(json_object_get(t, "requester_id")), s->cust1.u.id);
    http_clear(&h);
    /* A customer's comment list has no internal notes. */
    snprintf(q, sizeof q, "/api/v1/tickets/%lld/comments", (long long)own.ticket);
    http_get(s, q, s->cust1.access, &h);
    EXPECT_STATUS(&h, 200);
    json_array_foreach(json_object_get(h.json, "items"), i, t)
        assert_false(json_is_true(json_object_get(t, "internal")));
    http_clear(&h);
    http_get(s, q, s->agent1.access, &h);
    bool saw_internal = false;
    json_array_foreach(json_object_get(h.json, "items"), i, t)
        saw_internal |= json_is_true(json_object_get(t, "internal"));
    assert_true(saw_internal);
    http_clear(&h);
}

/* ---- registration ---------------------------------------------------------------- */

static void test_register(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    /* A customer the mail gateway created (no password): registering the
     * address must not hand over their tickets. */
    http_json(s, "POST", "/api/v1/users", s->admin.access, &h,
              "{\"email\":\"from.mail@example.org\",\"role\":\"customer\"}");
    EXPECT_STATUS(&h, 201);
    assert_false(json_is_true(json_object_get(h.json, "has_password")));
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"FROM.MAIL@example.org\",\"password\":\"i am not them at all\"}");
    EXPECT_PROBLEM(&h, 409, "already exists");
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"from.mail@example.org\",\"password\":\"i am not them at all\"}");
    EXPECT_PROBLEM(&h, 401, NULL);
    http_clear(&h);
    /* An existing account with a password, too. */
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"%s\",\"password\":\"whatever whatever\"}", s->cust1.u.email);
    EXPECT_PROBLEM(&h, 409, NULL);
    http_clear(&h);
    /* Core's rules: bad address, short password. */
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"not an address\",\"password\":\"long enough password\"}");
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"short@example.org\",\"password\":\"short\"}");
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
    /* Registration cannot choose a role. */
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"sneaky@example.org\",\"password\":\"long enough password\",\"role\":\"admin\"}");
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
}

/* ---- ETag / If-Match ---------------------------------------------------------- */

static void test_etag_if_match(void **state)
{
    struct tdsrv *s = SRV(state);
    int64_t n = open_ticket(s, &s->cust1, "etag");
    char path[64], etag[64], stale[64];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    struct http h;
    http_get(s, path, s->agent1.access, &h);
    EXPECT_STATUS(&h, 200);
    snprintf(etag, sizeof etag, "%s", h.etag);
    char want[32];
    snprintf(want, sizeof want, "\"%lld\"", jint(&h, "version"));
    assert_string_equal(etag, want);
    /* Every response names its request: 16 hex digits, never twice. */
    char rid[64], rid2[64];
    http_header(&h, "X-Request-Id", rid, sizeof rid);
    assert_int_equal(strlen(rid), 16);
    assert_int_equal(strspn(rid, "0123456789abcdef"), 16);
    http_clear(&h);
    for (int i = 0; i < 20; i++) {
        http_get(s, path, s->agent1.access, &h);
        http_header(&h, "X-Request-Id", rid2, sizeof rid2);
        assert_int_equal(strlen(rid2), 16);
        assert_string_not_equal(rid, rid2);
        http_clear(&h);
    }

    char hdr[96];
    snprintf(hdr, sizeof hdr, "If-Match: %s", etag);
    const char *const ifm[] = { hdr, NULL };
    const char *body = "{\"priority\":\"urgent\"}";
    http_req(s, "PATCH", path, s->agent1.access, "application/json", body, strlen(body), ifm, &h);
    EXPECT_STATUS(&h, 200);
    assert_string_not_equal(h.etag, etag);
    snprintf(stale, sizeof stale, "%s", etag);
    snprintf(etag, sizeof etag, "%s", h.etag);
    http_clear(&h);
    /* The old ETag again: 412, nothing written. */
    body = "{\"priority\":\"low\"}";
    http_req(s, "PATCH", path, s->agent2.access, "application/json", body, strlen(body), ifm, &h);
    EXPECT_PROBLEM(&h, 412, "changed by someone else");
    http_clear(&h);
    http_get(s, path, s->agent1.access, &h);
    assert_string_equal(jstr(&h, "priority"), "urgent");
    assert_string_equal(h.etag, etag);
    http_clear(&h);
    /* Weak or garbage tags never match; * matches anything. */
    const char *const weak[] = { "If-Match: W/\"999\"", NULL };
    http_req(s, "PATCH", path, s->agent1.access, "application/json", body, strlen(body), weak, &h);
    EXPECT_PROBLEM(&h, 412, NULL);
    http_clear(&h);
    const char *const star[] = { "If-Match: *", NULL };
    http_req(s, "PATCH", path, s->agent1.access, "application/json", body, strlen(body), star, &h);
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    (void)stale;
}

/* ---- filters ---------------------------------------------------------------- */

static size_t count_items(struct tdsrv *s, const char *token, const char *query)
{
    struct http h;
    char path[400];
    snprintf(path, sizeof path, "/api/v1/tickets?limit=100&%s", query);
    http_get(s, path, token, &h);
    EXPECT_STATUS(&h, 200);
    size_t n = json_array_size(json_object_get(h.json, "items"));
    http_clear(&h);
    return n;
}

static void test_filters(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h,
              "{\"subject\":\"Filter Zebra unique\",\"body\":\"body words\",\"tags\":[\"ZebraTag\"],"
              "\"priority\":\"urgent\",\"queue\":\"zebra-queue\"}");
    EXPECT_STATUS(&h, 201);
    int64_t n = jint(&h, "number");
    http_clear(&h);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_json(s, "POST", path, s->agent1.access, &h,
              "{\"body\":\"secret quokka remark\",\"internal\":true}");
    EXPECT_STATUS(&h, 201);
    http_clear(&h);
    const char *tok = s->agent1.access;
    assert_int_equal(count_items(s, tok, "q=zebra%20UNIQUE"), 1);
    assert_int_equal(count_items(s, tok, "tag=zebratag"), 1);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue"), 1);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&priority=urgent&status=new"), 1);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&priority=low"), 0);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&assignee=none"), 1);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&assignee=me"), 0);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&updated_since=2000-01-01T00:00:00Z"), 1);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&updated_since=2999-01-01T00:00:00%2B02:00"), 0);
    /* The internal note is searchable by staff, not by the customer. */
    assert_int_equal(count_items(s, tok, "q=quokka"), 1);
    assert_int_equal(count_items(s, s->cust1.access, "q=quokka"), 0);
    assert_int_equal(count_items(s, s->cust1.access, "q=zebra"), 1);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/claim", (long long)n);
    http_req(s, "POST", path, tok, NULL, NULL, 0, NULL, &h);
    http_clear(&h);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&assignee=me"), 1);
    char q[96];
    snprintf(q, sizeof q, "queue=zebra-queue&assignee=%s", s->agent1.u.id);
    assert_int_equal(count_items(s, tok, q), 1);
    snprintf(q, sizeof q, "queue=zebra-queue&requester=%s", s->cust1.u.id);
    assert_int_equal(count_items(s, tok, q), 1);
}

/* ---- attachments --------------------------------------------------------------- */

static void test_attachments(void **state)
{
    struct tdsrv *s = SRV(state);
    int64_t n = open_ticket(s, &s->cust1, "attachments");
    unsigned char bin[3000];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 7);
    bin[10] = 0;
    char id[TD_ID_LEN + 1], path[96];
    upload(s, &s->cust1, n, false, "Grüße \"quoted\".bin", bin, sizeof bin, id);
    snprintf(path, sizeof path, "/api/v1/attachments/%s", id);
    struct http h;
    http_get(s, path, s->cust1.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_int_equal(h.body.len, sizeof bin);
    assert_memory_equal(h.body.data, bin, sizeof bin);
    assert_string_equal(h.content_type, "application/octet-stream");
    http_clear(&h);
    http_get(s, path, s->cust2.access, &h);
    EXPECT_PROBLEM(&h, 404, NULL);
    http_clear(&h);
    http_get(s, "/api/v1/attachments/ffffffffffffffffffffffff", s->agent1.access, &h);
    EXPECT_PROBLEM(&h, 404, NULL);
    http_clear(&h);
    http_get(s, "/api/v1/attachments/nothex", s->agent1.access, &h);
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
    /* The comment lists the attachment with its download URL. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_get(s, path, s->cust1.access, &h);
    json_t *last = json_array_get(json_object_get(h.json, "items"), 1);
    json_t *att = json_array_get(json_object_get(last, "attachments"), 0);
    assert_string_equal(json_string_value(json_object_get(att, "name")), "Grüße \"quoted\".bin");
    http_clear(&h);
    /* Form fields are as strict as JSON. */
    const char *bad = "--b\r\nContent-Disposition: form-data; name=\"surprise\"\r\n\r\nx\r\n--b--\r\n";
    http_req(s, "POST", path, s->cust1.access, "multipart/form-data; boundary=b", bad, strlen(bad),
             NULL, &h);
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
    bad = "--b\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nunterminated";
    http_req(s, "POST", path, s->cust1.access, "multipart/form-data; boundary=b", bad, strlen(bad),
             NULL, &h);
    EXPECT_PROBLEM(&h, 400, "malformed");
    http_clear(&h);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_flow),
        cmocka_unit_test(test_role_table),
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_etag_if_match),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_attachments),
    };
    int failed = api_http_run("api_http", tests, sizeof tests / sizeof tests[0]);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
