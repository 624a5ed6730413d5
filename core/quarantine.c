/* quarantine.c - clearing the quarantine records of store.h (the mail
 * gateway's quarantined mail; the backends keep them). */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void quarantine_clear(struct td_quarantine *q)
{
    if (q == NULL)
        return;
    free(q->mailbox);
    free(q->msg_key);
    free(q->reason);
    free(q->sender);
    free(q->subject);
    free(q->raw);
    memset(q, 0, sizeof *q);
}

void quarantine_list_clear(struct td_quarantine_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        quarantine_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}
