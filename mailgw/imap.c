/* imap.c - see imap.h.
 *
 * libetpan returns an int per command; imap_fail maps it (with the
 * server's last response line, which says why) to the one error type.
 * Every set, fetch type and flag list handed to libetpan is owned by the
 * object it is given to, so each command frees exactly one top object. */
#include "imap.h"

#include <errno.h>
#include <libetpan/libetpan.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"

struct imap {
    mailimap *m;
    char host[256];
    bool idle;
    bool move;
    bool uidplus;
};

static bool imap_fail(struct imap *s, int r, const char *what, struct td_err *err)
{
    const char *resp = s && s->m && s->m->imap_response ? s->m->imap_response : "";
    enum td_code code = TD_UNAVAILABLE;
    if (r == MAILIMAP_ERROR_LOGIN || r == MAILIMAP_ERROR_SASL)
        code = TD_UNAUTHORIZED;
    return td_fail(err, code, "IMAP %s: %s%s%.150s", what,
                   r == MAILIMAP_ERROR_STREAM ? "connection lost" : "error",
                   resp[0] ? ": " : "", resp);
}

/* A command the server refused (NO/BAD) on a live connection is
 * TD_INVALID: retrying it on a new connection would not help. */
static bool imap_refused(struct imap *s, int r, const char *what, struct td_err *err)
{
    imap_fail(s, r, what, err);
    if (err && r != MAILIMAP_ERROR_STREAM)
        err->code = TD_INVALID;
    return false;
}

static bool ok(int r)
{
    return r == MAILIMAP_NO_ERROR || r == MAILIMAP_NO_ERROR_AUTHENTICATED ||
           r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED;
}

static void sni(struct mailstream_ssl_context *ctx, void *data)
{
    /* Without SNI a server with several certificates shows the wrong one. */
    (void)mailstream_ssl_set_server_name(ctx, (char *)data);
}

static bool capabilities(struct imap *s, struct td_err *err)
{
    struct mailimap_capability_data *cap = NULL;
    int r = mailimap_capability(s->m, &cap);
    if (!ok(r))
        return imap_fail(s, r, "CAPABILITY", err);
    mailimap_capability_data_free(cap);
    s->idle = mailimap_has_idle(s->m) != 0;
    s->move = mailimap_has_extension(s->m, (char *)"MOVE") != 0;
    s->uidplus = mailimap_has_uidplus(s->m) != 0;
    return true;
}

bool imap_open(const struct mailbox_settings *b, struct imap **out, struct td_err *err)
{
    struct imap *s = td_calloc(1, sizeof *s);
    snprintf(s->host, sizeof s->host, "%s", b->host);
    s->m = mailimap_new(0, NULL);
    if (s->m == NULL) {
        free(s);
        return td_fail(err, TD_INTERNAL, "IMAP: out of memory");
    }
    mailimap_set_timeout(s->m, IMAP_TIMEOUT_S);
    int r;
    uint16_t port = (uint16_t)b->port;
    if (b->tls == IMAP_TLS_IMPLICIT)
        r = mailimap_ssl_connect_with_callback(s->m, s->host, port, sni, s->host);
    else
        r = mailimap_socket_connect(s->m, s->host, port);
    if (!ok(r)) {
        imap_fail(s, r, "connect", err);
        if (err)
            snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                     " (%.100s:%d)", s->host, b->port);
        imap_close(s);
        return false;
    }
    if (b->tls == IMAP_TLS_STARTTLS) {
        r = mailimap_socket_starttls_with_callback(s->m, sni, s->host);
        if (!ok(r)) {
            imap_fail(s, r, "STARTTLS", err);
            imap_close(s);
            return false;
        }
    }
    if (b->tls != IMAP_TLS_NONE && b->tls_verify &&
        !imap_tls_verify(s->m->imap_stream, s->host, b->ca_file, err)) {
        imap_close(s);
        return false;
    }
    if (b->auth == IMAP_AUTH_PLAIN)
        r = mailimap_authenticate(s->m, "PLAIN", s->host, NULL, NULL, b->user, b->user,
                                  b->password, NULL);
    else
        r = mailimap_login(s->m, b->user, b->password);
    if (!ok(r)) {
        imap_fail(s, r, b->auth == IMAP_AUTH_PLAIN ? "AUTHENTICATE PLAIN" : "LOGIN", err);
        if (err)
            err->code = TD_UNAUTHORIZED;
        imap_close(s);
        return false;
    }
    if (!capabilities(s, err)) {
        imap_close(s);
        return false;
    }
    *out = s;
    return true;
}

void imap_close(struct imap *s)
{
    if (s == NULL)
        return;
    if (s->m) {
        if (s->m->imap_stream)
            (void)mailimap_logout(s->m); /* best effort: we are leaving anyway */
        mailimap_free(s->m);
    }
    free(s);
}

bool imap_has_idle(const struct imap *s)
{
    return s->idle;
}

bool imap_has_move(const struct imap *s)
{
    return s->move;
}

bool imap_select(struct imap *s, const char *folder, uint32_t *uidvalidity, struct td_err *err)
{
    int r = mailimap_select(s->m, folder);
    if (!ok(r)) {
        imap_fail(s, r, "SELECT", err);
        if (r != MAILIMAP_ERROR_STREAM && err)
            err->code = TD_NOT_FOUND;
        return false;
    }
    struct mailimap_selection_info *sel = s->m->imap_selection_info;
    if (sel == NULL || sel->sel_uidvalidity == 0)
        return td_fail(err, TD_UNAVAILABLE, "IMAP SELECT %.100s: the server sent no UIDVALIDITY",
                       folder);
    *uidvalidity = sel->sel_uidvalidity;
    return true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

bool imap_search_after(struct imap *s, uint32_t after, uint32_t **uids, size_t *n,
                       struct td_err *err)
{
    *uids = NULL;
    *n = 0;
    if (after == UINT32_MAX)
        return true;
    /* "UID n:*" always matches the last message, even when its UID is
     * below n: the result is filtered. */
    struct mailimap_search_key *key =
        mailimap_search_key_new_uid(mailimap_set_new_interval(after + 1, 0));
    clist *res = NULL;
    int r = mailimap_uid_search(s->m, NULL, key, &res);
    mailimap_search_key_free(key);
    if (!ok(r))
        return imap_fail(s, r, "UID SEARCH", err);
    size_t cap = res ? (size_t)clist_count(res) : 0;
    uint32_t *v = td_calloc(cap ? cap : 1, sizeof *v);
    for (clistiter *it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
        uint32_t *u = clist_content(it);
        if (u && *u > after)
            v[(*n)++] = *u;
    }
    if (res)
        mailimap_search_result_free(res);
    qsort(v, *n, sizeof *v, cmp_u32);
    *uids = v;
    return true;
}

/* UID FETCH uid (RFC822.SIZE [, BODY.PEEK[]<0.partial>]). */
static bool fetch(struct imap *s, uint32_t uid, bool body, size_t partial, char **raw,
                  size_t *len, size_t *size, bool *found, struct td_err *err)
{
    struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
    if (body) {
        struct mailimap_section *sec = mailimap_section_new(NULL);
        struct mailimap_fetch_att *att =
            partial ? mailimap_fetch_att_new_body_peek_section_partial(sec, 0, (uint32_t)partial)
                    : mailimap_fetch_att_new_body_peek_section(sec);
        mailimap_fetch_type_new_fetch_att_list_add(ft, att);
    }
    struct mailimap_set *set = mailimap_set_new_single(uid);
    clist *res = NULL;
    int r = mailimap_uid_fetch(s->m, set, ft, &res);
    mailimap_set_free(set);
    mailimap_fetch_type_free(ft);
    if (!ok(r))
        return imap_fail(s, r, "UID FETCH", err);
    *found = false;
    for (clistiter *it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
        struct mailimap_msg_att *ma = clist_content(it);
        uint32_t got_uid = 0, got_size = 0;
        const char *data = NULL;
        size_t data_len = 0;
        bool has_body = false;
        for (clistiter *j = clist_begin(ma->att_list); j; j = clist_next(j)) {
            struct mailimap_msg_att_item *item = clist_content(j);
            if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
                continue;
            struct mailimap_msg_att_static *st = item->att_data.att_static;
            switch (st->att_type) {
            case MAILIMAP_MSG_ATT_UID:
                got_uid = st->att_data.att_uid;
                break;
            case MAILIMAP_MSG_ATT_RFC822_SIZE:
                got_size = st->att_data.att_rfc822_size;
                break;
            case MAILIMAP_MSG_ATT_BODY_SECTION:
                if (st->att_data.att_body_section) {
                    data = st->att_data.att_body_section->sec_body_part;
                    data_len = st->att_data.att_body_section->sec_length;
                    has_body = true;
                }
                break;
            default:
                break;
            }
        }
        if (got_uid != uid)
            continue; /* an unsolicited FETCH for another message */
        *found = true;
        *size = got_size;
        if (body) {
            *raw = td_malloc(data_len + 1);
            if (has_body && data)
                memcpy(*raw, data, data_len);
            (*raw)[data_len] = '\0';
            *len = has_body ? data_len : 0;
        }
        break;
    }
    if (res)
        mailimap_fetch_list_free(res);
    return true;
}

bool imap_fetch(struct imap *s, uint32_t uid, size_t max, size_t head_bytes, char **raw,
                size_t *len, size_t *size, bool *gone, struct td_err *err)
{
    *raw = NULL;
    *len = 0;
    *size = 0;
    bool found = false;
    if (!fetch(s, uid, false, 0, raw, len, size, &found, err))
        return false;
    *gone = !found;
    if (!found)
        return true;
    /* Bounded before a byte of the body is read. */
    size_t partial = *size > max ? head_bytes : 0;
    size_t sz = 0;
    if (!fetch(s, uid, true, partial, raw, len, &sz, &found, err))
        return false;
    *gone = !found;
    return true;
}

/* ---- batches ---- */

/* What one FETCH response says: its UID, size and body (borrowed). */
struct att {
    uint32_t uid, size;
    const char *data;
    size_t len;
    bool has_body;
};

static void read_atts(struct mailimap_msg_att *ma, struct att *a)
{
    memset(a, 0, sizeof *a);
    for (clistiter *j = clist_begin(ma->att_list); j; j = clist_next(j)) {
        struct mailimap_msg_att_item *item = clist_content(j);
        if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
            continue;
        struct mailimap_msg_att_static *st = item->att_data.att_static;
        if (st->att_type == MAILIMAP_MSG_ATT_UID)
            a->uid = st->att_data.att_uid;
        else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
            a->size = st->att_data.att_rfc822_size;
        else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && st->att_data.att_body_section) {
            a->data = st->att_data.att_body_section->sec_body_part;
            a->len = st->att_data.att_body_section->sec_length;
            a->has_body = true;
        }
    }
}

static struct mailimap_set *set_of(const uint32_t *uids, const bool *pick, size_t n)
{
    struct mailimap_set *set = mailimap_set_new_empty();
    for (size_t i = 0; i < n; i++)
        if (pick == NULL || pick[i])
            mailimap_set_add_single(set, uids[i]);
    return set;
}

/* UID FETCH of the picked uids; calls back for each answer of ours. */
static bool fetch_set(struct imap *s, const uint32_t *uids, const bool *pick, size_t n, bool body,
                      struct imap_mail *out, struct td_err *err)
{
    struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
    if (body)
        mailimap_fetch_type_new_fetch_att_list_add(
            ft, mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
    struct mailimap_set *set = set_of(uids, pick, n);
    clist *res = NULL;
    int r = mailimap_uid_fetch(s->m, set, ft, &res);
    mailimap_set_free(set);
    mailimap_fetch_type_free(ft);
    if (!ok(r))
        return imap_fail(s, r, "UID FETCH", err);
    for (clistiter *it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
        struct att a;
        read_atts(clist_content(it), &a);
        for (size_t i = 0; i < n; i++) {
            if (out[i].uid != a.uid || (pick && !pick[i]))
                continue; /* else: an unsolicited FETCH for another message */
            out[i].gone = false;
            out[i].size = a.size;
            if (body && out[i].raw == NULL) {
                out[i].raw = td_malloc(a.len + 1);
                if (a.has_body && a.data)
                    memcpy(out[i].raw, a.data, a.len);
                out[i].raw[a.len] = '\0';
                out[i].len = a.has_body ? a.len : 0;
            }
            break;
        }
    }
    if (res)
        mailimap_fetch_list_free(res);
    return true;
}

bool imap_fetch_batch(struct imap *s, const uint32_t *uids, size_t n, size_t max,
                      size_t head_bytes, size_t budget, struct imap_mail *out, size_t *taken,
                      struct td_err *err)
{
    *taken = 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (struct imap_mail){ .uid = uids[i], .gone = true };
    if (n == 0)
        return true;
    if (!fetch_set(s, uids, NULL, n, false, out, err)) /* the sizes */
        return false;
    size_t k = 0, bytes = 0;
    while (k < n) {
        size_t cost = out[k].gone ? 0 : out[k].size > max ? head_bytes : out[k].size;
        if (k > 0 && bytes + cost > budget)
            break;
        bytes += cost;
        k++;
    }
    bool pick[k], any = false;
    for (size_t i = 0; i < k; i++) {
        pick[i] = !out[i].gone && out[i].size <= max;
        any = any || pick[i];
        if (pick[i])
            out[i].gone = true; /* until the body comes */
    }
    bool okay = !any || fetch_set(s, uids, pick, k, true, out, err);
    for (size_t i = 0; okay && i < k; i++) {
        if (out[i].gone || out[i].raw != NULL)
            continue;
        size_t sz = 0; /* over max: the head only, on its own */
        bool found = false;
        okay = fetch(s, out[i].uid, true, head_bytes, &out[i].raw, &out[i].len, &sz, &found, err);
        out[i].gone = !found;
    }
    if (!okay) {
        for (size_t i = 0; i < n; i++) {
            free(out[i].raw);
            out[i].raw = NULL;
        }
        return false;
    }
    *taken = k;
    return true;
}

bool imap_mark_seen_many(struct imap *s, const uint32_t *uids, size_t n, struct td_err *err)
{
    if (n == 0)
        return true;
    struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
    mailimap_flag_list_add(fl, mailimap_flag_new_seen());
    struct mailimap_store_att_flags *sa = mailimap_store_att_flags_new_add_flags_silent(fl);
    struct mailimap_set *set = set_of(uids, NULL, n);
    int r = mailimap_uid_store(s->m, set, sa);
    mailimap_set_free(set);
    mailimap_store_att_flags_free(sa);
    if (!ok(r))
        return imap_refused(s, r, "UID STORE", err);
    return true;
}

static bool store_flag(struct imap *s, uint32_t uid, struct mailimap_flag *flag, struct td_err *err)
{
    struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
    mailimap_flag_list_add(fl, flag);
    struct mailimap_store_att_flags *sa = mailimap_store_att_flags_new_add_flags_silent(fl);
    struct mailimap_set *set = mailimap_set_new_single(uid);
    int r = mailimap_uid_store(s->m, set, sa);
    mailimap_set_free(set);
    mailimap_store_att_flags_free(sa);
    if (!ok(r))
        return imap_refused(s, r, "UID STORE", err);
    return true;
}

bool imap_mark_seen(struct imap *s, uint32_t uid, struct td_err *err)
{
    return store_flag(s, uid, mailimap_flag_new_seen(), err);
}

static bool copy_or_move(struct imap *s, uint32_t uid, const char *folder, bool move,
                         struct td_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        struct mailimap_set *set = mailimap_set_new_single(uid);
        int r = move ? mailimap_uid_move(s->m, set, folder) : mailimap_uid_copy(s->m, set, folder);
        mailimap_set_free(set);
        if (ok(r))
            return true;
        bool trycreate = s->m->imap_response_info && s->m->imap_response_info->rsp_trycreate;
        if (r == MAILIMAP_ERROR_STREAM || attempt > 0 ||
            (!trycreate && (s->m->imap_response == NULL ||
                            strstr(s->m->imap_response, "TRYCREATE") == NULL)))
            return imap_refused(s, r, move ? "UID MOVE" : "UID COPY", err);
        r = mailimap_create(s->m, folder);
        if (!ok(r) && r == MAILIMAP_ERROR_STREAM)
            return imap_refused(s, r, "CREATE", err);
    }
    return true;
}

bool imap_move(struct imap *s, uint32_t uid, const char *folder, struct td_err *err)
{
    if (s->move)
        return copy_or_move(s, uid, folder, true, err);
    if (!copy_or_move(s, uid, folder, false, err) ||
        !store_flag(s, uid, mailimap_flag_new_deleted(), err))
        return false;
    if (!s->uidplus)
        return true; /* a plain EXPUNGE would also remove others' \Deleted mail */
    struct mailimap_set *set = mailimap_set_new_single(uid);
    int r = mailimap_uid_expunge(s->m, set);
    mailimap_set_free(set);
    if (!ok(r))
        return imap_refused(s, r, "UID EXPUNGE", err);
    return true;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool imap_idle(struct imap *s, int wake_fd, int64_t timeout_ms, bool *activity,
               struct td_err *err)
{
    *activity = false;
    int r = mailimap_idle(s->m);
    if (!ok(r))
        return imap_fail(s, r, "IDLE", err);
    /* Something may already sit in libetpan's read buffer. */
    if (s->m->imap_stream && s->m->imap_stream->read_buffer_len > 0)
        *activity = true;
    int64_t end = now_ms() + timeout_ms;
    while (!*activity) {
        int64_t left = end - now_ms();
        if (left <= 0)
            break;
        struct pollfd p[2] = { { mailimap_idle_get_fd(s->m), POLLIN, 0 }, { wake_fd, POLLIN, 0 } };
        int n = poll(p, wake_fd >= 0 ? 2 : 1, (int)(left > 1000 ? 1000 : left));
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            *activity = true;
        if (n > 0 && wake_fd >= 0 && (p[1].revents & POLLIN))
            break;
    }
    r = mailimap_idle_done(s->m);
    if (!ok(r))
        return imap_fail(s, r, "IDLE DONE", err);
    return true;
}

bool imap_noop(struct imap *s, struct td_err *err)
{
    int r = mailimap_noop(s->m);
    if (!ok(r))
        return imap_fail(s, r, "NOOP", err);
    return true;
}
