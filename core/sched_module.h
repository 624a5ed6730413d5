/* sched_module.h - the "scheduler" module `ticketd serve` (and `ticketd
 * scheduler`) runs: one thread that calls sched_tick() every [automation]
 * tick_ms with the desk gauges (every process) and the automations
 * (the lease holder only) as its jobs. See scheduler.h, automation.h,
 * desk_metrics.h. */
#ifndef TD_SCHED_MODULE_H
#define TD_SCHED_MODULE_H

#include <stdbool.h>

#include "app.h"

bool sched_module_start(struct td_app *app, void **handle, struct td_err *err);
void sched_module_stop(void *handle);
bool sched_module_check(struct td_app *app, struct td_err *err);

#endif
