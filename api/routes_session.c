/* routes_session.c - cookie-mode login, refresh and logout for the web
 * console: POST /api/v1/auth/cookie/{login,refresh,logout}.
 *
 * Where the console keeps its tokens, and why (api/README-api.md):
 *   - the access token (15 min) only in the memory of the page's
 *     JavaScript; it goes out in the Authorization header, never in a
 *     URL, a cookie or web storage;
 *   - the refresh token in a cookie the page cannot read: HttpOnly,
 *     SameSite=Strict, Path=/api/v1/auth/cookie (sent to these three
 *     endpoints and nowhere else), Secure unless the console is reached
 *     on a loopback host name (browsers treat http://localhost as
 *     secure, and a Secure cookie would not be stored over plain http
 *     on 127.0.0.1). A reload signs in again by calling refresh.
 * CSRF: every other endpoint authenticates by the Authorization header,
 * which a foreign page cannot make a browser send, so a forged request
 * carries no credentials. These three do read the cookie, so they also
 * insist on a JSON body (a cross-origin form cannot send one without a
 * CORS preflight, which ticketd never answers), the custom header
 * X-Ticketd-Csrf: 1, and - when the browser tells - an Origin equal to
 * this host and Sec-Fetch-Site same-origin. The access token they
 * return is readable only by a same-origin caller anyway.
 *
 * They are adapters over the JSON endpoints (routes_auth.c): the same
 * handler runs - rate limits, rotation, reuse detection and all - and
 * the refresh token moves from the JSON body into the cookie. */
#include "api_int.h"
#include "auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define COOKIE_NAME "td_refresh"
#define COOKIE_PATH "/api/v1/auth/cookie"

/* Host without port is a loopback name: no Secure attribute. */
static bool host_is_loopback(const char *host)
{
    if (host == NULL)
        return false;
    size_t n = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
    return (n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
           (n >= 9 && strncmp(host, "127.", 4) == 0) || (n == 5 && strncmp(host, "[::1]", 5) == 0);
}

/* The CSRF guard; false with a 403 in out. */
static bool same_origin_guard(struct api_req *r, struct api_resp *out)
{
    const char *csrf = req_header(r, "X-Ticketd-Csrf");
    const char *site = req_header(r, "Sec-Fetch-Site");
    const char *origin = req_header(r, "Origin");
    const char *host = req_header(r, "Host");
    const char *why = NULL;
    if (csrf == NULL || strcmp(csrf, "1") != 0)
        why = "cookie endpoints need the header X-Ticketd-Csrf: 1";
    else if (site != NULL && strcmp(site, "same-origin") != 0)
        why = "cookie endpoints answer same-origin requests only";
    else if (origin != NULL) {
        const char *o = strstr(origin, "://");
        if (host == NULL || o == NULL || strcasecmp(o + 3, host) != 0)
            why = "the Origin of this request is not this server";
    }
    if (why == NULL)
        return true;
    problem(out, 403, "forbidden", why, NULL);
    return false;
}

static void set_cookie(struct api_req *r, struct api_resp *out, const char *value, int64_t max_age)
{
    resp_header(out, "Set-Cookie", COOKIE_NAME "=%s; Path=" COOKIE_PATH "; Max-Age=%lld; HttpOnly; "
                "SameSite=Strict%s", value, (long long)max_age,
                host_is_loopback(req_header(r, "Host")) ? "" : "; Secure");
}

/* Moves refresh_token from a successful token response into the cookie. */
static void token_to_cookie(struct api_req *r, struct api_resp *out)
{
    if (out->status != 200 || out->body == NULL)
        return;
    json_t *j = json_loadb(out->body, out->len, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "refresh_token"));
    if (tok == NULL || !tokens_well_formed(tok)) {
        json_decref(j);
        problem(out, 500, "internal", "the token response had no refresh token", NULL);
        return;
    }
    char token[REFRESH_TOKEN_LEN + 1];
    snprintf(token, sizeof token, "%s", tok);
    json_object_del(j, "refresh_token");
    /* resp_json keeps the headers the handler set. */
    resp_json(out, 200, j);
    set_cookie(r, out, token, r->api->set.refresh_ttl_s);
    memset(token, 0, sizeof token);
}

/* Replaces the request body with {"refresh_token": the cookie}. False
 * (401 in out) when there is no well-formed cookie. */
static bool cookie_as_body(struct api_req *r, struct api_resp *out)
{
    const char *c = req_cookie(r, COOKIE_NAME);
    if (c == NULL || !tokens_well_formed(c)) {
        problem_unauthorized(out, "no session cookie; log in");
        return false;
    }
    r->body.len = 0;
    buf_printf(&r->body, "{\"refresh_token\":\"%s\"}", c);
    return true;
}

static bool json_body(struct api_req *r, struct api_resp *out)
{
    if (json_in_is_json(req_header(r, "Content-Type")))
        return true;
    problem(out, 415, "unsupported_media_type", "the request body must be application/json (UTF-8)",
            NULL);
    return false;
}

void h_cookie_login(struct api_req *r, struct api_resp *out)
{
    if (!same_origin_guard(r, out) || !json_body(r, out))
        return;
    h_login(r, out);
    token_to_cookie(r, out);
}

void h_cookie_refresh(struct api_req *r, struct api_resp *out)
{
    if (!same_origin_guard(r, out) || !json_body(r, out) || !cookie_as_body(r, out))
        return;
    h_refresh(r, out);
    if (out->status == 401)
        set_cookie(r, out, "", 0); /* a dead session: forget it */
    token_to_cookie(r, out);
}

void h_cookie_logout(struct api_req *r, struct api_resp *out)
{
    if (!same_origin_guard(r, out) || !json_body(r, out))
        return;
    if (req_cookie(r, COOKIE_NAME) != NULL && cookie_as_body(r, out))
        h_logout(r, out);
    else
        resp_empty(out, 204);
    if (out->status == 204 || out->status == 401)
        set_cookie(r, out, "", 0);
}
