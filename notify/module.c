/* module.c - see module.h. */
#include "notify/module.h"
#include "notify/sender.h"
#include "core/log.h"

#include <stdlib.h>

struct sender_module {
    struct sender *sender;
    struct notify *planner; /* this process's hook, if any: woken through it */
};

bool sender_module_start(struct cli_env *env, void **handle, struct td_err *err)
{
    struct sender_config sc;
    struct sender *s = NULL;
    bool ok = sender_config_load(env->cfg, &sc, err) && sender_new(&sc, env->store, &s, err);
    reply_keys_wipe(&sc.keys);
    if (!ok)
        return false;
    struct sender_module *m = calloc(1, sizeof *m);
    if (m == NULL)
        abort();
    m->sender = s;
    m->planner = notify_of(&env->core);
    if (m->planner)
        notify_set_wake(m->planner, sender_wake, s);
    else
        log_event(LOG_WARN, "sender_without_planner",
                  LF_S("why", "no planner in this process: new mail waits for the poll"));
    if (!sender_start(s, err)) {
        if (m->planner)
            notify_set_wake(m->planner, NULL, NULL);
        sender_free(s);
        free(m);
        return false;
    }
    *handle = m;
    return true;
}

bool sender_module_check(struct cli_env *env, struct td_err *err)
{
    struct sender_config sc;
    struct sender *s = NULL;
    bool ok = sender_config_load(env->cfg, &sc, err) && sender_new(&sc, env->store, &s, err);
    reply_keys_wipe(&sc.keys);
    sender_free(s);
    return ok;
}

void sender_module_stop(void *handle)
{
    struct sender_module *m = handle;
    if (m == NULL)
        return;
    if (m->planner)
        notify_set_wake(m->planner, NULL, NULL);
    sender_free(m->sender);
    free(m);
}

void sender_module_reload(void *handle)
{
    struct sender_module *m = handle;
    struct td_err err;
    td_err_clear(&err);
    (void)sender_reload(m->sender, &err); /* logs itself */
}
