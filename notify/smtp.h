/* smtp.h - mails, each to one recipient, through libcurl's SMTP.
 *
 *   smtp://host[:port]    plain, or STARTTLS with starttls = yes/required
 *   smtps://host[:port]   implicit TLS
 * AUTH when a user is configured (curl picks PLAIN/LOGIN/... from what
 * the server offers). An smtp_client belongs to one thread and keeps up
 * to `connections` connections open between mails; smtp_send_all has a
 * mail in flight on each at once, driven by one curl multi handle.
 *
 * Why in flight at once: each mail is four round trips (MAIL, RCPT,
 * DATA, the end of data), and libcurl does not pipeline them. One
 * connection per sending thread needed four threads to keep up with the
 * bench's mailed comments, and each thread's waits and wake-ups cost
 * the CPU of the mail itself again (~290 us a mail against ~150 us for
 * one thread); a thread with several connections waits for all of them
 * together. */
#ifndef TD_NOTIFY_SMTP_H
#define TD_NOTIFY_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    int connections;        /* at once, per smtp_client (1..SMTP_MAX_CONNECTIONS) */
};

#define SMTP_MAX_CONNECTIONS 8

/* [smtp] url (required), user, password(_file), starttls
 * (no|try|required, default try), tls_verify (default yes), ca_file,
 * connect_timeout_ms, timeout_ms, connections (default 4). */
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

/* One mail: data (a complete RFC 5322 message, CRLF lines) from `from`
 * to rcpt; all three borrowed until smtp_send_all returns. */
struct smtp_mail {
    const char *from;
    const char *rcpt;
    const char *data;
    size_t len;
    bool started;              /* out: false = never tried (see below) */
    struct smtp_result result; /* out */
};

/* Sends mails[0..n), up to `connections` at once, and returns when all
 * are done; each one's result says how it went, and nothing fails in any
 * other way. With start_by_ms > 0, a mail not started within that many
 * milliseconds is not tried at all (started false, a temporary result):
 * the caller's claim on it may be running out. The first always starts. */
void smtp_send_all(struct smtp_client *c, struct smtp_mail *mails, size_t n, int64_t start_by_ms);

/* curl_global_init, once per process (thread-safe). */
bool smtp_global_init(struct td_err *err);

#endif
