/* write_pool.c - see write_pool.h. A FIFO ring of items under one mutex,
 * and threads that take from it. The ring grows (it is bounded in
 * practice by MHD's connection limit: one item per parked request). */
#include "write_pool.h"

#include "core/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_POOL_MAX_THREADS 256

struct write_pool {
    write_pool_fn fn;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* an item was queued, or stopping */
    void **ring;
    size_t cap, head, len; /* items ring[head .. head+len) mod cap */
    unsigned running;      /* items taken and not finished */
    bool stopping;
    pthread_t threads[WRITE_POOL_MAX_THREADS];
    unsigned n_threads;
};

static void *pool_thread(void *arg)
{
    struct write_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->len == 0 && !p->stopping)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->len == 0) /* stopping, and nothing left to run */
            break;
        void *item = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->len--;
        p->running++;
        pthread_mutex_unlock(&p->lock);
        p->fn(item);
        pthread_mutex_lock(&p->lock);
        p->running--;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void join_all(struct write_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    p->n_threads = 0;
}

static void pool_free(struct write_pool *p)
{
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p->ring);
    free(p);
}

struct write_pool *write_pool_start(unsigned threads, write_pool_fn fn, struct td_err *err)
{
    if (threads == 0 || threads > WRITE_POOL_MAX_THREADS) {
        td_fail(err, TD_INVALID, "write threads: %u is not within 1..%d", threads,
                WRITE_POOL_MAX_THREADS);
        return NULL;
    }
    struct write_pool *p = td_calloc(1, sizeof *p);
    p->fn = fn;
    p->cap = 64;
    p->ring = td_calloc(p->cap, sizeof *p->ring);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    for (unsigned i = 0; i < threads; i++) {
        int rc = pthread_create(&p->threads[i], NULL, pool_thread, p);
        if (rc != 0) {
            join_all(p);
            pool_free(p);
            td_fail(err, TD_INTERNAL, "cannot start a write thread: %s", strerror(rc));
            return NULL;
        }
        (void)pthread_setname_np(p->threads[i], "td-write");
        p->n_threads++;
    }
    return p;
}

/* Doubles the ring, keeping the order (lock held). */
static void grow(struct write_pool *p)
{
    size_t cap = p->cap * 2;
    void **ring = td_calloc(cap, sizeof *ring);
    for (size_t i = 0; i < p->len; i++)
        ring[i] = p->ring[(p->head + i) % p->cap];
    free(p->ring);
    p->ring = ring;
    p->cap = cap;
    p->head = 0;
}

bool write_pool_submit(struct write_pool *p, void *item)
{
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        return false;
    }
    if (p->len == p->cap)
        grow(p);
    p->ring[(p->head + p->len) % p->cap] = item;
    p->len++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return true;
}

unsigned write_pool_pending(struct write_pool *p)
{
    pthread_mutex_lock(&p->lock);
    unsigned n = (unsigned)p->len + p->running;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void write_pool_stop(struct write_pool *p)
{
    if (p != NULL)
        join_all(p); /* the threads empty the ring before they leave */
}

void write_pool_free(struct write_pool *p)
{
    if (p == NULL)
        return;
    join_all(p); /* a no-op when stopped already */
    pool_free(p);
}
