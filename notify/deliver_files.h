/* deliver_files.h - the files of a notification (issue 10): a comment's
 * attachments go out attached to the mail while their total stays within
 * [notify] attachments_max_bytes; the rest are listed in the text with
 * name, size and where to get them. Agents' notices always list every
 * file (attached or not), so an agent sees at a glance what the customer
 * sent. Images that were inline in an HTML mail (cid:) go out inline
 * again - Content-Disposition: inline with a Content-ID the HTML part
 * shows - and are not listed as files to customers. */
#ifndef TD_NOTIFY_DELIVER_FILES_H
#define TD_NOTIFY_DELIVER_FILES_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/store/store.h"
#include "notify/message.h"

#define DELIVER_MAX_INLINE 20
#define DELIVER_CID_LEN 48

struct deliver_files {
    struct message_attachment *v; /* point into owned (and cids) */
    size_t n;
    struct td_attachment *owned;
    size_t n_owned;
    struct buf text;              /* the list for the text part ("" = none) */
    struct buf html;              /* the same, as HTML, after the inline
                                     images' <img src="cid:..."> */
    struct buf inline_html;       /* just the <img> tags */
    char cids[DELIVER_MAX_INLINE][DELIVER_CID_LEN]; /* Content-IDs of inline images */
    size_t n_cids;
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
