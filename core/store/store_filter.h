/* store_filter.h - which tickets ticket_list returns (store.h): the
 * filter, its order and cursor, and the words of the text search, the
 * same on every backend. Included by store.h; nothing includes it alone. */
#ifndef TD_STORE_FILTER_H
#define TD_STORE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/strv.h"

/* Which tickets ticket_list returns. Zero-initialised = all tickets,
 * newest first, default limit. */
struct td_ticket_filter {
    bool by_status;
    enum td_status status;
    bool by_priority;
    enum td_priority priority;
    const char *assignee_id;  /* NULL = any, "" = unassigned */
    const char *requester_id; /* NULL = any */
    bool or_participant;      /* with requester_id: also the tickets that
                                 user takes part in (td_ticket.participants) */
    const char *tag;          /* NULL = any */
    const char *queue;        /* NULL = any */
    td_time updated_since;    /* 0 = any; else updated >= this */
    td_time due_before;       /* 0 = any; else 0 < sla.next_due < this: an SLA
                                 due time not met while the clock runs
                                 (core/sla.h; the API's overdue and
                                 due_before). Indexed on both stores. */
    td_time escalation_due;   /* 0 = any; else 0 < sla.next_escalation <= this:
                                 a due time passed and not yet escalated
                                 (core/sla_escalate.c). Indexed too. */
    const char *text;         /* NULL = any; else word-prefix search,
                                 the same on every backend (see
                                 store_text_words): the ticket matches
                                 when each word of text begins a word of
                                 its subject or of one of its comments
                                 (internal notes only when text_internal
                                 is set); the words may come from
                                 different comments. A word is a maximal
                                 run of ASCII letters and digits and of
                                 non-ASCII bytes; ASCII letters match
                                 either case, anything else only itself.
                                 Punctuation separates words and is not
                                 searched: a text without words matches
                                 every ticket. At most STORE_TEXT_MAX_WORDS
                                 words (TD_INVALID beyond). Indexed on
                                 both stores (FTS5 / multikey words). */
    bool text_internal;
    bool ascending;           /* order by number; default descending */
    int64_t after;            /* cursor: numbers strictly after this one in
                                 the chosen order; 0 = from the start */
    bool by_updated;          /* order by updated, newest first, ties by
                                 number descending (ascending is ignored);
                                 the cursor is (after_updated, after): the
                                 tickets strictly after that pair in this
                                 order; after_updated 0 = from the start.
                                 Not with text (callers refuse it). */
    td_time after_updated;
    const char *in_groups_of; /* NULL = any; else a user id: only tickets
                                 assigned to that user or whose queue is
                                 the key of a group the user is a member
                                 of (a restricted agent's view: scope.h) */
    size_t limit;             /* 0 = 50; capped at 1000 */
};

#define STORE_TEXT_MAX_WORDS 8

/* The distinct words of s as the text search defines them (see
 * td_ticket_filter.text), ASCII letters lower-cased, in order of first
 * appearance; appended to out (the caller owns it). */
void store_text_words(const char *s, struct strv *out);

#define STORE_LIST_DEFAULT 50
#define STORE_LIST_MAX 1000

#endif
