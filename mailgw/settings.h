/* settings.h - the mail gateway's configuration, read once at start.
 *
 *   [mailgw]
 *   ticket_token = [#{n}]           ; subject token, {n} = ticket number
 *   note_prefix = #note             ; an agent's first line: internal note
 *   support_addresses = a@x, b@x    ; our own addresses (plus [notify]
 *                                   ; support_address and every mailbox's
 *                                   ; address): never ingested as customers
 *   loop_id = support@x             ; the X-Loop we send (default: the
 *                                   ; first support address)
 *   trusted_authserv_ids = mx.x     ; Authentication-Results we believe
 *   rate_limit = 20                 ; new tickets per sender per window (0 off)
 *   rate_window = 3600              ; seconds
 *   max_mail_bytes = 26214400       ; bigger mail: head quarantined, mail left
 *   max_parts = 500  max_depth = 32  max_attachments = 99
 *   retry_attempts = 5              ; a failing mail, then quarantine
 *   lease_ttl_ms = 60000            ; mailbox ownership (renewed at a third)
 *   idle_restart_ms = 1200000       ; IDLE re-issued (far below 29 minutes)
 *   backoff_min_ms = 1000  backoff_max_ms = 300000
 *   cc_participants = yes           ; To/Cc of a new ticket's mail join it
 *   free_mail_domains = gmail.com, ... ; never "the same company" (authorship.h)
 *
 *   [mailbox support]               ; one section per mailbox
 *   host = imap.example.com  port = 993
 *   tls = implicit | starttls | none
 *   tls_verify = yes                ; certificate and host name
 *   ca_file = /etc/ssl/certs/ca-certificates.crt
 *   user = support@example.com
 *   password = ...                  ; or password_file = /run/secrets/imap
 *   auth = login | plain            ; LOGIN or AUTHENTICATE PLAIN
 *   folder = INBOX
 *   processed_folder = Processed    ; "" = leave mail in place (\Seen)
 *   queue = support                 ; its default group: stored on the
 *                                   ; tickets it opens unless a [route]
 *                                   ; rule (core/route.h) picks another
 *   address = support@example.com   ; this mailbox's address (own)
 *   idle = yes  poll_interval_ms = 60000 */
#ifndef MGW_SETTINGS_H
#define MGW_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/route.h"
#include "core/strv.h"
#include "mime.h"
#include "thread.h"
#include "trust.h"

enum imap_tls { IMAP_TLS_IMPLICIT = 0, IMAP_TLS_STARTTLS, IMAP_TLS_NONE };
enum imap_auth { IMAP_AUTH_LOGIN = 0, IMAP_AUTH_PLAIN };

struct mailbox_settings {
    char *name;
    char *host;
    int port;
    enum imap_tls tls;
    bool tls_verify;
    char *ca_file;           /* NULL: the system's trust store */
    char *user;
    char *password;
    enum imap_auth auth;
    char *folder;
    char *processed_folder;  /* "" = none */
    char *queue;
    char *address;           /* "" = none */
    bool idle;
    int64_t poll_interval_ms;
};

struct mailgw_settings {
    struct thread_token token;
    char *note_prefix;
    struct strv own;          /* lower case */
    char *loop_id;
    struct strv authserv_ids; /* lower case */
    int64_t rate_limit;
    int64_t rate_window_ms;
    struct mime_limits limits;
    int max_attempts;
    int64_t lease_ttl_ms;
    int64_t idle_restart_ms;
    int64_t backoff_min_ms;
    int64_t backoff_max_ms;
    bool cc_participants;
    struct strv free_mail;    /* lower case domains */
    trust_verify_fn verify;   /* set by whoever plugs in reply tokens */
    void *verify_ctx;
    struct mailbox_settings *boxes;
    size_t n_boxes;
    struct route_table *routes; /* [route NAME] rules (core/route.h); owned */
};

/* Reads [mailgw] and every [mailbox NAME]; TD_INVALID naming the key on
 * a bad value. Defaults apply to what is missing, so an empty config
 * yields a gateway without mailboxes (useful for tests and retry). */
bool settings_load(struct td_config *cfg, struct mailgw_settings *s, struct td_err *err);
/* Defaults only (tests). */
void settings_defaults(struct mailgw_settings *s);
void settings_clear(struct mailgw_settings *s);

#endif
