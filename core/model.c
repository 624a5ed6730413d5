/* model.c - clearing, copying and naming the plain data of model.h. */
#include "model.h"
#include "mem.h"

#include <string.h>

void user_clear(struct td_user *u)
{
    if (u == NULL)
        return;
    free(u->email);
    free(u->name);
    if (u->pw_hash) {
        /* The hash is not the password, but there is no reason to leave it
         * lying around in freed memory either. */
        memset(u->pw_hash, 0, strlen(u->pw_hash));
        free(u->pw_hash);
    }
    memset(u, 0, sizeof *u);
}

void ticket_clear(struct td_ticket *t)
{
    if (t == NULL)
        return;
    free(t->subject);
    free(t->queue);
    strv_clear(&t->tags);
    strv_clear(&t->message_ids);
    strv_clear(&t->participants);
    memset(t, 0, sizeof *t);
}

void attachment_ref_clear(struct td_attachment_ref *r)
{
    if (r == NULL)
        return;
    free(r->name);
    free(r->content_type);
    memset(r, 0, sizeof *r);
}

void comment_clear(struct td_comment *c)
{
    if (c == NULL)
        return;
    free(c->body);
    free(c->message_id);
    for (size_t i = 0; i < c->n_attachments; i++)
        attachment_ref_clear(&c->attachments[i]);
    free(c->attachments);
    memset(c, 0, sizeof *c);
}

void attachment_clear(struct td_attachment *a)
{
    if (a == NULL)
        return;
    free(a->name);
    free(a->content_type);
    free(a->data);
    memset(a, 0, sizeof *a);
}

void event_clear(struct td_event *e)
{
    if (e == NULL)
        return;
    free(e->old_value);
    free(e->new_value);
    memset(e, 0, sizeof *e);
}

void outbox_clear(struct td_outbox *o)
{
    if (o == NULL)
        return;
    free(o->kind);
    free(o->recipient);
    free(o->payload);
    free(o->owner);
    free(o->last_error);
    memset(o, 0, sizeof *o);
}

void mailbox_state_clear(struct td_mailbox_state *m)
{
    if (m == NULL)
        return;
    free(m->name);
    free(m->lease_owner);
    memset(m, 0, sizeof *m);
}

#define LIST_CLEAR(fn, type, item_clear)                                      \
    void fn(type *l)                                                          \
    {                                                                         \
        if (l == NULL)                                                        \
            return;                                                           \
        for (size_t i = 0; i < l->n; i++)                                     \
            item_clear(&l->v[i]);                                             \
        free(l->v);                                                           \
        l->v = NULL;                                                          \
        l->n = 0;                                                             \
    }

LIST_CLEAR(user_list_clear, struct td_user_list, user_clear)
LIST_CLEAR(ticket_list_clear, struct td_ticket_list, ticket_clear)
LIST_CLEAR(comment_list_clear, struct td_comment_list, comment_clear)
LIST_CLEAR(event_list_clear, struct td_event_list, event_clear)
LIST_CLEAR(outbox_list_clear, struct td_outbox_list, outbox_clear)

void ticket_copy(struct td_ticket *dst, const struct td_ticket *src)
{
    ticket_clear(dst);
    *dst = *src;
    dst->subject = td_strdup(src->subject);
    dst->queue = td_strdup(src->queue);
    dst->tags = (struct strv)STRV_INIT;
    dst->message_ids = (struct strv)STRV_INIT;
    dst->participants = (struct strv)STRV_INIT;
    strv_copy(&dst->tags, &src->tags);
    strv_copy(&dst->message_ids, &src->message_ids);
    strv_copy(&dst->participants, &src->participants);
}

void user_copy(struct td_user *dst, const struct td_user *src)
{
    user_clear(dst);
    *dst = *src;
    dst->email = td_strdup(src->email);
    dst->name = td_strdup(src->name);
    dst->pw_hash = td_strdup(src->pw_hash);
}

/* One table per enum: the index is the enum value. */
static const char *const role_names[] = { "customer", "agent", "admin" };
static const char *const status_names[] = { "new", "open", "pending", "resolved", "closed" };
static const char *const priority_names[] = { "low", "normal", "high", "urgent" };
static const char *const source_names[] = { "api", "email" };
static const char *const event_names[] = { "created", "status", "priority", "assignee",
                                            "claim", "comment", "tag", "subject", "erased",
                                            "participant_added", "participant_removed",
                                            "related_mail", "merged_into", "merged_from", "queue",
                                            "escalated", "reminder" };
static const char *const outbox_names[] = { "pending", "sending", "sent", "failed" };

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static bool parse_name(const char *const *names, size_t n, const char *s, int *out)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            *out = (int)i;
            return true;
        }
    }
    return false;
}

#define ENUM_NAMING(type, prefix, names)                                      \
    const char *prefix##_name(type v)                                         \
    {                                                                         \
        return ((size_t)v < N_OF(names)) ? names[v] : "unknown";              \
    }                                                                         \
    bool prefix##_parse(const char *s, type *out)                             \
    {                                                                         \
        int v;                                                                \
        if (!parse_name(names, N_OF(names), s, &v))                           \
            return false;                                                     \
        *out = (type)v;                                                       \
        return true;                                                          \
    }

ENUM_NAMING(enum td_role, role, role_names)
ENUM_NAMING(enum td_status, status, status_names)
ENUM_NAMING(enum td_priority, priority, priority_names)
ENUM_NAMING(enum td_source, source, source_names)
ENUM_NAMING(enum td_event_kind, event_kind, event_names)
ENUM_NAMING(enum td_outbox_state, outbox_state, outbox_names)
