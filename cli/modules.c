/* modules.c - the table of modules `ticketd serve` runs. Adapters add
 * their row here and nothing else in cli/. */
#include "modules.h"
#include "notify/module.h"
#include "api/api.h"
#include "mailgw/mailgw.h"
#include "hooks/hooks.h"
#include "core/sched_module.h"

const struct app_module cli_modules[] = {
    /* First: started before and stopped after the modules that change
     * tickets, so their last changes still wake it. */
    { "sender", sender_module_start, sender_module_stop, sender_module_reload, sender_module_check },
    { "api", api_start, api_stop, api_reload, api_check },
    { "mailgw", mailgw_start, mailgw_stop, mailgw_reload, mailgw_check },
    /* Webhooks: plans from history, so it may start after the others. */
    { "hooks", hooks_module_start, hooks_module_stop, NULL, hooks_module_check },
    /* Automations and the desk gauges (core/sched_module.h). */
    { "scheduler", sched_module_start, sched_module_stop, NULL, sched_module_check },
    { NULL, NULL, NULL, NULL, NULL }, /* placeholder so the array is never empty */
};
const int cli_n_modules = (int)(sizeof cli_modules / sizeof cli_modules[0]) - 1;
