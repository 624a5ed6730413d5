/* store_sqlite_sla.c - a ticket's SLA state (struct td_sla, core/sla.h)
 * in the SQLite backend.
 *
 * One row of ticket_sla per ticket that has any SLA state (none: no
 * row), written and read inside the caller's transaction by
 * ticket_insert / ticket_update / ticket_get, so it changes with the
 * ticket's version and history or not at all - which is what makes an
 * escalation's claim (a compare-and-set on the version) exact. A table
 * of its own keeps the tickets row and its SQL as they were; the two
 * partial indexes serve the list filters due_before (next_due) and
 * escalation_due (next_escalation) in store_sqlite_list.c. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <string.h>

const char sq_migration_sla[] =
    "CREATE TABLE ticket_sla ("
    "  ticket                   INTEGER PRIMARY KEY REFERENCES tickets(number) ON DELETE CASCADE,"
    "  first_response_due       INTEGER NOT NULL DEFAULT 0,"
    "  resolution_due           INTEGER NOT NULL DEFAULT 0,"
    "  first_responded          INTEGER NOT NULL DEFAULT 0,"
    "  resolved                 INTEGER NOT NULL DEFAULT 0,"
    "  paused_since             INTEGER NOT NULL DEFAULT 0,"
    "  paused_ms                INTEGER NOT NULL DEFAULT 0,"
    "  escalated_first_response INTEGER NOT NULL DEFAULT 0,"
    "  escalated_resolution     INTEGER NOT NULL DEFAULT 0,"
    "  next_due                 INTEGER NOT NULL DEFAULT 0,"
    "  next_escalation          INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX ticket_sla_next_due ON ticket_sla(next_due) WHERE next_due > 0;"
    "CREATE INDEX ticket_sla_next_escalation ON ticket_sla(next_escalation) "
    "WHERE next_escalation > 0;";

bool sq_sla_write(struct sq_store *s, const struct td_ticket *t, bool fresh, struct td_err *err)
{
    static const struct td_sla none;
    const struct td_sla *a = &t->sla;
    if (memcmp(a, &none, sizeof none) == 0)
        return fresh || sq_exec(s, "DELETE FROM ticket_sla WHERE ticket = ?1", NULL, err, "i", t->number);
    return sq_exec(s,
                   "INSERT INTO ticket_sla (ticket, first_response_due, resolution_due, "
                   "first_responded, resolved, paused_since, paused_ms, "
                   "escalated_first_response, escalated_resolution, next_due, next_escalation) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                   "ON CONFLICT (ticket) DO UPDATE SET first_response_due = ?2, "
                   "resolution_due = ?3, first_responded = ?4, resolved = ?5, "
                   "paused_since = ?6, paused_ms = ?7, escalated_first_response = ?8, "
                   "escalated_resolution = ?9, next_due = ?10, next_escalation = ?11",
                   NULL, err, "iiiiiiiiiii", t->number, a->first_response_due,
                   a->resolution_due, a->first_responded, a->resolved, a->paused_since,
                   a->paused_ms, a->escalated_first_response, a->escalated_resolution,
                   a->next_due, a->next_escalation);
}

bool sq_sla_load(struct sq_store *s, struct td_ticket *t, struct td_err *err)
{
    sqlite3_stmt *stmt = sq_query(s,
                                  "SELECT first_response_due, resolution_due, first_responded, "
                                  "resolved, paused_since, paused_ms, escalated_first_response, "
                                  "escalated_resolution, next_due, next_escalation "
                                  "FROM ticket_sla WHERE ticket = ?1",
                                  err, "i", t->number);
    if (stmt == NULL)
        return false;
    int r = sq_step(s, stmt, "read SLA state", err);
    memset(&t->sla, 0, sizeof t->sla);
    if (r == 1) {
        struct td_sla *a = &t->sla;
        a->first_response_due = sqlite3_column_int64(stmt, 0);
        a->resolution_due = sqlite3_column_int64(stmt, 1);
        a->first_responded = sqlite3_column_int64(stmt, 2);
        a->resolved = sqlite3_column_int64(stmt, 3);
        a->paused_since = sqlite3_column_int64(stmt, 4);
        a->paused_ms = sqlite3_column_int64(stmt, 5);
        a->escalated_first_response = sqlite3_column_int64(stmt, 6);
        a->escalated_resolution = sqlite3_column_int64(stmt, 7);
        a->next_due = sqlite3_column_int64(stmt, 8);
        a->next_escalation = sqlite3_column_int64(stmt, 9);
    }
    sq_done(stmt);
    return r >= 0;
}
