/* server.c - the only file that talks to libmicrohttpd.
 *
 * Threads: MHD's internal thread pool ([api] threads) with epoll; each
 * pool thread serves its connections one request at a time, calling
 * core synchronously (the store handle is thread-safe) for reads. A
 * write (a routed POST, PUT, PATCH or DELETE) waits for its commit, so
 * it is not run there: its connection is parked and the request handed
 * to the write pool ([api] write_threads, write_pool.h), whose thread
 * runs the handler and resumes the connection; the request thread then
 * sends the answer. Requests never share mutable state except the rate
 * limiters and caches (each with its own locks).
 *
 * A request's life: on the first call we allocate its struct api_req,
 * match the route (which fixes the body limit) and refuse a declared
 * Content-Length over the limit at once; body chunks are appended up
 * to the limit (beyond it they are counted and dropped, and past a hard
 * cap the connection is closed); on the last call the router
 * authenticates and runs the handler, and we send what it filled in.
 * Every request ends in exactly one log line: method, route pattern,
 * status, latency, request id (never headers, tokens or bodies).
 *
 * Stopping (SIGTERM): the listening socket is closed first (quiesce), the
 * requests already begun - still sending their body, in their handler,
 * or receiving the response - are given up to DRAIN_MS to complete, then
 * the daemon stops. Idle keep-alive connections do not hold it up. */
#include "api_int.h"
#include "tls.h"
#include "write_pool.h"

#include "core/id.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How much of an oversize body we read (and drop) so the client gets its
 * 413 cleanly, before we give up on the connection. */
#define DISCARD_MAX (8u << 20)
/* How long SIGTERM waits for requests in flight. */
#define DRAIN_MS 10000
/* And for the answers of writes the write pool finished after that. */
#define DRAIN_AFTER_WRITES_MS 1000

_Thread_local const char *api_current_request_id = "";

const char *req_header(const struct api_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *req_cookie(const struct api_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

const char *req_query(const struct api_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct each_ctx {
    bool (*fn)(void *arg, const char *key, const char *value);
    void *arg;
};

static enum MHD_Result each_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    struct each_ctx *c = cls;
    return c->fn(c->arg, key, value) ? MHD_YES : MHD_NO;
}

bool req_query_each(const struct api_req *r,
                    bool (*fn)(void *arg, const char *key, const char *value), void *arg)
{
    struct each_ctx c = { fn, arg };
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_value, &c);
    return true;
}

static size_t body_limit(const struct api_req *r)
{
    const struct api_settings *s = &r->api->set;
    return r->route && (r->route->flags & ROUTE_UPLOAD) ? s->max_upload_bytes : s->max_request_bytes;
}

static void client_address(struct api_req *r)
{
    snprintf(r->client_addr, sizeof r->client_addr, "unknown");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  r->client_addr, sizeof r->client_addr);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  r->client_addr, sizeof r->client_addr);
}

/* 16 hex digits naming a request in logs and X-Request-Id: unique and
 * not guessable across requests, without a getrandom() system call each
 * (2 % of a small read): SipHash of a per-thread counter under a random
 * per-thread key. */
static void new_request_id(char out[17])
{
    static _Thread_local bool keyed;
    static _Thread_local unsigned char key[crypto_shorthash_KEYBYTES];
    static _Thread_local uint64_t counter;
    if (!keyed) {
        randombytes_buf(key, sizeof key);
        keyed = true;
    }
    counter++;
    unsigned char raw[crypto_shorthash_BYTES];
    crypto_shorthash(raw, (const unsigned char *)&counter, sizeof counter, key);
    sodium_bin2hex(out, 17, raw, sizeof raw);
}

static struct api_req *req_new(struct api *api, struct MHD_Connection *conn, const char *url,
                               const char *method)
{
    struct api_req *r = td_calloc(1, sizeof *r);
    r->api = api;
    r->conn = conn;
    r->method = method;
    r->path = url;
    r->start_us = mono_us();
    new_request_id(r->request_id);
    client_address(r);
    conv_client_addr(r, &api->conv); /* behind a trusted proxy: the forwarded client */
    return r;
}

static void req_free(struct api_req *r)
{
    if (r == NULL)
        return;
    if (r->deferred_out) { /* run, but the connection closed before its answer went */
        resp_free(r->deferred_out);
        free(r->deferred_out);
    }
    buf_free(&r->body);
    user_clear(&r->user);
    free(r);
}

/* The method as a metric label: a fixed set, whatever clients send. */
static const char *metric_method(const char *m)
{
    static const char *const known[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "other";
}

static enum MHD_Result send_resp(struct api_req *r, struct api_resp *out)
{
    if (out->status == 0) /* a handler that forgot to answer is a bug */
        problem(out, 500, "internal", "the handler produced no response", NULL);
    conv_cors_headers(r, out);
    conv_rate_headers(r, out);
    struct MHD_Response *mr;
    _Static_assert(API_STREAM_END == MHD_CONTENT_READER_END_OF_STREAM &&
                       API_STREAM_ERROR == MHD_CONTENT_READER_END_WITH_ERROR,
                   "api_stream_fn follows MHD's content reader");
    if (out->stream) {
        mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, out->stream,
                                               out->stream_cls, out->stream_free);
        if (mr == NULL)
            out->stream_free(out->stream_cls);
        out->stream = NULL; /* MHD owns stream_cls now (or it is freed) */
    } else if (out->body_static)
        mr = MHD_create_response_from_buffer(out->len, out->body, MHD_RESPMEM_PERSISTENT);
    else
        mr = MHD_create_response_from_buffer(out->len, out->body, MHD_RESPMEM_MUST_FREE);
    if (mr == NULL) {
        resp_free(out);
        return MHD_NO;
    }
    out->body = NULL; /* MHD owns it now */
    if (out->content_type)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, out->content_type);
    MHD_add_response_header(mr, "X-Request-Id", r->request_id);
    /* API answers are never cached and never rendered as a page (no
     * framing, nothing loaded); the console's files (routes_web.c) and
     * attachments set their own. */
    if (!resp_has_header(out, "Cache-Control"))
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (!resp_has_header(out, "Content-Security-Policy"))
        MHD_add_response_header(mr, "Content-Security-Policy",
                                "default-src 'none'; frame-ancestors 'none'");
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    for (size_t i = 0; i < out->n_headers; i++)
        MHD_add_response_header(mr, out->headers[i].name, out->headers[i].value);
    enum MHD_Result ret = MHD_queue_response(r->conn, out->status, mr);
    MHD_destroy_response(mr);
    r->responded = true;
    int64_t us = mono_us() - r->start_us;
    stats_http_request(metric_method(r->method), r->route ? r->route->pattern : "(none)",
                       out->status, us > 0 ? (uint64_t)us : 0);
    log_event(out->status >= 500 ? LOG_WARN : LOG_INFO, "http_request",
              LF_S("request_id", r->request_id), LF_S("method", r->method),
              LF_S("route", r->route ? r->route->pattern : "(none)"), LF_I("status", out->status),
              LF_I("ms", (mono_us() - r->start_us) / 1000),
              LF_S("user", r->authed ? r->user.id : ""), LF_S("client", r->client_addr));
    resp_free(out);
    return ret;
}

static enum MHD_Result too_large(struct api_req *r)
{
    struct api_resp out;
    memset(&out, 0, sizeof out);
    char detail[128];
    snprintf(detail, sizeof detail, "the request body is larger than the limit of %zu bytes",
             body_limit(r));
    problem(&out, 413, "too_large", detail, NULL);
    return send_resp(r, &out);
}

/* 400 and close: the request's framing is ambiguous (http_framing.c).
 * Closing matters more than the status - the bytes after the headers
 * must never be read as another request. */
static enum MHD_Result ambiguous(struct api_req *r, const char *why)
{
    struct api_resp out;
    memset(&out, 0, sizeof out);
    problem(&out, 400, "bad_framing", why, NULL);
    resp_header(&out, "Connection", "close");
    return send_resp(r, &out);
}

/* A declared Content-Length over the limit: 413 before reading the body
 * when the client waits for 100-continue or the body is huge; otherwise
 * the body is read and dropped so the client sees the 413. */
static bool refuse_early(struct api_req *r)
{
    const char *cl = req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL)
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    if (errno != 0 || end == cl)
        return false; /* MHD itself refuses malformed lengths */
    if (n <= body_limit(r))
        return false;
    const char *expect = req_header(r, MHD_HTTP_HEADER_EXPECT);
    return (expect && strcasecmp(expect, "100-continue") == 0) || n > body_limit(r) + DISCARD_MAX;
}

/* Everything after the body: the per-address rate limit, then the
 * route's handler (or OPTIONS, the console's files, 404/405) into out. */
static void handle(struct api_req *r, struct api_resp *out)
{
    struct api *api = r->api;
    char rl_key[96];
    snprintf(rl_key, sizeof rl_key, "addr:%s", r->client_addr);
    if (!conv_rate_limit(r, api->rl_req_addr, api->conv.rate_per_addr, rl_key, out)) {
        /* 429: nothing else is looked at */
    } else if (strcmp(r->method, "OPTIONS") == 0) {
        conv_options(r, out);
    } else if (r->route == NULL && web_serve(r, out)) {
        /* the console's files (routes_web.c) */
    } else if (r->route == NULL) {
        unsigned miss = 404;
        char allow[64];
        router_match(r, &miss, allow, sizeof allow);
        if (miss == 405) {
            problem(out, 405, "method_not_allowed", "this path does not support that method", NULL);
            resp_header(out, "Allow", "%s", allow);
        } else {
            problem(out, 404, "not_found", "no such endpoint; see /api/v1/openapi.json", NULL);
        }
    } else {
        router_dispatch(r, out);
    }
}

/* A routed request that changes something: it may wait for a commit. */
static bool is_write(const struct api_req *r)
{
    const char *m = r->method;
    return r->route != NULL && (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
                                strcmp(m, "PATCH") == 0 || strcmp(m, "DELETE") == 0);
}

/* A write pool thread (or the request thread when the pool is stopping):
 * runs the parked request's handler, then wakes its connection. r stays
 * alive meanwhile: MHD completes (and on_completed frees) a parked
 * connection only after it is resumed, and server_stop stops the pool
 * before MHD. */
static void run_deferred(void *item)
{
    struct api_req *r = item;
    api_current_request_id = r->request_id;
    handle(r, r->deferred_out);
    api_current_request_id = "";
    atomic_store_explicit(&r->deferred_done, true, memory_order_release);
    MHD_resume_connection(r->conn);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct api *api = cls;
    struct api_req *r = *con_cls;
    if (r == NULL) {
        r = req_new(api, conn, url, method);
        *con_cls = r;
        atomic_fetch_add(&api->in_flight, 1);
        unsigned miss = 404;
        char allow[64];
        r->route = router_match(r, &miss, allow, sizeof allow);
        char why[160];
        if (!framing_ok(conn, why, sizeof why))
            return ambiguous(r, why);
        if (refuse_early(r))
            return too_large(r);
        conn_guard_phase(api->guard, conn, CONN_BODY);
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->responded)
            return MHD_YES;
        if (r->body_too_large || r->body.len + n > body_limit(r)) {
            if (!r->body_too_large)
                buf_free(&r->body);
            r->body_too_large = true;
            r->discarded += n;
            return r->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        buf_append(&r->body, upload_data, n);
        return MHD_YES;
    }
    if (r->deferred_out != NULL) { /* resumed: the write pool's answer is ready */
        if (r->responded || !atomic_load_explicit(&r->deferred_done, memory_order_acquire))
            return MHD_YES;
        enum MHD_Result ret = send_resp(r, r->deferred_out);
        free(r->deferred_out);
        r->deferred_out = NULL;
        return ret;
    }
    if (r->responded)
        return MHD_YES;
    if (r->body_too_large)
        return too_large(r);

    conn_guard_phase(api->guard, conn, CONN_BUSY);
    if (api->writes != NULL && is_write(r)) {
        /* Parked first, so the pool's resume always comes after it. */
        r->deferred_out = td_calloc(1, sizeof *r->deferred_out);
        MHD_suspend_connection(conn);
        if (!write_pool_submit(api->writes, r))
            run_deferred(r); /* stopping: here, and resumed at once */
        return MHD_YES;
    }
    api_current_request_id = r->request_id;
    struct api_resp out;
    memset(&out, 0, sizeof out);
    handle(r, &out);
    enum MHD_Result ret = send_resp(r, &out);
    api_current_request_id = "";
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct api *api = cls;
    /* Keep-alive: the next request's headers are on the clock now. */
    conn_guard_phase(api->guard, conn, CONN_HEADERS);
    struct api_req *r = *con_cls;
    if (r != NULL)
        atomic_fetch_sub(&r->api->in_flight, 1);
    if (r != NULL && !r->responded)
        log_event(LOG_INFO, "http_request_aborted", LF_S("request_id", r->request_id),
                  LF_S("method", r->method), LF_S("route", r->route ? r->route->pattern : "(none)"),
                  LF_I("reason", (int)toe), LF_I("ms", (mono_us() - r->start_us) / 1000));
    req_free(r);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct api *api = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        conn_guard_opened(api->guard, conn, socket_context);
    else
        conn_guard_closed(api->guard, socket_context);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    const char *m = msg; /* LF_S tests its value for NULL */
    log_event(LOG_WARN, "http_server", LF_S("msg", m));
}

bool server_start(struct api *api, struct td_err *err)
{
    const struct api_settings *s = &api->set;
    struct sockaddr_in sa4;
    struct sockaddr_in6 sa6;
    const struct sockaddr *sa;
    /* ITC: lets server_stop quiesce (stop accepting) a thread pool. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC |
                     api_tls_mhd_flags(api->tls);
    /* Event streams (events.c) park their connections while idle. */
    flags |= MHD_ALLOW_SUSPEND_RESUME;
    memset(&sa4, 0, sizeof sa4);
    memset(&sa6, 0, sizeof sa6);
    if (inet_pton(AF_INET, s->bind, &sa4.sin_addr) == 1) {
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons((uint16_t)s->port);
        sa = (const struct sockaddr *)&sa4;
    } else if (inet_pton(AF_INET6, s->bind, &sa6.sin6_addr) == 1) {
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons((uint16_t)s->port);
        sa = (const struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
    } else {
        return td_fail(err, TD_INVALID, "[api] bind: '%.60s' is not an IPv4 or IPv6 address", s->bind);
    }
    if (s->write_threads > 0 &&
        (api->writes = write_pool_start(s->write_threads, run_deferred, err)) == NULL)
        return false;
    api->guard = conn_guard_new(s->header_timeout_s, s->body_timeout_s);
    if (!conn_guard_start(api->guard, err)) {
        write_pool_free(api->writes);
        api->writes = NULL;
        conn_guard_free(api->guard);
        api->guard = NULL;
        return false;
    }
    /* The logger first, so that MHD reports nothing on its own stderr.
     * Slow clients: the per-address cap keeps one address from taking
     * the whole connection limit (the rest stays for everyone else),
     * and conn_guard cuts requests whose headers or body trickle. */
    api->mhd = MHD_start_daemon(
        flags, (uint16_t)s->port, NULL, NULL, on_access, api, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, api, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)s->threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->conn_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->max_conn_per_addr,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, api,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, api, MHD_OPTION_ARRAY, api_tls_mhd_options(api->tls), MHD_OPTION_END);
    if (api->mhd == NULL) {
        write_pool_free(api->writes);
        api->writes = NULL;
        conn_guard_free(api->guard);
        api->guard = NULL;
        return td_fail(err, TD_UNAVAILABLE, "cannot listen on %s port %d (in use, or no permission)",
                       s->bind, s->port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_BIND_PORT);
    log_event(LOG_INFO, "api_listening", LF_S("bind", s->bind), LF_S("tls", api->tls ? "yes" : "no"),
              LF_I("port", di ? di->port : s->port), LF_I("threads", s->threads),
              LF_I("write_threads", s->write_threads));
    return true;
}

void server_limit_send_buffer(struct MHD_Connection *conn, int bytes)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci != NULL && ci->connect_fd != MHD_INVALID_SOCKET &&
        setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) != 0)
        log_event(LOG_DEBUG, "http_sndbuf", LF_S("msg", "setsockopt SO_SNDBUF failed"));
}

void server_suspend(struct MHD_Connection *conn)
{
    MHD_suspend_connection(conn);
}

void server_resume(struct MHD_Connection *conn)
{
    MHD_resume_connection(conn);
}

/* Waits (polling, bounded by ms) until no request is in flight; returns
 * how many still are. */
static int wait_in_flight(struct api *api, int64_t ms)
{
    int64_t deadline = mono_us() + ms * 1000;
    int left;
    while ((left = atomic_load(&api->in_flight)) > 0 && mono_us() < deadline) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return left;
}

void server_stop(struct api *api)
{
    if (api->mhd == NULL)
        return;
    MHD_socket listener = MHD_quiesce_daemon(api->mhd);
    int left = wait_in_flight(api, DRAIN_MS);
    if (left > 0)
        log_event(LOG_WARN, "http_drain_timeout", LF_I("requests", left), LF_I("ms", DRAIN_MS));
    /* Runs what is still queued and resumes those connections: MHD
     * must not close a parked connection a pool thread still uses. Then
     * a short wait, so the writes that finished only now are answered
     * rather than cut off. */
    write_pool_stop(api->writes);
    if (api->writes != NULL && left > 0)
        (void)wait_in_flight(api, DRAIN_AFTER_WRITES_MS);
    conn_guard_stop(api->guard); /* before MHD closes the sockets it watches */
    /* Joins the pool threads: requests being handled finish first. */
    MHD_stop_daemon(api->mhd);
    api->mhd = NULL;
    write_pool_free(api->writes); /* after the request threads: /metrics reads it */
    api->writes = NULL;
    conn_guard_free(api->guard);
    api->guard = NULL;
    if (listener != MHD_INVALID_SOCKET) /* ours after quiesce; closed after the threads */
        close(listener);
}
