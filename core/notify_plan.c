/* notify_plan.c - who gets which mail for a batch of history events:
 * the rules of notify.h turned into outbox rows (not yet written). */
#include "notify_int.h"
#include "buf.h"
#include "comment.h"
#include "group.h"
#include "id.h"
#include "log.h"
#include "mem.h"
#include "scope.h"
#include "ticket.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- Planning ---- */

/* Users and the comment list read while planning one batch. */
struct plan_ctx {
    const struct notify_config *nc;
    struct store *st;
    const struct td_ticket *t;
    struct td_user **users;     /* cache by id; pointers stay valid */
    size_t n_users;
    struct td_user_list staff;  /* every active agent (+ admins) */
    bool staff_loaded;
    struct td_comment_list comments; /* the ones read so far, by id or all */
    bool comments_loaded;            /* all of the ticket's are in comments */
    struct strv group;          /* members of the ticket's group */
    bool group_loaded;
    struct td_outbox_list *out;
    const struct td_comment *files; /* whose attachments the rows of the
                                       event being planned carry, or NULL */
};

/* The user with this id, or NULL (unknown, or the store failed: the
 * reconciler tries again later). */
static const struct td_user *user_by_id(struct plan_ctx *p, const char *id)
{
    if (id == NULL || !id_valid(id))
        return NULL;
    for (size_t i = 0; i < p->n_users; i++)
        if (strcmp(p->users[i]->id, id) == 0)
            return p->users[i];
    struct td_user *u = td_calloc(1, sizeof *u);
    if (!p->st->ops->user_get(p->st, id, u, NULL)) {
        free(u);
        return NULL;
    }
    p->users = td_realloc(p->users, (p->n_users + 1) * sizeof *p->users);
    p->users[p->n_users++] = u;
    return u;
}

static bool is_staff(const struct td_user *u)
{
    return u && (u->role == ROLE_AGENT || u->role == ROLE_ADMIN);
}

static bool load_staff(struct plan_ctx *p, struct td_err *err)
{
    if (p->staff_loaded)
        return true;
    struct td_user_list agents = { NULL, 0 }, admins = { NULL, 0 };
    if (!p->st->ops->user_list(p->st, ROLE_AGENT, &agents, err))
        return false;
    if (p->nc->admins_are_agents && !p->st->ops->user_list(p->st, ROLE_ADMIN, &admins, err)) {
        user_list_clear(&agents);
        return false;
    }
    struct td_user_list *l = &p->staff;
    l->v = td_calloc(agents.n + admins.n + 1, sizeof *l->v);
    l->n = 0;
    struct td_user_list *src[2] = { &agents, &admins };
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < src[s]->n; i++)
            if (!src[s]->v[i].disabled)
                user_copy(&l->v[l->n++], &src[s]->v[i]);
    user_list_clear(&agents);
    user_list_clear(&admins);
    p->staff_loaded = true;
    return true;
}

/* The comment with this id, or NULL. One comment at a time when the
 * store can (a reply to a long ticket read every comment of it, inside
 * the writer's transaction); else the ticket's list, once. The pointer
 * is valid until the next call (the list may grow). */
static const struct td_comment *comment_by_id(struct plan_ctx *p, const char *id)
{
    if (id == NULL)
        return NULL;
    for (size_t i = 0; i < p->comments.n; i++)
        if (strcmp(p->comments.v[i].id, id) == 0)
            return &p->comments.v[i];
    if (p->comments_loaded)
        return NULL;
    if (p->st->ops->comment_get != NULL) {
        struct td_comment c;
        if (!p->st->ops->comment_get(p->st, id, &c, NULL))
            return NULL;
        if (c.ticket != p->t->number) { /* not this ticket's: as if absent */
            comment_clear(&c);
            return NULL;
        }
        struct td_comment_list *l = &p->comments;
        l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
        l->v[l->n] = c;
        return &l->v[l->n++];
    }
    if (!p->st->ops->comment_list(p->st, p->t->number, true, &p->comments, NULL))
        return NULL;
    p->comments_loaded = true;
    for (size_t i = 0; i < p->comments.n; i++)
        if (strcmp(p->comments.v[i].id, id) == 0)
            return &p->comments.v[i];
    return NULL;
}

void notify_var_put(json_t *vars, const char *name, const char *value)
{
    json_t *s = json_string(value ? value : "");
    json_object_set_new(vars, name, s ? s : json_string(""));
}

const char *notify_display_name(const struct td_user *u)
{
    if (u == NULL)
        return "";
    return u->name && u->name[0] ? u->name : u->email;
}

/* The customers of the conversation (requester, then participants) but
 * the one with id except, comma-separated; NULL when none. */
static char *others_in_conversation(struct plan_ctx *p, const char *except)
{
    const struct td_ticket *t = p->t;
    struct strv mails = STRV_INIT;
    size_t n = t->participants.n + 1;
    for (size_t i = 0; i < n; i++) {
        const char *id = i == 0 ? t->requester_id : t->participants.v[i - 1];
        const struct td_user *u = strcmp(id, except) == 0 ? NULL : user_by_id(p, id);
        if (u && !u->disabled && !is_staff(u) && !strv_contains(&mails, u->email))
            strv_push(&mails, u->email);
    }
    char *s = mails.n ? strv_join(&mails, ", ") : NULL;
    strv_clear(&mails);
    return s;
}

/* One row for recipient u, unless a rule says no. */
static void add_row(struct plan_ctx *p, const struct td_event *ev, enum notify_kind kind,
                    const struct td_user *u, const struct td_user *author, const char *body,
                    const char *assignee_id)
{
    const struct notify_config *nc = p->nc;
    if (u == NULL || u->disabled || !nc->enabled[kind])
        return;
    if (notify_kind_staff_only(kind) && !is_staff(u))
        return; /* internal content never reaches a customer */
    if (kind != NK_CREATED_ACK && strcmp(u->id, ev->actor_id) == 0)
        return; /* nobody hears about their own action */
    if (notify_address_blocked(nc, u->email))
        return;
    struct td_outbox_list *out = p->out;
    /* One mail per person per event: the row id names exactly that (the
     * event, the person, the kind), where the time alone would merge two
     * events of the same millisecond. */
    char row_id[TD_ID_LEN + 1];
    notify_row_id(ev, u->id, kind, row_id);
    for (size_t i = 0; i < out->n; i++)
        if (strcmp(out->v[i].id, row_id) == 0)
            return;

    const struct td_ticket *t = p->t;
    const struct td_user *req = user_by_id(p, t->requester_id);
    const struct td_user *asg = assignee_id[0] ? user_by_id(p, assignee_id) : NULL;
    json_t *root = json_object(), *vars = json_object();
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)t->number);
    notify_var_put(vars, "ticket_number", num);
    notify_var_put(vars, "subject", ev->kind == EVENT_CREATED && ev->new_value ? ev->new_value : t->subject);
    bool status_ev = ev->kind == EVENT_STATUS;
    notify_var_put(vars, "status", status_ev && ev->new_value ? ev->new_value : status_name(t->status));
    notify_var_put(vars, "old_status", status_ev ? ev->old_value : "");
    notify_var_put(vars, "priority", priority_name(t->priority));
    notify_var_put(vars, "queue", t->queue);
    notify_var_put(vars, "author", author ? notify_display_name(author) : "Support");
    notify_var_put(vars, "author_email", author ? author->email : nc->support_address);
    notify_var_put(vars, "body", body);
    struct buf url = BUF_INIT;
    if (nc->ticket_url[0])
        buf_printf(&url, "%s%lld", nc->ticket_url, (long long)t->number);
    notify_var_put(vars, "ticket_url", url.data ? url.data : "");
    buf_free(&url);
    notify_var_put(vars, "requester", notify_display_name(req));
    notify_var_put(vars, "requester_email", req ? req->email : "");
    notify_var_put(vars, "assignee", notify_display_name(asg));
    notify_var_put(vars, "assignee_email", asg ? asg->email : "");
    notify_var_put(vars, "recipient", notify_display_name(u));
    notify_var_put(vars, "recipient_email", u->email);
    notify_var_put(vars, "support_address", nc->support_address);
    /* The sender shows the rest of the conversation in Cc only where
     * that leaks no reply token (notify/deliver.c); agents' notices name
     * nobody. */
    char *cc = notify_kind_staff_only(kind) ? NULL : others_in_conversation(p, u->id);
    notify_var_put(vars, "cc", cc);
    free(cc);
    /* "Alan via Support": a person wrote it (notify/deliver.c). */
    notify_var_put(vars, "via", kind == NK_REPLY_TO_REQUESTER && is_staff(author)
                                    ? notify_display_name(author) : "");
    json_object_set_new(root, "recipient_id", json_string(u->id));
    json_object_set_new(root, "vars", vars);
    if (p->files && p->files->n_attachments > 0) {
        /* The sender attaches them, or lists them (notify/deliver_files.c). */
        json_t *files = json_array();
        for (size_t i = 0; i < p->files->n_attachments; i++) {
            const struct td_attachment_ref *r = &p->files->attachments[i];
            if (p->files->source == SOURCE_EMAIL && r->name &&
                strcmp(r->name, COMMENT_FULL_TEXT_NAME) == 0)
                continue;
            json_t *f = json_object();
            json_object_set_new(f, "id", json_string(r->id));
            json_object_set_new(f, "name", json_string(r->name ? r->name : ""));
            json_object_set_new(f, "content_type", json_string(r->content_type ? r->content_type : ""));
            json_object_set_new(f, "size", json_integer((json_int_t)r->size));
            if (r->is_inline)
                json_object_set_new(f, "inline", json_true());
            json_array_append_new(files, f);
        }
        if (json_array_size(files) > 0)
            json_object_set_new(root, "attachments", files);
        else
            json_decref(files);
    }
    char *payload = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (payload == NULL)
        td_oom();

    out->v = td_realloc(out->v, (out->n + 1) * sizeof *out->v);
    struct td_outbox *o = &out->v[out->n++];
    memset(o, 0, sizeof *o);
    notify_row_id(ev, u->id, kind, o->id);
    o->kind = td_strdup(notify_kind_names[kind]);
    o->ticket = t->number;
    o->recipient = td_strdup(u->email);
    o->payload = td_strdup(payload);
    free(payload);
    o->state = OUTBOX_PENDING;
    o->created = ev->at; /* replaced by the insert time in notify_enqueue */
}

/* A customer-facing mail to the requester and to every participant who
 * is a customer, each a row (and a mail, with a reply token) of their
 * own: tokens stay personal. Agents who follow the ticket get the
 * agents' notices instead. */
static void to_conversation(struct plan_ctx *p, const struct td_event *ev, enum notify_kind kind,
                            const struct td_user *author, const char *body, const char *assignee)
{
    const struct td_ticket *t = p->t;
    add_row(p, ev, kind, user_by_id(p, t->requester_id), author, body, assignee);
    for (size_t i = 0; i < t->participants.n; i++) {
        const struct td_user *u = user_by_id(p, t->participants.v[i]);
        if (u && !is_staff(u))
            add_row(p, ev, kind, u, author, body, assignee);
    }
}

/* Agents who follow the ticket (participants with a staff role). */
static void to_following_staff(struct plan_ctx *p, const struct td_event *ev,
                               enum notify_kind kind, const struct td_user *author,
                               const char *body, const char *assignee)
{
    for (size_t i = 0; i < p->t->participants.n; i++) {
        const struct td_user *u = user_by_id(p, p->t->participants.v[i]);
        if (u && is_staff(u) && scope_allows(p->st, u, p->t))
            add_row(p, ev, kind, u, author, body, assignee);
    }
}

static bool to_staff(struct plan_ctx *p, const struct td_event *ev, enum notify_kind kind,
                     const struct td_user *author, const char *body, const char *assignee,
                     const char *except_id, struct td_err *err)
{
    if (!p->nc->enabled[kind])
        return true;
    if (!load_staff(p, err))
        return false;
    /* A restricted agent hears only of their groups' tickets (scope.h). */
    for (size_t i = 0; i < p->staff.n; i++)
        if ((except_id == NULL || strcmp(p->staff.v[i].id, except_id) != 0) &&
            scope_allows(p->st, &p->staff.v[i], p->t))
            add_row(p, ev, kind, &p->staff.v[i], author, body, assignee);
    return true;
}

/* The agents a ticket's group hands new work to: its members, when the
 * group exists and has any (core/group.h); otherwise every agent, as
 * before groups existed, so a ticket is never announced to nobody. */
static bool to_group(struct plan_ctx *p, const struct td_event *ev, enum notify_kind kind,
                     const struct td_user *author, const char *body, const char *assignee,
                     const char *except_id, struct td_err *err)
{
    if (!p->nc->enabled[kind])
        return true;
    if (!p->group_loaded) {
        bool found = false;
        if (!group_members_of(p->st, p->t->queue, &p->group, &found, err))
            return false;
        p->group_loaded = true;
    }
    if (p->group.n == 0)
        return to_staff(p, ev, kind, author, body, assignee, except_id, err);
    for (size_t i = 0; i < p->group.n; i++) {
        const struct td_user *u = user_by_id(p, p->group.v[i]);
        if (u && is_staff(u) && (except_id == NULL || strcmp(u->id, except_id) != 0))
            add_row(p, ev, kind, u, author, body, assignee);
    }
    return true;
}

bool notify_plan(const struct notify_config *nc, struct store *st, const struct td_ticket *t,
                 const struct td_event *ev, size_t n, const char *assignee_before, td_time since,
                 struct td_outbox_list *out, struct td_err *err)
{
    if (nc->support_address[0] == '\0')
        return true;
    struct plan_ctx p = { .nc = nc, .st = st, .t = t, .out = out };
    char assignee[TD_ID_LEN + 1];
    snprintf(assignee, sizeof assignee, "%s", assignee_before ? assignee_before : "");
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        const struct td_event *e = &ev[i];
        bool assign_ev = e->kind == EVENT_ASSIGNEE || e->kind == EVENT_CLAIM;
        if (assign_ev)
            snprintf(assignee, sizeof assignee, "%s", e->new_value ? e->new_value : "");
        if (e->at < since)
            continue;
        const struct td_user *actor = user_by_id(&p, e->actor_id);
        const struct td_user *req = user_by_id(&p, t->requester_id);
        p.files = NULL;
        switch (e->kind) {
        case EVENT_CREATED: {
            /* The description is the comment written right after. */
            const struct td_comment *d = NULL;
            if (i + 1 < n && ev[i + 1].kind == EVENT_COMMENT)
                d = comment_by_id(&p, ev[i + 1].new_value);
            const char *body = d ? d->body : "";
            p.files = d;
            const struct td_user *author = actor ? actor : req;
            bool auto_sub = e->old_value && strcmp(e->old_value, TICKET_CREATED_AUTO) == 0;
            if (!auto_sub)
                add_row(&p, e, NK_CREATED_ACK, req, author, body, assignee);
            ok = to_group(&p, e, NK_CREATED_AGENTS, author, body, assignee, t->requester_id, err);
            break;
        }
        case EVENT_COMMENT: {
            if (i > 0 && ev[i - 1].kind == EVENT_CREATED)
                break; /* the description: part of the creation mails */
            const struct td_comment *c = comment_by_id(&p, e->new_value);
            const char *body = c ? c->body : "";
            p.files = c;
            bool internal = e->old_value && strcmp(e->old_value, "internal") == 0;
            if (internal) {
                /* The assignee and the agents who follow the ticket. */
                if (assignee[0])
                    add_row(&p, e, NK_INTERNAL_NOTE, user_by_id(&p, assignee), actor, body, assignee);
                to_following_staff(&p, e, NK_INTERNAL_NOTE, actor, body, assignee);
            } else if (e->actor_id[0] == '\0' || is_staff(actor)) {
                to_conversation(&p, e, NK_REPLY_TO_REQUESTER, actor, body, assignee);
            } else {
                /* A customer wrote: the agents hear of it, and so does
                 * everyone else in the conversation (add_row leaves the
                 * author out). */
                if (assignee[0])
                    add_row(&p, e, NK_REPLY_TO_AGENTS, user_by_id(&p, assignee), actor, body, assignee);
                else
                    ok = to_group(&p, e, NK_REPLY_TO_AGENTS, actor, body, assignee, NULL, err);
                to_following_staff(&p, e, NK_REPLY_TO_AGENTS, actor, body, assignee);
                to_conversation(&p, e, NK_REPLY_TO_REQUESTER, actor, body, assignee);
            }
            break;
        }
        case EVENT_ASSIGNEE:
        case EVENT_CLAIM:
            if (assignee[0])
                add_row(&p, e, NK_ASSIGNED, user_by_id(&p, assignee), actor, "", assignee);
            break;
        case EVENT_STATUS:
            if (e->new_value && strcmp(e->new_value, "resolved") == 0)
                to_conversation(&p, e, NK_STATUS_RESOLVED, actor, "", assignee);
            else if (e->new_value && strcmp(e->new_value, "closed") == 0)
                to_conversation(&p, e, NK_STATUS_CLOSED, actor, "", assignee);
            break;
        case EVENT_REMINDER:
            /* The requester is the one the ticket waits for. */
            add_row(&p, e, NK_PENDING_REMINDER, req, actor, "", assignee);
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < p.n_users; i++) {
        user_clear(p.users[i]);
        free(p.users[i]);
    }
    free(p.users);
    user_list_clear(&p.staff);
    comment_list_clear(&p.comments);
    strv_clear(&p.group);
    return ok;
}

