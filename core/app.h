/* app.h - the contract between ticketd's core and the adapters it runs.
 *
 * An adapter (the REST API, the mail gateway, the outbox sender) is a
 * module: a start/stop/reload/check set of functions that is handed one
 * struct td_app - the loaded config, the opened store and the core over
 * it - and never needs to know who started it. cli/ fills a td_app with
 * app_open() and runs the modules it lists; the adapters include this
 * header, never cli/. */
#ifndef TD_APP_H
#define TD_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "core.h"

#define TICKETD_VERSION "0.1.0"

/* What ingesting a quarantined mail again came to (app->quarantine_retry). */
struct app_retry_outcome {
    const char *result;      /* "ticket", "comment", "duplicate", "quarantined", "retry" */
    int64_t ticket;          /* ticket, comment, duplicate (0 if unknown) */
    char why[400];           /* quarantined: the new reason; retry: why not now */
};

struct td_app;
struct sla_table;
/* Ingests quarantined mail id again: the mail gateway's, which core and
 * the other adapters cannot include; cli/ fills it in. TD_NOT_FOUND for
 * an unknown id. */
typedef bool (*app_quarantine_retry_fn)(struct td_app *app, const char *id,
                                        struct app_retry_outcome *out, struct td_err *err);

/* What every module is started with. Owned by whoever called app_open(). */
struct td_app {
    struct td_config *cfg;
    struct store *store;
    struct td_core core;
    struct sla_table *sla; /* [calendar]/[sla] sections (core/sla.h); core.sla borrows it */
    app_quarantine_retry_fn quarantine_retry; /* NULL: no mail gateway in this binary */
};

/* One adapter as `ticketd serve` sees it. */
struct app_module {
    const char *name; /* "api", "mailgw", "sender" */
    /* Reads its config section, starts its threads, returns at once.
     * *handle is owned by the module until stop. */
    bool (*start)(struct td_app *app, void **handle, struct td_err *err);
    /* Drains in-flight work (bounded) and frees the handle. */
    void (*stop)(void *handle);
    /* SIGHUP: reload templates / log level; may be NULL. */
    void (*reload)(void *handle);
    /* `ticketd check-config`: reads and validates the module's keys as
     * start does (loads templates, parses addresses...) but starts
     * nothing and connects to nothing. NULL: its keys cannot be checked
     * (check-config then reports them as unknown). */
    bool (*check)(struct td_app *app, struct td_err *err);
};

/* Where app_open() failed, for the caller's message and exit code. */
enum app_stage {
    APP_STAGE_INIT,   /* libraries could not be initialised */
    APP_STAGE_CONFIG, /* the config file, [core] or [log] is wrong */
    APP_STAGE_STORE   /* the store could not be opened */
};

/* Loads the config (path may be NULL: defaults and environment only),
 * sets up logging, opens the store named by [store] uri (timed by
 * store_metrics) and the core over it, and attaches the notification
 * planner. On failure fills err and *stage and leaves *app empty. */
bool app_open(const char *config_path, struct td_app *app, enum app_stage *stage, struct td_err *err);
/* Frees what app_open() made. NULL-safe on an empty app. */
void app_close(struct td_app *app);

#endif
