/* reply_token.h - signed reply addresses: support+<token>@domain.
 *
 * Every notification carries a Reply-To that names the ticket and the
 * recipient, signed with a server secret. When a reply comes back to that
 * address, the mail gateway verifies the token and so knows, without
 * trusting From, which ticket it belongs to and who was sent the mail it
 * answers: this is how an agent replying from their own mail client is
 * trusted as that agent.
 *
 * Token (RFC 4648 base32, lower-case, no padding) of the bytes
 *   [0x20 | L] [ticket number, L big-endian bytes] [user id, 12 bytes]
 *   [issue time, hours since 1970, 3 big-endian bytes]
 *   [HMAC-SHA256(secret, "ticketd-reply-v1" || those bytes), first 10]
 * With a ticket number below 2^24 that is 29 bytes = 47 characters; even
 * the largest ticket number (55 characters) lets "helpdesk+<token>" stay
 * within the 64 characters a local part may have.
 *
 * Lifetime: a token is good for [notify] reply_token_days (default 90)
 * after it was issued; an older one verifies as false, so its mail is
 * treated like any mail without a token (an agent's goes to quarantine,
 * mailgw/agent_guard.c). Every notification carries a fresh token, so an
 * ongoing conversation never runs into it.
 *
 * Tokens of the first format (0x10, before issue times) are refused like
 * expired ones rather than accepted until the secret rotates: they never
 * expire, rotation may never come, and one leaked with an old mail would
 * keep working for good. The cost is small: customers' replies do not
 * need a token (they thread by subject and References), and an agent
 * answering a pre-upgrade notification gets the one-hourly explanation
 * and simply replies to a newer one.
 * 80 bits of MAC: forging one is a 2^80 guess per try against a server
 * that does not answer whether a guess was right.
 *
 * Rotation: verification accepts tokens signed with the current or the
 * previous secret; new tokens always use the current one. */
#ifndef TD_REPLY_TOKEN_H
#define TD_REPLY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "model.h"

#define REPLY_SECRET_MIN 32   /* bytes (docker/ticketd.conf.example says so) */
#define REPLY_SECRET_MAX 1024
#define REPLY_TOKEN_MAX 56    /* characters, without the NUL */
#define REPLY_LOCAL_MAX 64    /* RFC 5321 local-part limit */

#define REPLY_TOKEN_DEFAULT_DAYS 90

struct reply_keys {
    int64_t lifetime_s;       /* reply_token_days; set by reply_keys_init */
    unsigned char cur[REPLY_SECRET_MAX];
    size_t cur_len;           /* 0: no secret, tokens disabled */
    unsigned char prev[REPLY_SECRET_MAX];
    size_t prev_len;          /* 0: no previous secret */
};

/* Secrets as given by the admin (any bytes, at least REPLY_SECRET_MIN).
 * secret NULL or "": tokens disabled (reply_keys_enabled is false).
 * previous NULL or "": none. */
bool reply_keys_init(struct reply_keys *k, const char *secret, const char *previous,
                     struct td_err *err);
/* From [notify] reply_secret(_file) and previous_reply_secret(_file). */
bool reply_keys_from_config(struct td_config *cfg, struct reply_keys *k, struct td_err *err);
bool reply_keys_enabled(const struct reply_keys *k);
/* Overwrites the secrets with zeros. */
void reply_keys_wipe(struct reply_keys *k);

/* out gets the token (REPLY_TOKEN_MAX + 1 bytes is always enough),
 * issued now. False when tokens are disabled or the input is invalid. */
bool reply_token_make(const struct reply_keys *k, int64_t ticket, const char *user_id,
                      char *out, size_t len);
/* The same, issued at issued_s (seconds since 1970; tests). */
bool reply_token_make_at(const struct reply_keys *k, int64_t ticket, const char *user_id,
                         int64_t issued_s, char *out, size_t len);
/* True (filling *ticket and user_id) only for an authentic token, signed
 * with the current or the previous secret. Case-insensitive. */
bool reply_token_verify(const struct reply_keys *k, const char *token, int64_t *ticket,
                        char user_id[TD_ID_LEN + 1]);
/* The same at time now_s: false too when the token is older than the
 * keys' lifetime, issued more than an hour in the future, or of the
 * first format (no issue time). */
bool reply_token_verify_at(const struct reply_keys *k, const char *token, int64_t now_s,
                           int64_t *ticket, char user_id[TD_ID_LEN + 1]);

/* support = "support@example.com" -> "support+<token>@example.com".
 * TD_INVALID when the local part would exceed 64 characters. */
bool reply_address_make(const struct reply_keys *k, const char *support, int64_t ticket,
                        const char *user_id, char *out, size_t len, struct td_err *err);
/* True when address is support+<authentic token>@same domain (local part
 * and domain compared case-insensitively), filling ticket and user_id. */
bool reply_address_verify(const struct reply_keys *k, const char *support, const char *address,
                          int64_t *ticket, char user_id[TD_ID_LEN + 1]);

/* ---- For the mail gateway (mailgw/trust.h trust_verify_fn) ---- */

struct store;

struct reply_verifier {
    const struct reply_keys *keys; /* borrowed */
    struct store *st;              /* borrowed */
};

/* ctx is a struct reply_verifier. True when token is authentic (current
 * or previous secret) and names an active user whose address is sender
 * (compared case-insensitively): the reply comes from the person the
 * notification was sent to, not from whoever it was forwarded to.
 * *ticket gets the ticket the token names. Thread-safe. */
bool reply_token_verify_sender(void *ctx, const char *token, const char *sender,
                               int64_t *ticket);

#endif
