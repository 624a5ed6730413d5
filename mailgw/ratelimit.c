/* ratelimit.c - see ratelimit.h.
 *
 * ticket_list can filter by requester and by "updated since", not by
 * creation time; a ticket created in the window was also updated in it,
 * so that filter finds a superset, and the created time decides. The
 * list is newest number first and numbers grow with creation, so limit
 * + 1 rows are enough to know whether the limit is reached. */
#include "ratelimit.h"

#include <string.h>

bool ratelimit_allow(struct store *st, const char *requester_id, int64_t limit,
                     int64_t window_ms, td_time now, bool *allowed, int64_t *count,
                     struct td_err *err)
{
    *allowed = true;
    *count = 0;
    if (limit <= 0)
        return true;
    td_time since = now - window_ms;
    struct td_ticket_filter f;
    memset(&f, 0, sizeof f);
    f.requester_id = requester_id;
    f.updated_since = since;
    f.limit = (size_t)(limit + 1 > STORE_LIST_MAX ? STORE_LIST_MAX : limit + 1);
    struct td_ticket_list l = { NULL, 0 };
    if (!st->ops->ticket_list(st, &f, &l, err))
        return false;
    int64_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].created > since)
            n++;
    ticket_list_clear(&l);
    *count = n > limit ? limit : n;
    *allowed = n < limit;
    return true;
}
