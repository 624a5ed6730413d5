/* modules.h - the parts `ticketd serve` runs: each adapter registers a
 * start/stop pair here (api/, mailgw/, the outbox sender). serve runs them
 * all; `ticketd api|mailgw|sender` runs one. */
#ifndef TD_MODULES_H
#define TD_MODULES_H

#include <stdbool.h>

#include "cli.h"

struct cli_module {
    const char *name; /* "api", "mailgw", "sender" */
    /* Reads its config section, starts its threads, returns at once. */
    bool (*start)(struct cli_env *env, void **handle, struct td_err *err);
    /* Drains in-flight work (bounded) and frees the handle. */
    void (*stop)(void *handle);
    /* SIGHUP: reload templates / log level; may be NULL. */
    void (*reload)(void *handle);
    /* `ticketd check-config`: reads and validates the module's keys as
     * start does (loads templates, parses addresses...) but starts
     * nothing and connects to nothing. NULL: its keys cannot be checked
     * (check-config then reports them as unknown). */
    bool (*check)(struct cli_env *env, struct td_err *err);
};

extern const struct cli_module cli_modules[];
extern const int cli_n_modules;

#endif
