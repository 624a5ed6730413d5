/* module.c - see module.h. */
#include "notify/module.h"
#include "notify/sender.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

struct sender_module {
    struct sender *sender;
    struct notify *planner; /* this process's hook, if any: woken through it */
};

/* Without [notify] support_address notifications are off (the planner
 * writes nothing): the sender then starts nothing either, and only checks
 * [smtp] if one is given. Returns true when off. */
static bool notifications_off(struct td_app *env, bool check, struct td_err *err, bool *failed)
{
    *failed = false;
    struct notify_config nc;
    if (!notify_config_load(env->cfg, &nc, err)) {
        *failed = true;
        return true;
    }
    if (nc.support_address[0] != '\0')
        return false;
    if (check && config_str(env->cfg, "smtp", "url", NULL) != NULL) {
        struct smtp_config smtp;
        *failed = !smtp_config_load(env->cfg, &smtp, err);
        explicit_bzero(smtp.password, sizeof smtp.password);
    }
    return true;
}

bool sender_module_start(struct td_app *env, void **handle, struct td_err *err)
{
    bool failed;
    if (notifications_off(env, false, err, &failed)) {
        if (!failed)
            log_event(LOG_INFO, "sender_off", LF_S("why", "[notify] support_address is not set"));
        *handle = NULL;
        return !failed;
    }
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
    if (m->planner) {
        notify_set_wake(m->planner, sender_wake, s);
        sender_set_planned(s, notify_planned_of(m->planner));
    } else
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

bool sender_module_check(struct td_app *env, struct td_err *err)
{
    bool failed;
    if (notifications_off(env, true, err, &failed))
        return !failed;
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
    if (m == NULL)
        return;
    struct td_err err;
    td_err_clear(&err);
    (void)sender_reload(m->sender, &err); /* logs itself */
}
