/* idem.c - the Idempotency-Key record of store.h (struct td_idem): its
 * owned strings. The rules are api/idempotency.c's. */
#include "core/store/store.h"

#include <stdlib.h>
#include <string.h>

void idem_clear(struct td_idem *i)
{
    if (i == NULL)
        return;
    free(i->content_type);
    free(i->body);
    free(i->location);
    free(i->etag);
    memset(i, 0, sizeof *i);
}
