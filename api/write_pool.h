/* write_pool.h - threads that run the API's writes, off the request
 * threads.
 *
 * Why: a write waits for its group's commit (store_sqlite_group.c, or a
 * MongoDB round trip), so on a request thread it holds that thread for
 * the whole wait. With few request threads, commits stay small (a group
 * has at most one member per waiting thread); with many, reads compete
 * for two cores with threads that only wait. server.c instead parks a
 * write's connection (MHD_suspend_connection) and queues the request
 * here; a pool thread runs its handler, then resumes the connection,
 * and the request thread that picks it up sends the answer. Reads keep
 * [api] threads to themselves; [api] write_threads bounds the writes in
 * flight, and so the size of a commit group.
 *
 * The pool knows nothing of HTTP: it runs fn(item) for each submitted
 * item, in order of submission, on one of its threads. */
#ifndef TD_API_WRITE_POOL_H
#define TD_API_WRITE_POOL_H

#include <stdbool.h>

#include "core/err.h"

struct write_pool;

/* The work of one item. Runs on a pool thread; the item is the caller's
 * (the pool neither frees nor keeps it after fn returns). */
typedef void (*write_pool_fn)(void *item);

/* Starts threads (>= 1) pool threads. NULL with err when a thread
 * cannot be started (none is left running). */
struct write_pool *write_pool_start(unsigned threads, write_pool_fn fn, struct td_err *err);

/* Queues item; a pool thread runs fn(item) soon. Never blocks on the
 * work itself. False only after write_pool_stop has begun (the caller
 * must then run the work itself). */
bool write_pool_submit(struct write_pool *p, void *item);

/* Items submitted and not yet finished (queued or running). */
unsigned write_pool_pending(struct write_pool *p);

/* Runs what is still queued and joins the threads; later submits are
 * refused, write_pool_pending still answers (0). NULL-safe. */
void write_pool_stop(struct write_pool *p);

/* Frees a stopped pool (stops it first if need be). NULL-safe. */
void write_pool_free(struct write_pool *p);

#endif
