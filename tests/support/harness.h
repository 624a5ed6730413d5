/* harness.h - real servers for tests, on 127.0.0.1 free ports.
 *
 * Each start function picks a free port, starts the server in a fresh
 * temporary directory, waits for its greeting with a bounded timeout and
 * returns false (after printing why, with the tail of the server's log,
 * to stderr) if it does not come up. harness_stop() always stops it (TERM,
 * then KILL after a bounded wait) and removes the directory. The servers
 * also die with the test process (PR_SET_PDEATHSIG), and servers and temp
 * dirs a failed test did not stop are killed and removed when the test
 * binary exits (atexit). Only a binary killed outright (SIGKILL, say)
 * leaves its temp dirs; its servers still die.
 *
 * Every server writes its stdout/stderr to DIR/server.log. Start functions
 * zero the struct first; harness_stop() zeroes it again, so it is safe to
 * call twice and on a zeroed struct. Not thread-safe: start and stop
 * servers from the test's main thread. */
#ifndef TD_TEST_HARNESS_H
#define TD_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct harness_server {
    pid_t pid;          /* 0 = not running */
    int port;           /* main port: mongo wire, SMTP, or IMAP */
    int lmtp_port;      /* Dovecot only: deliver test mail here */
    char dir[256];      /* temp dir with the server's state */
    char uri[512];      /* mongo: mongodb://127.0.0.1:PORT/DB?...;
                           smtp: smtp://127.0.0.1:PORT; imap: imap://127.0.0.1:PORT */
    char maildir[300];  /* SMTP sink: Maildir whose new/ holds one file per mail */
    bool external;      /* uri came from TICKETD_TEST_MONGO_URI: nothing to stop */
};

/* A free TCP port on 127.0.0.1 (bind to 0 and read it back), -1 on error.
 * Another process may take it before the server binds it: the start
 * functions retry on a new port when the server exits during start-up. */
int harness_free_port(void);

/* MongoDB wire-protocol test server (tests/support/mongo_mock.py, database
 * "ticketd_test"), or the real server named by TICKETD_TEST_MONGO_URI when
 * that is set: then nothing is started, external is true, uri names a fresh
 * database (ticketd_test_<random hex>) and harness_stop() drops it. Set
 * TICKETD_MONGO_MOCK_DEBUG=1 to have the mock log every command. */
bool harness_mongo_start(struct harness_server *s);

/* SMTP receiver (aiosmtpd) saving each mail as one file under maildir/new,
 * with X-MailFrom / X-RcptTo / X-Peer headers added. */
bool harness_smtp_start(struct harness_server *s);

/* Dovecot IMAP (+ LMTP) with one user; "user@localhost" is the same user
 * (use it as LMTP RCPT). user and password may not contain ':' or spaces. */
bool harness_dovecot_start(struct harness_server *s, const char *user, const char *password);

void harness_stop(struct harness_server *s);

/* Directory of the tests' support files (tests/support), found from the
 * TICKETD_SRCDIR env var (the repo root) or the current directory. Points
 * to a static buffer. */
const char *harness_support_dir(void);

/* A fresh temp directory (mkdtemp of "ticketd-test.XXXXXX" under $TMPDIR or
 * /tmp); out gets the path. harness_rmtree removes it with everything
 * inside; as a guard against accidents it refuses any path without a
 * "/ticketd-test." component (so only such temp dirs and what is in them).
 * A temp dir still there when the test binary exits is removed then. */
bool harness_tempdir(char *out, size_t len);
void harness_rmtree(const char *path);

/* Rewrites a MongoDB URI to name database db, keeping hosts, credentials
 * and options. If the URI has credentials and no authSource, authSource
 * is added as the database the old URI implied (its path, or "admin"), so
 * authentication does not move to the new database. False if the URI is
 * malformed or out does not fit. */
bool harness_mongo_uri_with_db(const char *uri, const char *db, char *out, size_t len);

/* ---- Building blocks, for tests that run a server of their own (ticketd
 * itself, say) the same way. ---- */

/* Starts argv (argv[0] an absolute path; no PATH lookup) as a child in its
 * own process group that dies with the test (PR_SET_PDEATHSIG), stdin from
 * /dev/null, stdout and stderr appended to s->dir/server.log, PYTHONPATH
 * and PYTHONHOME removed from its environment. s->dir must exist. Fills
 * s->pid. */
bool harness_spawn(struct harness_server *s, const char *const argv[]);

/* Checks a freshly connected socket; true = the server is ready. */
typedef bool (*harness_probe_fn)(int fd, const void *arg, int timeout_ms);

/* Probe: the server's first line starts with arg (a const char *). */
bool harness_probe_banner(int fd, const void *prefix, int timeout_ms);

/* Waits up to timeout_ms until 127.0.0.1:port accepts a connection that
 * passes probe (NULL: accepting is enough). Gives up at once if s->pid
 * exits (and then reaps it and sets s->pid to 0). On failure prints what
 * happened and the tail of the log to stderr. */
bool harness_wait_ready(struct harness_server *s, int port, harness_probe_fn probe,
                        const void *arg, int timeout_ms);

/* Prints the last `lines` lines of s->dir/server.log to stderr. */
void harness_log_tail(const struct harness_server *s, int lines);

/* Tiny blocking client for test dialogues; every call is bounded by
 * timeout_ms. harness_connect returns a socket fd (close it) or -1. */
int harness_connect(int port, int timeout_ms);
bool harness_write_all(int fd, const void *data, size_t len);
bool harness_read_exact(int fd, void *buf, size_t len, int timeout_ms);
/* One line, CRLF/LF stripped, NUL-terminated; false on timeout, EOF or a
 * line longer than len - 1. */
bool harness_read_line(int fd, char *buf, size_t len, int timeout_ms);

#endif
