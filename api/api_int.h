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

/* ---- settings (settings.c): the [api] section ---------------------- */
#define API_MIN_SECRET 32

struct api_settings {
    char *bind;                 /* listen address, default 127.0.0.1 */
    int port;                   /* default 8080 */
    unsigned threads;           /* MHD thread pool size */
    unsigned conn_timeout_s;    /* idle connection timeout */
    unsigned max_connections;
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
    unsigned login_max_per_account; /* failures per window */
    unsigned login_max_per_addr;
    int64_t login_window_s;
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

/* ---- the server (server.c) ---------------------------------------- */
/* user_cache.c: the user behind a token, reused for at most
 * USER_CACHE_TTL_MS and never after this process changed a user. get
 * fills out (a copy the caller owns) like user_get. */
#define USER_CACHE_TTL_MS 500
struct user_cache;
struct user_cache *user_cache_new(void);
void user_cache_free(struct user_cache *c); /* NULL-safe */
bool user_cache_get(struct user_cache *c, struct td_core *core, const char *id,
                    struct td_user *out, struct td_err *err);

struct api {
    struct td_core *core;       /* borrowed from the cli env */
    struct user_cache *users;   /* see user_cache.c */
    struct api_settings set;
    struct ops_settings ops;
    struct ratelimit *rl_account; /* failed logins per account */
    struct ratelimit *rl_addr;    /* failed logins per client address */
    struct MHD_Daemon *mhd;
    atomic_int in_flight;       /* requests begun and not completed (drain) */
    _Atomic int64_t last_purge_ms; /* expired refresh tokens, at most hourly */
};

/* Starts/stops the HTTP server for an already configured api. */
bool server_start(struct api *api, struct td_err *err);
void server_stop(struct api *api);

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
    bool responded;
};

/* The id of the request this thread is serving ("" outside one), for
 * log lines written below the handler. */
extern _Thread_local const char *api_current_request_id;

/* Request accessors (server.c). NULL when absent. */
const char *req_header(const struct api_req *r, const char *name);
const char *req_query(const struct api_req *r, const char *name);
/* Calls fn(key, value) for every query argument; stops at false. */
bool req_query_each(const struct api_req *r,
                    bool (*fn)(void *arg, const char *key, const char *value), void *arg);

/* ---- the response --------------------------------------------------- */
#define API_MAX_HEADERS 6

struct api_resp {
    unsigned status;
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

/* ---- routes (router.c) ---------------------------------------------- */
enum route_flags {
    ROUTE_PUBLIC = 0,
    ROUTE_AUTH = 1,     /* needs a valid access token */
    ROUTE_UPLOAD = 2,   /* body limit is max_upload_bytes, multipart allowed */
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
/* Authenticates when the route needs it, then calls its handler. */
void router_dispatch(struct api_req *r, struct api_resp *out);

/* ---- JWT (auth_jwt.c) ----------------------------------------------- */
struct jwt_claims {
    char sub[TD_ID_LEN + 1];
    enum td_role role;
    int64_t ver;
    int64_t iat, exp;
    char jti[33];
};

/* An access token for u; *token is owned by the caller (free()). */
bool jwt_issue(const struct api_settings *s, const struct td_user *u, int64_t now_s,
               char **token, struct td_err *err);
/* Verifies signature, algorithm and claims. On failure err->msg is the
 * reason a client may see ("token expired") and the code TD_UNAUTHORIZED. */
bool jwt_verify_token(const struct api_settings *s, const char *token, int64_t now_s,
                      struct jwt_claims *out, struct td_err *err);
/* RS256: signs a probe with the private key and verifies it with the
 * public one (TD_INVALID naming the key file otherwise). HS256: true. */
bool jwt_keys_check(const struct api_settings *s, struct td_err *err);

/* ---- refresh tokens (auth_tokens.c) --------------------------------- */
#define REFRESH_TOKEN_LEN 43 /* base64url of 32 random bytes */

/* A new refresh token for u in family (NULL: a new family). *token is
 * owned by the caller. */
bool tokens_issue(struct api *api, const struct td_user *u, const char *family,
                  char token[REFRESH_TOKEN_LEN + 1], struct td_err *err);
/* Rotation: consumes token (once), returns its user in *u and a new
 * token of the same family. Reuse of a consumed token revokes the whole
 * family and fails with TD_UNAUTHORIZED. */
bool tokens_rotate(struct api *api, const char *token, struct td_user *u,
                   char fresh[REFRESH_TOKEN_LEN + 1], struct td_err *err);
/* Logout: revokes the family of token (unknown tokens: nothing to do). */
bool tokens_revoke(struct api *api, const char *token, struct td_err *err);
/* Housekeeping on the login path: deletes expired refresh tokens, at
 * most once an hour per process; failures are only logged. */
void tokens_purge_expired(struct api *api);
/* True if token has the shape of one of ours (43 base64url characters). */
bool tokens_well_formed(const char *token);

/* ---- shared by the auth routes (routes_auth.c) ---------------------- */
/* "kind:value", the key of a rate limiter entry. */
void auth_rl_key(char *out, size_t len, const char *kind, const char *value);
/* {token_type, access_token, expires_in, refresh_token, ...} for u. */
void auth_token_response(struct api_req *r, struct api_resp *out, unsigned status,
                         const struct td_user *u, const char *refresh);

/* ---- account claim tokens (routes_claim.c) -------------------------- */
#define CLAIM_TTL_S 3600 /* a claim mail's token works for an hour */

/* The stored key of a claim token: hex SHA-256 over a domain of its own,
 * so it never equals a refresh token's (store.h td_refresh_token). */
void claim_token_hash(const char *token, char out[TD_TOKEN_HASH_LEN + 1]);

/* ---- login rate limiting (ratelimit.c) ------------------------------
 * Fixed windows of failures per key, in this process's memory (one
 * process; several ticketd processes each count their own). */
struct ratelimit *ratelimit_new(unsigned max_failures, int64_t window_ms);
void ratelimit_free(struct ratelimit *rl);
/* True when key may try again; else *retry_after_s says when. */
bool ratelimit_allowed(struct ratelimit *rl, const char *key, int64_t now_ms,
                       int64_t *retry_after_s);
void ratelimit_failure(struct ratelimit *rl, const char *key, int64_t now_ms);
void ratelimit_reset(struct ratelimit *rl, const char *key);

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
/* The parser proper, without HTTP: used by json_in_parse and the fuzz
 * test. Returns false with fe (and *detail) filled. */
bool json_in_parse_buf(const char *body, size_t len, const struct jf_field *fields, size_t n,
                       json_t **doc, struct field_errors *fe, char *detail, size_t detail_len);
/* True if the Content-Type names application/json (charset utf-8 ok). */
bool json_in_is_json(const char *content_type);

/* ---- JSON output (json_out.c) --------------------------------------- */
json_t *json_user(const struct td_user *u);
json_t *json_ticket(const struct td_ticket *t);
json_t *json_comment(const struct td_comment *c);
json_t *json_event(const struct td_event *e);
json_t *json_time(td_time t); /* RFC 3339 UTC with milliseconds */
/* "2026-01-02T03:04:05Z" / "...05.123Z" / "+02:00" -> ms. */
bool time_parse_rfc3339(const char *s, td_time *out);

/* ---- query strings and path parameters (query.c) -------------------- */
/* Rejects query arguments not in allowed (NULL-terminated) and repeated
 * ones. */
bool query_check(struct api_req *r, const char *const *allowed, struct field_errors *fe);
/* A positive decimal ticket number (path or query); false otherwise. */
bool parse_number(const char *s, int64_t *out);
/* The {number} path parameter, or a 400 into out. */
bool param_ticket(struct api_req *r, int64_t *out, struct api_resp *resp);

/* Opaque list cursors: base64url of the last number and the order. */
void cursor_encode(int64_t after, bool ascending, char *out, size_t len);
bool cursor_decode(const char *s, int64_t *after, bool *ascending);

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

/* ---- handlers -------------------------------------------------------- */
void h_healthz(struct api_req *r, struct api_resp *out);
void h_openapi(struct api_req *r, struct api_resp *out);
void h_metrics(struct api_req *r, struct api_resp *out);
void h_readyz(struct api_req *r, struct api_resp *out);

void h_register(struct api_req *r, struct api_resp *out);
void h_login(struct api_req *r, struct api_resp *out);
void h_refresh(struct api_req *r, struct api_resp *out);
void h_logout(struct api_req *r, struct api_resp *out);
void h_me(struct api_req *r, struct api_resp *out);
void h_claim(struct api_req *r, struct api_resp *out);
void h_claim_confirm(struct api_req *r, struct api_resp *out);

void h_tickets_list(struct api_req *r, struct api_resp *out);
void h_tickets_create(struct api_req *r, struct api_resp *out);
void h_ticket_get(struct api_req *r, struct api_resp *out);
void h_ticket_patch(struct api_req *r, struct api_resp *out);
void h_ticket_claim(struct api_req *r, struct api_resp *out);
void h_ticket_assign(struct api_req *r, struct api_resp *out);
void h_ticket_history(struct api_req *r, struct api_resp *out);

void h_comments_list(struct api_req *r, struct api_resp *out);
void h_comments_create(struct api_req *r, struct api_resp *out);
void h_attachment_get(struct api_req *r, struct api_resp *out);

void h_users_list(struct api_req *r, struct api_resp *out);
void h_users_create(struct api_req *r, struct api_resp *out);
void h_user_get(struct api_req *r, struct api_resp *out);
void h_user_patch(struct api_req *r, struct api_resp *out);

#endif
