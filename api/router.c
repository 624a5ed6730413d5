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
 * one made by another within USER_CACHE_TTL_MS. */
#include "api_int.h"

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
    { "POST", "/api/v1/auth/login", h_login, ROUTE_PUBLIC },
    { "POST", "/api/v1/auth/refresh", h_refresh, ROUTE_PUBLIC },
    { "POST", "/api/v1/auth/logout", h_logout, ROUTE_PUBLIC },
    { "POST", "/api/v1/auth/claim", h_claim, ROUTE_PUBLIC },                 /* routes_claim.c */
    { "POST", "/api/v1/auth/claim/confirm", h_claim_confirm, ROUTE_PUBLIC },
    { "GET", "/api/v1/me", h_me, ROUTE_AUTH },

    { "GET", "/api/v1/tickets", h_tickets_list, ROUTE_AUTH },
    { "POST", "/api/v1/tickets", h_tickets_create, ROUTE_AUTH },
    { "GET", "/api/v1/tickets/{number}", h_ticket_get, ROUTE_AUTH },
    { "PATCH", "/api/v1/tickets/{number}", h_ticket_patch, ROUTE_AUTH },
    { "POST", "/api/v1/tickets/{number}/claim", h_ticket_claim, ROUTE_AUTH },
    { "POST", "/api/v1/tickets/{number}/assign", h_ticket_assign, ROUTE_AUTH },
    { "GET", "/api/v1/tickets/{number}/history", h_ticket_history, ROUTE_AUTH },
    { "GET", "/api/v1/tickets/{number}/comments", h_comments_list, ROUTE_AUTH },
    { "POST", "/api/v1/tickets/{number}/comments", h_comments_create, ROUTE_AUTH | ROUTE_UPLOAD },
    { "GET", "/api/v1/attachments/{id}", h_attachment_get, ROUTE_AUTH },

    { "GET", "/api/v1/users", h_users_list, ROUTE_AUTH },
    { "POST", "/api/v1/users", h_users_create, ROUTE_AUTH },
    { "GET", "/api/v1/users/{id}", h_user_get, ROUTE_AUTH },
    { "PATCH", "/api/v1/users/{id}", h_user_patch, ROUTE_AUTH },
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
    if (!jwt_verify_token(&r->api->set, token, (int64_t)time(NULL), &claims, &err)) {
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
    if ((r->route->flags & ROUTE_AUTH) && !authenticate(r, out))
        return;
    r->route->fn(r, out);
}
