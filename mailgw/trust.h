/* trust.h - may this mail speak for the agent its From names?
 *
 * From is free text: anyone can write an agent's address into it. A mail
 * counts as the agent's only with one of two proofs:
 * - a reply token: it was sent to "support+TOKEN@domain", the signed
 *   reply address a notification carried (issue 5 signs them), and the
 *   plugged-in verifier confirms TOKEN was issued to this sender;
 * - an Authentication-Results pass for the From domain (dmarc=pass, or
 *   dkim=pass / spf=pass aligned with it) in the topmost such header
 *   from a configured, trusted authserv-id. Only the topmost counts: our
 *   MTA prepends its header above anything the sender wrote (and should
 *   strip forged ones, RFC 8601 section 5).
 * Without either the mail is treated as a customer's (ingest.c). */
#ifndef MGW_TRUST_H
#define MGW_TRUST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/strv.h"
#include "mime.h"

/* The verifier: true when token is valid and was issued to sender (lower
 * case). *ticket gets the ticket the token names (0 if none). Must be
 * thread-safe; ctx is passed through. */
typedef bool (*trust_verify_fn)(void *ctx, const char *token, const char *sender,
                                int64_t *ticket);

struct trust_cfg {
    const struct strv *own;          /* support addresses, lower case */
    const struct strv *authserv_ids; /* trusted, lower case; empty = none */
    trust_verify_fn verify;          /* NULL: reply tokens are not checked */
    void *verify_ctx;
};

enum trust_how { TRUST_NONE = 0, TRUST_REPLY_TOKEN, TRUST_AUTH_RESULTS };

struct trust_result {
    enum trust_how how;
    int64_t token_ticket; /* TRUST_REPLY_TOKEN: the ticket it names, or 0 */
};

void trust_check(const struct trust_cfg *cfg, const struct mime_msg *m, const char *sender,
                 struct trust_result *out);

/* Exposed for tests: whether one Authentication-Results value from a
 * trusted authserv-id passes for sender's domain. */
bool trust_auth_results_pass(const struct strv *authserv_ids, const char *value,
                             const char *sender_domain, bool *from_trusted_id);

const char *trust_how_name(enum trust_how h);

#endif
