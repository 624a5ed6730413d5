/* ticket.c - see ticket.h. */
#include "ticket.h"
#include "comment.h"
#include "group.h"
#include "id.h"
#include "mem.h"
#include "participant.h"
#include "policy.h"
#include "scope.h"
#include "sla.h"
#include "text.h"
#include "workflow.h"

#include <stdio.h>
#include <string.h>

#define MUTATE_RETRIES 8
#define MAX_QUEUE 64
#define MAX_MESSAGE_ID 998

void ticket_change_add(struct ticket_change *ch, const struct td_user *actor, int64_t number,
                       enum td_event_kind kind, const char *old_value, const char *new_value)
{
    if (ch->n >= TICKET_MAX_EVENTS)
        abort(); /* a programming error: raise TICKET_MAX_EVENTS */
    struct td_event *e = &ch->ev[ch->n++];
    memset(e, 0, sizeof *e);
    e->ticket = number;
    if (actor)
        memcpy(e->actor_id, actor->id, sizeof e->actor_id);
    e->kind = kind;
    e->old_value = td_strdup(old_value);
    e->new_value = td_strdup(new_value);
    e->at = td_now();
}

static void change_clear(struct ticket_change *ch)
{
    for (size_t i = 0; i < ch->n; i++)
        event_clear(&ch->ev[i]);
    ch->n = 0;
}

static bool load(struct td_core *c, int64_t number, struct td_ticket *t, struct td_err *err)
{
    if (number <= 0)
        return td_fail(err, TD_NOT_FOUND, "ticket #%lld not found", (long long)number);
    if (!c->store->ops->ticket_get(c->store, number, t, err)) {
        if (err && err->code == TD_NOT_FOUND)
            td_fail(err, TD_NOT_FOUND, "ticket #%lld not found", (long long)number);
        return false;
    }
    return true;
}

bool ticket_mutate(struct td_core *c, const struct td_user *actor, int64_t number,
                   int64_t if_version, ticket_change_fn fn, const void *arg, struct td_ticket *out,
                   struct td_err *err)
{
    return ticket_mutate_at(c, actor, number, if_version, 0, fn, arg, out, err);
}

bool ticket_mutate_at(struct td_core *c, const struct td_user *actor, int64_t number,
                      int64_t if_version, td_time at, ticket_change_fn fn, const void *arg,
                      struct td_ticket *out, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    for (int attempt = 0; attempt < MUTATE_RETRIES; attempt++) {
        struct td_ticket t;
        memset(&t, 0, sizeof t);
        if (!load(c, number, &t, err))
            return false;
        if (!scope_check(c->store, actor, &t, err)) {
            ticket_clear(&t);
            return false;
        }
        struct ticket_change ch = { .n = 0 };
        int64_t current = t.version;
        struct td_sla sla0 = t.sla;
        struct sla_before before;
        sla_before_take(&before, &t);
        td_time now = at != 0 ? at : td_now(); /* the scheduler acts at its clock's time */
        if (!fn(c, actor, &t, &ch, arg, err)) {
            sla_before_clear(&before);
            change_clear(&ch);
            ticket_clear(&t);
            return false;
        }
        /* The SLA clock follows every change in the same write. */
        (void)sla_track(c->sla, &before, &t, now, ch.sla_keep_dues);
        sla_before_clear(&before);
        bool sla_changed = memcmp(&sla0, &t.sla, sizeof sla0) != 0;
        if (if_version != 0 && if_version != current) {
            change_clear(&ch);
            ticket_clear(&t);
            return td_fail(err, TD_STALE,
                           "ticket #%lld was changed by someone else (version %lld, not %lld); reload it",
                           (long long)number, (long long)current, (long long)if_version);
        }
        if (ch.n == 0 && !sla_changed) { /* nothing to change */
            if (out)
                *out = t;
            else
                ticket_clear(&t);
            return true;
        }
        t.updated = now;
        struct td_err e;
        td_err_clear(&e);
        /* The change and the notifications it plans: one transaction. */
        bool batch = store_batch_try(c->store);
        bool ok = c->store->ops->ticket_update(c->store, &t, current, ch.ev, ch.n, &e);
        if (ok) {
            t.version = current + 1;
            if (ch.n > 0)
                core_emit(c, actor, &t, ch.ev, ch.n);
        }
        if (batch)
            ok = store_batch_end(c->store, ok, &e);
        change_clear(&ch);
        if (ok) {
            if (out)
                *out = t;
            else
                ticket_clear(&t);
            return true;
        }
        ticket_clear(&t);
        if (e.code != TD_STALE || if_version != 0) {
            if (e.code == TD_STALE)
                td_fail(&e, TD_STALE, "ticket #%lld was changed by someone else; reload it",
                        (long long)number);
            if (err)
                *err = e;
            return false;
        }
        /* Someone else wrote between our read and our write: redo the
         * change (and its rule checks) on the new state. */
    }
    return td_fail(err, TD_UNAVAILABLE, "ticket #%lld is changing too fast; try again",
                   (long long)number);
}

/* Validated copies of a ticket_new's ticket fields. */
static bool build_tags(const struct strv *in, struct strv *out, struct td_err *err)
{
    if (in == NULL)
        return true;
    if (in->n > CORE_MAX_TAGS)
        return td_fail(err, TD_INVALID, "a ticket can have at most %d tags", CORE_MAX_TAGS);
    for (size_t i = 0; i < in->n; i++) {
        char *tag = NULL;
        if (!tag_normalize(in->v[i], &tag, err)) {
            strv_clear(out);
            return false;
        }
        if (!strv_contains(out, tag))
            strv_push(out, tag);
        free(tag);
    }
    return true;
}

static bool check_message_id(const char *mid, struct td_err *err)
{
    if (mid == NULL)
        return true;
    size_t len = strlen(mid);
    if (len == 0 || len > MAX_MESSAGE_ID)
        return td_fail(err, TD_INVALID, "Message-ID must be 1 to %d characters", MAX_MESSAGE_ID);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)mid[i] <= 0x20 || mid[i] == 0x7F)
            return td_fail(err, TD_INVALID, "Message-ID contains white space or a control character");
    return true;
}

static bool check_assignable(struct td_core *c, const char *id, struct td_err *err)
{
    struct td_user u;
    if (!id_valid(id) || !c->store->ops->user_get(c->store, id, &u, NULL))
        return td_fail(err, TD_INVALID, "assignee %.40s is not a user", id);
    bool ok = (u.role == ROLE_AGENT || u.role == ROLE_ADMIN) && !u.disabled;
    user_clear(&u);
    if (!ok)
        return td_fail(err, TD_INVALID, "assignee %s is not an active agent", id);
    return true;
}

bool ticket_open(struct td_core *c, const struct td_user *actor, const struct ticket_new *in,
                 struct td_ticket *out, struct td_err *err)
{
    const char *requester = in->requester_id;
    if (requester == NULL || requester[0] == '\0') {
        if (actor == NULL)
            return td_fail(err, TD_INVALID, "a ticket needs a requester");
        requester = actor->id;
    }
    if (!policy_open_ticket(actor, requester, err))
        return false;
    if (actor == NULL || strcmp(actor->id, requester) != 0) {
        struct td_user r;
        if (!id_valid(requester) || !c->store->ops->user_get(c->store, requester, &r, NULL))
            return td_fail(err, TD_INVALID, "requester %.40s is not a user", requester);
        bool disabled = r.disabled;
        user_clear(&r);
        if (disabled)
            return td_fail(err, TD_INVALID, "requester %s is disabled", requester);
    }
    if (in->has_priority && (unsigned)in->priority > PRIORITY_URGENT)
        return td_fail(err, TD_INVALID, "unknown priority");
    if (!check_message_id(in->message_id, err))
        return false;

    /* Validate everything before the first write. */
    struct td_ticket t;
    memset(&t, 0, sizeof t);
    struct comment_draft draft;
    memset(&draft, 0, sizeof draft);
    struct td_event created;
    memset(&created, 0, sizeof created);
    bool ok = false, batch = false;
    if (!text_line(in->subject, "subject", CORE_MAX_SUBJECT, false, &t.subject, err))
        goto done;
    if (!text_line(in->queue, "queue", MAX_QUEUE, true, &t.queue, err))
        goto done;
    /* Once groups exist, a queue someone chose is a group's key. Mail is
     * never refused for it: its mailbox or route decided (core/route.h). */
    if (in->source != SOURCE_EMAIL && t.queue[0] != '\0' && !group_check_queue(c->store, t.queue, err))
        goto done;
    if (!build_tags(in->tags, &t.tags, err))
        goto done;
    struct comment_new first = {
        .body = in->body,
        .internal = false,
        .source = in->source,
        .message_id = in->message_id,
        .attachments = in->attachments,
        .n_attachments = in->n_attachments,
        .drop_oversize_attachments = in->drop_oversize_attachments,
    };
    if (!comment_draft_build(c, actor ? actor->id : requester, &first, &draft, err))
        goto done;

    t.status = STATUS_NEW;
    t.priority = in->has_priority ? in->priority : PRIORITY_NORMAL;
    snprintf(t.requester_id, sizeof t.requester_id, "%s", requester);
    if (in->message_id)
        strv_push(&t.message_ids, in->message_id);
    for (size_t i = 0; in->participants && i < in->participants->n; i++) {
        const char *p = in->participants->v[i];
        if (id_valid(p) && strcmp(p, requester) != 0 && !strv_contains(&t.participants, p) &&
            t.participants.n < PARTICIPANT_MAX)
            strv_push(&t.participants, p);
    }
    t.created = t.updated = td_now();
    t.version = 1;
    sla_open(c->sla, &t);
    /* The ticket, its description, its attachments and the
     * notifications it plans: one store batch, one transaction. */
    batch = store_batch_try(c->store);
    if (!c->store->ops->ticket_next_number(c->store, &t.number, err))
        goto done;
    created.ticket = t.number;
    if (actor)
        memcpy(created.actor_id, actor->id, sizeof created.actor_id);
    created.kind = EVENT_CREATED;
    created.old_value = in->auto_submitted ? td_strdup(TICKET_CREATED_AUTO) : NULL;
    created.new_value = td_strdup(t.subject);
    created.at = t.created;
    if (!c->store->ops->ticket_insert(c->store, &t, &created, err))
        goto done;
    /* The description is a second write (in the same batch where the
     * store has them); input was validated above, so only an unreachable
     * store can leave a ticket without it, and the mail gateway repairs
     * that on its retry (it finds the ticket by Message-ID and adds the
     * missing comment). */
    if (!comment_draft_store(c, &draft, t.number, err))
        goto done;
    ticket_clear(&t);
    ok = load(c, created.ticket, out ? out : &t, err);
    if (ok && core_listened(c)) {
        struct td_event evs[2] = { created, draft.event };
        core_emit(c, actor, out ? out : &t, evs, 2);
    }
done:
    if (batch && !store_batch_end(c->store, ok, err) && ok) {
        ok = false; /* not committed: nothing of it is there */
        if (out)
            ticket_clear(out);
    }
    event_clear(&created);
    comment_draft_clear(&draft);
    ticket_clear(&t);
    return ok;
}

bool ticket_get(struct td_core *c, const struct td_user *actor, int64_t number,
                struct td_ticket *out, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (!load(c, number, out, err))
        return false;
    if (!policy_view_ticket(actor, out, err) || !scope_check(c->store, actor, out, err)) {
        ticket_clear(out);
        return false;
    }
    return true;
}

bool ticket_list(struct td_core *c, const struct td_user *actor,
                 const struct td_ticket_filter *filter, struct td_ticket_list *out,
                 struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    struct td_ticket_filter f = *filter;
    if (!policy_is_staff(actor)) {
        /* Their own tickets, and those they take part in (participant.h). */
        f.requester_id = actor->id;
        f.or_participant = true;
        f.text_internal = false;
    }
    if (scope_restricted(actor)) /* their groups' tickets and their own */
        f.in_groups_of = actor->id;
    if (f.limit == 0)
        f.limit = STORE_LIST_DEFAULT;
    if (f.limit > STORE_LIST_MAX)
        f.limit = STORE_LIST_MAX;
    return c->store->ops->ticket_list(c->store, &f, out, err);
}

static bool apply_patch(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                        struct ticket_change *ch, const void *arg, struct td_err *err)
{
    const struct ticket_patch *p = arg;
    if (!policy_view_ticket(actor, t, err))
        return false;
    if (p->subject != NULL) {
        char *subject = NULL;
        if (!policy_edit_ticket(actor, t, "subject", err) ||
            !text_line(p->subject, "subject", CORE_MAX_SUBJECT, false, &subject, err))
            return false;
        if (strcmp(subject, t->subject) != 0) {
            ticket_change_add(ch, actor, t->number, EVENT_SUBJECT, t->subject, subject);
            free(t->subject);
            t->subject = subject;
        } else {
            free(subject);
        }
    }
    if (p->has_priority && p->priority != t->priority) {
        if ((unsigned)p->priority > PRIORITY_URGENT)
            return td_fail(err, TD_INVALID, "unknown priority");
        if (!policy_edit_ticket(actor, t, "priority", err))
            return false;
        ticket_change_add(ch, actor, t->number, EVENT_PRIORITY, priority_name(t->priority),
                          priority_name(p->priority));
        t->priority = p->priority;
    }
    if (p->tags != NULL) {
        struct strv tags = STRV_INIT;
        if (!policy_edit_ticket(actor, t, "tags", err) || !build_tags(p->tags, &tags, err))
            return false;
        bool same = tags.n == t->tags.n;
        for (size_t i = 0; same && i < tags.n; i++)
            same = strv_contains(&t->tags, tags.v[i]);
        if (!same) {
            char *old = strv_join(&t->tags, ",");
            char *new = strv_join(&tags, ",");
            ticket_change_add(ch, actor, t->number, EVENT_TAG, old, new);
            free(old);
            free(new);
            strv_clear(&t->tags);
            t->tags = tags;
        } else {
            strv_clear(&tags);
        }
    }
    if (p->queue != NULL) {
        char *queue = NULL;
        if (!policy_edit_ticket(actor, t, "queue", err) ||
            !text_line(p->queue, "queue", MAX_QUEUE, true, &queue, err))
            return false;
        if (strcmp(queue, t->queue ? t->queue : "") != 0) {
            /* Once groups exist a queue is a group (core/group.h). */
            if (!group_check_queue(c->store, queue, err)) {
                free(queue);
                return false;
            }
            ticket_change_add(ch, actor, t->number, EVENT_QUEUE, t->queue ? t->queue : "", queue);
            free(t->queue);
            t->queue = queue;
        } else {
            free(queue);
        }
    }
    if (p->has_status && p->status != t->status) {
        if (!policy_set_status(actor, t, p->status, err) ||
            !workflow_check(t->status, p->status, err))
            return false;
        ticket_change_add(ch, actor, t->number, EVENT_STATUS, status_name(t->status),
                          status_name(p->status));
        t->status = p->status;
    }
    return true;
}

bool ticket_update(struct td_core *c, const struct td_user *actor, int64_t number,
                   const struct ticket_patch *patch, int64_t if_version, struct td_ticket *out,
                   struct td_err *err)
{
    return ticket_mutate(c, actor, number, if_version, apply_patch, patch, out, err);
}

/* Moves a new ticket to open when someone starts working on it. */
static void open_if_new(const struct td_user *actor, struct td_ticket *t,
                        struct ticket_change *ch)
{
    if (t->status != STATUS_NEW)
        return;
    ticket_change_add(ch, actor, t->number, EVENT_STATUS, status_name(t->status),
                      status_name(STATUS_OPEN));
    t->status = STATUS_OPEN;
}

static bool apply_claim(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                        struct ticket_change *ch, const void *arg, struct td_err *err)
{
    (void)arg;
    if (actor == NULL)
        return td_fail(err, TD_INVALID, "only a user can claim a ticket");
    if (!policy_edit_ticket(actor, t, "assignee", err))
        return false;
    if (strcmp(t->assignee_id, actor->id) == 0)
        return true;
    if (t->assignee_id[0] != '\0' && actor->role != ROLE_ADMIN && !c->agents_may_reclaim)
        return td_fail(err, TD_CONFLICT, "ticket #%lld is already claimed by another agent",
                       (long long)t->number);
    ticket_change_add(ch, actor, t->number, EVENT_CLAIM, t->assignee_id[0] ? t->assignee_id : NULL,
                      actor->id);
    memcpy(t->assignee_id, actor->id, sizeof t->assignee_id);
    open_if_new(actor, t, ch);
    return true;
}

bool ticket_claim(struct td_core *c, const struct td_user *actor, int64_t number,
                  struct td_ticket *out, struct td_err *err)
{
    return ticket_mutate(c, actor, number, 0, apply_claim, NULL, out, err);
}

static bool apply_assign(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                         struct ticket_change *ch, const void *arg, struct td_err *err)
{
    const char *to = arg;
    if (!policy_assign(actor, t, err))
        return false;
    if (strcmp(t->assignee_id, to) == 0)
        return true;
    if (to[0] != '\0' && !check_assignable(c, to, err))
        return false;
    ticket_change_add(ch, actor, t->number, EVENT_ASSIGNEE, t->assignee_id[0] ? t->assignee_id : NULL,
                      to[0] ? to : NULL);
    snprintf(t->assignee_id, sizeof t->assignee_id, "%s", to);
    if (to[0] != '\0')
        open_if_new(actor, t, ch);
    return true;
}

bool ticket_assign(struct td_core *c, const struct td_user *actor, int64_t number,
                   const char *assignee_id, struct td_ticket *out, struct td_err *err)
{
    const char *to = assignee_id ? assignee_id : "";
    if (strlen(to) > TD_ID_LEN)
        return td_fail(err, TD_INVALID, "assignee %.40s is not a user", to);
    return ticket_mutate(c, actor, number, 0, apply_assign, to, out, err);
}

bool ticket_history(struct td_core *c, const struct td_user *actor, int64_t number,
                    struct td_event_list *out, struct td_err *err)
{
    struct td_ticket t;
    if (!ticket_get(c, actor, number, &t, err))
        return false;
    ticket_clear(&t);
    if (!c->store->ops->history_list(c->store, number, out, err))
        return false;
    if (policy_is_staff(actor))
        return true;
    /* Customers do not see that internal notes exist. */
    size_t keep = 0;
    for (size_t i = 0; i < out->n; i++) {
        struct td_event *e = &out->v[i];
        bool hidden = e->kind == EVENT_COMMENT && e->old_value && strcmp(e->old_value, "internal") == 0;
        if (hidden)
            event_clear(e);
        else
            out->v[keep++] = *e;
    }
    out->n = keep;
    return true;
}
