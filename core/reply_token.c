/* reply_token.c - see reply_token.h. */
#include "reply_token.h"
#include "alias.h"
#include "id.h"
#include "store/store.h"

#include <ctype.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TOKEN_VERSION 0x20 /* 0x10: the first format, without issue time */
#define MAC_LEN 10
#define UID_LEN (TD_ID_LEN / 2)
#define ISSUED_LEN 3 /* hours since 1970, big-endian: good until the year 3883 */
#define RAW_MAX (1 + 8 + UID_LEN + ISSUED_LEN + MAC_LEN)
static const char DOMAIN_SEP[] = "ticketd-reply-v1";
static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";

bool reply_keys_init(struct reply_keys *k, const char *secret, const char *previous,
                     struct td_err *err)
{
    memset(k, 0, sizeof *k);
    const char *names[2] = { "reply_secret", "previous_reply_secret" };
    const char *in[2] = { secret, previous };
    unsigned char *dst[2] = { k->cur, k->prev };
    size_t *lens[2] = { &k->cur_len, &k->prev_len };
    for (int i = 0; i < 2; i++) {
        size_t n = in[i] ? strlen(in[i]) : 0;
        if (n == 0)
            continue;
        if (n < REPLY_SECRET_MIN || n > REPLY_SECRET_MAX) {
            reply_keys_wipe(k);
            return td_fail(err, TD_INVALID, "[notify] %s must be %d to %d bytes long (it is %zu)",
                           names[i], REPLY_SECRET_MIN, REPLY_SECRET_MAX, n);
        }
        memcpy(dst[i], in[i], n);
        *lens[i] = n;
    }
    k->lifetime_s = REPLY_TOKEN_DEFAULT_DAYS * 86400;
    if (k->cur_len == 0 && k->prev_len != 0) {
        reply_keys_wipe(k);
        return td_fail(err, TD_INVALID,
                       "[notify] previous_reply_secret is set but reply_secret is not");
    }
    return true;
}

/* One secret: its value, or an error when its *_file cannot be read. */
static bool secret_value(struct td_config *cfg, const char *key, const char **out,
                         struct td_err *err)
{
    char file_key[64];
    snprintf(file_key, sizeof file_key, "%s_file", key);
    *out = config_str(cfg, "notify", key, NULL);
    if (*out == NULL && config_str(cfg, "notify", file_key, NULL) != NULL)
        return config_require(cfg, "notify", key, out, err); /* says why */
    return true;
}

bool reply_keys_from_config(struct td_config *cfg, struct reply_keys *k, struct td_err *err)
{
    const char *cur = NULL, *prev = NULL;
    if (!secret_value(cfg, "reply_secret", &cur, err) ||
        !secret_value(cfg, "previous_reply_secret", &prev, err))
        return false;
    int64_t days = 0;
    if (!config_int(cfg, "notify", "reply_token_days", REPLY_TOKEN_DEFAULT_DAYS, 1, 3650, &days,
                    err) ||
        !reply_keys_init(k, cur, prev, err))
        return false;
    k->lifetime_s = days * 86400;
    return true;
}

bool reply_keys_enabled(const struct reply_keys *k)
{
    return k != NULL && k->cur_len > 0;
}

void reply_keys_wipe(struct reply_keys *k)
{
    sodium_memzero(k, sizeof *k);
}

static void mac(const unsigned char *key, size_t key_len, const unsigned char *msg, size_t len,
                unsigned char out[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)DOMAIN_SEP, sizeof DOMAIN_SEP - 1);
    crypto_auth_hmacsha256_update(&st, msg, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

static size_t b32_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = B32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = B32[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return o;
}

/* False on a character outside the alphabet or non-zero padding bits. */
static bool b32_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *out_len)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = tolower((unsigned char)in[i]);
        const char *p = c ? strchr(B32, c) : NULL;
        if (p == NULL)
            return false;
        acc = ((acc << 5) | (unsigned)(p - B32)) & 0xFFFF;
        bits += 5;
        if (bits >= 8) {
            if (o >= cap)
                return false;
            out[o++] = (unsigned char)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
        return false; /* not a canonical encoding */
    *out_len = o;
    return true;
}

bool reply_token_make(const struct reply_keys *k, int64_t ticket, const char *user_id,
                      char *out, size_t len)
{
    return reply_token_make_at(k, ticket, user_id, (int64_t)time(NULL), out, len);
}

bool reply_token_make_at(const struct reply_keys *k, int64_t ticket, const char *user_id,
                         int64_t issued_s, char *out, size_t len)
{
    if (!reply_keys_enabled(k) || ticket <= 0 || !id_valid(user_id) || len < REPLY_TOKEN_MAX + 1 ||
        issued_s < 0)
        return false;
    unsigned char raw[RAW_MAX];
    int nb = 1;
    while (nb < 8 && ((uint64_t)ticket >> (8 * nb)) != 0)
        nb++;
    size_t o = 0;
    raw[o++] = (unsigned char)(TOKEN_VERSION | nb);
    for (int i = nb - 1; i >= 0; i--)
        raw[o++] = (unsigned char)((uint64_t)ticket >> (8 * i));
    if (sodium_hex2bin(raw + o, UID_LEN, user_id, TD_ID_LEN, NULL, NULL, NULL) != 0)
        return false;
    o += UID_LEN;
    uint64_t hours = (uint64_t)issued_s / 3600;
    if (hours >= (1u << (8 * ISSUED_LEN)))
        return false;
    for (int i = ISSUED_LEN - 1; i >= 0; i--)
        raw[o++] = (unsigned char)(hours >> (8 * i));
    unsigned char full[crypto_auth_hmacsha256_BYTES];
    mac(k->cur, k->cur_len, raw, o, full);
    memcpy(raw + o, full, MAC_LEN);
    o += MAC_LEN;
    b32_encode(raw, o, out);
    return true;
}

static bool mac_ok(const unsigned char *key, size_t key_len, const unsigned char *raw, size_t n)
{
    if (key_len == 0)
        return false;
    unsigned char full[crypto_auth_hmacsha256_BYTES];
    mac(key, key_len, raw, n - MAC_LEN, full);
    return sodium_memcmp(full, raw + n - MAC_LEN, MAC_LEN) == 0;
}

bool reply_token_verify(const struct reply_keys *k, const char *token, int64_t *ticket,
                        char user_id[TD_ID_LEN + 1])
{
    return reply_token_verify_at(k, token, (int64_t)time(NULL), ticket, user_id);
}

bool reply_token_verify_at(const struct reply_keys *k, const char *token, int64_t now_s,
                           int64_t *ticket, char user_id[TD_ID_LEN + 1])
{
    if (!reply_keys_enabled(k) || token == NULL)
        return false;
    size_t n = strlen(token);
    unsigned char raw[RAW_MAX];
    size_t rl = 0;
    if (n == 0 || n > REPLY_TOKEN_MAX || !b32_decode(token, n, raw, sizeof raw, &rl) || rl < 1)
        return false;
    int nb = raw[0] & 0x0F;
    /* The first format (0x10) had no issue time: refused like an expired
     * token (reply_token.h says why). */
    if ((raw[0] & 0xF0) != TOKEN_VERSION || nb < 1 || nb > 8 ||
        rl != (size_t)(1 + nb + UID_LEN + ISSUED_LEN + MAC_LEN))
        return false;
    /* Both MACs are computed whatever the first says: no timing hint
     * about which secret signed it. */
    bool ok_cur = mac_ok(k->cur, k->cur_len, raw, rl);
    bool ok_prev = mac_ok(k->prev, k->prev_len, raw, rl);
    if (!ok_cur && !ok_prev)
        return false;
    int64_t hours = 0;
    for (int i = 0; i < ISSUED_LEN; i++)
        hours = (hours << 8) | raw[1 + nb + UID_LEN + i];
    int64_t issued = hours * 3600, lifetime = k->lifetime_s > 0 ? k->lifetime_s : 0;
    /* Issue times are rounded down to the hour; an hour of clock skew
     * between the sender and the gateway is allowed. */
    if (issued > now_s + 3600 || now_s - issued > lifetime)
        return false;
    uint64_t t = 0;
    for (int i = 0; i < nb; i++)
        t = (t << 8) | raw[1 + i];
    if (t == 0 || t > (uint64_t)INT64_MAX)
        return false;
    *ticket = (int64_t)t;
    sodium_bin2hex(user_id, TD_ID_LEN + 1, raw + 1 + nb, UID_LEN);
    return true;
}

/* Splits "local@domain" at the last '@'; false if either part is empty. */
static bool split(const char *addr, size_t *local_len, const char **domain)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    if (at == NULL || at == addr || at[1] == '\0')
        return false;
    *local_len = (size_t)(at - addr);
    *domain = at + 1;
    return true;
}

bool reply_address_make(const struct reply_keys *k, const char *support, int64_t ticket,
                        const char *user_id, char *out, size_t len, struct td_err *err)
{
    size_t local_len;
    const char *domain;
    if (!split(support, &local_len, &domain))
        return td_fail(err, TD_INVALID, "support address '%.100s' is not local@domain",
                       support ? support : "");
    char token[REPLY_TOKEN_MAX + 1];
    if (!reply_token_make(k, ticket, user_id, token, sizeof token))
        return td_fail(err, TD_INVALID, "cannot sign a reply address for ticket #%lld",
                       (long long)ticket);
    if (local_len + 1 + strlen(token) > REPLY_LOCAL_MAX)
        return td_fail(err, TD_INVALID,
                       "the local part of '%.100s' is too long for signed reply addresses "
                       "(at most %d characters with the token)", support, REPLY_LOCAL_MAX);
    int n = snprintf(out, len, "%.*s+%s@%s", (int)local_len, support, token, domain);
    if (n < 0 || (size_t)n >= len)
        return td_fail(err, TD_INVALID, "reply address too long");
    return true;
}

bool reply_address_verify(const struct reply_keys *k, const char *support, const char *address,
                          int64_t *ticket, char user_id[TD_ID_LEN + 1])
{
    size_t sl, al;
    const char *sd, *ad;
    if (!split(support, &sl, &sd) || !split(address, &al, &ad))
        return false;
    if (strcasecmp(sd, ad) != 0 || al <= sl + 1 || strncasecmp(address, support, sl) != 0 ||
        address[sl] != '+')
        return false;
    char token[REPLY_TOKEN_MAX + 1];
    size_t tl = al - sl - 1;
    if (tl > REPLY_TOKEN_MAX)
        return false;
    memcpy(token, address + sl + 1, tl);
    token[tl] = '\0';
    return reply_token_verify(k, token, ticket, user_id);
}

bool reply_token_verify_sender(void *ctx, const char *token, const char *sender,
                               int64_t *ticket)
{
    const struct reply_verifier *v = ctx;
    int64_t t = 0;
    char uid[TD_ID_LEN + 1];
    if (v == NULL || sender == NULL || !reply_token_verify(v->keys, token, &t, uid))
        return false;
    struct td_user u;
    if (!v->st->ops->user_get(v->st, uid, &u, NULL))
        return false;
    bool ok = !u.disabled && u.email != NULL && strcasecmp(u.email, sender) == 0;
    user_clear(&u);
    if (!ok) {
        /* An agent answering from a confirmed alias (alias.h). */
        struct td_user owner;
        if (alias_owner(v->st, sender, &owner, NULL)) {
            ok = strcmp(owner.id, uid) == 0;
            user_clear(&owner);
        }
    }
    if (ok && ticket)
        *ticket = t;
    return ok;
}
