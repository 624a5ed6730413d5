/* api_int.h - private to api/: the server, a request, a response, the
 * route table and the small libraries the route files share.
 *
 * Layering: server.c is the only file that talks to libmicrohttpd; it
 * turns a connection into a struct api_req, lets router.c pick the
 * handler and authenticate, and sends the struct api_resp the handler
 * filled. Handlers (routes_*.c) parse input (json_in.c, query.c,
 * multipart.c), call core, and render output (json_out.c) or an error
 * (problem.c, the one place a td_code becomes an HTTP status). No rule
 * about who may do what is decided here: core/policy.h does that. */
#ifndef TD_API_INT_H
#define TD_API_INT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/app.h"
#include "core/buf.h"
#include "core/core.h"
#include "core/err.h"
#include "core/model.h"
#include "core/store/store.h"
#include "core/strv.h"

struct MHD_Connection;
struct MHD_Daemon;
struct td_config;
struct ratelimit;
struct api_resp;

/* ---- settings (settings.c): the [api] section ---------------------- */
#define API_MIN_SECRET 32

struct api_settings {
    char *bind;                 /* listen address, default 127.0.0.1 */
    int port;                   /* default 8080 */
    unsigned threads;           /* MHD thread pool size: reads */
    unsigned write_threads;     /* write pool size; 0: writes on the above */
    unsigned conn_timeout_s;    /* idle connection timeout */
    unsigned max_connections;
    unsigned max_conn_per_addr; /* [api] max_connections_per_address */
    unsigned header_timeout_s;  /* a request's headers must arrive within */
    unsigned body_timeout_s;    /* and its body within this after them */
    size_t max_request_bytes;   /* JSON bodies (413 above) */
    size_t max_upload_bytes;    /* multipart bodies of comment uploads */
    enum { API_JWT_HS256 = 0, API_JWT_RS256 } jwt_alg; /* [api] jwt_algorithm */
    unsigned char *jwt_secret;  /* HS256: owned, wiped on free */
    size_t jwt_secret_len;
    unsigned char *jwt_private_key; /* RS256: PEM, NUL-terminated, owned, wiped */
    size_t jwt_private_key_len;
    unsigned char *jwt_public_key;  /* RS256: PEM, NUL-terminated, owned */
    size_t jwt_public_key_len;
    char *issuer;
    char *audience;
    int64_t access_ttl_s;
    int64_t refresh_ttl_s;
    int64_t clock_leeway_s;
    unsigned login_max_per_account; /* failures before delays begin */
    unsigned login_max_per_addr;
    int64_t login_window_s;         /* delay cap; failures forgotten after */
    unsigned register_max_per_addr; /* register + claim per register_window */
    unsigned register_max_global;
    int64_t register_window_s;
    unsigned hash_concurrency;      /* argon2id at once */
    unsigned page_default;
    unsigned page_max;
};

bool api_settings_load(struct td_config *cfg, const struct td_core *core,
                       struct api_settings *s, struct td_err *err);
void api_settings_free(struct api_settings *s);

/* ---- /metrics and /readyz (routes_ops.c): the readiness keys of [api] */
struct ops_settings {
    int64_t outbox_max_age_s;   /* readyz_outbox_max_age; 0 = not checked */
    int64_t lease_grace_s;      /* readyz_lease_grace */
    struct strv mailboxes;      /* readyz_mailboxes, or every [mailbox NAME] */
};

bool ops_settings_load(struct td_config *cfg, struct ops_settings *o, struct td_err *err);
void ops_settings_free(struct ops_settings *o);

/* ---- slow clients (conn_guard.c) ------------------------------------
 * Deadlines for a request's headers and body, enforced by a reaper
 * thread; 0 = none. Phases for conn_guard_phase: */
enum { CONN_HEADERS = 0, CONN_BODY = 1, CONN_BUSY = 2 };
struct conn_guard;
struct conn_guard *conn_guard_new(unsigned header_timeout_s, unsigned body_timeout_s);
bool conn_guard_start(struct conn_guard *g, struct td_err *err);
void conn_guard_stop(struct conn_guard *g);
void conn_guard_free(struct conn_guard *g); /* NULL-safe; stops first */
/* From MHD's connection notification: a connection was accepted (its
 * entry goes into *socket_context) / closed. */
void conn_guard_opened(struct conn_guard *g, struct MHD_Connection *conn, void **socket_context);
void conn_guard_closed(struct conn_guard *g, void **socket_context);
void conn_guard_phase(struct conn_guard *g, struct MHD_Connection *conn, int phase);

/* ---- request framing (http_framing.c) -------------------------------
 * RFC 9112 6.3: a request whose body length is ambiguous (differing
 * Content-Length headers, Content-Length with Transfer-Encoding, a
 * transfer coding other than chunked alone, whitespace before a field's
 * colon, a malformed length) must be refused and its connection closed:
 * false with the reason in why. */
bool framing_ok(struct MHD_Connection *conn, char *why, size_t why_len);
/* The same over any list of fields (the fuzz target feeds it): add each
 * (name, value) in turn, then the verdict: NULL = fine, else the reason. */
struct framing {
    unsigned n_cl, n_te;
    char cl[32]; /* the first Content-Length value */
    bool cl_differs, cl_bad, te_bad, name_bad;
};
void framing_init(struct framing *f);
void framing_add(struct framing *f, const char *name, const char *value);
const char *framing_verdict(const struct framing *f);
/* ---- conventions every request gets (conventions.c) -----------------
 * Client address behind trusted proxies, CORS, request rate limits,
 * Idempotency-Key retention: the [api] keys trusted_proxies,
 * cors_allowed_origins, cors_max_age, rate_limit_per_address,
 * rate_limit_per_token, rate_limit_window, idempotency_ttl. */
struct conv_net {
    int family;                 /* 4 or 6 */
    unsigned char addr[16];
    int bits;
};

struct conv_settings {
    struct strv cors_origins;   /* exact origins, or "*" */
    int64_t cors_max_age;
    struct conv_net *proxies;   /* trusted proxies */
    size_t n_proxies;
    unsigned rate_per_addr;     /* requests per window; 0 = off */
    unsigned rate_per_token;
    int64_t rate_window_s;
    int64_t idempotency_ttl_s;
};

bool conv_settings_load(struct td_config *cfg, struct conv_settings *c, struct td_err *err);
void conv_settings_free(struct conv_settings *c);

/* ---- the server (server.c) ---------------------------------------- */
struct user_cache; /* user_cache.h */
struct token_cache; /* token_cache.h */

struct api {
    struct td_app *app;         /* borrowed: the cli env (store, retry hook) */
    struct td_core *core;       /* borrowed from the cli env */
    struct user_cache *users;   /* see user_cache.c */
    struct token_cache *tokens; /* see token_cache.c */
    struct api_settings set;
    struct ops_settings ops;
    struct ratelimit *rl_account; /* failed logins per account */
    struct ratelimit *rl_addr;    /* failed logins per client address */
    struct ratelimit *rl_reg_addr;   /* register + claim requests per address */
    struct ratelimit *rl_reg_global; /* ... and from everywhere */
    atomic_int hash_slots;           /* free argon2id slots (hashgate.c) */
    struct conv_settings conv;    /* conventions.c */
    struct ratelimit *rl_req_addr;  /* requests per client address */
    struct ratelimit *rl_req_token; /* requests per credential */
    struct MHD_Daemon *mhd;
    struct write_pool *writes;  /* runs writes off the request threads, or NULL */
    struct conn_guard *guard;   /* slow-client deadlines */
    struct api_tls *tls;        /* HTTPS, or NULL (api/tls.h) */
    struct events *events;      /* the SSE hub (events.c) */
    atomic_int in_flight;       /* requests begun and not completed (drain) */
    _Atomic int64_t last_purge_ms; /* expired refresh tokens, at most hourly */
    _Atomic int64_t last_idem_purge_ms; /* expired Idempotency-Key records */
};

/* Starts/stops the HTTP server for an already configured api. */
bool server_start(struct api *api, struct td_err *err);
void server_stop(struct api *api);
/* A streaming response with nothing to send parks its connection (no
 * thread held) until resumed; both only from events.c under its lock. */
void server_suspend(struct MHD_Connection *conn);
/* Caps the kernel's send buffer of a long-lived connection (streams). */
void server_limit_send_buffer(struct MHD_Connection *conn, int bytes);
void server_resume(struct MHD_Connection *conn);

/* ---- the event stream (events.c) ------------------------------------ */
struct events;
/* Starts the hub thread that watches the store for ticket changes. */
bool events_start(struct api *api, struct td_err *err);
/* Ends every open stream (before server_stop drains requests). */
void events_end_streams(struct api *api);
/* Stops the hub and frees it (after server_stop). */
void events_free(struct api *api);

/* ---- one request ---------------------------------------------------- */
#define API_MAX_PARAMS 2

struct api_route;

struct api_req {
    struct api *api;
    struct MHD_Connection *conn;
    const char *method;           /* borrowed from MHD */
    const char *path;             /* without the query string */
    char request_id[17];
    char client_addr[64];
    int64_t start_us;
    struct buf body;
    bool body_too_large;
    size_t discarded;
    const struct api_route *route;
    const char *params[API_MAX_PARAMS]; /* {number}, {id}: borrowed */
    char param_store[API_MAX_PARAMS][64];
    size_t n_params;
    bool authed;
    struct td_user user;          /* the actor once authenticated */
    bool via_pat;                 /* authenticated by a personal access token */
    unsigned pat_scopes;          /* its scopes (closure), when via_pat */
    char pat_id[TD_ID_LEN + 1];   /* its id, when via_pat */
    bool responded;
    /* A write run by the write pool (server.c): its answer, owned here
     * until sent; deferred_done once the pool thread has filled it. */
    struct api_resp *deferred_out;
    atomic_bool deferred_done;
    bool rl_set;                  /* the rate limit headers below are known */
    unsigned rl_limit;
    int64_t rl_remaining;
    int64_t rl_reset_s;
};

/* conventions.c: the client address (r->client_addr holds the peer; it
 * becomes the forwarded client when the peer is a trusted proxy). */
void conv_client_addr(struct api_req *r, const struct conv_settings *c);
bool conv_trusted_proxy(const struct conv_settings *c, const char *ip);
/* OPTIONS on any path: the preflight answer (or 404). */
void conv_options(struct api_req *r, struct api_resp *out);
/* CORS headers on a response to an allowed Origin. */
void conv_cors_headers(const struct api_req *r, struct api_resp *out);
/* Counts the request against key in rl (max per window); false with a
 * 429 in out when it is over. */
bool conv_rate_limit(struct api_req *r, struct ratelimit *rl, unsigned max, const char *key,
                     struct api_resp *out);
/* RateLimit-Policy and RateLimit for the tighter limit seen. */
void conv_rate_headers(const struct api_req *r, struct api_resp *out);

/* The id of the request this thread is serving ("" outside one), for
 * log lines written below the handler. */
extern _Thread_local const char *api_current_request_id;

/* Request accessors (server.c). NULL when absent. */
const char *req_header(const struct api_req *r, const char *name);
const char *req_query(const struct api_req *r, const char *name);
const char *req_cookie(const struct api_req *r, const char *name);
/* Calls fn(key, value) for every query argument; stops at false. */
bool req_query_each(const struct api_req *r,
                    bool (*fn)(void *arg, const char *key, const char *value), void *arg);

/* ---- the response --------------------------------------------------- */
#define API_MAX_HEADERS 16

/* A streamed body (events.c): MHD's content reader contract. Returns
 * bytes written to buf (at most max), 0 after suspending the connection,
 * API_STREAM_END or API_STREAM_ERROR. */
typedef ssize_t (*api_stream_fn)(void *cls, uint64_t pos, char *buf, size_t max);
#define API_STREAM_END ((ssize_t)-1)
#define API_STREAM_ERROR ((ssize_t)-2)

struct api_resp {
    unsigned status;
    api_stream_fn stream;         /* when set: a stream instead of body */
    void *stream_cls;             /* owned by the stream: stream_free frees it */
    void (*stream_free)(void *cls);
    const char *content_type;     /* static string */
    char *body;                   /* owned unless body_static */
    size_t len;
    bool body_static;
    struct {
        const char *name;         /* static */
        char value[768];
    } headers[API_MAX_HEADERS];
    size_t n_headers;
};

void resp_free(struct api_resp *out);
void resp_header(struct api_resp *out, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends j (reference stolen) as application/json. */
void resp_json(struct api_resp *out, unsigned status, json_t *j);
void resp_empty(struct api_resp *out, unsigned status);
void resp_bytes(struct api_resp *out, unsigned status, const char *content_type,
                unsigned char *data, size_t len); /* takes data */
bool resp_has_header(const struct api_resp *out, const char *name);
/* A body that outlives the response (embedded files): never freed. */
void resp_static(struct api_resp *out, unsigned status, const char *content_type,
                 const void *data, size_t len);

/* ---- problem+json (problem.c) ---------------------------------------
 * RFC 9457 documents. The td_code -> HTTP status map lives here and
 * nowhere else. */
#define API_MAX_FIELD_ERRORS 8

struct field_errors {
    struct {
        char field[64];
        char message[192];
    } v[API_MAX_FIELD_ERRORS];
    size_t n;
};

void field_error(struct field_errors *fe, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

unsigned problem_status_of(enum td_code code);
/* A problem of a given status: type is derived from `kind` (a short
 * stable name such as "invalid_token"), title from the status. */
void problem(struct api_resp *out, unsigned status, const char *kind, const char *detail,
             const struct field_errors *fe);
/* The one mapping of a core error to a response. */
void problem_from_err(struct api_resp *out, const struct td_err *err);
/* 400 with per-field errors (fe->n > 0). */
void problem_fields(struct api_resp *out, const char *detail, const struct field_errors *fe);
/* 401 with WWW-Authenticate: Bearer error="invalid_token". */
void problem_unauthorized(struct api_resp *out, const char *reason);
/* 429 rate_limited with detail and Retry-After: retry_after_s. */
void problem_rate_limited(struct api_resp *out, const char *detail, int64_t retry_after_s);
/* The detail of a 429 for the claim and reset flows, which count per
 * address and per account alike (which one ran out is not told). */
#define TOO_MANY_ATTEMPTS \
    "too many attempts from this address or for this account; wait before trying again (see Retry-After)"

/* ---- the monotonic clock (mono.c) ----------------------------------- */
int64_t mono_us(void);
int64_t mono_ms(void);
/* Sleeps until mono_us() reaches due_us (at once if it has). */
void sleep_until_us(int64_t due_us);

/* ---- routes (router.c) ---------------------------------------------- */
enum route_flags {
    ROUTE_PUBLIC = 0,
    ROUTE_AUTH = 1,     /* needs a valid access token */
    ROUTE_UPLOAD = 2,   /* body limit is max_upload_bytes, multipart allowed */
    ROUTE_SESSION = 4,  /* a password session (JWT) only, never an access token */
    ROUTE_IDEMPOTENT = 8, /* honours Idempotency-Key (idempotency.c) */
};

typedef void (*api_handler)(struct api_req *r, struct api_resp *out);

struct api_route {
    const char *method;
    const char *pattern; /* "/api/v1/tickets/{number}" */
    api_handler fn;
    unsigned flags;
};

extern const struct api_route api_routes[];
extern const size_t api_n_routes;

/* Finds the route for method + path; on a miss sets *status to 404 or
 * 405 (and fills allow with the methods the path has). */
const struct api_route *router_match(struct api_req *r, unsigned *status, char *allow,
                                     size_t allow_len);
/* Runs r->route's handler, honouring an Idempotency-Key header
 * (idempotency.c); the route is ROUTE_IDEMPOTENT and r authenticated. */
void idem_dispatch(struct api_req *r, struct api_resp *out);
/* Authenticates when the route needs it, then calls its handler. */
void router_dispatch(struct api_req *r, struct api_resp *out);

/* ---- rate limiting (ratelimit.c) ------------------------------------
 * Counts per key, in this process's memory (one process; several
 * ticketd processes each count their own). Fixed windows (at most max
 * per window), or growing delays after `free` failures (backoff). */
struct ratelimit *ratelimit_new(unsigned max_failures, int64_t window_ms);
struct ratelimit *ratelimit_new_backoff(unsigned free_failures, int64_t window_ms);
void ratelimit_free(struct ratelimit *rl);
/* Hits/failures counted for key now (0 once forgotten). */
unsigned ratelimit_count(struct ratelimit *rl, const char *key, int64_t now_ms);
/* True when key may try again; else *retry_after_s says when. */
bool ratelimit_allowed(struct ratelimit *rl, const char *key, int64_t now_ms,
                       int64_t *retry_after_s);
void ratelimit_failure(struct ratelimit *rl, const char *key, int64_t now_ms);
void ratelimit_reset(struct ratelimit *rl, const char *key);
/* Request budgets: counts one for key; false when that makes more than
 * max in the window. *remaining (>= 0) and *reset_s describe the window. */
bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms, int64_t *remaining,
                    int64_t *reset_s);

/* ---- strict JSON input (json_in.c) ---------------------------------- */
enum jf_type {
    JF_STRING,        /* const char ** (borrowed from the document) */
    JF_STRING_NULL,   /* const char **; JSON null -> NULL with *present */
    JF_BOOL,          /* bool * */
    JF_INT,           /* int64_t * */
    JF_STRING_ARRAY,  /* struct strv * (copied) */
};

struct jf_field {
    const char *name;
    enum jf_type type;
    bool required;
    void *out;
    bool *present;    /* may be NULL */
};

/* Checks the Content-Type (application/json, 415 otherwise) and parses
 * the body as one JSON object whose members are exactly among fields,
 * each of its type. On failure *out holds the 400/413/415 problem and
 * false is returned. *doc must be json_decref'd by the caller after the
 * borrowed strings are no longer used (also on failure: NULL then).
 * An empty body counts as {} when allow_empty. */
bool json_in_parse(struct api_req *r, const struct jf_field *fields, size_t n, bool allow_empty,
                   json_t **doc, struct api_resp *out);
/* json_in_parse, but field errors (unknown, missing, wrong type) do not
 * end it: they go into fe, the fields that were fine are filled, and
 * true is returned with *doc set, so the handler adds its own checks
 * and reports every error at once (problem_fields when fe->n > 0).
 * False (out filled) only for a body that is not a JSON object at all,
 * a wrong Content-Type or a missing body. */
bool json_in_collect(struct api_req *r, const struct jf_field *fields, size_t n, bool allow_empty,
                     json_t **doc, struct field_errors *fe, struct api_resp *out);
/* The parser proper, without HTTP: used by json_in_parse and the fuzz
 * test. Returns false with fe (and *detail) filled. */
bool json_in_parse_buf(const char *body, size_t len, const struct jf_field *fields, size_t n,
                       json_t **doc, struct field_errors *fe, char *detail, size_t detail_len);
/* True if the Content-Type names application/json (charset utf-8 ok). */
bool json_in_is_json(const char *content_type);

/* ---- JSON output (json_out.c) --------------------------------------- */
json_t *json_user(const struct td_user *u);
/* id, name, email, role: what staff may read of anyone. */
json_t *json_user_brief(const struct td_user *u);
/* viewer: the role of who reads it; a customer sees "sla": null (the
 * desk's commitments and escalations are internal). */
json_t *json_ticket(const struct td_ticket *t, enum td_role viewer);
json_t *json_comment(const struct td_comment *c);
json_t *json_event(const struct td_event *e);
json_t *json_time(td_time t); /* RFC 3339 UTC with milliseconds */
/* "2026-01-02T03:04:05Z" / "...05.123Z" / "+02:00" -> ms. */
bool time_parse_rfc3339(const char *s, td_time *out);

/* ---- ?include=users (embed_users.c) --------------------------------- */
struct embed_users;
struct embed_users *embed_users_new(void);
void embed_users_free(struct embed_users *e);
/* True if the request asks for include=users (a bad value goes to fe). */
bool embed_users_wanted(struct api_req *r, struct field_errors *fe);
/* Adds "requester" and "assignee" (brief users or null) to ticket. */
void embed_users_ticket(struct api_req *r, struct embed_users *e, json_t *ticket,
                        const struct td_ticket *t);

/* ---- query strings and path parameters (query.c) -------------------- */
/* Rejects query arguments not in allowed (NULL-terminated) and repeated
 * ones. */
bool query_check(struct api_req *r, const char *const *allowed, struct field_errors *fe);
/* A positive decimal ticket number (path or query); false otherwise. */
bool parse_number(const char *s, int64_t *out);
/* The {number} path parameter, or a 400 into out. */
bool param_ticket(struct api_req *r, int64_t *out, struct api_resp *resp);

/* ?limit and ?cursor of a list read whole and cut into pages (comments,
 * history, users: append-only or small), as an offset; the default
 * limit is page_max. False with a 400 in out. */
bool query_page(struct api_req *r, int64_t *offset, int64_t *limit, struct api_resp *out);
/* The next_cursor of such a page: a string, or null at the end. */
json_t *query_page_next(int64_t offset, int64_t limit, size_t total);
/* Link: <path?cursor=...&the same arguments>; rel="next" on a list
 * response that has a next page (the body's next_cursor, as a header). */
void link_next(struct api_req *r, struct api_resp *out, const char *cursor);

/* Opaque list cursors: base64url of the last number and the order. */
void cursor_encode(int64_t after, bool ascending, char *out, size_t len);
bool cursor_decode(const char *s, int64_t *after, bool *ascending);
/* The cursor of sort=-updated: the last ticket's (updated, number). */
void cursor_encode_updated(int64_t updated, int64_t number, char *out, size_t len);
bool cursor_decode_updated(const char *s, int64_t *updated, int64_t *number);

/* ---- multipart/form-data (multipart.c) ------------------------------ */
#define MP_MAX_PARTS 32

struct mp_part {
    char name[64];
    char *filename;       /* owned; NULL for a plain field */
    char *content_type;   /* owned; NULL when the part had none */
    const unsigned char *data; /* borrowed from the body */
    size_t len;
};

struct mp_form {
    struct mp_part parts[MP_MAX_PARTS];
    size_t n;
};

/* Parses body (borrowed; must outlive form) with the boundary from the
 * Content-Type header. False with a reason in err (TD_INVALID). */
bool multipart_parse(const char *content_type, const char *body, size_t len,
                     struct mp_form *form, struct td_err *err);
void multipart_free(struct mp_form *form);
/* True if the Content-Type is multipart/form-data. */
bool multipart_is_form(const char *content_type);

/* ---- the embedded OpenAPI document (openapi_doc.c) ------------------ */
const char *openapi_doc(size_t *len);

/* ---- the web console (routes_web.c; the table is generated at build
 * time from web/ by api/web_embed.sh) ---------------------------------- */
struct web_asset {
    const char *path;            /* "/index.html" */
    const char *type;            /* Content-Type */
    const char *etag;            /* hex digest of the content, unquoted */
    const unsigned char *raw, *raw_end;
    const unsigned char *gz, *gz_end; /* gzip -9 -n of raw */
};
extern const struct web_asset web_assets[];
extern const size_t web_n_assets;

/* Serves r->path from web_assets ("/" is /index.html) with ETag,
 * If-None-Match, gzip and the console's security headers. False (out
 * untouched) when the path is not an asset. */
bool web_serve(struct api_req *r, struct api_resp *out);
/* The asset at path, or NULL. */
const struct web_asset *web_find(const char *path);
/* True if the Accept-Encoding header value allows gzip. */
bool web_accepts_gzip(const char *accept_encoding);
/* True if the If-None-Match header value matches the (unquoted) etag. */
bool web_etag_matches(const char *if_none_match, const char *etag);

/* ---- handlers (api/routes.h): one per row of router.c's table ---- */
#include "routes.h"

#endif
