/* imap.h - one IMAP session with libetpan: connect (implicit TLS,
 * STARTTLS or plain, certificates verified), LOGIN or AUTHENTICATE PLAIN,
 * SELECT, UID SEARCH, UID FETCH BODY.PEEK[] (never sets \Seen), STORE
 * \Seen, MOVE (or COPY + \Deleted + UID EXPUNGE), IDLE.
 *
 * Errors: the network or the server failing is TD_UNAVAILABLE (the
 * poller reconnects with backoff), refused credentials TD_UNAUTHORIZED,
 * a missing folder TD_NOT_FOUND, a STORE/MOVE the server refuses on a
 * live connection TD_INVALID; err->msg carries the server's words.
 * A session is used by one thread. */
#ifndef MGW_IMAP_H
#define MGW_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "settings.h"

struct imap;

#define IMAP_TIMEOUT_S 30

bool imap_open(const struct mailbox_settings *b, struct imap **out, struct td_err *err);
/* LOGOUT (best effort) and free; NULL-safe. */
void imap_close(struct imap *s);

bool imap_has_idle(const struct imap *s);
bool imap_has_move(const struct imap *s);

/* SELECT folder (read-write). */
bool imap_select(struct imap *s, const char *folder, uint32_t *uidvalidity,
                 struct td_err *err);

/* UIDs greater than after, ascending (owned array, free()). */
bool imap_search_after(struct imap *s, uint32_t after, uint32_t **uids, size_t *n,
                       struct td_err *err);

/* The message: its size on the server in *size, and its bytes when
 * size <= max, else only the first head_bytes. *gone: no such UID
 * (expunged meanwhile). *raw is owned (free()). */
bool imap_fetch(struct imap *s, uint32_t uid, size_t max, size_t head_bytes, char **raw,
                size_t *len, size_t *size, bool *gone, struct td_err *err);

/* A batch of messages in few round trips (imap_batch.c): their sizes
 * in one UID FETCH, then the bodies of those within max in another (a
 * larger one: its first head_bytes, on its own). Takes uids from the
 * front while their bodies fit in budget bytes (at least one); *taken
 * says how many; out[i] is as imap_fetch would fill it for uids[i]. */
struct imap_mail {
    uint32_t uid;
    char *raw;   /* owned (free()); NULL when gone */
    size_t len;
    size_t size;
    bool gone;
};
bool imap_fetch_batch(struct imap *s, const uint32_t *uids, size_t n, size_t max,
                      size_t head_bytes, size_t budget, struct imap_mail *out, size_t *taken,
                      struct td_err *err);

bool imap_mark_seen(struct imap *s, uint32_t uid, struct td_err *err);
/* \Seen on all of uids[0..n) in one UID STORE. */
bool imap_mark_seen_many(struct imap *s, const uint32_t *uids, size_t n, struct td_err *err);

/* Moves uid to folder (created when missing). */
bool imap_move(struct imap *s, uint32_t uid, const char *folder, struct td_err *err);

/* IDLE for at most timeout_ms. Returns when the server says something
 * (*activity), when wake_fd becomes readable, or at the timeout; the
 * IDLE is always ended with DONE before returning. */
bool imap_idle(struct imap *s, int wake_fd, int64_t timeout_ms, bool *activity,
               struct td_err *err);

bool imap_noop(struct imap *s, struct td_err *err);

/* imap_tls.c: verifies the peer certificate chain of a TLS session for
 * host against ca_file (NULL: the system trust store). */
bool imap_tls_verify(void *stream, const char *host, const char *ca_file, struct td_err *err);

#endif
