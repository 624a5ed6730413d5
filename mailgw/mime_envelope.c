/* mime_envelope.c - who wrote a mail and to whom, as libetpan parsed
 * the top-level fields: the From address and display name, the To and
 * Cc addresses. The display name is RFC 2047 text; raw 8-bit in it is
 * read with the mail's charset hint (charset.h). When the first From
 * has no address and a later one does, the later one is used and a
 * note says so (issue 15: never silently). */
#include "mime_int.h"

#include <string.h>

#include "core/mem.h"
#include "rfc2047.h"

static void first_mailbox(struct mailimf_mailbox_list *l, struct mime_msg *m, const char *hint)
{
    clistiter *it = l && l->mb_list ? clist_begin(l->mb_list) : NULL;
    if (it == NULL)
        return;
    struct mailimf_mailbox *mb = clist_content(it);
    if (mb == NULL || mb->mb_addr_spec == NULL)
        return;
    m->from_addr = td_strdup(mb->mb_addr_spec);
    if (mb->mb_display_name && mb->mb_display_name[0])
        m->from_name = rfc2047_decode_hint(mb->mb_display_name, strlen(mb->mb_display_name), hint,
                                           NULL);
}

static void add_addresses(struct mailimf_address_list *l, struct strv *out)
{
    for (clistiter *it = l && l->ad_list ? clist_begin(l->ad_list) : NULL; it && out->n < 200;
         it = clist_next(it)) {
        struct mailimf_address *a = clist_content(it);
        if (a->ad_type == MAILIMF_ADDRESS_MAILBOX && a->ad_data.ad_mailbox) {
            if (a->ad_data.ad_mailbox->mb_addr_spec)
                strv_push(out, a->ad_data.ad_mailbox->mb_addr_spec);
        } else if (a->ad_type == MAILIMF_ADDRESS_GROUP && a->ad_data.ad_group &&
                   a->ad_data.ad_group->grp_mb_list) {
            clist *gl = a->ad_data.ad_group->grp_mb_list->mb_list;
            for (clistiter *g = gl ? clist_begin(gl) : NULL; g; g = clist_next(g)) {
                struct mailimf_mailbox *mb = clist_content(g);
                if (mb && mb->mb_addr_spec)
                    strv_push(out, mb->mb_addr_spec);
            }
        }
    }
}

void mime_envelope(struct mailimf_fields *f, struct mime_msg *m, const char *hint)
{
    for (clistiter *it = f && f->fld_list ? clist_begin(f->fld_list) : NULL; it;
         it = clist_next(it)) {
        struct mailimf_field *x = clist_content(it);
        switch (x->fld_type) {
        case MAILIMF_FIELD_FROM:
            if (m->from_addr == NULL && x->fld_data.fld_from)
                first_mailbox(x->fld_data.fld_from->frm_mb_list, m, hint);
            break;
        case MAILIMF_FIELD_TO:
            if (x->fld_data.fld_to)
                add_addresses(x->fld_data.fld_to->to_addr_list, &m->recipients);
            break;
        case MAILIMF_FIELD_CC:
            if (x->fld_data.fld_cc)
                add_addresses(x->fld_data.fld_cc->cc_addr_list, &m->recipients);
            break;
        default:
            break;
        }
    }
    /* libetpan skips a From it cannot read: when the first raw From has
     * no address, the one used came from a later From. Say so. */
    if (m->from_addr != NULL && mime_header_nth(m, "From", 1) != NULL) {
        char *first = mime_addr_extract(mime_header(m, "From"));
        if (first == NULL) {
            strv_push(&m->notes, "the first From field has no usable address; a second From "
                                 "field was used");
            m->from_field = "a second From";
        }
        free(first);
    }
}
