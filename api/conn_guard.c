/* conn_guard.c - deadlines for slow clients (slowloris), which
 * libmicrohttpd 0.9.75 does not have: its connection timeout is an idle
 * timeout, and a client trickling one header byte every few seconds is
 * never idle.
 *
 * Every connection is tracked from MHD's connection notification
 * (STARTED .. CLOSED) with the phase it is in and when that phase began:
 *
 *   HEADERS  from accept, and again after each response (keep-alive),
 *            until on_access sees the request's headers: header_timeout;
 *   BODY     from then until the body is complete: body_timeout;
 *   BUSY     in the handler or sending the response: no deadline here.
 *
 * A reaper thread looks twice a second and shuts down (shutdown(2), never
 * close(2): the descriptor stays MHD's) the sockets past their deadline;
 * MHD then sees the connection fail and closes it itself. The entry is
 * removed under the same lock in the CLOSED notification, and the
 * socket's peer is compared with the one recorded at accept before the
 * shutdown, so a reused descriptor number is never hit.
 *
 * Per-address and total connection caps are MHD's own options
 * (server.c); this file only bounds how long one connection may take. */
#include "api_int.h"

#include "core/log.h"
#include "core/mem.h"

#include <microhttpd.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

enum cg_phase { CG_HEADERS, CG_BODY, CG_BUSY };

struct cg_conn {
    struct cg_conn *prev, *next;
    int fd;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    enum cg_phase phase;
    int64_t since_ms;
};

struct conn_guard {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t reaper;
    bool running, stopping;
    int64_t header_ms, body_ms;
    struct cg_conn *head;
};

static bool same_peer(const struct cg_conn *c)
{
    struct sockaddr_storage now;
    socklen_t len = sizeof now;
    if (getpeername(c->fd, (struct sockaddr *)&now, &len) != 0 || len != c->peer_len)
        return false;
    return memcmp(&now, &c->peer, len) == 0;
}

static void *reaper_main(void *arg)
{
    struct conn_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 500 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&g->wake, &g->lock, &ts);
        int64_t now = mono_ms();
        unsigned cut = 0;
        for (struct cg_conn *c = g->head; c != NULL; c = c->next) {
            int64_t limit = c->phase == CG_HEADERS ? g->header_ms
                            : c->phase == CG_BODY  ? g->body_ms
                                                   : 0;
            if (limit <= 0 || c->fd < 0 || now - c->since_ms < limit)
                continue;
            if (same_peer(c))
                shutdown(c->fd, SHUT_RDWR);
            c->fd = -1; /* once is enough */
            cut++;
        }
        if (cut > 0)
            log_event(LOG_INFO, "http_slow_clients_cut", LF_I("connections", cut));
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

struct conn_guard *conn_guard_new(unsigned header_timeout_s, unsigned body_timeout_s)
{
    struct conn_guard *g = td_calloc(1, sizeof *g);
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->wake, NULL);
    g->header_ms = (int64_t)header_timeout_s * 1000;
    g->body_ms = (int64_t)body_timeout_s * 1000;
    return g;
}

bool conn_guard_start(struct conn_guard *g, struct td_err *err)
{
    if (pthread_create(&g->reaper, NULL, reaper_main, g) != 0)
        return td_fail(err, TD_INTERNAL, "cannot start the slow-client reaper thread");
    (void)pthread_setname_np(g->reaper, "td-reaper");
    g->running = true;
    return true;
}

void conn_guard_stop(struct conn_guard *g)
{
    if (g == NULL || !g->running)
        return;
    pthread_mutex_lock(&g->lock);
    g->stopping = true;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->reaper, NULL);
    g->running = false;
}

void conn_guard_free(struct conn_guard *g)
{
    if (g == NULL)
        return;
    conn_guard_stop(g);
    /* MHD has closed (and notified) every connection by now. */
    while (g->head) {
        struct cg_conn *c = g->head;
        g->head = c->next;
        free(c);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void conn_guard_opened(struct conn_guard *g, struct MHD_Connection *conn, void **socket_context)
{
    struct cg_conn *c = td_calloc(1, sizeof *c);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    c->fd = ci ? ci->connect_fd : -1;
    c->peer_len = sizeof c->peer;
    if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&c->peer, &c->peer_len) != 0)
        c->fd = -1;
    c->phase = CG_HEADERS;
    c->since_ms = mono_ms();
    pthread_mutex_lock(&g->lock);
    c->next = g->head;
    if (g->head)
        g->head->prev = c;
    g->head = c;
    pthread_mutex_unlock(&g->lock);
    *socket_context = c;
}

void conn_guard_closed(struct conn_guard *g, void **socket_context)
{
    struct cg_conn *c = *socket_context;
    if (c == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&g->lock);
    free(c);
    *socket_context = NULL;
}

void conn_guard_phase(struct conn_guard *g, struct MHD_Connection *conn, int phase)
{
    if (g == NULL)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct cg_conn *c = ci ? ci->socket_context : NULL;
    if (c == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    c->phase = (enum cg_phase)phase;
    c->since_ms = mono_ms();
    pthread_mutex_unlock(&g->lock);
}
