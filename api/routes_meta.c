/* routes_meta.c - GET /healthz and GET /api/v1/openapi.json. */
#include "api_int.h"

#include <string.h>

void h_healthz(struct api_req *r, struct api_resp *out)
{
    struct store *st = r->api->core->store;
    struct td_err err;
    td_err_clear(&err);
    if (!st->ops->ping(st, &err)) {
        /* Load balancers read the status; the detail is for people. */
        if (err.code != TD_UNAVAILABLE)
            err.code = TD_UNAVAILABLE;
        problem_from_err(out, &err);
        return;
    }
    resp_json(out, 200, json_pack("{s:s, s:s}", "status", "ok", "store", st->ops->name));
}

void h_openapi(struct api_req *r, struct api_resp *out)
{
    (void)r;
    size_t len;
    const char *doc = openapi_doc(&len);
    out->status = 200;
    out->content_type = "application/json";
    out->body = (char *)doc;
    out->len = len;
    out->body_static = true;
}
