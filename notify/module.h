/* module.h - the outbox sender as `ticketd serve` / `ticketd sender` see
 * it: one row of cli/modules.c. */
#ifndef TD_NOTIFY_MODULE_H
#define TD_NOTIFY_MODULE_H

#include <stdbool.h>

#include "core/app.h"

/* Reads [notify] and [smtp], loads the templates (an unknown variable or
 * a missing template fails the start), starts the sending threads and the
 * reconciler, and hooks into the planner so new mail goes out at once. */
bool sender_module_start(struct td_app *env, void **handle, struct td_err *err);
void sender_module_stop(void *handle);
/* SIGHUP: re-reads the templates (the old ones stay if the new are bad). */
void sender_module_reload(void *handle);
/* check-config: reads [notify] and [smtp] and loads the templates as start
 * does, then frees it all; no thread, no SMTP connection. */
bool sender_module_check(struct td_app *env, struct td_err *err);

#endif
