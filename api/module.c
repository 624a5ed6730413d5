/* module.c - the api row of cli/modules.c: settings, rate limiters and
 * the HTTP server, started and stopped as one. */
#include "api.h"
#include "api_int.h"

#include "core/log.h"
#include "core/mem.h"

#include <string.h>

static void api_free(struct api *api)
{
    ratelimit_free(api->rl_account);
    ratelimit_free(api->rl_addr);
    user_cache_free(api->users);
    ops_settings_free(&api->ops);
    api_settings_free(&api->set);
    free(api);
}

bool api_start(struct td_app *env, void **handle, struct td_err *err)
{
    struct api *api = td_calloc(1, sizeof *api);
    api->core = &env->core;
    if (!api_settings_load(env->cfg, &env->core, &api->set, err)) {
        free(api);
        return false;
    }
    if (!ops_settings_load(env->cfg, &api->ops, err)) {
        api_free(api);
        return false;
    }
    int64_t window_ms = api->set.login_window_s * 1000;
    api->rl_account = ratelimit_new(api->set.login_max_per_account, window_ms);
    api->rl_addr = ratelimit_new(api->set.login_max_per_addr, window_ms);
    api->users = user_cache_new();
    if (!server_start(api, err)) {
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
    memset(&ops, 0, sizeof ops);
    bool ok = api_settings_load(env->cfg, &env->core, &set, err) &&
              ops_settings_load(env->cfg, &ops, err);
    ops_settings_free(&ops);
    api_settings_free(&set);
    return ok;
}

void api_stop(void *handle)
{
    struct api *api = handle;
    if (api == NULL)
        return;
    server_stop(api);
    api_free(api);
}

void api_reload(void *handle)
{
    (void)handle;
    /* Settings are read once: a new secret or port needs a restart, so
     * that tokens and listeners never change under running requests. */
    log_event(LOG_INFO, "api_reload", LF_S("msg", "nothing to reload; restart to apply [api] changes"));
}
