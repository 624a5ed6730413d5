/* model.h - the plain data of ticketd: users, tickets, comments,
 * attachments, history events, outbox mails, mailbox state.
 *
 * Ownership: every char * and strv inside these structs is owned by the
 * struct and released by its *_clear() function (NULL-safe, leaves the
 * struct zeroed and reusable). Store backends fill structs the caller
 * provides; the caller clears them. Times are milliseconds since the
 * Unix epoch (td_time). */
#ifndef TD_MODEL_H
#define TD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strv.h"

typedef int64_t td_time;

/* Ids of users, comments, attachments and outbox rows: 24 lower-case hex
 * characters from libsodium's randomness (ids_new in id.h). */
#define TD_ID_LEN 24

enum td_role { ROLE_CUSTOMER = 0, ROLE_AGENT, ROLE_ADMIN };

enum td_status {
    STATUS_NEW = 0,
    STATUS_OPEN,
    STATUS_PENDING,
    STATUS_RESOLVED,
    STATUS_CLOSED
};

enum td_priority { PRIORITY_LOW = 0, PRIORITY_NORMAL, PRIORITY_HIGH, PRIORITY_URGENT };

enum td_source { SOURCE_API = 0, SOURCE_EMAIL };

enum td_event_kind {
    EVENT_CREATED = 0, /* new_value = subject; old_value = "auto-submitted"
                          (ticket.h TICKET_CREATED_AUTO) or NULL */
    EVENT_STATUS,
    EVENT_PRIORITY,
    EVENT_ASSIGNEE, /* assigned or reassigned by someone */
    EVENT_CLAIM,    /* an agent took the ticket */
    EVENT_COMMENT,  /* new_value = comment id, old_value = "public"|"internal" */
    EVENT_TAG,      /* old/new = comma-joined tag sets */
    EVENT_SUBJECT,
    EVENT_ERASED,   /* an admin erased a customer's personal data (core/erase.h):
                       new_value = the erased user's id */
    EVENT_PARTICIPANT_ADDED,   /* new_value = user id (core/participant.h) */
    EVENT_PARTICIPANT_REMOVED, /* old_value = user id */
    EVENT_RELATED_MAIL,        /* a stranger's mail named this ticket: new_value =
                                  the ticket it opened, old_value = its sender */
    EVENT_MERGED_INTO,         /* on the source: new_value = target number */
    EVENT_MERGED_FROM,         /* on the target: old_value = source number */
    EVENT_QUEUE,               /* moved to another queue: old/new = the queue names */
    EVENT_ESCALATED,           /* a due time passed (core/sla_escalate.h): new_value =
                                  "first_response" | "resolution", old_value = the
                                  due time (RFC 3339 UTC) */
    EVENT_REMINDER             /* the system reminded the requester of a pending ticket
                                  (core/automation.h): new_value = "1", "2"... */
};

struct td_user {
    char id[TD_ID_LEN + 1];
    char *email;        /* stored lower-case; unique */
    char *name;
    enum td_role role;
    char *pw_hash;      /* argon2id string, NULL = no password (mail-created) */
    bool disabled;
    int64_t token_version; /* bumped on disable/role change: old tokens die */
    bool restricted;    /* an agent who sees only their groups' tickets
                           (and those assigned to them): core/scope.h */
    td_time created;
    td_time updated;
};

/* A ticket's service level state (core/sla.h); all 0 without a policy.
 * Times in ms; "met" times are 0 until met. */
struct td_sla {
    td_time first_response_due;   /* 0 = no target */
    td_time resolution_due;       /* 0 = no target */
    td_time first_responded;      /* the first public reply by staff */
    td_time resolved;             /* resolved or closed (0 again when reopened) */
    td_time paused_since;         /* pending since; 0 = the clock runs */
    int64_t paused_ms;            /* business ms spent pending so far */
    td_time escalated_first_response; /* the due time escalated for; 0 = none */
    td_time escalated_resolution;
    /* Derived (sla_refresh), kept for the indexes: the earliest due time
     * not met while the clock runs (0 = none): overdue is
     * 0 < next_due <= now; and the earliest of those not yet escalated. */
    td_time next_due;
    td_time next_escalation;
};

struct td_ticket {
    int64_t number;          /* #N, unique, allocated by the store */
    char *subject;
    enum td_status status;
    enum td_priority priority;
    char requester_id[TD_ID_LEN + 1];
    char assignee_id[TD_ID_LEN + 1]; /* "" = unassigned */
    char *queue;             /* mailbox queue name, "" by default */
    struct strv tags;
    struct strv message_ids; /* Message-IDs belonging to this thread */
    struct strv participants; /* user ids besides the requester who follow
                                 the conversation (core/participant.h) */
    int64_t merged_into;     /* 0, or the ticket this one was merged into */
    struct td_sla sla;
    td_time created;
    td_time updated;
    int64_t version;         /* optimistic concurrency (ETag) */
};

struct td_attachment_ref {
    char id[TD_ID_LEN + 1];
    char *name;
    char *content_type;
    size_t size;
    bool is_inline;          /* an image shown inside an HTML mail (cid:),
                                not a file: mailed inline, not listed */
};

struct td_comment {
    char id[TD_ID_LEN + 1];
    int64_t ticket;
    char author_id[TD_ID_LEN + 1];
    bool internal;           /* internal note: agents only */
    enum td_source source;
    char *body;
    char *message_id;        /* NULL unless it came from (or went to) mail */
    struct td_attachment_ref *attachments;
    size_t n_attachments;
    td_time created;
};

struct td_attachment {
    char id[TD_ID_LEN + 1];
    char *name;
    char *content_type;
    size_t size;
    unsigned char *data;     /* size bytes */
};

struct td_event {
    int64_t seq;             /* order within the ticket, set by the store */
    int64_t ticket;
    char actor_id[TD_ID_LEN + 1]; /* "" = the system */
    enum td_event_kind kind;
    char *old_value;         /* NULL = none */
    char *new_value;
    td_time at;
};

enum td_outbox_state { OUTBOX_PENDING = 0, OUTBOX_SENDING, OUTBOX_SENT, OUTBOX_FAILED };

struct td_outbox {
    char id[TD_ID_LEN + 1];
    char *kind;              /* template/event name */
    int64_t ticket;
    char *recipient;
    char *payload;           /* JSON document with the template values */
    enum td_outbox_state state;
    int attempts;
    td_time next_attempt;
    char *owner;             /* process holding the claim while SENDING */
    td_time lease_until;
    char *last_error;
    td_time created;
};

struct td_mailbox_state {
    char *name;
    uint32_t uidvalidity;
    uint32_t last_uid;
    char *lease_owner;       /* NULL = free */
    td_time lease_until;
};

/* Lists: an owned array of n structs. */
struct td_user_list { struct td_user *v; size_t n; };
struct td_ticket_list { struct td_ticket *v; size_t n; };
struct td_comment_list { struct td_comment *v; size_t n; };
struct td_event_list { struct td_event *v; size_t n; };
struct td_outbox_list { struct td_outbox *v; size_t n; };

void user_clear(struct td_user *u);
void ticket_clear(struct td_ticket *t);
void comment_clear(struct td_comment *c);
void attachment_clear(struct td_attachment *a);
void attachment_ref_clear(struct td_attachment_ref *r);
void event_clear(struct td_event *e);
void outbox_clear(struct td_outbox *o);
void mailbox_state_clear(struct td_mailbox_state *m);

void user_list_clear(struct td_user_list *l);
void ticket_list_clear(struct td_ticket_list *l);
void comment_list_clear(struct td_comment_list *l);
void event_list_clear(struct td_event_list *l);
void outbox_list_clear(struct td_outbox_list *l);

/* Deep copies. dst is cleared first, so it must be zeroed or valid. */
void ticket_copy(struct td_ticket *dst, const struct td_ticket *src);
void user_copy(struct td_user *dst, const struct td_user *src);

/* Enum <-> stable lower-case names used in storage, JSON and mail.
 * *_parse returns false on an unknown name. */
const char *role_name(enum td_role r);
bool role_parse(const char *s, enum td_role *out);
const char *status_name(enum td_status s);
bool status_parse(const char *s, enum td_status *out);
const char *priority_name(enum td_priority p);
bool priority_parse(const char *s, enum td_priority *out);
const char *source_name(enum td_source s);
bool source_parse(const char *s, enum td_source *out);
const char *event_kind_name(enum td_event_kind k);
bool event_kind_parse(const char *s, enum td_event_kind *out);
const char *outbox_state_name(enum td_outbox_state s);
bool outbox_state_parse(const char *s, enum td_outbox_state *out);

#endif
