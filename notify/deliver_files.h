/* deliver_files.h - the files of a notification (issue 10): a comment's
 * attachments go out attached to the mail while their total stays within
 * [notify] attachments_max_bytes; the rest are listed in the text with
 * name, size and where to get them. Agents' notices always list every
 * file (attached or not), so an agent sees at a glance what the customer
 * sent. */
#ifndef TD_NOTIFY_DELIVER_FILES_H
#define TD_NOTIFY_DELIVER_FILES_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/store/store.h"
#include "notify/message.h"

struct deliver_files {
    struct message_attachment *v; /* point into owned */
    size_t n;
    struct td_attachment *owned;
    size_t n_owned;
    struct buf text;              /* the list for the text part ("" = none) */
    struct buf html;              /* the same, as HTML */
};

/* files: the payload's "attachments" array (NULL: none). where: what to
 * say about getting a file not attached (the ticket's URL, or NULL).
 * false (err) only when the store failed in a way worth a retry
 * (TD_UNAVAILABLE); an attachment gone meanwhile is listed as such. */
bool deliver_files_load(struct store *st, const json_t *files, size_t max_total,
                        bool always_list, const char *where, struct deliver_files *out,
                        struct td_err *err);
void deliver_files_clear(struct deliver_files *f);

#endif
