/* module.c - the api row of cli/modules.c: settings, rate limiters and
 * the HTTP server, started and stopped as one. */
#include "api.h"
#include "api_int.h"
#include "user_cache.h"
#include "token_cache.h"
#include "tls.h"

#include "core/log.h"
#include "core/mem.h"

#include <string.h>

static void api_free(struct api *api)
{
    ratelimit_free(api->rl_account);
    ratelimit_free(api->rl_addr);
    user_cache_free(api->users);
    token_cache_free(api->tokens);
    ratelimit_free(api->rl_reg_addr);
    ratelimit_free(api->rl_reg_global);
    ratelimit_free(api->rl_req_addr);
    ratelimit_free(api->rl_req_token);
    conv_settings_free(&api->conv);
    ops_settings_free(&api->ops);
    api_settings_free(&api->set);
    api_tls_free(api->tls); /* after the daemon stopped: no handshake left */
    free(api);
}

bool api_start(struct td_app *env, void **handle, struct td_err *err)
{
    struct api *api = td_calloc(1, sizeof *api);
    api->app = env;
    api->core = &env->core;
    if (!api_settings_load(env->cfg, &env->core, &api->set, err)) {
        free(api);
        return false;
    }
    if (!ops_settings_load(env->cfg, &api->ops, err) || !api_tls_load(env->cfg, &api->tls, err) ||
        !conv_settings_load(env->cfg, &api->conv, err)) {
        api_free(api);
        return false;
    }
    int64_t rwin = api->conv.rate_window_s * 1000;
    api->rl_req_addr = ratelimit_new(api->conv.rate_per_addr, rwin);
    api->rl_req_token = ratelimit_new(api->conv.rate_per_token, rwin);
    int64_t window_ms = api->set.login_window_s * 1000;
    api->rl_account = ratelimit_new_backoff(api->set.login_max_per_account, window_ms);
    api->rl_addr = ratelimit_new_backoff(api->set.login_max_per_addr, window_ms);
    int64_t reg_ms = api->set.register_window_s * 1000;
    api->rl_reg_addr = ratelimit_new(api->set.register_max_per_addr, reg_ms);
    api->rl_reg_global = ratelimit_new(api->set.register_max_global, reg_ms);
    atomic_store(&api->hash_slots, (int)api->set.hash_concurrency);
    api->users = user_cache_new();
    api->tokens = token_cache_new();
    if (!events_start(api, err) || !server_start(api, err)) {
        events_free(api);
        api_free(api);
        return false;
    }
    *handle = api;
    return true;
}

bool api_check(struct td_app *env, struct td_err *err)
{
    struct api_settings set;
    struct ops_settings ops;
    struct conv_settings conv;
    memset(&ops, 0, sizeof ops);
    struct api_tls *tls = NULL;
    memset(&conv, 0, sizeof conv);
    bool ok = api_settings_load(env->cfg, &env->core, &set, err) &&
              ops_settings_load(env->cfg, &ops, err) && api_tls_load(env->cfg, &tls, err) &&
              conv_settings_load(env->cfg, &conv, err);
    api_tls_free(tls);
    conv_settings_free(&conv);
    ops_settings_free(&ops);
    api_settings_free(&set);
    return ok;
}

void api_stop(void *handle)
{
    struct api *api = handle;
    if (api == NULL)
        return;
    events_end_streams(api); /* open streams would hold the drain up */
    server_stop(api);
    events_free(api);
    api_free(api);
}

void api_reload(void *handle)
{
    struct api *api = handle;
    /* The TLS certificate is reloaded in place (api/tls.h). Other
     * settings are read once: a new secret or port needs a restart, so
     * that tokens and listeners never change under running requests. */
    if (api->tls) {
        struct td_err err;
        td_err_clear(&err);
        if (api_tls_reload(api->tls, &err))
            log_event(LOG_INFO, "tls_reloaded");
        else
            log_event(LOG_WARN, "tls_reload_failed", LF_S("error", err.msg),
                      LF_S("msg", "the running certificate stays"));
    }
    log_event(LOG_INFO, "api_reload", LF_S("msg", "restart to apply other [api] changes"));
}
