/* harness_mongo.c - a MongoDB for tests: the wire-protocol mock
 * (tests/support/mongo_mock.py), or a real server named by
 * TICKETD_TEST_MONGO_URI.
 *
 * With a real server each run gets a database of its own (random name), so
 * parallel test binaries and earlier crashed runs never see each other's
 * data; harness_stop() drops it. The mock is ready when it answers an
 * OP_MSG hello, which is what libmongoc sends first too. */
#include "tests/support/harness_internal.h"

#include <mongoc/mongoc.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"     /* Debian's, which has mockupdb and mongomock */
#define OP_MSG 2013
#define MOCK_URI_FMT "mongodb://127.0.0.1:%d/ticketd_test" \
                     "?serverSelectionTimeoutMS=5000&connectTimeoutMS=2000"

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Sends {hello: 1, $db: "admin"} as OP_MSG; ready if the reply has ok: 1. */
static bool probe_hello(int fd, const void *arg, int timeout_ms)
{
    uint8_t msg[128], hdr[16];
    bson_t cmd = BSON_INITIALIZER;
    (void)arg;

    BSON_APPEND_INT32(&cmd, "hello", 1);
    BSON_APPEND_UTF8(&cmd, "$db", "admin");
    size_t len = 16 + 4 + 1 + cmd.len;
    if (len > sizeof msg) {
        bson_destroy(&cmd);
        return false;
    }
    put_le32(msg, (uint32_t)len);
    put_le32(msg + 4, 1);              /* requestID */
    put_le32(msg + 8, 0);              /* responseTo */
    put_le32(msg + 12, OP_MSG);
    put_le32(msg + 16, 0);             /* flagBits */
    msg[20] = 0;                       /* section kind 0: the command body */
    memcpy(msg + 21, bson_get_data(&cmd), cmd.len);
    bson_destroy(&cmd);
    if (!harness_write_all(fd, msg, len) || !harness_read_exact(fd, hdr, sizeof hdr, timeout_ms))
        return false;

    uint32_t total = get_le32(hdr);
    if (get_le32(hdr + 12) != OP_MSG || total < 16 + 5 + 5 || total > (1u << 20))
        return false;
    size_t blen = total - 16;
    uint8_t *body = malloc(blen);
    bool ok = false;
    if (body && harness_read_exact(fd, body, blen, timeout_ms) && body[4] == 0) {
        uint32_t dlen = get_le32(body + 5);
        bson_t reply;
        bson_iter_t it;
        ok = dlen <= blen - 5 && bson_init_static(&reply, body + 5, dlen) &&
             bson_iter_init_find(&it, &reply, "ok") && bson_iter_as_bool(&it);
    }
    free(body);
    return ok;
}

static bool has_option(const char *query, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = query; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
        if (strncasecmp(p, name, n) == 0 && p[n] == '=')
            return true;
    }
    return false;
}

bool harness_mongo_uri_with_db(const char *uri, const char *db, char *out, size_t len)
{
    const char *hosts = strstr(uri, "://");
    if (!hosts || !db || !*db)
        return false;
    hosts += 3;
    size_t hlen = strcspn(hosts, "/?");
    if (hlen == 0)
        return false;
    const char *rest = hosts + hlen, *path = "", *query = "";
    size_t plen = 0;
    if (*rest == '/') {
        path = rest + 1;
        plen = strcspn(path, "?");
        rest = path + plen;
    }
    if (*rest == '?')
        query = rest + 1;

    char auth[160] = "";
    bool creds = memchr(hosts, '@', hlen) != NULL;
    if (creds && !has_option(query, "authSource") &&
        !harness_fmt(auth, sizeof auth, "authSource=%.*s", plen ? (int)plen : 5,
                     plen ? path : "admin"))
        return false;
    return harness_fmt(out, len, "%.*s%.*s/%s%s%s%s%s", (int)(hosts - uri), uri, (int)hlen,
                       hosts, db, (*query || *auth) ? "?" : "", query,
                       (*query && *auth) ? "&" : "", auth);
}

/* A client for an external server that gives up after a few seconds
 * instead of mongoc's default 30 s of server selection. */
static mongoc_client_t *external_client(const char *uri_str)
{
    bson_error_t err;
    mongoc_init();      /* once only; the test's main may have done it */
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_str, &err);
    if (!uri) {
        fprintf(stderr, "harness: TICKETD_TEST_MONGO_URI: %s\n", err.message);
        return NULL;
    }
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 5000);
    mongoc_client_t *client = mongoc_client_new_from_uri(uri);
    mongoc_uri_destroy(uri);
    if (client)
        mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    return client;
}

static bool external_start(struct harness_server *s, const char *ext)
{
    uint8_t rnd[8];
    char db[64];
    bson_error_t err;

    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        fprintf(stderr, "harness: getrandom: %s\n", strerror(errno));
        return false;
    }
    snprintf(db, sizeof db, "ticketd_test_");
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(db + strlen(db), sizeof db - strlen(db), "%02x", rnd[i]);
    if (!harness_mongo_uri_with_db(ext, db, s->uri, sizeof s->uri)) {
        fprintf(stderr, "harness: cannot use TICKETD_TEST_MONGO_URI=%s\n", ext);
        return false;
    }
    s->external = true;
    mongoc_client_t *client = external_client(s->uri);
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bool ok = client && mongoc_client_command_simple(client, "admin", ping, NULL, NULL, &err);
    if (client && !ok)
        fprintf(stderr, "harness: TICKETD_TEST_MONGO_URI server does not answer: %s\n",
                err.message);
    bson_destroy(ping);
    mongoc_client_destroy(client);
    return ok;
}

void harness_mongo_drop_external(struct harness_server *s)
{
    bson_error_t err;
    mongoc_client_t *client = external_client(s->uri);
    if (!client)
        return;
    mongoc_uri_t *uri = mongoc_uri_new(s->uri);
    const char *name = uri ? mongoc_uri_get_database(uri) : NULL;
    if (name && strncmp(name, "ticketd_test_", 13) == 0) {
        mongoc_database_t *db = mongoc_client_get_database(client, name);
        if (!mongoc_database_drop_with_opts(db, NULL, &err))
            fprintf(stderr, "harness: dropping test database %s: %s\n", name, err.message);
        mongoc_database_destroy(db);
    }
    mongoc_uri_destroy(uri);
    mongoc_client_destroy(client);
}

static bool mock_try(struct harness_server *s, const void *arg)
{
    char script[1100], port[16];
    (void)arg;
    s->port = harness_free_port();
    if (s->port <= 0 ||
        !harness_fmt(script, sizeof script, "%s/mongo_mock.py", harness_support_dir()))
        return false;
    snprintf(port, sizeof port, "%d", s->port);
    const char *argv[] = { PYTHON, "-u", script, "--port", port, NULL };
    return harness_spawn(s, argv) &&
           harness_wait_ready(s, s->port, probe_hello, NULL, HARNESS_START_TIMEOUT_MS);
}

bool harness_mongo_start(struct harness_server *s)
{
    memset(s, 0, sizeof *s);
    const char *ext = getenv("TICKETD_TEST_MONGO_URI");
    if (ext && *ext) {
        if (external_start(s, ext))
            return true;
        memset(s, 0, sizeof *s);
        return false;
    }
    if (!harness_tempdir(s->dir, sizeof s->dir))
        return false;
    if (!harness_start_with_retries(s, "mongo_mock", mock_try, NULL)) {
        harness_stop(s);
        return false;
    }
    if (!harness_fmt(s->uri, sizeof s->uri, MOCK_URI_FMT, s->port)) {
        harness_stop(s);
        return false;
    }
    return true;
}
