/* receiver_fixture.h - the webhook tests' HTTP receiver
 * (tests/support/webhook_receiver.py) on a free loopback port: start it,
 * take it down and up again on the same port (its log files kept), set
 * the status it answers, read what it got. Header-only, like
 * tests/api/api_fixture.h; every wait is bounded. */
#ifndef TD_TEST_RECEIVER_FIXTURE_H
#define TD_TEST_RECEIVER_FIXTURE_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hooks/hooks.h"
#include "tests/api/api_fixture.h"
#include "tests/support/harness.h"
#include "tests/support/harness_internal.h"

#ifndef WAIT_MS

#define WAIT_MS 20000
#endif

/* ---- the receiver ---------------------------------------------------- */

struct receiver {
    struct harness_server proc;
    int port;
};

static inline bool receiver_spawn(struct receiver *r)
{
    char script[1100], port[16];
    snprintf(script, sizeof script, "%s/webhook_receiver.py", harness_support_dir());
    snprintf(port, sizeof port, "%d", r->port);
    const char *argv[] = { "/usr/bin/python3", script, "--port", port, "--dir", r->proc.dir, NULL };
    return harness_spawn(&r->proc, argv) && harness_wait_ready(&r->proc, r->port, NULL, NULL, 15000);
}

static inline bool receiver_start(struct receiver *r)
{
    memset(r, 0, sizeof *r);
    r->port = harness_free_port();
    return r->port > 0 && harness_tempdir(r->proc.dir, sizeof r->proc.dir) && receiver_spawn(r);
}

/* Stops it but keeps its dir (and port) for a restart. */
static inline void receiver_down(struct receiver *r)
{
    pid_t pid = r->proc.pid;
    if (pid <= 0)
        return;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    harness_untrack_pid(pid);
    r->proc.pid = 0;
}

static inline void receiver_status(struct receiver *r, int status)
{
    char path[400];
    snprintf(path, sizeof path, "%s/status", r->proc.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%d\n", status);
    fclose(f);
}

/* Every line of DIR/name as a JSON array. */
static inline json_t *receiver_log(struct receiver *r, const char *name)
{
    char path[400], line[1 << 16];
    snprintf(path, sizeof path, "%s/%s", r->proc.dir, name);
    json_t *all = json_array();
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return all;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        if (j)
            json_array_append_new(all, j);
    }
    fclose(f);
    return all;
}

static inline void receiver_reset(struct receiver *r)
{
    char path[400];
    snprintf(path, sizeof path, "%s/received.jsonl", r->proc.dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/attempts.jsonl", r->proc.dir);
    unlink(path);
    receiver_status(r, 200);
}

/* Waits (bounded) until received.jsonl has at least n lines. */
static inline json_t *wait_received(struct receiver *r, size_t n)
{
    long long deadline = api_now_ms() + WAIT_MS;
    for (;;) {
        json_t *all = receiver_log(r, "received.jsonl");
        if (json_array_size(all) >= n || api_now_ms() > deadline)
            return all;
        json_decref(all);
        usleep(50 * 1000);
    }
}

static inline const char *hdr(json_t *entry, const char *name)
{
    return json_string_value(json_object_get(json_object_get(entry, "headers"), name));
}

static inline json_t *entry_body(json_t *entry)
{
    return json_loads(json_string_value(json_object_get(entry, "body")), 0, NULL);
}

/* A receiver's check: HMAC-SHA256(secret, id.ts.body), base64, "v1,". */
static inline bool signature_ok(const char *secret, const char *id, const char *ts, const char *body,
                         const char *sig)
{
    char want[128];
    hooks_sign(secret, id, strtoll(ts, NULL, 10), body, want, sizeof want);
    return sig != NULL && strcmp(want, sig) == 0;
}

#endif
