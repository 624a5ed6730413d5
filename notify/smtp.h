/* smtp.h - one mail to one recipient through libcurl's SMTP.
 *
 *   smtp://host[:port]    plain, or STARTTLS with starttls = yes/required
 *   smtps://host[:port]   implicit TLS
 * AUTH when a user is configured (curl picks PLAIN/LOGIN/... from what
 * the server offers). An smtp_client holds one curl handle and reuses
 * its connection between mails; it belongs to one thread. */
#ifndef TD_NOTIFY_SMTP_H
#define TD_NOTIFY_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/err.h"

enum smtp_tls {
    SMTP_TLS_NONE = 0,   /* smtp:// as it is */
    SMTP_TLS_TRY,        /* STARTTLS when offered */
    SMTP_TLS_REQUIRED    /* STARTTLS or fail (smtps:// is always TLS) */
};

struct smtp_config {
    char url[512];
    char user[256];         /* "" = no AUTH */
    char password[512];
    enum smtp_tls tls;
    bool verify_peer;       /* TLS certificate and host name checks */
    char ca_file[512];      /* "" = system store */
    long connect_timeout_ms;
    long timeout_ms;        /* the whole transaction */
    char helo[256];         /* "" = curl's default */
};

/* [smtp] url (required), user, password(_file), starttls
 * (no|try|required, default try), tls_verify (default yes), ca_file,
 * connect_timeout_ms, timeout_ms. */
bool smtp_config_load(struct td_config *cfg, struct smtp_config *sc, struct td_err *err);

enum smtp_outcome {
    SMTP_SENT = 0,
    SMTP_TEMPORARY,   /* connection, timeout, 4xx: try again later */
    SMTP_PERMANENT    /* 5xx for this message or recipient: give up */
};

struct smtp_result {
    enum smtp_outcome outcome;
    long code;            /* last SMTP reply code, 0 if none */
    char message[256];    /* what went wrong: curl's words and the
                             server's last reply line */
};

struct smtp_client;

struct smtp_client *smtp_client_new(const struct smtp_config *sc);
void smtp_client_free(struct smtp_client *c);

/* Sends data (a complete RFC 5322 message, CRLF lines) from mail_from to
 * rcpt. Never fails in any other way than what result says. */
void smtp_send(struct smtp_client *c, const char *mail_from, const char *rcpt,
               const char *data, size_t len, struct smtp_result *result);

/* curl_global_init, once per process (thread-safe). */
bool smtp_global_init(struct td_err *err);

#endif
