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
#include <time.h>

/* One connection's worth of transfer state: a curl handle and what its
 * mail in flight needs until it is done. */
struct smtp_slot {
    CURL *curl;
    struct smtp_mail *mail;   /* in flight, or NULL: free */
    struct curl_slist *rcpts;
    struct reader {
        const char *data;
        size_t len, pos;
    } r;
    char from[300];
    char errbuf[CURL_ERROR_SIZE];
    char last_reply[200];     /* the server's last 4xx/5xx reply line */
};

struct smtp_client {
    struct smtp_config cfg;
    CURLM *multi;             /* owns the connections, shared by the slots */
    struct smtp_slot slots[SMTP_MAX_CONNECTIONS];
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
    int64_t ct, to, conns;
    if (!copy(sc->url, sizeof sc->url, url, "url", err) ||
        !copy(sc->user, sizeof sc->user, user, "user", err) ||
        !copy(sc->password, sizeof sc->password, password, "password", err) ||
        !copy(sc->ca_file, sizeof sc->ca_file, config_str(cfg, "smtp", "ca_file", ""), "ca_file", err) ||
        !copy(sc->helo, sizeof sc->helo, config_str(cfg, "smtp", "helo", ""), "helo", err) ||
        !config_bool(cfg, "smtp", "tls_verify", true, &sc->verify_peer, err) ||
        !config_int(cfg, "smtp", "connect_timeout_ms", 10000, 100, 600000, &ct, err) ||
        !config_int(cfg, "smtp", "timeout_ms", 60000, 100, 3600000, &to, err) ||
        !config_int(cfg, "smtp", "connections", 4, 1, SMTP_MAX_CONNECTIONS, &conns, err))
        return false;
    sc->connections = (int)conns;
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
    struct smtp_slot *c = arg;
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
    if (c->cfg.connections < 1 || c->cfg.connections > SMTP_MAX_CONNECTIONS)
        c->cfg.connections = 1;
    return c;
}

static void slot_reset(struct smtp_slot *sl)
{
    curl_slist_free_all(sl->rcpts);
    sl->rcpts = NULL;
    sl->mail = NULL;
}

void smtp_client_free(struct smtp_client *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < SMTP_MAX_CONNECTIONS; i++) {
        struct smtp_slot *sl = &c->slots[i];
        if (sl->curl == NULL)
            continue;
        if (sl->mail != NULL && c->multi != NULL)
            curl_multi_remove_handle(c->multi, sl->curl);
        slot_reset(sl);
        curl_easy_cleanup(sl->curl);
    }
    if (c->multi)
        curl_multi_cleanup(c->multi);
    explicit_bzero(c->cfg.password, sizeof c->cfg.password);
    free(c);
}

/* The multi handle: at most cfg.connections connections, kept between
 * mails (a finished transfer leaves its connection to the next). */
static bool multi_setup(struct smtp_client *c)
{
    if (c->multi)
        return true;
    c->multi = curl_multi_init();
    if (c->multi == NULL)
        return false;
    long n = c->cfg.connections;
    if (curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n) != CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, n) != CURLM_OK) {
        curl_multi_cleanup(c->multi);
        c->multi = NULL;
        return false;
    }
    return true;
}

/* Sets the options of a slot's handle that do not change between mails. */
static bool setup(struct smtp_client *c, struct smtp_slot *sl)
{
    if (sl->curl)
        return true;
    sl->curl = curl_easy_init();
    if (sl->curl == NULL)
        return false;
    CURL *h = sl->curl;
    const struct smtp_config *sc = &c->cfg;
    bool ok = curl_easy_setopt(h, CURLOPT_URL, sc->url) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_READDATA, &sl->r) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_PRIVATE, sl) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_ERRORBUFFER, sl->errbuf) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_HEADERDATA, sl) == CURLE_OK;
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
        sl->curl = NULL;
    }
    return ok;
}

static void set_temporary(struct smtp_result *res, const char *why)
{
    res->outcome = SMTP_TEMPORARY;
    snprintf(res->message, sizeof res->message, "%s", why);
}

/* Puts m on the free slot sl; false (m's result says why) if it cannot. */
static bool start(struct smtp_client *c, struct smtp_slot *sl, struct smtp_mail *m)
{
    if (!setup(c, sl)) {
        set_temporary(&m->result, "libcurl could not be set up");
        return false;
    }
    char to[300];
    snprintf(sl->from, sizeof sl->from, "<%s>", m->from);
    snprintf(to, sizeof to, "<%s>", m->rcpt);
    sl->rcpts = curl_slist_append(NULL, to);
    sl->r = (struct reader){ m->data, m->len, 0 };
    sl->errbuf[0] = '\0';
    sl->last_reply[0] = '\0';
    CURL *h = sl->curl;
    if (sl->rcpts == NULL || curl_easy_setopt(h, CURLOPT_MAIL_FROM, sl->from) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_MAIL_RCPT, sl->rcpts) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->len) != CURLE_OK ||
        curl_multi_add_handle(c->multi, h) != CURLM_OK) {
        slot_reset(sl);
        set_temporary(&m->result, "libcurl could not start the transfer");
        return false;
    }
    sl->mail = m;
    return true;
}

/* The transfer on sl ended with rc: its mail's result, and the slot free. */
static void finish(struct smtp_client *c, struct smtp_slot *sl, CURLcode rc)
{
    CURL *h = sl->curl;
    struct smtp_result *res = &sl->mail->result;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_multi_remove_handle(c->multi, h);
    /* The list must outlive the transfer only: drop the pointer to it. */
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
    res->code = code;
    if (rc == CURLE_OK) {
        res->outcome = SMTP_SENT;
        slot_reset(sl);
        return;
    }
    /* 530/534/535/538: the session is refused (authentication or TLS
     * required, bad credentials) - a configuration problem an admin
     * fixes, not a verdict on this mail. */
    bool session = rc == CURLE_LOGIN_DENIED || code == 530 || code == 534 || code == 535 ||
                   code == 538;
    res->outcome = (code >= 500 && code <= 599 && !session) ? SMTP_PERMANENT : SMTP_TEMPORARY;
    const char *why = sl->errbuf[0] ? sl->errbuf : curl_easy_strerror(rc);
    if (sl->last_reply[0] && code >= 400)
        snprintf(res->message, sizeof res->message, "%.80s (server said: %.150s)", why, sl->last_reply);
    else
        snprintf(res->message, sizeof res->message, "%.250s", why);
    /* After an error the connection may be in any state: libcurl closes
     * it (a transfer that failed never leaves its connection to the
     * next), and the handle starts afresh too. */
    slot_reset(sl);
    curl_easy_cleanup(h);
    sl->curl = NULL;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Mails in flight are ended with why (the multi handle failed). */
static void abandon_all(struct smtp_client *c, const char *why)
{
    for (int i = 0; i < c->cfg.connections; i++) {
        struct smtp_slot *sl = &c->slots[i];
        if (sl->mail == NULL)
            continue;
        set_temporary(&sl->mail->result, why);
        curl_multi_remove_handle(c->multi, sl->curl);
        slot_reset(sl);
        curl_easy_cleanup(sl->curl);
        sl->curl = NULL;
    }
}

void smtp_send_all(struct smtp_client *c, struct smtp_mail *mails, size_t n, int64_t start_by_ms)
{
    for (size_t i = 0; i < n; i++) {
        memset(&mails[i].result, 0, sizeof mails[i].result);
        mails[i].started = false;
    }
    if (n == 0)
        return;
    if (!multi_setup(c)) {
        for (size_t i = 0; i < n; i++)
            set_temporary(&mails[i].result, "libcurl could not be set up");
        return;
    }
    int64_t deadline = start_by_ms > 0 ? mono_ms() + start_by_ms : 0;
    size_t next = 0;
    int busy = 0;
    for (;;) {
        for (int i = 0; i < c->cfg.connections && next < n; i++) {
            struct smtp_slot *sl = &c->slots[i];
            if (sl->mail != NULL)
                continue;
            if (next > 0 && deadline != 0 && mono_ms() > deadline) {
                for (; next < n; next++) /* the caller hands these back */
                    set_temporary(&mails[next].result, "not started in time");
                break;
            }
            struct smtp_mail *m = &mails[next++];
            m->started = true;
            if (start(c, sl, m))
                busy++;
        }
        if (busy == 0 && next >= n)
            break;
        int running = 0;
        CURLMcode mc = curl_multi_perform(c->multi, &running);
        int left = 0;
        for (CURLMsg *msg; mc == CURLM_OK && (msg = curl_multi_info_read(c->multi, &left));) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct smtp_slot *sl = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
            CURLcode rc = msg->data.result; /* msg is gone once the handle is removed */
            finish(c, sl, rc);
            busy--;
        }
        if (mc == CURLM_OK && busy > 0)
            mc = curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
        if (mc != CURLM_OK) {
            abandon_all(c, curl_multi_strerror(mc));
            busy = 0;
            curl_multi_cleanup(c->multi);
            c->multi = NULL;
            for (; next < n; next++) {
                mails[next].started = true;
                set_temporary(&mails[next].result, "libcurl could not be set up");
            }
            break;
        }
    }
}
