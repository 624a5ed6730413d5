/* store_desk.c - what store_desk.h's lists own, freed in one place for
 * both backends. */
#include "core/store/store_desk.h"

#include <stdlib.h>

void idle_list_clear(struct td_idle_list *l)
{
    if (l == NULL)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void desk_counts_clear(struct td_desk_counts *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].queue);
    free(c->v);
    c->v = NULL;
    c->n = 0;
    c->oldest_open = 0;
}
