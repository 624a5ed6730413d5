/* attachment.c - reading an attachment through the comment it belongs
 * to (comment.h: comment_attachment_get).
 *
 * Attachments are stored by id, apart from comments; the store's
 * attachment_owner says which ticket and which kind of comment
 * references one. Visibility is then exactly a comment's: the ticket must
 * be visible to the actor (policy_view_ticket, via ticket_get) and an
 * internal note's attachments are for staff only. Every refusal looks
 * like an unknown id. */
#include "comment.h"
#include "id.h"
#include "policy.h"
#include "ticket.h"

bool comment_attachment_get(struct td_core *c, const struct td_user *actor, const char *id,
                            struct td_attachment *out, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (!id_valid(id))
        return td_fail(err, TD_NOT_FOUND, "attachment not found");
    int64_t number = 0;
    bool internal = false;
    struct td_err e;
    td_err_clear(&e);
    if (!c->store->ops->attachment_owner(c->store, id, &number, &internal, &e)) {
        if (e.code == TD_NOT_FOUND)
            return td_fail(err, TD_NOT_FOUND, "attachment %s not found", id);
        if (err)
            *err = e;
        return false;
    }
    struct td_ticket t;
    if (!ticket_get(c, actor, number, &t, &e)) {
        if (e.code == TD_NOT_FOUND)
            return td_fail(err, TD_NOT_FOUND, "attachment %s not found", id);
        if (err)
            *err = e;
        return false;
    }
    ticket_clear(&t);
    if (internal && !policy_is_staff(actor))
        return td_fail(err, TD_NOT_FOUND, "attachment %s not found", id);
    if (!c->store->ops->attachment_get(c->store, id, out, err)) {
        if (err && err->code == TD_NOT_FOUND)
            td_fail(err, TD_NOT_FOUND, "attachment %s not found", id);
        return false;
    }
    return true;
}
