/* router.c - the route table, path matching and authentication.
 *
 * api_routes[] is the single list of what the server answers; the
 * OpenAPI test compares it with api/openapi.json in both directions, so
 * a route cannot be added without being documented (or the reverse).
 *
 * Authentication (routes with ROUTE_AUTH): a Bearer access token that
 * auth_jwt.c verifies, whose user still exists, is not disabled and
 * still has the token_version the token was issued with. The actor the
 * handlers pass to core is that stored user, never the token's claims,
 * so a role change is seen by the very next request. The user comes
 * through user_cache.c: a change made by this process is seen at once,
 * one made by another within USER_CACHE_TTL_MS.
 *
 * A Bearer value starting "td_pat_" is a personal access token
 * (core/pat.h) instead: its owner acts, narrowed by the token's scopes -
 * read allows GET/HEAD, write every method, admin keeps an admin's
 * rights (core/pat.c lowers the role otherwise). Routes flagged
 * ROUTE_SESSION (issuing tokens) refuse access tokens, so a leaked token
 * cannot mint more. */
#include "api_int.h"
#include "auth.h"
#include "token_cache.h"
#include "user_cache.h"

#include "core/pat.h"
#include "core/user.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const struct api_route api_routes[] = {
    { "GET", "/healthz", h_healthz, ROUTE_PUBLIC },
    { "GET", "/api/v1/openapi.json", h_openapi, ROUTE_PUBLIC },
    { "GET", "/readyz", h_readyz, ROUTE_PUBLIC },   /* routes_ops.c */
    { "GET", "/metrics", h_metrics, ROUTE_PUBLIC }, /* routes_ops.c */

    { "POST", "/api/v1/auth/register", h_register, ROUTE_PUBLIC },
    { "POST", "/api/v1/auth/register/confirm", h_register_confirm, ROUTE_PUBLIC }, /* routes_register.c */
    { "POST", "/api/v1/auth/login", h_login, ROUTE_PUBLIC },
    { "POST", "/api/v1/auth/refresh", h_refresh, ROUTE_PUBLIC },
    { "POST", "/api/v1/auth/logout", h_logout, ROUTE_PUBLIC },
    { "POST", "/api/v1/auth/claim", h_claim, ROUTE_PUBLIC },                 /* routes_claim.c */
    { "POST", "/api/v1/auth/claim/confirm", h_claim_confirm, ROUTE_PUBLIC },
    { "POST", "/api/v1/auth/reset", h_reset, ROUTE_PUBLIC },                 /* routes_reset.c */
    { "POST", "/api/v1/auth/reset/confirm", h_reset_confirm, ROUTE_PUBLIC },
    { "POST", "/api/v1/auth/cookie/login", h_cookie_login, ROUTE_PUBLIC }, /* routes_session.c */
    { "POST", "/api/v1/auth/cookie/refresh", h_cookie_refresh, ROUTE_PUBLIC },
    { "POST", "/api/v1/auth/cookie/logout", h_cookie_logout, ROUTE_PUBLIC },
    { "GET", "/api/v1/me", h_me, ROUTE_AUTH },
    { "GET", "/api/v1/events", h_events, ROUTE_AUTH }, /* events.c */

    { "GET", "/api/v1/tickets", h_tickets_list, ROUTE_AUTH },
    { "POST", "/api/v1/tickets", h_tickets_create, ROUTE_AUTH | ROUTE_IDEMPOTENT },
    { "GET", "/api/v1/tickets/{number}", h_ticket_get, ROUTE_AUTH },
    { "PATCH", "/api/v1/tickets/{number}", h_ticket_patch, ROUTE_AUTH },
    { "POST", "/api/v1/tickets/{number}/claim", h_ticket_claim, ROUTE_AUTH },
    { "POST", "/api/v1/tickets/{number}/assign", h_ticket_assign, ROUTE_AUTH },
    { "GET", "/api/v1/tickets/{number}/history", h_ticket_history, ROUTE_AUTH },
    { "POST", "/api/v1/tickets/{number}/merge", h_ticket_merge, ROUTE_AUTH },     /* routes_merge.c */
    { "GET", "/api/v1/tickets/{number}/participants", h_participants_list, ROUTE_AUTH },
    { "POST", "/api/v1/tickets/{number}/participants", h_participants_add, ROUTE_AUTH },
    { "DELETE", "/api/v1/tickets/{number}/participants/{user_id}", h_participants_remove,
      ROUTE_AUTH },
    { "GET", "/api/v1/tickets/{number}/comments", h_comments_list, ROUTE_AUTH },
    { "POST", "/api/v1/tickets/{number}/comments", h_comments_create,
      ROUTE_AUTH | ROUTE_UPLOAD | ROUTE_IDEMPOTENT },
    { "GET", "/api/v1/attachments/{id}", h_attachment_get, ROUTE_AUTH },

    { "GET", "/api/v1/quarantine", h_quarantine_list, ROUTE_AUTH }, /* routes_quarantine.c */
    { "GET", "/api/v1/quarantine/{id}", h_quarantine_get, ROUTE_AUTH },
    { "DELETE", "/api/v1/quarantine/{id}", h_quarantine_delete, ROUTE_AUTH },
    { "GET", "/api/v1/quarantine/{id}/raw", h_quarantine_raw, ROUTE_AUTH },
    { "POST", "/api/v1/quarantine/{id}/retry", h_quarantine_retry, ROUTE_AUTH },
    { "GET", "/api/v1/tokens", h_tokens_list, ROUTE_AUTH },                  /* routes_tokens.c */
    { "POST", "/api/v1/tokens", h_tokens_create, ROUTE_AUTH | ROUTE_SESSION },
    { "DELETE", "/api/v1/tokens/{id}", h_token_revoke, ROUTE_AUTH },

    { "GET", "/api/v1/webhooks", h_webhooks_list, ROUTE_AUTH },              /* routes_webhooks.c */
    { "POST", "/api/v1/webhooks", h_webhooks_create, ROUTE_AUTH },
    { "GET", "/api/v1/webhooks/{id}", h_webhook_get, ROUTE_AUTH },
    { "PATCH", "/api/v1/webhooks/{id}", h_webhook_patch, ROUTE_AUTH },
    { "DELETE", "/api/v1/webhooks/{id}", h_webhook_delete, ROUTE_AUTH },
    { "GET", "/api/v1/webhooks/{id}/deliveries", h_webhook_deliveries, ROUTE_AUTH },
    { "POST", "/api/v1/webhooks/{id}/test", h_webhook_test, ROUTE_AUTH },

    { "GET", "/api/v1/users", h_users_list, ROUTE_AUTH },
    { "POST", "/api/v1/users", h_users_create, ROUTE_AUTH },
    { "GET", "/api/v1/users/{id}", h_user_get, ROUTE_AUTH },
    { "PATCH", "/api/v1/users/{id}", h_user_patch, ROUTE_AUTH },
    { "POST", "/api/v1/users/{id}/erase", h_user_erase, ROUTE_AUTH },        /* routes_erase.c */
    { "GET", "/api/v1/users/{id}/aliases", h_aliases_list, ROUTE_AUTH }, /* routes_aliases.c */
    { "POST", "/api/v1/users/{id}/aliases", h_aliases_add, ROUTE_AUTH },
    { "DELETE", "/api/v1/users/{id}/aliases/{email}", h_aliases_remove, ROUTE_AUTH },
    { "GET", "/api/v1/auth/aliases/confirm", h_alias_confirm, ROUTE_PUBLIC },

    { "GET", "/api/v1/groups", h_groups_list, ROUTE_AUTH },                  /* routes_groups.c */
    { "POST", "/api/v1/groups", h_groups_create, ROUTE_AUTH },
    { "GET", "/api/v1/groups/{key}", h_group_get, ROUTE_AUTH },
    { "PATCH", "/api/v1/groups/{key}", h_group_patch, ROUTE_AUTH },
    { "DELETE", "/api/v1/groups/{key}", h_group_delete, ROUTE_AUTH },
    { "POST", "/api/v1/groups/{key}/members/{user_id}", h_group_member_put, ROUTE_AUTH },
    { "DELETE", "/api/v1/groups/{key}/members/{user_id}", h_group_member_delete, ROUTE_AUTH },
    { "POST", "/api/v1/tickets/{number}/followers/{user_id}", h_followers_add, ROUTE_AUTH },
    { "DELETE", "/api/v1/tickets/{number}/followers/{user_id}", h_followers_remove,
      ROUTE_AUTH }, /* routes_followers.c */
};
const size_t api_n_routes = sizeof api_routes / sizeof api_routes[0];

/* Matches path against pattern, capturing {params} into r. */
static bool path_matches(struct api_req *r, const char *pattern, const char *path)
{
    size_t n = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = strchr(s, '/');
            size_t len = se ? (size_t)(se - s) : strlen(s);
            if (pe == NULL || len == 0 || len >= sizeof r->param_store[0] || n >= API_MAX_PARAMS)
                return false;
            memcpy(r->param_store[n], s, len);
            r->param_store[n][len] = '\0';
            n++;
            p = pe + 1;
            s += len;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    if (*p != '\0' || *s != '\0')
        return false;
    for (size_t i = 0; i < n; i++)
        r->params[i] = r->param_store[i];
    r->n_params = n;
    return true;
}

const struct api_route *router_match(struct api_req *r, unsigned *status, char *allow,
                                     size_t allow_len)
{
    /* HEAD is GET without a body (MHD drops the body). */
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    bool path_known = false;
    size_t used = 0;
    if (allow_len)
        allow[0] = '\0';
    for (size_t i = 0; i < api_n_routes; i++) {
        if (!path_matches(r, api_routes[i].pattern, r->path))
            continue;
        if (strcmp(api_routes[i].method, method) == 0)
            return &api_routes[i];
        path_known = true;
        int w = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "",
                         api_routes[i].method);
        if (w > 0 && (size_t)w < allow_len - used)
            used += (size_t)w;
    }
    r->n_params = 0;
    *status = path_known ? 405 : 404;
    return NULL;
}

/* The owner of a token through the user cache (user_cache.c), so a
 * token's request costs no user read either, and a change is seen as
 * for an access token. */
static bool cached_user(void *ctx, const char *id, struct td_user *out, struct td_err *err)
{
    struct api *api = ctx;
    return user_cache_get(api->users, api->core, id, out, err);
}

/* A personal access token: its owner, narrowed by its scopes. */
static bool authenticate_pat(struct api_req *r, const char *token, struct api_resp *out)
{
    struct td_pat pat;
    struct td_err err;
    td_err_clear(&err);
    bool ok = r->api->users != NULL
                  ? pat_authenticate_via(r->api->core, token, r->client_addr, cached_user, r->api,
                                         &r->user, &pat, &err)
                  : pat_authenticate(r->api->core, token, r->client_addr, &r->user, &pat, &err);
    if (!ok) {
        if (err.code == TD_UNAUTHORIZED)
            problem_unauthorized(out, err.msg);
        else
            problem_from_err(out, &err);
        return false;
    }
    r->authed = true;
    r->via_pat = true;
    r->pat_scopes = pat_scopes_closure(pat.scopes);
    memcpy(r->pat_id, pat.id, sizeof r->pat_id);
    pat_clear(&pat);
    return true;
}

/* 403 insufficient_scope (RFC 6750 section 3.1). */
static void problem_scope(struct api_resp *out, const char *need, const char *detail)
{
    problem(out, 403, "insufficient_scope", detail, NULL);
    resp_header(out, "WWW-Authenticate",
                "Bearer realm=\"ticketd\", error=\"insufficient_scope\", scope=\"%s\"", need);
}

/* What an access token's scopes allow on this route (true: go on). */
static bool scope_allows(struct api_req *r, struct api_resp *out)
{
    if (!r->via_pat)
        return true;
    if (r->route->flags & ROUTE_SESSION) {
        problem_scope(out, "session",
                      "access tokens cannot do this; log in with a password for a session");
        return false;
    }
    bool safe = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    if (safe && !(r->pat_scopes & TD_PAT_READ)) {
        problem_scope(out, "read", "this token lacks the read scope");
        return false;
    }
    if (!safe && !(r->pat_scopes & TD_PAT_WRITE)) {
        problem_scope(out, "write", "this token has only the read scope");
        return false;
    }
    return true;
}

/* Fills r->user from the Authorization header or answers 401/503. */
static bool authenticate(struct api_req *r, struct api_resp *out)
{
    const char *h = req_header(r, "Authorization");
    if (h == NULL) {
        problem_unauthorized(out, "missing bearer token");
        return false;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        problem_unauthorized(out, "the Authorization header must be 'Bearer <access token>'");
        return false;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    struct jwt_claims claims;
    struct td_err err;
    td_err_clear(&err);
    if (strncmp(token, PAT_PREFIX, strlen(PAT_PREFIX)) == 0)
        return authenticate_pat(r, token, out);
    if (!token_cache_verify(r->api->tokens, &r->api->set, token, (int64_t)time(NULL), &claims,
                            &err)) {
        problem_unauthorized(out, err.msg);
        return false;
    }
    bool got = r->api->users != NULL
                   ? user_cache_get(r->api->users, r->api->core, claims.sub, &r->user, &err)
                   : user_get(r->api->core, claims.sub, &r->user, &err);
    if (!got) {
        if (err.code == TD_NOT_FOUND)
            problem_unauthorized(out, "the account of this token no longer exists");
        else
            problem_from_err(out, &err);
        return false;
    }
    r->authed = true;
    if (r->user.disabled) {
        problem_unauthorized(out, "this account is disabled");
        return false;
    }
    if (claims.ver != r->user.token_version) {
        problem_unauthorized(out, "token revoked: the account changed after it was issued; log in again");
        return false;
    }
    return true;
}

void router_dispatch(struct api_req *r, struct api_resp *out)
{
    if ((r->route->flags & ROUTE_AUTH) && (!authenticate(r, out) || !scope_allows(r, out)))
        return;
    if (r->authed) { /* the credential's own budget (conventions.c) */
        char key[64];
        snprintf(key, sizeof key, r->via_pat ? "pat:%s" : "user:%s",
                 r->via_pat ? r->pat_id : r->user.id);
        if (!conv_rate_limit(r, r->api->rl_req_token, r->api->conv.rate_per_token, key, out))
            return;
    }
    if ((r->route->flags & ROUTE_IDEMPOTENT) && r->authed)
        idem_dispatch(r, out);
    else
        r->route->fn(r, out);
}
