/* settings.c - see settings.h. */
#include "settings.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "core/text.h"

/* Where anyone can have an address: sharing one of these domains proves
 * no relation between two people (authorship.h rule 3). */
#define SETTINGS_FREE_MAIL                                                                      \
    "gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de outlook.com hotmail.com "  \
    "hotmail.co.uk hotmail.fr live.com msn.com icloud.com me.com mac.com aol.com gmx.de gmx.net " \
    "gmx.at gmx.ch web.de t-online.de freenet.de mail.ru yandex.ru yandex.com proton.me "        \
    "protonmail.com pm.me tutanota.com zoho.com fastmail.com mail.com orange.fr free.fr "        \
    "laposte.net libero.it virgilio.it qq.com 163.com 126.com naver.com"

static void add_words(const char *list, struct strv *out);

void settings_defaults(struct mailgw_settings *s)
{
    memset(s, 0, sizeof *s);
    (void)thread_token_init("[#{n}]", &s->token, NULL);
    s->note_prefix = td_strdup("#note");
    s->rate_limit = 20;
    s->rate_window_ms = 3600 * 1000;
    s->limits = MIME_DEFAULT_LIMITS;
    s->limits.max_attachments = 99; /* core takes 100; one is kept for the full text */
    s->max_attempts = 5;
    s->lease_ttl_ms = 60 * 1000;
    s->idle_restart_ms = 20 * 60 * 1000;
    s->backoff_min_ms = 1000;
    s->backoff_max_ms = 300 * 1000;
    s->cc_participants = true;
    add_words(SETTINGS_FREE_MAIL, &s->free_mail);
}

static void mailbox_clear(struct mailbox_settings *b)
{
    free(b->name);
    free(b->host);
    free(b->ca_file);
    free(b->user);
    if (b->password) {
        memset(b->password, 0, strlen(b->password));
        free(b->password);
    }
    free(b->folder);
    free(b->processed_folder);
    free(b->queue);
    free(b->address);
    memset(b, 0, sizeof *b);
}

void settings_clear(struct mailgw_settings *s)
{
    if (s == NULL)
        return;
    free(s->note_prefix);
    strv_clear(&s->own);
    free(s->loop_id);
    strv_clear(&s->authserv_ids);
    strv_clear(&s->free_mail);
    for (size_t i = 0; i < s->n_boxes; i++)
        mailbox_clear(&s->boxes[i]);
    free(s->boxes);
    route_table_free(s->routes);
    memset(s, 0, sizeof *s);
}

/* Adds each comma-separated address of list to own (validated). */
static bool add_addresses(const char *list, const char *what, struct strv *own, struct td_err *err)
{
    if (list == NULL)
        return true;
    char *copy = td_strdup(list);
    bool ok = true;
    for (char *save = NULL, *tok = strtok_r(copy, ", \t", &save); ok && tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        char *norm = NULL;
        ok = email_normalize(tok, what, &norm, err);
        if (ok && !strv_contains(own, norm))
            strv_push(own, norm);
        free(norm);
    }
    free(copy);
    return ok;
}

static void add_words(const char *list, struct strv *out)
{
    if (list == NULL)
        return;
    char *copy = td_strdup(list);
    for (char *save = NULL, *tok = strtok_r(copy, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        for (char *c = tok; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        strv_push(out, tok);
    }
    free(copy);
}

static bool size_key(struct td_config *cfg, const char *key, size_t def, int64_t min, int64_t max,
                     size_t *out, struct td_err *err)
{
    int64_t v;
    if (!config_int(cfg, "mailgw", key, (int64_t)def, min, max, &v, err))
        return false;
    *out = (size_t)v;
    return true;
}

static bool load_mailbox(struct td_config *cfg, const char *section, const char *name, void *arg,
                         struct td_err *err)
{
    struct mailgw_settings *s = arg;
    struct mailbox_settings b;
    memset(&b, 0, sizeof b);
    b.name = td_strdup(name);
    const char *host, *user, *password;
    if (name[0] == '\0' || strlen(name) > 64) {
        mailbox_clear(&b);
        return td_fail(err, TD_INVALID, "[%s]: a mailbox needs a name of 1 to 64 characters", section);
    }
    const char *tls = config_str(cfg, section, "tls", "implicit");
    if (strcasecmp(tls, "implicit") == 0 || strcasecmp(tls, "ssl") == 0)
        b.tls = IMAP_TLS_IMPLICIT;
    else if (strcasecmp(tls, "starttls") == 0)
        b.tls = IMAP_TLS_STARTTLS;
    else if (strcasecmp(tls, "none") == 0)
        b.tls = IMAP_TLS_NONE;
    else {
        mailbox_clear(&b);
        return td_fail(err, TD_INVALID, "[%s] tls: '%.40s' is not implicit, starttls or none", section, tls);
    }
    const char *auth = config_str(cfg, section, "auth", "login");
    if (strcasecmp(auth, "login") == 0)
        b.auth = IMAP_AUTH_LOGIN;
    else if (strcasecmp(auth, "plain") == 0)
        b.auth = IMAP_AUTH_PLAIN;
    else {
        mailbox_clear(&b);
        return td_fail(err, TD_INVALID, "[%s] auth: '%.40s' is not login or plain", section, auth);
    }
    int64_t port, poll;
    bool ok = config_require(cfg, section, "host", &host, err) &&
              config_require(cfg, section, "user", &user, err) &&
              config_require(cfg, section, "password", &password, err) &&
              config_int(cfg, section, "port", b.tls == IMAP_TLS_IMPLICIT ? 993 : 143, 1, 65535,
                         &port, err) &&
              config_bool(cfg, section, "tls_verify", true, &b.tls_verify, err) &&
              config_bool(cfg, section, "idle", true, &b.idle, err) &&
              config_int(cfg, section, "poll_interval_ms", 60000, 50, 24LL * 3600 * 1000, &poll, err);
    if (!ok) {
        mailbox_clear(&b);
        return false;
    }
    b.host = td_strdup(host);
    b.user = td_strdup(user);
    b.password = td_strdup(password);
    b.port = (int)port;
    b.poll_interval_ms = poll;
    const char *ca = config_str(cfg, section, "ca_file", NULL);
    b.ca_file = ca && *ca ? td_strdup(ca) : NULL;
    b.folder = td_strdup(config_str(cfg, section, "folder", "INBOX"));
    b.processed_folder = td_strdup(config_str(cfg, section, "processed_folder", ""));
    b.queue = td_strdup(config_str(cfg, section, "queue", ""));
    b.address = td_strdup(config_str(cfg, section, "address", ""));
    if (b.address[0] && !add_addresses(b.address, "mailbox address", &s->own, err)) {
        mailbox_clear(&b);
        return false;
    }
    for (size_t i = 0; i < s->n_boxes; i++)
        if (strcmp(s->boxes[i].name, b.name) == 0) {
            mailbox_clear(&b);
            return td_fail(err, TD_INVALID, "[%s] is configured twice", section);
        }
    s->boxes = td_realloc(s->boxes, (s->n_boxes + 1) * sizeof *s->boxes);
    s->boxes[s->n_boxes++] = b;
    return true;
}

bool settings_load(struct td_config *cfg, struct mailgw_settings *s, struct td_err *err)
{
    settings_defaults(s);
    int64_t rate_window, attempts;
    const char *token = config_str(cfg, "mailgw", "ticket_token", "[#{n}]");
    const char *note = config_str(cfg, "mailgw", "note_prefix", "#note");
    bool ok = thread_token_init(token, &s->token, err) &&
              config_int(cfg, "mailgw", "rate_limit", 20, 0, 1000000, &s->rate_limit, err) &&
              config_int(cfg, "mailgw", "rate_window", 3600, 1, 30LL * 86400, &rate_window, err) &&
              size_key(cfg, "max_mail_bytes", s->limits.max_bytes, 4096, 1LL << 31,
                       &s->limits.max_bytes, err) &&
              size_key(cfg, "max_parts", s->limits.max_parts, 1, 100000, &s->limits.max_parts, err) &&
              size_key(cfg, "max_depth", s->limits.max_depth, 1, 1000, &s->limits.max_depth, err) &&
              size_key(cfg, "max_attachments", s->limits.max_attachments, 0, 99,
                       &s->limits.max_attachments, err) &&
              config_int(cfg, "mailgw", "retry_attempts", 5, 1, 1000, &attempts, err) &&
              config_int(cfg, "mailgw", "lease_ttl_ms", 60000, 300, 3600 * 1000, &s->lease_ttl_ms, err) &&
              config_int(cfg, "mailgw", "idle_restart_ms", 20 * 60 * 1000, 100, 28 * 60 * 1000,
                         &s->idle_restart_ms, err) &&
              config_int(cfg, "mailgw", "backoff_min_ms", 1000, 10, 3600 * 1000, &s->backoff_min_ms, err) &&
              config_int(cfg, "mailgw", "backoff_max_ms", 300000, 10, 24LL * 3600 * 1000,
                         &s->backoff_max_ms, err) &&
              config_bool(cfg, "mailgw", "cc_participants", true, &s->cc_participants, err);
    if (ok && (note[0] == '\0' || strlen(note) > 40))
        ok = td_fail(err, TD_INVALID, "[mailgw] note_prefix must be 1 to 40 characters");
    if (ok) {
        free(s->note_prefix);
        s->note_prefix = td_strdup(note);
        s->rate_window_ms = rate_window * 1000;
        s->max_attempts = (int)attempts;
        if (s->backoff_max_ms < s->backoff_min_ms)
            s->backoff_max_ms = s->backoff_min_ms;
    }
    ok = ok && add_addresses(config_str(cfg, "mailgw", "support_addresses", NULL),
                             "[mailgw] support_addresses", &s->own, err);
    /* Our notifications come from here: never a customer. */
    const char *notify_from = config_str(cfg, "notify", "support_address", NULL);
    if (ok && notify_from && *notify_from)
        ok = add_addresses(notify_from, "[notify] support_address", &s->own, err);
    if (ok)
        add_words(config_str(cfg, "mailgw", "trusted_authserv_ids", NULL), &s->authserv_ids);
    const char *free_mail = config_str(cfg, "mailgw", "free_mail_domains", NULL);
    if (ok && free_mail) { /* replaces the built-in list ("" = none) */
        strv_clear(&s->free_mail);
        add_words(free_mail, &s->free_mail);
    }
    ok = ok && config_each_section(cfg, "mailbox ", load_mailbox, s, err);
    ok = ok && route_table_load(cfg, &s->routes, err);
    if (ok) {
        const char *loop = config_str(cfg, "mailgw", "loop_id", NULL);
        if (loop && *loop)
            s->loop_id = td_strdup(loop);
        else if (s->own.n)
            s->loop_id = td_strdup(s->own.v[0]);
    }
    if (!ok)
        settings_clear(s);
    return ok;
}
