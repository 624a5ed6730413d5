/* notify_sla.c - the sla_escalated mail (notify.h "SLA escalation").
 *
 * Not planned from history like the other ticket mails: who gets it
 * depends on the SLA policy (its group's members or a lead's address),
 * which the planner does not know. core/sla_escalate.c queues it right
 * after the escalation's write; the row ids are derived from that
 * history event, so a second queueing of the same escalation is a
 * harmless duplicate. */
#include "notify_int.h"
#include "buf.h"
#include "id.h"
#include "mem.h"

#include <stdio.h>
#include <string.h>

static void add_row(struct td_outbox_list *rows, const struct notify_config *nc,
                    const struct td_ticket *t, const struct td_event *ev, const char *policy,
                    const struct td_user *req, const struct td_user *asg, const char *user_id,
                    const char *name, const char *email)
{
    char row_id[TD_ID_LEN + 1];
    notify_row_id(ev, user_id ? user_id : email, NK_SLA_ESCALATED, row_id);
    for (size_t i = 0; i < rows->n; i++)
        if (strcmp(rows->v[i].id, row_id) == 0 || strcmp(rows->v[i].recipient, email) == 0)
            return; /* one mail per address */
    json_t *root = json_object(), *vars = json_object();
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)t->number);
    notify_var_put(vars, "ticket_number", num);
    notify_var_put(vars, "subject", t->subject);
    notify_var_put(vars, "status", status_name(t->status));
    notify_var_put(vars, "priority", priority_name(t->priority));
    notify_var_put(vars, "queue", t->queue);
    struct buf url = BUF_INIT;
    if (nc->ticket_url[0])
        buf_printf(&url, "%s%lld", nc->ticket_url, (long long)t->number);
    notify_var_put(vars, "ticket_url", url.data ? url.data : "");
    buf_free(&url);
    notify_var_put(vars, "requester", notify_display_name(req));
    notify_var_put(vars, "requester_email", req ? req->email : "");
    notify_var_put(vars, "assignee", asg ? notify_display_name(asg) : "(nobody)");
    notify_var_put(vars, "assignee_email", asg ? asg->email : "");
    notify_var_put(vars, "recipient", name);
    notify_var_put(vars, "recipient_email", email);
    notify_var_put(vars, "support_address", nc->support_address);
    notify_var_put(vars, "sla_due", ev->new_value && strcmp(ev->new_value, "resolution") == 0
                                        ? "resolution" : "first response");
    notify_var_put(vars, "sla_due_at", ev->old_value);
    notify_var_put(vars, "sla_policy", policy);
    if (user_id)
        json_object_set_new(root, "recipient_id", json_string(user_id));
    json_object_set_new(root, "vars", vars);
    char *payload = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (payload == NULL)
        td_oom();
    rows->v = td_realloc(rows->v, (rows->n + 1) * sizeof *rows->v);
    struct td_outbox *o = &rows->v[rows->n++];
    memset(o, 0, sizeof *o);
    memcpy(o->id, row_id, sizeof o->id);
    o->kind = td_strdup(notify_kind_names[NK_SLA_ESCALATED]);
    o->ticket = t->number;
    o->recipient = td_strdup(email);
    o->payload = payload;
    o->state = OUTBOX_PENDING;
}

static bool get_user(struct store *st, const char *id, struct td_user *u)
{
    memset(u, 0, sizeof *u);
    return id != NULL && id[0] != '\0' && st->ops->user_get(st, id, u, NULL);
}

bool notify_sla_escalated(struct td_core *c, const struct td_ticket *t, const struct td_event *ev,
                          const char *policy, const struct strv *user_ids,
                          const char *lead_email, size_t *queued, struct td_err *err)
{
    if (queued)
        *queued = 0;
    struct notify *nf = notify_of(c);
    if (nf == NULL)
        return true; /* no outgoing mail: the history event is all there is */
    const struct notify_config *nc = notify_config_of(nf);
    if (!nc->enabled[NK_SLA_ESCALATED])
        return true;
    struct store *st = c->store;
    struct td_user req, asg;
    bool have_req = get_user(st, t->requester_id, &req);
    bool have_asg = get_user(st, t->assignee_id, &asg);
    struct td_outbox_list rows = { NULL, 0 };
    for (size_t i = 0; user_ids && i < user_ids->n; i++) {
        struct td_user u;
        if (!get_user(st, user_ids->v[i], &u))
            continue;
        /* Internal content: staff only, active, never a blocked address. */
        if (!u.disabled && u.role != ROLE_CUSTOMER && !notify_address_blocked(nc, u.email))
            add_row(&rows, nc, t, ev, policy, have_req ? &req : NULL, have_asg ? &asg : NULL,
                    u.id, notify_display_name(&u), u.email);
        user_clear(&u);
    }
    if (lead_email && lead_email[0] && !notify_address_blocked(nc, lead_email))
        add_row(&rows, nc, t, ev, policy, have_req ? &req : NULL, have_asg ? &asg : NULL, NULL,
                lead_email, lead_email);
    size_t inserted = 0;
    bool ok = notify_enqueue(nc, st, &rows, td_now(), &inserted, err);
    outbox_list_clear(&rows);
    if (have_req)
        user_clear(&req);
    if (have_asg)
        user_clear(&asg);
    if (queued)
        *queued = inserted;
    if (ok && inserted > 0)
        notify_wake(nf);
    return ok;
}
