/* comment.c - see comment.h. */
#include "comment.h"
#include "buf.h"
#include "id.h"
#include "mem.h"
#include "policy.h"
#include "sla.h"
#include "text.h"
#include "workflow.h"

#include <stdio.h>
#include <string.h>

#define MAX_ATTACHMENTS 100
#define MAX_ATTACHMENT_NAME 255

void comment_draft_clear(struct comment_draft *d)
{
    if (d == NULL)
        return;
    comment_clear(&d->comment);
    free(d->atts);
    memset(d, 0, sizeof *d);
}

bool comment_draft_build(struct td_core *c, const char *author_id, const struct comment_new *in,
                         struct comment_draft *d, struct td_err *err)
{
    memset(d, 0, sizeof *d);
    const char *body = in->body ? in->body : "";
    size_t len = strlen(body);
    if (len > c->max_body)
        return td_fail(err, TD_TOO_LARGE, "the text is %zu bytes; the limit is %zu", len, c->max_body);
    if (!utf8_valid(body, len))
        return td_fail(err, TD_INVALID, "the text is not valid UTF-8");
    if (in->n_attachments > MAX_ATTACHMENTS)
        return td_fail(err, TD_INVALID, "at most %d attachments per comment", MAX_ATTACHMENTS);
    if (in->message_id != NULL && (in->message_id[0] == '\0' || strlen(in->message_id) > 998))
        return td_fail(err, TD_INVALID, "Message-ID must be 1 to 998 characters");

    struct td_comment *cm = &d->comment;
    struct buf notes = BUF_INIT;
    cm->attachments = td_calloc(in->n_attachments, sizeof *cm->attachments);
    d->atts = td_calloc(in->n_attachments, sizeof *d->atts);
    for (size_t i = 0; i < in->n_attachments; i++) {
        const struct attachment_in *a = &in->attachments[i];
        char *name = NULL, *type = NULL;
        if (!text_line(a->name && a->name[0] ? a->name : "attachment", "attachment name",
                       MAX_ATTACHMENT_NAME, false, &name, err) ||
            !text_line(a->content_type && a->content_type[0] ? a->content_type
                                                             : "application/octet-stream",
                       "attachment content type", 255, false, &type, err)) {
            free(name);
            buf_free(&notes);
            comment_draft_clear(d);
            return false;
        }
        if (a->size > c->max_attachment) {
            if (!in->drop_oversize_attachments) {
                td_fail(err, TD_TOO_LARGE, "attachment '%s' is %zu bytes; the limit is %zu", name,
                        a->size, c->max_attachment);
                free(name);
                free(type);
                buf_free(&notes);
                comment_draft_clear(d);
                return false;
            }
            buf_printf(&notes, "\n[ticketd: attachment '%s' (%zu bytes) was dropped: the limit is %zu bytes]",
                       name, a->size, c->max_attachment);
            free(name);
            free(type);
            continue;
        }
        struct td_attachment_ref *r = &cm->attachments[cm->n_attachments];
        id_new_sorted(r->id);
        r->name = name;
        r->content_type = type;
        r->size = a->size;
        r->is_inline = a->is_inline;
        d->atts[cm->n_attachments++] = a;
    }
    if (len == 0 && cm->n_attachments == 0 && notes.len == 0) {
        comment_draft_clear(d);
        return td_fail(err, TD_INVALID, "the text is empty");
    }
    struct buf text = BUF_INIT;
    buf_append(&text, body, len);
    if (notes.len)
        buf_append(&text, notes.data, notes.len);
    buf_free(&notes);
    cm->body = buf_steal(&text);
    id_new_sorted(cm->id);
    if (author_id)
        snprintf(cm->author_id, sizeof cm->author_id, "%s", author_id);
    cm->internal = in->internal;
    cm->source = in->source;
    cm->message_id = td_strdup(in->message_id);
    cm->created = td_now();
    return true;
}

bool comment_draft_store(struct td_core *c, struct comment_draft *d, int64_t number,
                         struct td_err *err)
{
    struct td_comment *cm = &d->comment;
    cm->ticket = number;
    for (size_t i = 0; i < cm->n_attachments; i++) {
        const struct td_attachment_ref *r = &cm->attachments[i];
        struct td_attachment a = {
            .name = r->name,
            .content_type = r->content_type,
            .size = d->atts[i]->size,
            .data = (unsigned char *)d->atts[i]->data,
        };
        memcpy(a.id, r->id, sizeof a.id);
        /* Not attachment_clear: the strings and bytes are borrowed. */
        if (!c->store->ops->attachment_put(c->store, &a, err))
            return false;
    }
    struct td_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ticket = number;
    memcpy(ev.actor_id, cm->author_id, sizeof ev.actor_id);
    ev.kind = EVENT_COMMENT;
    ev.old_value = (char *)(cm->internal ? "internal" : "public");
    ev.new_value = cm->id;
    ev.at = cm->created;
    if (!c->store->ops->comment_insert(c->store, cm, &ev, err)) {
        if (err && err->code == TD_CONFLICT)
            td_fail(err, TD_CONFLICT, "a comment with Message-ID %s already exists", cm->message_id);
        return false;
    }
    d->event = ev; /* its strings point into the comment: valid while d is */
    return true;
}

struct status_move {
    bool by_staff;
};

static bool apply_reply_status(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                               struct ticket_change *ch, const void *arg, struct td_err *err)
{
    (void)c;
    (void)err;
    const struct status_move *m = arg;
    if (m->by_staff)
        (void)sla_first_reply(t, td_now()); /* written with the status move, if any */
    enum td_status to = workflow_after_reply(t->status, m->by_staff);
    if (to != t->status && workflow_allowed(t->status, to)) {
        ticket_change_add(ch, actor, t->number, EVENT_STATUS, status_name(t->status),
                          status_name(to));
        t->status = to;
    }
    return true;
}

bool comment_add(struct td_core *c, const struct td_user *actor, int64_t number,
                 const struct comment_new *in, struct td_comment *out, struct td_err *err)
{
    struct td_ticket t;
    if (!ticket_get(c, actor, number, &t, err))
        return false;
    bool ok = policy_comment(actor, &t, in->internal, err);
    if (ok && t.merged_into > 0)
        ok = td_fail(err, TD_CONFLICT, "ticket #%lld was merged into #%lld; write there",
                     (long long)number, (long long)t.merged_into);
    ticket_clear(&t);
    if (!ok)
        return false;
    struct comment_draft d;
    if (!comment_draft_build(c, actor ? actor->id : NULL, in, &d, err))
        return false;
    /* The comment, its attachments, the notifications it plans and the
     * status move it causes share one store batch: one transaction (one
     * fsync on SQLite) instead of one each. Inside the poller's batch it
     * is a part of that one. */
    struct store *st = c->store;
    bool batch = store_batch_try(st);
    if (!comment_draft_store(c, &d, number, err)) {
        if (batch)
            (void)store_batch_end(st, false, NULL);
        comment_draft_clear(&d);
        return false;
    }
    /* after: the ticket as the reply left it, when the status move hands
     * it back (it read it inside this batch, after the comment): one
     * read of the ticket less while the writer is held. */
    bool have_after = false;
    struct td_ticket after;
    memset(&after, 0, sizeof after);
    if (!in->internal) {
        /* The comment is in; a failed status move must not report the
         * comment as failed (a retry would duplicate it), so it is only
         * best effort here. */
        struct status_move m = { policy_is_staff(actor) };
        have_after = ticket_mutate(c, actor, number, 0, apply_reply_status, &m,
                                   core_listened(c) ? &after : NULL, NULL) &&
                     core_listened(c);
    }
    /* Planned after the status move: the mail about the comment shows
     * the status the reply left the ticket in, as a replay of the
     * history (which sees the current ticket) would. */
    if (core_listened(c) && (have_after || ticket_get(c, NULL, number, &after, NULL))) {
        core_emit(c, actor, &after, &d.event, 1);
        ticket_clear(&after);
    }
    if (batch && !store_batch_end(st, true, err)) {
        comment_draft_clear(&d); /* not committed: nothing of it is there */
        return false;
    }
    if (out) {
        *out = d.comment;
        memset(&d.comment, 0, sizeof d.comment);
    }
    comment_draft_clear(&d);
    return true;
}

bool comment_list(struct td_core *c, const struct td_user *actor, int64_t number,
                  struct td_comment_list *out, struct td_err *err)
{
    struct td_ticket t;
    if (!ticket_get(c, actor, number, &t, err))
        return false;
    ticket_clear(&t);
    return c->store->ops->comment_list(c->store, number, policy_is_staff(actor), out, err);
}
