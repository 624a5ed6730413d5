/* comment.h - public replies and internal notes on a ticket, with their
 * attachments. */
#ifndef TD_COMMENT_H
#define TD_COMMENT_H

#include <stdbool.h>

#include "core.h"
#include "model.h"
#include "ticket.h"

/* The name under which the mail gateway keeps the whole text of a mail
 * whose comment holds only part of it (quotes stripped, text cut): a
 * record of the mail, not a file anyone sent, so notifications leave it
 * out. */
#define COMMENT_FULL_TEXT_NAME "full-message.txt"

struct comment_new {
    const char *body;
    bool internal;                 /* agents only */
    enum td_source source;
    const char *message_id;        /* NULL unless from mail */
    const struct attachment_in *attachments;
    size_t n_attachments;
    /* Mail gateway: an attachment over the limit is dropped and a note
     * says so, instead of refusing the whole comment (TD_TOO_LARGE). */
    bool drop_oversize_attachments;
};

/* Adds a comment. A public reply also moves the status as the workflow
 * says (a customer answering a pending ticket reopens it). Message-ID
 * already used by another comment: TD_CONFLICT (mail dedupe). */
bool comment_add(struct td_core *c, const struct td_user *actor, int64_t number,
                 const struct comment_new *in, struct td_comment *out, struct td_err *err);

/* Customers see public comments only. */
bool comment_list(struct td_core *c, const struct td_user *actor, int64_t number,
                  struct td_comment_list *out, struct td_err *err);

/* A comment validated and built but not yet written, with the bytes of
 * its attachments (borrowed from the comment_new). */
struct comment_draft {
    struct td_comment comment;
    struct td_event event;             /* filled by comment_draft_store (borrowed values) */
    const struct attachment_in **atts; /* one per comment.attachments[i] */
};

/* Validation only, nothing written: ticket_open uses it to refuse bad
 * input before the ticket exists. */
bool comment_draft_build(struct td_core *c, const char *author_id, const struct comment_new *in,
                         struct comment_draft *d, struct td_err *err);
/* Writes the attachments and the comment (with its history event). */
bool comment_draft_store(struct td_core *c, struct comment_draft *d, int64_t number,
                         struct td_err *err);
void comment_draft_clear(struct comment_draft *d);

/* The bytes of an attachment (core/attachment.c), only for an actor who
 * may see the comment holding it: a customer gets public comments of
 * their own tickets. Anything else, like an unknown id, is TD_NOT_FOUND,
 * so ids cannot be probed. */
bool comment_attachment_get(struct td_core *c, const struct td_user *actor, const char *id,
                            struct td_attachment *out, struct td_err *err);

#endif
