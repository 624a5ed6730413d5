/* smtp.c - see smtp.h.
 *
 * Classifying an outcome: curl reports the last SMTP reply code through
 * CURLINFO_RESPONSE_CODE. A 5xx answer to MAIL, RCPT or the end of DATA
 * is permanent for this message (the server will say the same thing
 * again); everything else - no connection, a timeout, a 4xx, TLS trouble,
 * a rejected login or a server that wants AUTH or STARTTLS first (530,
 * 534, 535, 538: an admin fixes the configuration, the mail must not be
 * lost meanwhile) - is temporary. */
#include "notify/smtp.h"
#include "core/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct smtp_client {
    struct smtp_config cfg;
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
    char last_reply[200];   /* the server's last 4xx/5xx reply line */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool smtp_global_init(struct td_err *err)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return td_fail(err, TD_INTERNAL, "libcurl failed to initialise: %s",
                       curl_easy_strerror(global_rc));
    return true;
}

static bool copy(char *dst, size_t len, const char *src, const char *key, struct td_err *err)
{
    int n = snprintf(dst, len, "%s", src ? src : "");
    if (n < 0 || (size_t)n >= len)
        return td_fail(err, TD_INVALID, "[smtp] %s is too long", key);
    for (const char *p = dst; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            return td_fail(err, TD_INVALID, "[smtp] %s contains a control character", key);
    return true;
}

bool smtp_config_load(struct td_config *cfg, struct smtp_config *sc, struct td_err *err)
{
    memset(sc, 0, sizeof *sc);
    const char *url;
    if (!config_require(cfg, "smtp", "url", &url, err))
        return false;
    if (strncasecmp(url, "smtp://", 7) != 0 && strncasecmp(url, "smtps://", 8) != 0)
        return td_fail(err, TD_INVALID, "[smtp] url must start with smtp:// or smtps://");
    const char *user = config_str(cfg, "smtp", "user", "");
    const char *password = NULL;
    struct td_err e;
    td_err_clear(&e);
    if (!config_require(cfg, "smtp", "password", &password, &e)) {
        /* Missing is fine without a user; an unreadable password_file is not. */
        if (config_str(cfg, "smtp", "password_file", NULL) != NULL || user[0] != '\0')
            return td_fail(err, e.code, "%s", e.msg);
        password = "";
    }
    const char *tls = config_str(cfg, "smtp", "starttls", "try");
    if (strcmp(tls, "no") == 0)
        sc->tls = SMTP_TLS_NONE;
    else if (strcmp(tls, "try") == 0)
        sc->tls = SMTP_TLS_TRY;
    else if (strcmp(tls, "required") == 0)
        sc->tls = SMTP_TLS_REQUIRED;
    else
        return td_fail(err, TD_INVALID, "[smtp] starttls: '%.40s' is not no, try or required", tls);
    int64_t ct, to;
    if (!copy(sc->url, sizeof sc->url, url, "url", err) ||
        !copy(sc->user, sizeof sc->user, user, "user", err) ||
        !copy(sc->password, sizeof sc->password, password, "password", err) ||
        !copy(sc->ca_file, sizeof sc->ca_file, config_str(cfg, "smtp", "ca_file", ""), "ca_file", err) ||
        !copy(sc->helo, sizeof sc->helo, config_str(cfg, "smtp", "helo", ""), "helo", err) ||
        !config_bool(cfg, "smtp", "tls_verify", true, &sc->verify_peer, err) ||
        !config_int(cfg, "smtp", "connect_timeout_ms", 10000, 100, 600000, &ct, err) ||
        !config_int(cfg, "smtp", "timeout_ms", 60000, 100, 3600000, &to, err))
        return false;
    sc->connect_timeout_ms = (long)ct;
    sc->timeout_ms = (long)to;
    return true;
}

/* Keeps the server's last refusal (for the row's error). libcurl hands
 * every SMTP reply line to the header callback, so this needs no
 * CURLOPT_VERBOSE: verbose mode formats an info line for every command
 * and reply of every mail (issue 11: notification throughput). */
static size_t on_header(char *data, size_t size, size_t nitems, void *arg)
{
    struct smtp_client *c = arg;
    size_t len = size * nitems;
    /* Only refusals: what follows them (QUIT's "221 Bye") says nothing. */
    if (len == 0 || (data[0] != '4' && data[0] != '5'))
        return len;
    size_t n = len < sizeof c->last_reply - 1 ? len : sizeof c->last_reply - 1;
    memcpy(c->last_reply, data, n);
    c->last_reply[n] = '\0';
    for (char *p = c->last_reply; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = *p == '\r' || *p == '\n' ? '\0' : ' ';
    return len;
}

struct reader {
    const char *data;
    size_t len, pos;
};

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct reader *r = arg;
    size_t room = size * nitems, left = r->len - r->pos;
    size_t n = left < room ? left : room;
    memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    return n;
}

struct smtp_client *smtp_client_new(const struct smtp_config *sc)
{
    struct smtp_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->cfg = *sc;
    return c;
}

void smtp_client_free(struct smtp_client *c)
{
    if (c == NULL)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    explicit_bzero(c->cfg.password, sizeof c->cfg.password);
    free(c);
}

/* Sets the options that do not change between mails. */
static bool setup(struct smtp_client *c)
{
    if (c->curl)
        return true;
    c->curl = curl_easy_init();
    if (c->curl == NULL)
        return false;
    CURL *h = c->curl;
    const struct smtp_config *sc = &c->cfg;
    bool ok = curl_easy_setopt(h, CURLOPT_URL, sc->url) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_HEADERDATA, c) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, sc->connect_timeout_ms) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, sc->timeout_ms) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps") == CURLE_OK;
    long use_ssl = sc->tls == SMTP_TLS_REQUIRED ? CURLUSESSL_ALL
                   : sc->tls == SMTP_TLS_TRY    ? CURLUSESSL_TRY
                                                : CURLUSESSL_NONE;
    ok = ok && curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, sc->verify_peer ? 1L : 0L) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, sc->verify_peer ? 2L : 0L) == CURLE_OK;
    if (ok && sc->ca_file[0])
        ok = curl_easy_setopt(h, CURLOPT_CAINFO, sc->ca_file) == CURLE_OK;
    if (ok && sc->user[0]) {
        ok = curl_easy_setopt(h, CURLOPT_USERNAME, sc->user) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_PASSWORD, sc->password) == CURLE_OK;
    }
    if (!ok) {
        curl_easy_cleanup(h);
        c->curl = NULL;
    }
    return ok;
}

void smtp_send(struct smtp_client *c, const char *mail_from, const char *rcpt,
               const char *data, size_t len, struct smtp_result *res)
{
    memset(res, 0, sizeof *res);
    if (!setup(c)) {
        res->outcome = SMTP_TEMPORARY;
        snprintf(res->message, sizeof res->message, "libcurl could not be set up");
        return;
    }
    CURL *h = c->curl;
    char from[300], to[300];
    snprintf(from, sizeof from, "<%s>", mail_from);
    snprintf(to, sizeof to, "<%s>", rcpt);
    struct curl_slist *rcpts = curl_slist_append(NULL, to);
    struct reader r = { data, len, 0 };
    c->errbuf[0] = '\0';
    c->last_reply[0] = '\0';
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (rcpts != NULL && curl_easy_setopt(h, CURLOPT_MAIL_FROM, from) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_READDATA, &r) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len) == CURLE_OK)
        rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    /* The list must outlive the transfer only: drop the pointer to it. */
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
    curl_slist_free_all(rcpts);
    res->code = code;
    if (rc == CURLE_OK) {
        res->outcome = SMTP_SENT;
        return;
    }
    /* 530/534/535/538: the session is refused (authentication or TLS
     * required, bad credentials) - a configuration problem an admin
     * fixes, not a verdict on this mail. */
    bool session = rc == CURLE_LOGIN_DENIED || code == 530 || code == 534 || code == 535 ||
                   code == 538;
    res->outcome = (code >= 500 && code <= 599 && !session) ? SMTP_PERMANENT : SMTP_TEMPORARY;
    const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    if (c->last_reply[0] && code >= 400)
        snprintf(res->message, sizeof res->message, "%.80s (server said: %.150s)", why, c->last_reply);
    else
        snprintf(res->message, sizeof res->message, "%.250s", why);
    /* After an error the connection may be in any state: start afresh. */
    curl_easy_cleanup(h);
    c->curl = NULL;
}
