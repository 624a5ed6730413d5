/* store_mongo_sla.c - a ticket's SLA state (struct td_sla, core/sla.h) in
 * the MongoDB backend: the subdocument
 *   sla: {first_response_due, resolution_due, first_responded, resolved,
 *         paused_since, paused_ms, escalated_first_response,
 *         escalated_resolution, next_due, next_escalation}
 * of the ticket document, written with the ticket's other mutable fields
 * (so an update and its version bump carry it atomically: an escalation's
 * claim is the ticket's compare-and-set on version); absent on tickets
 * written before SLAs (read as all 0). Indexed on next_due (the overdue /
 * due_before filters) and next_escalation (the escalation scan). */
#include "store_mongo_int.h"

#include <string.h>

static const char *const keys[] = {
    "first_response_due", "resolution_due", "first_responded", "resolved", "paused_since",
    "paused_ms", "escalated_first_response", "escalated_resolution", "next_due",
    "next_escalation",
};
#define N_KEYS (sizeof keys / sizeof keys[0])

static int64_t *field(struct td_sla *s, size_t i)
{
    int64_t *f[N_KEYS] = {
        &s->first_response_due, &s->resolution_due, &s->first_responded, &s->resolved,
        &s->paused_since, &s->paused_ms, &s->escalated_first_response,
        &s->escalated_resolution, &s->next_due, &s->next_escalation,
    };
    return f[i];
}

bool mg_sla_put(bson_t *d, const struct td_sla *sla)
{
    struct td_sla s = *sla;
    bson_t sub;
    if (!BSON_APPEND_DOCUMENT_BEGIN(d, "sla", &sub))
        return false;
    bool ok = true;
    for (size_t i = 0; i < N_KEYS; i++)
        ok = ok && BSON_APPEND_INT64(&sub, keys[i], *field(&s, i));
    return bson_append_document_end(d, &sub) && ok;
}

bool mg_sla_parse(const bson_iter_t *it, struct td_sla *out)
{
    bson_iter_t sub;
    memset(out, 0, sizeof *out);
    if (BSON_ITER_HOLDS_NULL(it))
        return true;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &sub))
        return false;
    while (bson_iter_next(&sub)) {
        const char *k = bson_iter_key(&sub);
        for (size_t i = 0; i < N_KEYS; i++)
            if (strcmp(k, keys[i]) == 0 && !mg_iter_i64(&sub, field(out, i)))
                return false;
    }
    return true;
}
