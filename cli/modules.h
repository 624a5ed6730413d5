/* modules.h - the parts `ticketd serve` runs: each adapter registers a
 * start/stop pair here (api/, mailgw/, the outbox sender). serve runs them
 * all; `ticketd api|mailgw|sender` runs one. */
#ifndef TD_MODULES_H
#define TD_MODULES_H

#include <stdbool.h>

#include "cli.h"

extern const struct app_module cli_modules[];
extern const int cli_n_modules;

#endif
