/* api.h - the REST API module as `ticketd serve` / `ticketd api` see it:
 * one row of cli/modules.c. Everything else in api/ is private to it
 * (api_int.h). */
#ifndef TD_API_H
#define TD_API_H

#include <stdbool.h>

#include "core/app.h"

/* Reads [api] (see api/settings.c for the keys), starts the HTTP server
 * threads and returns at once. *handle is owned by the module. */
bool api_start(struct td_app *env, void **handle, struct td_err *err);
/* Stops accepting, lets in-flight requests finish (bounded), frees. */
void api_stop(void *handle);
void api_reload(void *handle);
/* check-config: reads and validates [api] without listening. */
bool api_check(struct td_app *env, struct td_err *err);

#endif
