/* app.c - config, logging, store and core for a module (core/app.h). */
#include "app.h"
#include "desk_metrics.h"
#include "log.h"
#include "notify.h"
#include "sla.h"
#include "store/store_metrics.h"

#include <string.h>

static bool core_from_config(struct td_app *app, struct td_err *err)
{
    struct td_config *cfg = app->cfg;
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
    app->core.max_body = (size_t)max_body;
    app->core.max_attachment = (size_t)max_att;
    app->core.agents_may_reclaim = reclaim;
    app->core.pw_cost = pc;
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

bool app_open(const char *config_path, struct td_app *app, enum app_stage *stage, struct td_err *err)
{
    memset(app, 0, sizeof *app);
    *stage = APP_STAGE_INIT;
    if (!core_init(err))
        return false;
    *stage = APP_STAGE_CONFIG;
    if (!config_load(config_path, &app->cfg, err))
        return false;
    if (!logging_from_config(app->cfg, err))
        goto fail;
    const char *uri = config_str(app->cfg, "store", "uri", "sqlite:ticketd.db");
    core_defaults(&app->core, NULL);
    if (!core_from_config(app, err))
        goto fail;
    if (!sla_config_load(app->cfg, &app->sla, err))
        goto fail;
    app->core.sla = app->sla;
    *stage = APP_STAGE_STORE;
    if (!store_open(uri, &app->store, err))
        goto fail;
    store_metrics_wrap(app->store); /* ticketd_store_operation_duration_seconds */
    app->core.store = app->store;
    /* Every process that changes tickets plans their notifications (the
     * sender may run in another process). */
    *stage = APP_STAGE_CONFIG;
    if (!notify_attach(app->cfg, &app->core, err))
        goto fail;
    /* ... and observes the desk's response and resolution times. */
    app->core.observe = desk_metrics_observe;
    return true;
fail:
    app_close(app);
    return false;
}

void app_close(struct td_app *app)
{
    notify_detach(&app->core);
    store_close(app->store);
    sla_table_free(app->sla);
    config_free(app->cfg);
    memset(app, 0, sizeof *app);
}
