/* harness.h - real servers for tests, on 127.0.0.1 free ports.
 *
 * Each start function picks a free port, starts the server in a fresh
 * temporary directory, waits for its greeting with a bounded timeout and
 * returns false (after printing why to stderr) if it does not come up.
 * harness_stop() always stops it (TERM, then KILL after a bounded wait)
 * and removes the directory. The servers also die with the test process
 * (PR_SET_PDEATHSIG), so a crashing test leaves nothing behind. */
#ifndef TD_TEST_HARNESS_H
#define TD_TEST_HARNESS_H

#include <stdbool.h>
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

/* A free TCP port on 127.0.0.1 (bind to 0 and read it back). */
int harness_free_port(void);

/* MongoDB wire-protocol test server (tests/support/mongo_mock.py), or the
 * real server named by TICKETD_TEST_MONGO_URI when that is set (then a
 * fresh database name is put in uri so runs do not see each other). */
bool harness_mongo_start(struct harness_server *s);

/* SMTP receiver saving each mail as one file under maildir/new. */
bool harness_smtp_start(struct harness_server *s);

/* Dovecot IMAP (+ LMTP) with one user. */
bool harness_dovecot_start(struct harness_server *s, const char *user, const char *password);

void harness_stop(struct harness_server *s);

/* Directory of the tests' support files (tests/support), found from the
 * TICKETD_SRCDIR env var or the current directory. */
const char *harness_support_dir(void);

/* A fresh temp directory (mkdtemp under $TMPDIR or /tmp); out gets the
 * path. harness_rmtree removes it with everything inside. */
bool harness_tempdir(char *out, size_t len);
void harness_rmtree(const char *path);

#endif
