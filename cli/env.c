/* env.c - config, logging, store and core for a subcommand. */
#include "cli.h"
#include "core/log.h"
#include "core/store_metrics.h"
#include "core/notify.h"

#include <stdio.h>
#include <string.h>

int cli_fail(const char *what, const struct td_err *err)
{
    fprintf(stderr, "ticketd: %s: %s\n", what, err->msg[0] ? err->msg : td_code_name(err->code));
    switch (err->code) {
    case TD_UNAVAILABLE: return EXIT_UNAVAILABLE;
    case TD_INVALID: return EXIT_CONFIG;
    default: return EXIT_FAILURE_RUNTIME;
    }
}

static bool core_from_config(struct cli_env *env, struct td_err *err)
{
    struct td_config *cfg = env->cfg;
    int64_t max_body, max_att;
    bool reclaim;
    if (!config_int(cfg, "core", "max_body_bytes", CORE_DEFAULT_MAX_BODY, 1024, 64 << 20, &max_body, err) ||
        !config_int(cfg, "core", "max_attachment_bytes", CORE_DEFAULT_MAX_ATTACHMENT, 1024, 1LL << 30, &max_att, err) ||
        !config_bool(cfg, "core", "agents_may_reclaim", false, &reclaim, err))
        return false;
    const char *cost = config_str(cfg, "core", "password_cost", "interactive");
    enum password_cost pc;
    if (strcmp(cost, "interactive") == 0)
        pc = PASSWORD_COST_INTERACTIVE;
    else if (strcmp(cost, "moderate") == 0)
        pc = PASSWORD_COST_MODERATE;
    else if (strcmp(cost, "min") == 0)
        pc = PASSWORD_COST_MIN;
    else
        return td_fail(err, TD_INVALID, "[core] password_cost: '%.40s' is not interactive, moderate or min", cost);
    env->core.max_body = (size_t)max_body;
    env->core.max_attachment = (size_t)max_att;
    env->core.agents_may_reclaim = reclaim;
    env->core.pw_cost = pc;
    return true;
}

static bool logging_from_config(struct td_config *cfg, struct td_err *err)
{
    enum log_level level;
    enum log_format format;
    const char *l = config_str(cfg, "log", "level", "info");
    const char *f = config_str(cfg, "log", "format", "logfmt");
    if (!log_level_parse(l, &level))
        return td_fail(err, TD_INVALID, "[log] level: '%.40s' is not debug, info, warn or error", l);
    if (!log_format_parse(f, &format))
        return td_fail(err, TD_INVALID, "[log] format: '%.40s' is not logfmt or json", f);
    log_setup(level, format, 2);
    return true;
}

int cli_env_open(const char *config_path, struct cli_env *env)
{
    memset(env, 0, sizeof *env);
    struct td_err err;
    td_err_clear(&err);
    if (!core_init(&err))
        return cli_fail("init", &err);
    if (!config_load(config_path, &env->cfg, &err))
        return cli_fail("config", &err);
    if (!logging_from_config(env->cfg, &err))
        goto config_error;
    const char *uri = config_str(env->cfg, "store", "uri", "sqlite:ticketd.db");
    core_defaults(&env->core, NULL);
    if (!core_from_config(env, &err))
        goto config_error;
    if (!store_open(uri, &env->store, &err)) {
        int rc = cli_fail("store", &err);
        cli_env_close(env);
        return rc == EXIT_CONFIG ? EXIT_CONFIG : EXIT_UNAVAILABLE;
    }
    store_metrics_wrap(env->store); /* ticketd_store_operation_duration_seconds */
    env->core.store = env->store;
    /* Every process that changes tickets plans their notifications (the
     * sender may run in another process). */
    if (!notify_attach(env->cfg, &env->core, &err))
        goto config_error;
    return EXIT_OK;
config_error:
    cli_fail("config", &err);
    cli_env_close(env);
    return EXIT_CONFIG;
}

void cli_env_close(struct cli_env *env)
{
    notify_detach(&env->core);
    store_close(env->store);
    config_free(env->cfg);
    memset(env, 0, sizeof *env);
}
